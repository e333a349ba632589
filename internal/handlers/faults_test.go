package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/store/storetest"
)

// TestDatabaseOutage cuts the PostgreSQL connection under a running server: routes that need
// the database answer 503 SERVICE_UNAVAILABLE (never 500), protected routes keep working (they
// run no SQL), and everything recovers by itself once the database is back.
func TestDatabaseOutage(t *testing.T) {
	st, proxy := storetest.OpenBehindProxy(t)
	e := newEnv(t, func(c *envConfig) { c.Store = st })
	e.register("outage@example.com")
	s := e.login("outage@example.com")
	creds := map[string]string{"email": "outage@example.com", "password": testPassword}

	proxy.Cut()
	for _, r := range []req{
		{method: "POST", path: "/api/auth/login", body: creds},
		{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s.refresh}},
		{method: "GET", path: "/api/me", bearer: s.access},
		{method: "GET", path: "/api/auth/sessions", bearer: s.access},
		{method: "GET", path: "/forward-auth?role=admin", bearer: s.access},
	} {
		expect(t, r.method+" "+r.path+" with the database gone", e.do(r), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	}
	expect(t, "GET /readyz with the database gone", e.do(req{method: "GET", path: "/readyz"}), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	expect(t, "GET /api/profile with the database gone", e.do(req{method: "GET", path: "/api/profile", bearer: s.access}), http.StatusOK, "")
	expect(t, "GET /forward-auth with the database gone", e.do(req{method: "GET", path: "/forward-auth", bearer: s.access}), http.StatusOK, "")
	expect(t, "GET /healthz with the database gone", e.do(req{method: "GET", path: "/healthz"}), http.StatusOK, "")

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := e.do(req{method: "POST", path: "/api/auth/login", body: creds})
		if rec.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login after the database came back: status %d (body %s), want 200 within 10s", rec.Code, rec.Body.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect(t, "refresh after recovery", e.refresh(s), http.StatusOK, "")
	expect(t, "GET /readyz after recovery", e.do(req{method: "GET", path: "/readyz"}), http.StatusOK, "")
}
