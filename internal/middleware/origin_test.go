package middleware_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/middleware"
)

func TestOriginsAndCORS(t *testing.T) {
	const app = "https://app.example.com"
	allowed := []string{app, "http://localhost:5173"}
	r := newEdgeEngine(t,
		middleware.Origins(allowed, "/api/auth/refresh", "/api/auth/logout"),
		middleware.CORS(allowed),
	)
	r.POST("/api/auth/refresh", edgeOK)
	r.POST("/api/auth/logout", edgeOK)
	r.POST("/api/auth/login", edgeOK)
	r.GET("/api/profile", edgeOK)

	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
	}
	tests := []struct {
		name       string
		method     string
		path       string
		headers    map[string]string
		wantStatus int
		wantCode   string
		wantACAO   string // "" means no CORS headers at all
	}{
		{"allowed origin", "GET", "/api/profile", map[string]string{"Origin": app}, 200, "", app},
		{"allowed origin in other case", "GET", "/api/profile", map[string]string{"Origin": "HTTPS://App.Example.COM"}, 200, "", "HTTPS://App.Example.COM"},
		{"second allowed origin", "GET", "/api/profile", map[string]string{"Origin": "http://localhost:5173"}, 200, "", "http://localhost:5173"},
		{"no origin", "GET", "/api/profile", nil, 200, "", ""},
		{"foreign origin", "GET", "/api/profile", map[string]string{"Origin": "https://evil.com"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"suffix lookalike", "GET", "/api/profile", map[string]string{"Origin": "https://app.example.com.evil.com"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"prefix lookalike", "GET", "/api/profile", map[string]string{"Origin": "https://evilapp.example.com"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"null origin", "GET", "/api/profile", map[string]string{"Origin": "null"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"other port", "GET", "/api/profile", map[string]string{"Origin": "https://app.example.com:444"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"other scheme", "GET", "/api/profile", map[string]string{"Origin": "http://app.example.com"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"foreign origin on login", "POST", "/api/auth/login", map[string]string{"Origin": "https://evil.com"}, 403, "ORIGIN_NOT_ALLOWED", ""},
		{"preflight allowed", "OPTIONS", "/api/profile", preflight(app), 204, "", app},
		{"preflight foreign", "OPTIONS", "/api/profile", preflight("https://evil.com"), 403, "ORIGIN_NOT_ALLOWED", ""},
		{"preflight foreign on refresh", "OPTIONS", "/api/auth/refresh", preflight("https://evil.com"), 403, "CSRF_REJECTED", ""},
		{"refresh from allowed origin", "POST", "/api/auth/refresh", map[string]string{"Origin": app}, 200, "", app},
		{"refresh from foreign origin", "POST", "/api/auth/refresh", map[string]string{"Origin": "https://evil.com"}, 403, "CSRF_REJECTED", ""},
		{"refresh from lookalike origin", "POST", "/api/auth/refresh", map[string]string{"Origin": "https://app.example.com.evil.com"}, 403, "CSRF_REJECTED", ""},
		{"refresh from null origin", "POST", "/api/auth/refresh", map[string]string{"Origin": "null"}, 403, "CSRF_REJECTED", ""},
		{"logout from foreign origin", "POST", "/api/auth/logout", map[string]string{"Origin": "https://evil.com"}, 403, "CSRF_REJECTED", ""},
		{"refresh without origin or referer", "POST", "/api/auth/refresh", nil, 200, "", ""},
		{"refresh with allowed referer", "POST", "/api/auth/refresh", map[string]string{"Referer": app + "/account?tab=1"}, 200, "", ""},
		{"refresh with foreign referer", "POST", "/api/auth/refresh", map[string]string{"Referer": "https://evil.com/page"}, 403, "CSRF_REJECTED", ""},
		{"refresh with userinfo referer", "POST", "/api/auth/refresh", map[string]string{"Referer": "https://app.example.com@evil.com/"}, 403, "CSRF_REJECTED", ""},
		{"refresh with unreadable referer", "POST", "/api/auth/refresh", map[string]string{"Referer": "not a url"}, 403, "CSRF_REJECTED", ""},
		{"refresh cross-site without origin", "POST", "/api/auth/refresh", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "CSRF_REJECTED", ""},
		{"refresh cross-site with allowed referer", "POST", "/api/auth/refresh", map[string]string{"Sec-Fetch-Site": "cross-site", "Referer": app + "/"}, 403, "CSRF_REJECTED", ""},
		{"refresh cross-site from allowed origin", "POST", "/api/auth/refresh", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": app}, 200, "", app},
		{"refresh same-origin without origin", "POST", "/api/auth/refresh", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, "", ""},
		{"foreign referer outside csrf paths", "POST", "/api/auth/login", map[string]string{"Referer": "https://evil.com/"}, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveEdge(r, tt.method, tt.path, tt.headers)
			if rec.Code != tt.wantStatus || edgeErrorCode(t, rec) != tt.wantCode {
				t.Fatalf("%s %s %v = %d %q, want %d %q", tt.method, tt.path, tt.headers, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantCode)
			}
			h := rec.Header()
			if tt.wantACAO == "" {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("%s %s: unexpected CORS header %s: %q", tt.method, tt.path, name, h.Get(name))
					}
				}
			} else {
				if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
					t.Errorf("%s %s: Access-Control-Allow-Origin = %q, want %q", tt.method, tt.path, got, tt.wantACAO)
				}
				if got := h.Get("Access-Control-Allow-Credentials"); got != "true" {
					t.Errorf("%s %s: Access-Control-Allow-Credentials = %q, want true", tt.method, tt.path, got)
				}
			}
			if vary := h.Values("Vary"); !slices.Equal(slices.DeleteFunc(slices.Clone(vary), func(v string) bool { return v != "Origin" }), []string{"Origin"}) {
				t.Errorf("%s %s: Vary = %q, want it to hold Origin once (refusals too)", tt.method, tt.path, vary)
			}
		})
	}
}

func TestCORSPreflightAnswer(t *testing.T) {
	const app = "https://app.example.com"
	r := newEdgeEngine(t, middleware.Origins([]string{app}), middleware.CORS([]string{app}))
	r.PATCH("/api/admin/users/:id", edgeOK)

	rec := serveEdge(r, http.MethodOptions, "/api/admin/users/1", map[string]string{
		"Origin": app, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization,content-type",
	})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("preflight = %d, want 204", rec.Code)
	}
	h := rec.Header()
	if got := h.Get("Access-Control-Allow-Methods"); got != "GET,POST,PATCH,DELETE,OPTIONS" {
		t.Errorf("Access-Control-Allow-Methods = %q, want GET,POST,PATCH,DELETE,OPTIONS", got)
	}
	if got := h.Get("Access-Control-Allow-Headers"); got != "Authorization,Content-Type" {
		t.Errorf("Access-Control-Allow-Headers = %q, want Authorization,Content-Type", got)
	}
	if got := h.Get("Access-Control-Max-Age"); got != "600" {
		t.Errorf("Access-Control-Max-Age = %q, want 600", got)
	}

	rec = serveEdge(r, http.MethodPatch, "/api/admin/users/1", map[string]string{"Origin": app})
	exposed := strings.ToLower(rec.Header().Get("Access-Control-Expose-Headers"))
	for _, name := range []string{"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after", "www-authenticate"} {
		if !strings.Contains(exposed, name) {
			t.Errorf("Access-Control-Expose-Headers = %q, want it to hold %s", exposed, name)
		}
	}
}

func TestOriginsWithNoAllowedOrigin(t *testing.T) {
	r := newEdgeEngine(t, middleware.Origins(nil, "/api/auth/refresh"), middleware.CORS(nil))
	r.GET("/api/profile", edgeOK)

	if rec := serveEdge(r, http.MethodGet, "/api/profile", map[string]string{"Origin": "http://localhost:3000"}); rec.Code != http.StatusForbidden || edgeErrorCode(t, rec) != "ORIGIN_NOT_ALLOWED" {
		t.Errorf("GET with an Origin = %d %q, want 403 ORIGIN_NOT_ALLOWED", rec.Code, rec.Body.String())
	}
	if rec := serveEdge(r, http.MethodGet, "/api/profile", nil); rec.Code != http.StatusOK {
		t.Errorf("GET without Origin = %d %q, want 200", rec.Code, rec.Body.String())
	}
}
