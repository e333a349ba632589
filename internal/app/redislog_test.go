package app_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/logtest"
)

// TestRedisClientLogsAreJSON: with Redis gone, the go-redis client's own messages (which it
// would print as plain text on standard error) come out as JSON lines of the server's logger.
func TestRedisClientLogsAreJSON(t *testing.T) {
	cfg := apptest.Config(t)
	cfg.RedisURL = "redis://127.0.0.1:1/0" // nothing listens on port 1
	var logs logtest.Buffer
	a := apptest.New(t, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), app.Overrides{})
	for i := 0; i < 20 && !strings.Contains(logs.String(), `"msg":"redis client"`); i++ {
		if err := a.Redis.Ping(t.Context()).Err(); err == nil {
			t.Fatal("Ping of a Redis where nothing listens succeeded")
		}
	}
	if !strings.Contains(logs.String(), `"msg":"redis client"`) {
		t.Fatalf("after failed pings, logs = %q, want a \"redis client\" warning", logs.String())
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "redis client" && (m["level"] != "WARN" || !strings.Contains(m["detail"].(string), "redis:")) {
			t.Errorf("redis client line = %v, want level WARN and the client's message in detail", m)
		}
	}
}
