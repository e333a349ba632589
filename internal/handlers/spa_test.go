package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestSPAPages(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.ServeSPA = true })
	page := map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"} // a browser's navigation
	tests := []struct {
		name        string
		r           req
		status      int
		contentType string // the start of Content-Type
		bodyHolds   string
	}{
		{"home page", req{method: "GET", path: "/", headers: page}, http.StatusOK, "text/html", `<script type="module" src="/js/main.js">`},
		{"email link lands in the SPA", req{method: "GET", path: "/verify-email", headers: page}, http.StatusOK, "text/html", `<main id="view"`},
		{"index.html by name", req{method: "GET", path: "/index.html"}, http.StatusOK, "text/html", `<main id="view"`},
		{"script", req{method: "GET", path: "/js/main.js"}, http.StatusOK, "text/javascript", "restoreSession"},
		{"module script", req{method: "GET", path: "/js/screens/account.js"}, http.StatusOK, "text/javascript", "accountScreen"},
		{"style sheet", req{method: "GET", path: "/style.css"}, http.StatusOK, "text/css", "--accent"},
		{"HEAD of a script", req{method: "HEAD", path: "/js/api.js"}, http.StatusOK, "text/javascript", ""},
		{"no page for API clients", req{method: "GET", path: "/verify-email", headers: map[string]string{"Accept": "*/*"}}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"API paths keep the JSON 404", req{method: "GET", path: "/api/nope", headers: page}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"API root keeps the JSON 404", req{method: "GET", path: "/api", headers: page}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"well-known keeps the JSON 404", req{method: "GET", path: "/.well-known/nope", headers: page}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"oauth keeps the JSON 404", req{method: "GET", path: "/oauth/nope", headers: page}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"POST is no page", req{method: "POST", path: "/", headers: page}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"missing script", req{method: "GET", path: "/js/nope.js"}, http.StatusNotFound, "application/json", `"NOT_FOUND"`},
		{"API routes unchanged", req{method: "GET", path: "/healthz", headers: page}, http.StatusOK, "application/json", `"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(tt.r)
			what := tt.r.method + " " + tt.r.path
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) || !strings.Contains(rec.Body.String(), tt.bodyHolds) {
				t.Fatalf("%s = %d %q %.200q; want %d %s holding %q", what, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tt.status, tt.contentType, tt.bodyHolds)
			}
			if tt.r.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("%s has a body of %d bytes, want none", what, rec.Body.Len())
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if tt.contentType == "application/json" {
				checkSecurityHeaders(t, what, rec) // the API's own CSP, default-src 'none'
				return
			}
			// The SPA's pages get a CSP that lets their own files run, and nothing inline.
			for _, part := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, part) {
					t.Errorf("%s: Content-Security-Policy = %q, want it to hold %q", what, csp, part)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("%s: Content-Security-Policy = %q allows unsafe sources", what, csp)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", what, got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("%s: Cache-Control = %q, want no-cache (revalidate by ETag)", what, got)
			}
		})
	}
}

func TestSPARevalidatesByETag(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.ServeSPA = true })
	first := e.do(req{method: "GET", path: "/js/api.js"})
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || etag == "" {
		t.Fatalf("GET /js/api.js = %d with ETag %q, want 200 with an ETag", first.Code, etag)
	}
	again := e.do(req{method: "GET", path: "/js/api.js", headers: map[string]string{"If-None-Match": etag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("GET /js/api.js with If-None-Match %s = %d with %d bytes, want 304 and no body", etag, again.Code, again.Body.Len())
	}
	other := e.do(req{method: "GET", path: "/js/ui.js"})
	if other.Header().Get("ETag") == etag {
		t.Errorf("/js/ui.js and /js/api.js share the ETag %s, want one per content", etag)
	}
}

func TestNoSPAUnlessAskedFor(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/", "/verify-email", "/js/main.js"} {
		rec := e.do(req{method: "GET", path: path, headers: map[string]string{"Accept": "text/html"}})
		expect(t, "GET "+path+" without SERVE_SPA", rec, http.StatusNotFound, "NOT_FOUND")
	}
}
