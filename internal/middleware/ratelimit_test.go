package middleware_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/authserver/authserver/internal/middleware"

	"github.com/authserver/authserver/internal/store/storetest"
)

// limitsOptions returns options with a 15-minute window and the given maximums, counted in memory.
func limitsOptions(generalMax, authMax int64) middleware.LimitsOptions {
	return middleware.LimitsOptions{
		Window: 15 * time.Minute, GeneralMax: generalMax, AuthMax: authMax,
		LoginMaxFailures: 3, LoginFailureWindow: 15 * time.Minute,
		Log: slog.New(slog.DiscardHandler),
	}
}

// newLimits calls NewLimits and fails the test on error.
func newLimits(t *testing.T, opts middleware.LimitsOptions) *middleware.Limits {
	t.Helper()
	l, err := middleware.NewLimits(opts)
	if err != nil {
		t.Fatalf("NewLimits: %v", err)
	}
	return l
}

// limitedEngine routes /api/auth/login through Auth and /api/profile through General.
func limitedEngine(t *testing.T, l *middleware.Limits) *gin.Engine {
	r := newEdgeEngine(t)
	r.POST("/api/auth/login", l.Auth(), edgeOK)
	r.GET("/api/profile", l.General(), edgeOK)
	return r
}

// headerInt reads an integer response header, failing the test when it is missing or malformed.
func headerInt(t *testing.T, rec *httptest.ResponseRecorder, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rec.Header().Get(name), 10, 64)
	if err != nil {
		t.Fatalf("%s = %q, want an integer", name, rec.Header().Get(name))
	}
	return n
}

// uniquePrefix returns a Redis key prefix no other test run uses, and deletes its keys at cleanup.
func uniquePrefix(t *testing.T, client *redis.Client) string {
	prefix := "test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := client.Keys(ctx, prefix+":*").Result()
		if err == nil && len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})
	return prefix
}

func TestAuthLimit(t *testing.T) {
	opts := limitsOptions(100, 10)
	var limited int
	opts.OnLimited = func(c *gin.Context) { limited++ }
	r := limitedEngine(t, newLimits(t, opts))
	window := int64(opts.Window / time.Second)

	for i := 1; i <= 10; i++ {
		rec := serveEdge(r, http.MethodPost, "/api/auth/login", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("attempt %d = %d %q, want 200", i, rec.Code, rec.Body.String())
		}
		if got := headerInt(t, rec, "RateLimit-Limit"); got != 10 {
			t.Errorf("attempt %d: RateLimit-Limit = %d, want 10", i, got)
		}
		if got := headerInt(t, rec, "RateLimit-Remaining"); got != int64(10-i) {
			t.Errorf("attempt %d: RateLimit-Remaining = %d, want %d", i, got, 10-i)
		}
		if got := headerInt(t, rec, "RateLimit-Reset"); got < 0 || got > window {
			t.Errorf("attempt %d: RateLimit-Reset = %d, want a delay within [0, %d]", i, got, window)
		}
		if rec.Header().Get("Retry-After") != "" {
			t.Errorf("attempt %d: Retry-After = %q on an allowed request", i, rec.Header().Get("Retry-After"))
		}
	}
	if limited != 0 {
		t.Fatalf("OnLimited called %d times before the limit", limited)
	}

	rec := serveEdge(r, http.MethodPost, "/api/auth/login", nil)
	if rec.Code != http.StatusTooManyRequests || edgeErrorCode(t, rec) != "RATE_LIMITED" {
		t.Fatalf("attempt 11 = %d %q, want 429 RATE_LIMITED", rec.Code, rec.Body.String())
	}
	if got := headerInt(t, rec, "RateLimit-Remaining"); got != 0 {
		t.Errorf("attempt 11: RateLimit-Remaining = %d, want 0", got)
	}
	if got := headerInt(t, rec, "RateLimit-Limit"); got != 10 {
		t.Errorf("attempt 11: RateLimit-Limit = %d, want 10", got)
	}
	if got := headerInt(t, rec, "RateLimit-Reset"); got < 0 || got > window {
		t.Errorf("attempt 11: RateLimit-Reset = %d, want a delay within [0, %d]", got, window)
	}
	if got := headerInt(t, rec, "Retry-After"); got < 1 || got > window {
		t.Errorf("attempt 11: Retry-After = %d, want within [1, %d]", got, window)
	}
	if limited != 1 {
		t.Errorf("OnLimited called %d times after one refused request, want 1", limited)
	}
}

func TestGeneralAndAuthCountSeparately(t *testing.T) {
	r := limitedEngine(t, newLimits(t, limitsOptions(2, 1)))

	steps := []struct {
		method, path  string
		wantStatus    int
		wantRemaining int64
	}{
		{http.MethodPost, "/api/auth/login", http.StatusOK, 0},
		{http.MethodPost, "/api/auth/login", http.StatusTooManyRequests, 0},
		{http.MethodGet, "/api/profile", http.StatusOK, 1},
		{http.MethodGet, "/api/profile", http.StatusOK, 0},
		{http.MethodGet, "/api/profile", http.StatusTooManyRequests, 0},
	}
	for i, s := range steps {
		rec := serveEdge(r, s.method, s.path, nil)
		if rec.Code != s.wantStatus {
			t.Fatalf("step %d: %s %s = %d, want %d", i, s.method, s.path, rec.Code, s.wantStatus)
		}
		if got := headerInt(t, rec, "RateLimit-Remaining"); got != s.wantRemaining {
			t.Errorf("step %d: %s %s: RateLimit-Remaining = %d, want %d", i, s.method, s.path, got, s.wantRemaining)
		}
	}
}

func TestLimitsClientIP(t *testing.T) {
	tests := []struct {
		name       string
		trusted    []string
		secondXFF  string
		wantSecond int
	}{
		{"spoofed X-Forwarded-For ignored without trusted proxies", nil, "203.0.113.2", http.StatusTooManyRequests},
		{"X-Forwarded-For honoured from a trusted proxy", []string{"10.0.0.0/8"}, "203.0.113.2", http.StatusOK},
		{"same client behind a trusted proxy", []string{"10.0.0.0/8"}, "203.0.113.1", http.StatusTooManyRequests},
		{"untrusted remote address", []string{"192.168.0.0/16"}, "203.0.113.2", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := limitedEngine(t, newLimits(t, limitsOptions(100, 1)))
			if err := r.SetTrustedProxies(tt.trusted); err != nil {
				t.Fatalf("SetTrustedProxies(%v) = %v", tt.trusted, err)
			}
			send := func(xff string) int {
				req := httptest.NewRequest(http.MethodPost, "/api/auth/login", nil)
				req.RemoteAddr = "10.1.2.3:4567"
				req.Header.Set("X-Forwarded-For", xff)
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				return rec.Code
			}
			if got := send("203.0.113.1"); got != http.StatusOK {
				t.Fatalf("first request = %d, want 200", got)
			}
			if got := send(tt.secondXFF); got != tt.wantSecond {
				t.Errorf("second request with X-Forwarded-For %s = %d, want %d", tt.secondXFF, got, tt.wantSecond)
			}
		})
	}
}

func TestNewLimitsRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *middleware.LimitsOptions)
	}{
		{"zero window", func(o *middleware.LimitsOptions) { o.Window = 0 }},
		{"zero general max", func(o *middleware.LimitsOptions) { o.GeneralMax = 0 }},
		{"zero auth max", func(o *middleware.LimitsOptions) { o.AuthMax = 0 }},
		{"zero login failures", func(o *middleware.LimitsOptions) { o.LoginMaxFailures = 0 }},
		{"zero login window", func(o *middleware.LimitsOptions) { o.LoginFailureWindow = 0 }},
		{"no logger", func(o *middleware.LimitsOptions) { o.Log = nil }},
	}
	for _, tt := range tests {
		opts := limitsOptions(1, 1)
		tt.change(&opts)
		if _, err := middleware.NewLimits(opts); err == nil {
			t.Errorf("NewLimits with %s = nil error, want an error", tt.name)
		}
	}
}

func TestLimitsRedisUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	var logs bytes.Buffer
	opts := limitsOptions(100, 2)
	opts.Redis = client
	opts.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	l := newLimits(t, opts)
	r := limitedEngine(t, l)

	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if rec := serveEdge(r, http.MethodPost, "/api/auth/login", nil); rec.Code != want {
			t.Fatalf("attempt %d = %d %q, want %d", i+1, rec.Code, rec.Body.String(), want)
		}
	}
	guard := l.LoginGuard()
	ctx := context.Background()
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

func TestLimitsRedisShared(t *testing.T) {
	client := storetest.Redis(t)
	var logs bytes.Buffer
	opts := limitsOptions(100, 2)
	opts.Redis = client
	opts.Prefix = uniquePrefix(t, client)
	opts.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	a := limitedEngine(t, newLimits(t, opts))
	b := limitedEngine(t, newLimits(t, opts))

	steps := []struct {
		name       string
		engine     *gin.Engine
		wantStatus int
	}{
		{"first instance", a, http.StatusOK},
		{"second instance", b, http.StatusOK},
		{"first instance again", a, http.StatusTooManyRequests},
	}
	for _, s := range steps {
		if rec := serveEdge(s.engine, http.MethodPost, "/api/auth/login", nil); rec.Code != s.wantStatus {
			t.Fatalf("%s = %d %q, want %d", s.name, rec.Code, rec.Body.String(), s.wantStatus)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %s, want nothing while Redis answers", logs.String())
	}
}
