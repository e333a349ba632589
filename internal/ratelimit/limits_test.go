package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/authserver/authserver/internal/ratelimit"
	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/store/storetest"
)

// limitsOptions returns options with a 15-minute window and the given maximums, counted in memory.
func limitsOptions(generalMax, authMax int64) ratelimit.Options {
	return ratelimit.Options{
		Window: 15 * time.Minute, GeneralMax: generalMax, AuthMax: authMax,
		LoginMaxFailures: 3, LoginFailureWindow: 15 * time.Minute,
		Log: slog.New(slog.DiscardHandler),
	}
}

// newLimits calls ratelimit.New and fails the test on error.
func newLimits(t *testing.T, opts ratelimit.Options) *ratelimit.Limits {
	t.Helper()
	l, err := ratelimit.New(opts)
	if err != nil {
		t.Fatalf("ratelimit.New: %v", err)
	}
	return l
}

// uniquePrefix returns a Redis key prefix no other test run uses, and deletes its keys at cleanup.
func uniquePrefix(t *testing.T, client *redis.Client) string {
	prefix := "test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := redigo.Strings(client.Do(ctx, "KEYS", prefix+":*")); err == nil && len(keys) > 0 {
			_, _ = client.Do(ctx, "DEL", redigo.Args{}.AddFlat(keys)...)
		}
	})
	return prefix
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *ratelimit.Options)
	}{
		{"zero window", func(o *ratelimit.Options) { o.Window = 0 }},
		{"zero general max", func(o *ratelimit.Options) { o.GeneralMax = 0 }},
		{"zero auth max", func(o *ratelimit.Options) { o.AuthMax = 0 }},
		{"zero login failures", func(o *ratelimit.Options) { o.LoginMaxFailures = 0 }},
		{"zero login window", func(o *ratelimit.Options) { o.LoginFailureWindow = 0 }},
		{"no logger", func(o *ratelimit.Options) { o.Log = nil }},
	}
	for _, tt := range tests {
		opts := limitsOptions(1, 1)
		tt.change(&opts)
		if _, err := ratelimit.New(opts); err == nil {
			t.Errorf("ratelimit.New with %s = nil error, want an error", tt.name)
		}
	}
}

func TestTakeRedisUnavailable(t *testing.T) {
	var logs bytes.Buffer
	opts := limitsOptions(100, 2)
	opts.Redis = storetest.UnreachableRedis(t)
	opts.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	l := newLimits(t, opts)
	ctx := context.Background()

	for i, want := range []bool{false, false, true} {
		if n, err := l.Take(ctx, ratelimit.Auth, "192.0.2.1"); err != nil || n.Reached != want {
			t.Fatalf("Take %d = %+v, %v; want Reached %v", i+1, n, err, want)
		}
	}
	guard := l.LoginGuard()
	for range 3 {
		if err := guard.Failed(ctx, "a@example.com"); err != nil {
			t.Fatalf("Failed = %v", err)
		}
	}
	if _, blocked, err := guard.Blocked(ctx, "a@example.com"); err != nil || !blocked {
		t.Errorf("Blocked after 3 failures = %v, %v; want true, nil", blocked, err)
	}

	var warnings int
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `"level":"WARN"`) {
			warnings++
			if !strings.Contains(line, `"msg":"rate limit store unavailable, using memory"`) {
				t.Errorf("unexpected warning %s", line)
			}
		}
	}
	if warnings != 1 {
		t.Errorf("logged %d warnings, want 1:\n%s", warnings, logs.String())
	}
}

func TestTakeRedisShared(t *testing.T) {
	client := storetest.Redis(t)
	var logs bytes.Buffer
	opts := limitsOptions(100, 2)
	opts.Redis = client
	opts.Prefix = uniquePrefix(t, client)
	opts.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	a, b := newLimits(t, opts), newLimits(t, opts)
	ctx := context.Background()

	steps := []struct {
		name        string
		limits      *ratelimit.Limits
		wantReached bool
	}{
		{"first instance", a, false},
		{"second instance", b, false},
		{"first instance again", a, true},
	}
	for _, s := range steps {
		if n, err := s.limits.Take(ctx, ratelimit.Auth, "192.0.2.1"); err != nil || n.Reached != s.wantReached {
			t.Fatalf("%s: Take = %+v, %v; want Reached %v", s.name, n, err, s.wantReached)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %s, want nothing while Redis answers", logs.String())
	}
}

func TestTakeCountsScopesApart(t *testing.T) {
	l := newLimits(t, limitsOptions(2, 1))
	ctx := context.Background()
	steps := []struct {
		scope         ratelimit.Scope
		client        string
		wantRemaining int64
		wantReached   bool
	}{
		{ratelimit.Auth, "192.0.2.1", 0, false},
		{ratelimit.Auth, "192.0.2.1", 0, true},
		{ratelimit.Auth, "192.0.2.2", 0, false},
		{ratelimit.General, "192.0.2.1", 1, false},
		{ratelimit.General, "192.0.2.1", 0, false},
		{ratelimit.General, "192.0.2.1", 0, true},
	}
	for i, s := range steps {
		n, err := l.Take(ctx, s.scope, s.client)
		if err != nil || n.Remaining != s.wantRemaining || n.Reached != s.wantReached {
			t.Errorf("step %d: Take(%s, %s) = %+v, %v; want Remaining %d, Reached %v", i, s.scope, s.client, n, err, s.wantRemaining, s.wantReached)
		}
		if n.ResetIn < 0 || n.ResetIn > int64(15*time.Minute/time.Second) {
			t.Errorf("step %d: ResetIn = %d, want within the 15-minute window", i, n.ResetIn)
		}
	}
	if _, err := l.Take(ctx, ratelimit.Scope("nonsense"), "192.0.2.1"); err == nil {
		t.Errorf("Take(unknown scope) = nil error, want an error")
	}
}
