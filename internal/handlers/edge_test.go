package handlers_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/keys"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/tokens"

	"github.com/authserver/authserver/internal/store/storetest"
)

const appOrigin = "https://app.example.com"

// checkSecurityHeaders checks the helmet-like security headers every response carries.
func checkSecurityHeaders(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	exact := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	}
	for name, want := range exact {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	present := map[string]string{ // header -> a part its value must hold
		"Content-Security-Policy":      "default-src 'none'",
		"Strict-Transport-Security":    "max-age=",
		"Referrer-Policy":              "",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "",
	}
	for name, part := range present {
		if got := h.Get(name); got == "" || !strings.Contains(got, part) {
			t.Errorf("%s: %s = %q, want a value holding %q", what, name, got, part)
		}
	}
	for _, name := range []string{"X-Powered-By", "Server"} {
		if got, ok := h[name]; ok {
			t.Errorf("%s: %s = %q, want no such header", what, name, got)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.GeneralMax = 1 })
	tests := []struct {
		name   string
		r      req
		status int
	}{
		{"200 healthz", req{method: "GET", path: "/healthz"}, http.StatusOK},
		{"404 unknown path", req{method: "GET", path: "/no/such/path"}, http.StatusNotFound},
		{"405 wrong method", req{method: "DELETE", path: "/healthz"}, http.StatusMethodNotAllowed},
		{"401 no token", req{method: "GET", path: "/api/profile"}, http.StatusUnauthorized},
		{"429 over the general limit", req{method: "GET", path: "/api/profile"}, http.StatusTooManyRequests},
		{"400 bad JSON", req{method: "POST", path: "/api/auth/login", body: "{"}, http.StatusBadRequest},
	}
	for _, tt := range tests { // in order: the 401 uses the only general request
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(tt.r)
			expect(t, tt.r.method+" "+tt.r.path, rec, tt.status, "")
			checkSecurityHeaders(t, tt.r.method+" "+tt.r.path, rec)
		})
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.ClientURLs = []string{appOrigin} })
	preflight := func(origin, path string) req {
		return req{method: "OPTIONS", path: path, headers: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
		}}
	}
	tests := []struct {
		name    string
		r       req
		status  int
		code    string
		allowed bool // the response carries the CORS headers for appOrigin
	}{
		{"allowed origin", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": appOrigin}}, http.StatusOK, "", true},
		{"allowed origin, API error", req{method: "GET", path: "/api/profile", headers: map[string]string{"Origin": appOrigin}}, http.StatusUnauthorized, "NO_TOKEN", true},
		{"allowed origin, preflight", preflight(appOrigin, "/api/auth/login"), http.StatusNoContent, "", true},
		{"allowed origin, preflight of refresh", preflight(appOrigin, "/api/auth/refresh"), http.StatusNoContent, "", true},
		{"no origin", req{method: "GET", path: "/healthz"}, http.StatusOK, "", false},
		{"foreign origin", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://evil.example.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"foreign origin on login", req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "a@example.com", "password": testPassword}, headers: map[string]string{"Origin": "https://evil.example.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"foreign origin, preflight", preflight("https://evil.example.com", "/api/auth/login"), http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"lookalike suffix", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://app.example.com.evil.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"lookalike prefix", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://evilapp.example.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"lookalike subdomain", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://x.app.example.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"plain http", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "http://app.example.com"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"other port", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://app.example.com:8443"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"shorter domain", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "https://app.example.co"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"null origin", req{method: "GET", path: "/healthz", headers: map[string]string{"Origin": "null"}}, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
		{"lookalike preflight", preflight("https://app.example.com.evil.com", "/api/profile"), http.StatusForbidden, "ORIGIN_NOT_ALLOWED", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what := tt.name + ": " + tt.r.method + " " + tt.r.path
			rec := e.do(tt.r)
			expect(t, what, rec, tt.status, tt.code)
			h := rec.Header()
			acao := h.Get("Access-Control-Allow-Origin")
			if tt.allowed {
				if acao != appOrigin || h.Get("Access-Control-Allow-Credentials") != "true" {
					t.Errorf("%s: Access-Control-Allow-Origin %q, -Credentials %q, want %q, true", what, acao, h.Get("Access-Control-Allow-Credentials"), appOrigin)
				}
			} else {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("%s: %s = %q, want no CORS headers", what, name, h.Get(name))
					}
				}
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("%s: Vary = %q, want it to name Origin (403 refusals too)", what, h.Values("Vary"))
			}
			if tt.allowed && tt.status == http.StatusUnauthorized {
				exposed := strings.ToLower(h.Get("Access-Control-Expose-Headers"))
				if h.Get("WWW-Authenticate") == "" || !strings.Contains(exposed, "www-authenticate") {
					t.Errorf("%s: WWW-Authenticate %q, Access-Control-Expose-Headers %q; want it set and exposed to the page", what, h.Get("WWW-Authenticate"), exposed)
				}
			}
			if tt.r.method == "OPTIONS" && tt.allowed {
				if got := h.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
					t.Errorf("%s: Access-Control-Allow-Methods = %q, want POST among them", what, got)
				}
				if got := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "content-type") {
					t.Errorf("%s: Access-Control-Allow-Headers = %q, want Content-Type among them", what, got)
				}
			}
			if acao == "*" {
				t.Errorf("%s: Access-Control-Allow-Origin = *, want never", what)
			}
		})
	}
}

func TestCSRFOnCookieRoutes(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.ClientURLs = []string{appOrigin} })
	e.register("user@example.com")
	tests := []struct {
		name    string
		headers map[string]string
		code    string // "" passes
	}{
		{"foreign origin", map[string]string{"Origin": "https://evil.example.com"}, "CSRF_REJECTED"},
		{"lookalike origin", map[string]string{"Origin": "https://app.example.com.evil.com"}, "CSRF_REJECTED"},
		{"null origin", map[string]string{"Origin": "null"}, "CSRF_REJECTED"},
		{"foreign origin, allowed referer", map[string]string{"Origin": "https://evil.example.com", "Referer": appOrigin + "/"}, "CSRF_REJECTED"},
		{"foreign referer", map[string]string{"Referer": "https://evil.example.com/page"}, "CSRF_REJECTED"},
		{"lookalike referer", map[string]string{"Referer": "https://app.example.com.evil.com/settings"}, "CSRF_REJECTED"},
		{"referer on another port", map[string]string{"Referer": "https://app.example.com:444/settings"}, "CSRF_REJECTED"},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, "CSRF_REJECTED"},
		{"no origin, no referer (curl)", nil, ""},
		{"allowed origin", map[string]string{"Origin": appOrigin}, ""},
		{"allowed referer", map[string]string{"Referer": appOrigin + "/settings?tab=1"}, ""},
	}
	for _, path := range []string{"/api/auth/refresh", "/api/auth/logout"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				s := e.login("user@example.com")
				rec := e.do(req{method: "POST", path: path, cookies: []*http.Cookie{s.refresh}, bearer: s.access, headers: tt.headers})
				if tt.code != "" {
					expect(t, path+" "+tt.name, rec, http.StatusForbidden, tt.code)
					if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
						t.Errorf("%s %s: Access-Control-Allow-Origin = %q, want none", path, tt.name, got)
					}
					if c := cookie(rec, "refreshToken"); c != nil {
						t.Errorf("%s %s: Set-Cookie %v, want none", path, tt.name, c)
					}
					// The refused request changed nothing: the session still refreshes.
					expect(t, path+" "+tt.name+": session afterwards", e.refresh(s), http.StatusOK, "")
					return
				}
				expect(t, path+" "+tt.name, rec, http.StatusOK, "")
				if path == "/api/auth/logout" {
					expect(t, "refresh after logout", e.refresh(s), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
				}
			})
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	_, admin := e.adminLogin("admin@example.com")
	big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 11<<10) + `"}`
	tests := []struct {
		name, method, path string
		chunked            bool // no Content-Length: the body is cut while read
	}{
		{"login", "POST", "/api/auth/login", false},
		{"register", "POST", "/api/auth/register", false},
		{"refresh", "POST", "/api/auth/refresh", false},
		{"login, chunked", "POST", "/api/auth/login", true},
		{"admin patch, chunked", "PATCH", "/api/admin/users/00000000-0000-0000-0000-000000000000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := httptest.NewRequest(tt.method, tt.path, strings.NewReader(big))
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+admin.access)
			if tt.chunked {
				hr.ContentLength = -1
				hr.Body = io.NopCloser(struct{ io.Reader }{strings.NewReader(big)})
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, hr)
			expect(t, tt.method+" "+tt.path+" with 11 KiB", rec, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
			checkSecurityHeaders(t, tt.name, rec)
		})
	}
	// Just under the limit is read (and refused for what it says, not its size).
	ok := `{"email":"a@example.com","password":"` + strings.Repeat("x", 9<<10) + `"}`
	expect(t, "POST /api/auth/login with 9 KiB", e.do(req{method: "POST", path: "/api/auth/login", body: ok}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

// checkRateHeaders checks RateLimit-Limit and -Remaining, and that RateLimit-Reset is a
// delay within the window (not a timestamp). It returns the Reset value.
func checkRateHeaders(t *testing.T, what string, rec *httptest.ResponseRecorder, limit, remaining int) int {
	t.Helper()
	h := rec.Header()
	if h.Get("RateLimit-Limit") != strconv.Itoa(limit) || h.Get("RateLimit-Remaining") != strconv.Itoa(remaining) {
		t.Errorf("%s: RateLimit-Limit %q, -Remaining %q, want %d, %d", what, h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), limit, remaining)
	}
	reset, err := strconv.Atoi(h.Get("RateLimit-Reset"))
	if err != nil || reset < 0 || reset > 15*60 {
		t.Errorf("%s: RateLimit-Reset = %q, want a delay of 0 to 900 seconds", what, h.Get("RateLimit-Reset"))
	}
	return reset
}

// noRateHeaders checks that a response carries no rate-limit headers.
func noRateHeaders(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	for _, name := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} {
		if got := rec.Header().Get(name); got != "" {
			t.Errorf("%s: %s = %q, want none", what, name, got)
		}
	}
}

// check429 checks a 429 RATE_LIMITED with its headers.
func check429(t *testing.T, what string, rec *httptest.ResponseRecorder, limit int) {
	t.Helper()
	expect(t, what, rec, http.StatusTooManyRequests, "RATE_LIMITED")
	reset := checkRateHeaders(t, what, rec, limit, 0)
	retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || retry < 1 || retry > 15*60 || retry < reset {
		t.Errorf("%s: Retry-After = %q, want whole seconds from 1 to 900, at least RateLimit-Reset %d", what, rec.Header().Get("Retry-After"), reset)
	}
}

// limitBackends runs fn with rate-limit counters in memory, and in Redis when TEST_REDIS_URL is set.
func limitBackends(t *testing.T, fn func(t *testing.T, r *redis.Client)) {
	t.Run("memory", func(t *testing.T) { fn(t, nil) })
	t.Run("redis", func(t *testing.T) {
		r := storetest.Redis(t)
		fn(t, r)
	})
}

func TestAuthRateLimit(t *testing.T) {
	limitBackends(t, func(t *testing.T, r *redis.Client) {
		e := newEnv(t, func(c *envConfig) { c.AuthMax, c.Redis = 10, r })
		logout := req{method: "POST", path: "/api/auth/logout"}
		for i := range 10 {
			rec := e.do(logout)
			expect(t, "auth request "+strconv.Itoa(i+1), rec, http.StatusOK, "")
			checkRateHeaders(t, "auth request "+strconv.Itoa(i+1), rec, 10, 9-i)
			if got := rec.Header().Get("Retry-After"); got != "" {
				t.Errorf("auth request %d: Retry-After = %q, want none before the limit", i+1, got)
			}
		}
		check429(t, "auth request 11", e.do(logout), 10)
		check429(t, "login after the limit", e.postLogin("a@example.com", testPassword), 10)
		checkSecurityHeaders(t, "429", e.do(logout))
	})
}

func TestRateLimitCounters(t *testing.T) {
	limitBackends(t, func(t *testing.T, r *redis.Client) {
		e := newEnv(t, func(c *envConfig) { c.AuthMax, c.GeneralMax, c.Redis = 2, 3, r })
		auth := req{method: "POST", path: "/api/auth/logout"}
		general := req{method: "GET", path: "/api/profile"}
		service := []req{
			{method: "GET", path: "/healthz"}, {method: "GET", path: "/readyz"},
			{method: "GET", path: "/metrics"}, {method: "GET", path: "/.well-known/jwks.json"},
		}

		checkRateHeaders(t, "auth 1", e.do(auth), 2, 1)
		checkRateHeaders(t, "auth 2", e.do(auth), 2, 0)
		check429(t, "auth 3", e.do(auth), 2)
		// The auth requests left the general counter alone.
		rec := e.do(general)
		expect(t, "general 1 after the auth limit", rec, http.StatusUnauthorized, "NO_TOKEN")
		checkRateHeaders(t, "general 1", rec, 3, 2)
		checkRateHeaders(t, "general 2", e.do(req{method: "GET", path: "/api/admin/users"}), 3, 1)
		checkRateHeaders(t, "general 3", e.do(req{method: "GET", path: "/api/me"}), 3, 0)
		check429(t, "general 4", e.do(general), 3)
		check429(t, "auth 4", e.do(auth), 2)
		for _, s := range service {
			for range 5 {
				rec := e.do(s)
				expect(t, "service route "+s.path+" after both limits", rec, http.StatusOK, "")
				noRateHeaders(t, "service route "+s.path, rec)
			}
		}
		// Another client is counted on its own.
		rec = e.do(req{method: "GET", path: "/api/profile", remoteAddr: "198.51.100.9:4000"})
		expect(t, "general from another address", rec, http.StatusUnauthorized, "NO_TOKEN")
		checkRateHeaders(t, "general from another address", rec, 3, 2)

		// And the other way round: general requests do not use up the auth limit.
		e2 := newEnv(t, func(c *envConfig) { c.AuthMax, c.GeneralMax, c.Redis = 2, 3, r })
		for range 3 {
			e2.do(general)
		}
		check429(t, "general 4", e2.do(general), 3)
		rec = e2.do(auth)
		expect(t, "auth 1 after the general limit", rec, http.StatusOK, "")
		checkRateHeaders(t, "auth 1 after the general limit", rec, 2, 1)
	})
}

func TestRateLimitClientIP(t *testing.T) {
	auth := func(remote, xff string) req {
		r := req{method: "POST", path: "/api/auth/logout", remoteAddr: remote}
		if xff != "" {
			r.headers = map[string]string{"X-Forwarded-For": xff, "X-Real-IP": xff}
		}
		return r
	}
	t.Run("no trusted proxies", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.AuthMax = 2 })
		expect(t, "XFF 1.1.1.1", e.do(auth("203.0.113.7:1000", "1.1.1.1")), http.StatusOK, "")
		expect(t, "XFF 2.2.2.2", e.do(auth("203.0.113.7:1001", "2.2.2.2")), http.StatusOK, "")
		check429(t, "XFF 3.3.3.3 from the same address", e.do(auth("203.0.113.7:1002", "3.3.3.3")), 2)
		check429(t, "no XFF from the same address", e.do(auth("203.0.113.7:1003", "")), 2)
		expect(t, "another address", e.do(auth("203.0.113.8:1000", "1.1.1.1")), http.StatusOK, "")
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.AuthMax, c.TrustedProxies = 2, []string{"10.0.0.0/8"} })
		const proxy = "10.1.2.3:1234"
		expect(t, "client A 1", e.do(auth(proxy, "198.51.100.1")), http.StatusOK, "")
		expect(t, "client A 2", e.do(auth(proxy, "198.51.100.1")), http.StatusOK, "")
		check429(t, "client A 3", e.do(auth(proxy, "198.51.100.1")), 2)
		rec := e.do(auth(proxy, "198.51.100.2"))
		expect(t, "client B 1", rec, http.StatusOK, "")
		checkRateHeaders(t, "client B 1", rec, 2, 1)
		// A spoofed entry in front of the proxy's own does not make a new client.
		check429(t, "client A behind a spoofed entry", e.do(auth(proxy, "6.6.6.6, 198.51.100.1")), 2)
		// An untrusted peer's XFF is ignored.
		expect(t, "untrusted peer 1", e.do(auth("203.0.113.7:1000", "198.51.100.3")), http.StatusOK, "")
		expect(t, "untrusted peer 2", e.do(auth("203.0.113.7:1000", "198.51.100.4")), http.StatusOK, "")
		check429(t, "untrusted peer 3", e.do(auth("203.0.113.7:1000", "198.51.100.5")), 2)
	})
}

func TestLoginLockout(t *testing.T) {
	limitBackends(t, func(t *testing.T, r *redis.Client) {
		e := newEnv(t, func(c *envConfig) { c.LoginMaxFailures, c.Redis = 5, r })
		e.register("known@example.com")
		e.register("reset@example.com")
		loginFrom := func(ip int, email, password string) *httptest.ResponseRecorder {
			return e.do(req{method: "POST", path: "/api/auth/login", remoteAddr: "198.51.100." + strconv.Itoa(ip) + ":5000",
				body: map[string]string{"email": email, "password": password}})
		}
		tests := []struct {
			name   string
			emails []string // the failing logins use these spellings in turn
		}{
			{"known email", []string{"known@example.com", "KNOWN@example.com", " known@Example.com "}},
			{"unknown email", []string{"ghost@example.com", "Ghost@Example.com"}},
		}
		var bodies []string
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for i := range 5 {
					email := tt.emails[i%len(tt.emails)]
					expect(t, tt.name+" failure "+strconv.Itoa(i+1), loginFrom(i+1, email, "wrong password number "+strconv.Itoa(i)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
				}
				rec := loginFrom(6, tt.emails[0], testPassword)
				expect(t, tt.name+" right password from a 6th address", rec, http.StatusTooManyRequests, "RATE_LIMITED")
				retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
				if err != nil || retry < 1 || retry > 15*60 {
					t.Errorf("%s locked: Retry-After = %q, want 1 to 900 seconds", tt.name, rec.Header().Get("Retry-After"))
				}
				bodies = append(bodies, rec.Body.String())
				expect(t, tt.name+" wrong password while locked", loginFrom(7, tt.emails[0], "another wrong one"), http.StatusTooManyRequests, "RATE_LIMITED")
			})
		}
		if len(bodies) == 2 && bodies[0] != bodies[1] {
			t.Errorf("locked bodies differ: known %s, unknown %s; want the same answer", bodies[0], bodies[1])
		}
		// Other accounts are not locked.
		expect(t, "another account", loginFrom(1, "reset@example.com", testPassword), http.StatusOK, "")

		t.Run("success resets the count", func(t *testing.T) {
			for round := range 3 {
				for i := range 4 {
					expect(t, "failure", loginFrom(i+1, "reset@example.com", "wrong password"), http.StatusUnauthorized, "INVALID_CREDENTIALS")
				}
				expect(t, "round "+strconv.Itoa(round)+" right password after 4 failures", loginFrom(9, "reset@example.com", testPassword), http.StatusOK, "")
			}
		})
	})
}

func TestWeakPasswords(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ name, email, password string }{
		{"common", "weak1@example.com", "password123"},
		{"common, other case", "weak2@example.com", "Password123"},
		{"common, long", "weak3@example.com", "qwertyuiop"},
		{"the email", "longname.here@example.com", "longname.here@example.com"},
		{"the email, other case", "longname.here@example.com", "LongName.Here@Example.com"},
		{"the local part", "longname.here@example.com", "longname.here"},
		{"too short", "weak4@example.com", "k7#Qz!"},
		{"over 72 bytes", "weak5@example.com", strings.Repeat("Zq7#", 19)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": tt.email, "password": tt.password}})
			expect(t, "register "+tt.email+" with a "+tt.name+" password", rec, http.StatusBadRequest, "VALIDATION_ERROR")
			if _, ok := detailsOf(t, rec)["password"]; !ok {
				t.Errorf("register with a %s password: details = %v, want a password problem", tt.name, detailsOf(t, rec))
			}
		})
	}
	// The same policy guards a password change.
	e.register("strong@example.com")
	s := e.login("strong@example.com")
	for _, next := range []string{"password123", "strong@example.com", "short"} {
		rec := e.do(req{method: "POST", path: "/api/auth/password", bearer: s.access,
			body: map[string]string{"currentPassword": testPassword, "newPassword": next}})
		expect(t, "change to "+next, rec, http.StatusBadRequest, "VALIDATION_ERROR")
	}
	e.sessionAlive("after refused changes", s)
	e.login("strong@example.com")
}

func TestTokenFingerprint(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.Fingerprint = true })
		e.register("user@example.com")
		rec := e.postLogin("user@example.com", testPassword)
		expect(t, "login", rec, http.StatusOK, "")
		fgp := cookie(rec, middleware.FingerprintCookie)
		if fgp == nil {
			t.Fatalf("login: no %s cookie in %v", middleware.FingerprintCookie, rec.Header().Values("Set-Cookie"))
		}
		if !fgp.HttpOnly || !fgp.Secure || fgp.SameSite != http.SameSiteStrictMode || fgp.Path != "/" || fgp.Value == "" || fgp.MaxAge <= 0 {
			t.Errorf("login: %s cookie = %+v, want HttpOnly, Secure, SameSite=Strict, Path=/, a value and a Max-Age", fgp.Name, fgp)
		}
		access := jsonBody(t, rec)["accessToken"].(string)
		s := session{access: access, refresh: cookie(rec, "refreshToken")}
		other := e.postLogin("user@example.com", testPassword)
		otherFgp := cookie(other, middleware.FingerprintCookie)
		if otherFgp == nil || otherFgp.Value == fgp.Value {
			t.Fatalf("second login: %s cookie = %v, want a new value", middleware.FingerprintCookie, otherFgp)
		}
		profile := func(access string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
			return e.do(req{method: "GET", path: "/api/profile", bearer: access, cookies: cookies})
		}
		wrong := &http.Cookie{Name: middleware.FingerprintCookie, Value: strings.Repeat("ab", 32)}
		expect(t, "access with its cookie", profile(access, fgp), http.StatusOK, "")
		expect(t, "access without the cookie", profile(access), http.StatusUnauthorized, "INVALID_TOKEN")
		expect(t, "access with a wrong cookie", profile(access, wrong), http.StatusUnauthorized, "INVALID_TOKEN")
		expect(t, "access with another session's cookie", profile(access, otherFgp), http.StatusUnauthorized, "INVALID_TOKEN")
		expect(t, "access with an empty cookie", profile(access, &http.Cookie{Name: middleware.FingerprintCookie, Value: ""}), http.StatusUnauthorized, "INVALID_TOKEN")

		rec = e.do(req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s.refresh, fgp}})
		expect(t, "refresh with the cookie", rec, http.StatusOK, "")
		if c := cookie(rec, middleware.FingerprintCookie); c != nil {
			fgp = c
		}
		access2 := jsonBody(t, rec)["accessToken"].(string)
		expect(t, "refreshed access with the cookie", profile(access2, fgp), http.StatusOK, "")
		expect(t, "refreshed access without the cookie", profile(access2), http.StatusUnauthorized, "INVALID_TOKEN")
		s.refresh = cookie(rec, "refreshToken")
		expect(t, "second refresh", e.do(req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s.refresh, fgp}}), http.StatusOK, "")
	})
	t.Run("off", func(t *testing.T) {
		e := newEnv(t, nil)
		e.register("user@example.com")
		rec := e.postLogin("user@example.com", testPassword)
		expect(t, "login", rec, http.StatusOK, "")
		if c := cookie(rec, middleware.FingerprintCookie); c != nil {
			t.Errorf("login with fingerprints off: Set-Cookie %v, want no %s", c, middleware.FingerprintCookie)
		}
		expect(t, "access without any cookie", e.do(req{method: "GET", path: "/api/profile", bearer: jsonBody(t, rec)["accessToken"].(string)}), http.StatusOK, "")
	})
}

func TestServiceRoutes(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.do(req{method: "GET", path: "/healthz"})
	expect(t, "GET /healthz", rec, http.StatusOK, "")
	if got := jsonBody(t, rec)["status"]; got != "ok" {
		t.Errorf("GET /healthz status = %v, want ok", got)
	}
	expect(t, "GET /readyz", e.do(req{method: "GET", path: "/readyz"}), http.StatusOK, "")

	rec = e.do(req{method: "GET", path: "/metrics"})
	expect(t, "GET /metrics", rec, http.StatusOK, "")
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics Content-Type = %q, want text/plain", ct)
	}
	if body := rec.Body.String(); !strings.Contains(body, "# TYPE auth_http_requests_total counter") || !strings.Contains(body, "auth_http_requests_total{") {
		t.Errorf("GET /metrics = %q, want auth_http_requests_total samples", clipTo(body, 2000))
	}

	rec = e.do(req{method: "GET", path: "/.well-known/jwks.json"})
	expect(t, "GET /.well-known/jwks.json under HS256", rec, http.StatusOK, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"keys":[]}` {
		t.Errorf("GET /.well-known/jwks.json under HS256 = %s, want {\"keys\":[]}", got)
	}
	if rec.Body.String() == "" || strings.Contains(rec.Body.String(), apptest.AccessSecret) {
		t.Errorf("GET /.well-known/jwks.json under HS256 = %q", rec.Body.String())
	}
}

func TestReadyzDown(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.store.Close(); err != nil {
		t.Fatalf("store.Close() = %v", err)
	}
	rec := e.do(req{method: "GET", path: "/readyz"})
	expect(t, "GET /readyz with the store closed", rec, http.StatusServiceUnavailable, "")
	expect(t, "GET /healthz with the store closed", e.do(req{method: "GET", path: "/healthz"}), http.StatusOK, "")
}

func TestJWKSEdDSA(t *testing.T) {
	signer, err := keys.Generate("EdDSA")
	if err != nil {
		t.Fatalf("keys.Generate(EdDSA) = %v", err)
	}
	kid, err := keys.KID(signer.Public())
	if err != nil {
		t.Fatalf("keys.KID = %v", err)
	}
	e := newEnv(t, func(c *envConfig) { c.Tokens = tokens.Options{Algorithm: "EdDSA", SigningKey: signer} })
	rec := e.do(req{method: "GET", path: "/.well-known/jwks.json"})
	expect(t, "GET /.well-known/jwks.json under EdDSA", rec, http.StatusOK, "")
	list, _ := jsonBody(t, rec)["keys"].([]any)
	if len(list) != 1 {
		t.Fatalf("GET /.well-known/jwks.json under EdDSA = %s, want one key", rec.Body.String())
	}
	k := list[0].(map[string]any)
	if k["kid"] != kid || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["x"] == nil {
		t.Errorf("JWKS key = %v, want kid %s, kty OKP, crv Ed25519, alg EdDSA, use sig, x", k, kid)
	}
	if _, ok := k["d"]; ok {
		t.Errorf("JWKS key = %v holds the private part d", k)
	}
	if _, ok := signer.Public().(ed25519.PublicKey); !ok {
		t.Fatalf("keys.Generate(EdDSA) public key is %T, want ed25519.PublicKey", signer.Public())
	}
	// Tokens carry that kid and work.
	e.register("user@example.com")
	s := e.login("user@example.com")
	e.sessionAlive("EdDSA access token", s)
	if got := jwtHeaderKID(t, s.access); got != kid {
		t.Errorf("access token kid = %q, want %q", got, kid)
	}
}

// clipTo cuts s to at most n bytes, for failure messages.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// jwtHeaderKID returns the kid of a JWT's header (read without verifying it).
func jwtHeaderKID(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		KID string `json:"kid"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		t.Fatalf("JWT header %q: %v", head, err)
	}
	return h.KID
}
