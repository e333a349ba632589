package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/ratelimit"
)

// memoryLimits returns limits counted in memory, with a 15-minute window and the given maximums.
func memoryLimits(t *testing.T, generalMax, authMax int64) *ratelimit.Limits {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Options{
		Window: 15 * time.Minute, GeneralMax: generalMax, AuthMax: authMax,
		LoginMaxFailures: 3, LoginFailureWindow: 15 * time.Minute, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("ratelimit.New: %v", err)
	}
	return l
}

// limitRecorder counts the refused requests RateLimit reports, by route.
type limitRecorder struct {
	mu     sync.Mutex
	routes []string
}

func (r *limitRecorder) RateLimited(_ context.Context, _ auth.Client, route string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = append(r.routes, route)
}

func (r *limitRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.routes)
}

// limitedEngine routes /api/auth/login through the Auth limit and /api/profile through General,
// reporting refusals to rec.
func limitedEngine(t *testing.T, l *ratelimit.Limits, rec *limitRecorder) *gin.Engine {
	r := newEdgeEngine(t)
	r.POST("/api/auth/login", middleware.RateLimit(l, ratelimit.Auth, rec), edgeOK)
	r.GET("/api/profile", middleware.RateLimit(l, ratelimit.General, rec), edgeOK)
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

func TestAuthLimit(t *testing.T) {
	limited := &limitRecorder{}
	r := limitedEngine(t, memoryLimits(t, 100, 10), limited)
	window := int64(15 * time.Minute / time.Second)

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
	if n := limited.count(); n != 0 {
		t.Fatalf("RateLimited reported %d requests before the limit", n)
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
	if n := limited.count(); n != 1 || limited.routes[0] != "/api/auth/login" {
		t.Errorf("RateLimited reported routes %v after one refused request, want [/api/auth/login]", limited.routes)
	}
}

func TestGeneralAndAuthCountSeparately(t *testing.T) {
	r := limitedEngine(t, memoryLimits(t, 2, 1), &limitRecorder{})

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
			r := limitedEngine(t, memoryLimits(t, 100, 1), &limitRecorder{})
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

// TestClientIPAgrees: the request log names the client as RateLimit counted it (the address a
// trusted proxy forwarded, not the proxy's), on a limited route as on one without a limit;
// ClientOf agrees. Each reads c.ClientIP() itself: RateLimit keeps nothing on the context.
func TestClientIPAgrees(t *testing.T) {
	var logs bytes.Buffer
	var client auth.Client
	var keys map[any]any
	r := newEdgeEngine(t, middleware.RequestLog(slog.New(slog.NewJSONHandler(&logs, nil)), metrics.New()))
	if err := r.SetTrustedProxies([]string{"10.0.0.0/8"}); err != nil {
		t.Fatalf("SetTrustedProxies: %v", err)
	}
	l := memoryLimits(t, 100, 100)
	r.GET("/limited", middleware.RateLimit(l, ratelimit.General, &limitRecorder{}), func(c *gin.Context) {
		client, keys = middleware.ClientOf(c), c.Keys
	})
	r.GET("/open", func(c *gin.Context) {})
	for _, path := range []string{"/limited", "/open"} {
		logs.Reset()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "10.1.2.3:4567"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		r.ServeHTTP(httptest.NewRecorder(), req)
		var line struct{ IP string }
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatalf("GET %s: request log %q: %v", path, logs.String(), err)
		}
		if line.IP != "203.0.113.7" {
			t.Errorf("GET %s: request log ip = %q, want 203.0.113.7", path, line.IP)
		}
	}
	if client.IP != "203.0.113.7" {
		t.Errorf("ClientOf behind RateLimit: ip = %q, want 203.0.113.7", client.IP)
	}
	if keys != nil {
		t.Errorf("c.Keys behind RateLimit = %v, want nil (no map made for the client IP)", keys)
	}
}
