package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/requestid"
)

func TestValid(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"a", true},
		{strings.Repeat("x", 64), true},
		{"req-123_ABC:/.=+~!", true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"has space", false},
		{"tab\there", false},
		{"line\nbreak", false},
		{"del\x7f", false},
		{"é", false},
	} {
		if got := requestid.Valid(tt.in); got != tt.want {
			t.Errorf("Valid(%q) = %t, want %t", tt.in, got, tt.want)
		}
	}
	if id := requestid.New(); !requestid.Valid(id) || len(id) != 32 || id == requestid.New() {
		t.Errorf("New() = %q, want 32 valid characters, different each time", id)
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(requestid.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := requestid.With(context.Background(), "abc-1")
	log.InfoContext(ctx, "with id")
	log.Info("without id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2: %q", len(lines), buf.String())
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["request_id"] != "abc-1" || first["component"] != "test" {
		t.Errorf("line logged with an id = %s, want request_id abc-1 and component test", lines[0])
	}
	if _, has := second["request_id"]; has {
		t.Errorf("line logged without an id = %s, want no request_id", lines[1])
	}
}
