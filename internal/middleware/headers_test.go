package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/ratelimit"
)

// newEdgeEngine builds a gin engine with the error responder first, then mw, and a NoRoute
// handler that answers 404 NOT_FOUND. It believes no proxy, as production does by default.
func newEdgeEngine(t *testing.T, mw ...gin.HandlerFunc) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	if err := r.SetTrustedProxies(nil); err != nil {
		t.Fatalf("SetTrustedProxies(nil) = %v", err)
	}
	r.Use(middleware.Errors(slog.New(slog.DiscardHandler)))
	r.Use(mw...)
	r.NoRoute(func(c *gin.Context) {
		middleware.Fail(c, middleware.ErrNoRoute)
	})
	return r
}

// edgeOK answers 200 with a tiny JSON body.
func edgeOK(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }

// serveEdge sends a request with the given headers to h and returns the recorded response.
func serveEdge(h http.Handler, method, path string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// edgeErrorCode returns the "code" of a JSON error body, or "" when there is none.
func edgeErrorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Code string `json:"code"`
	}
	if rec.Body.Len() == 0 {
		return ""
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode body %q: %v", rec.Body.String(), err)
	}
	return body.Code
}

func TestSecurityHeaders(t *testing.T) {
	limits := memoryLimits(t, 1, 1)
	r := newEdgeEngine(t, middleware.SecurityHeaders())
	r.GET("/ok", edgeOK)
	r.GET("/limited", middleware.RateLimit(limits, ratelimit.General, &limitRecorder{}), edgeOK)
	if rec := serveEdge(r, http.MethodGet, "/limited", nil); rec.Code != http.StatusOK {
		t.Fatalf("first GET /limited = %d, want 200", rec.Code)
	}

	want := map[string]string{
		"Content-Security-Policy":           "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"Strict-Transport-Security":         "max-age=31536000; includeSubDomains",
		"X-Content-Type-Options":            "nosniff",
		"X-Frame-Options":                   "DENY",
		"Referrer-Policy":                   "no-referrer",
		"Cross-Origin-Opener-Policy":        "same-origin",
		"Cross-Origin-Resource-Policy":      "same-origin",
		"X-DNS-Prefetch-Control":            "off",
		"X-Download-Options":                "noopen",
		"X-Permitted-Cross-Domain-Policies": "none",
		"Origin-Agent-Cluster":              "?1",
		"X-XSS-Protection":                  "0",
	}
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/ok", http.StatusOK},
		{"/missing", http.StatusNotFound},
		{"/limited", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := serveEdge(r, http.MethodGet, tt.path, nil)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d", tt.path, rec.Code, tt.wantStatus)
			}
			for name, value := range want {
				if got := rec.Header().Get(name); got != value {
					t.Errorf("GET %s: %s = %q, want %q", tt.path, name, got, value)
				}
			}
			for _, name := range []string{"X-Powered-By", "Server"} {
				if got := rec.Header().Get(name); got != "" {
					t.Errorf("GET %s: %s = %q, want none", tt.path, name, got)
				}
			}
		})
	}
}
