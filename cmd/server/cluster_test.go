package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/store/storetest"
)

// introspectionToken is the INTROSPECTION_TOKENS of the cluster tests.
const introspectionToken = "6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d-introspection"

// clusterEnv returns an environment on a fresh PostgreSQL schema and the test Redis, where only
// Redis can spread a revocation quickly (the store is polled once an hour) and the reuse grace is
// off. It skips the test unless TEST_DATABASE_URL and TEST_REDIS_URL are both set.
func clusterEnv(t *testing.T) map[string]string {
	t.Helper()
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" || os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL and TEST_REDIS_URL are not both set")
	}
	env := baseEnv(storetest.PostgresDSN(t))
	env["REDIS_URL"] = redisURL
	env["REVOCATION_SYNC_INTERVAL"] = "1h"
	env["REFRESH_REUSE_GRACE"] = "0s"
	env["INTROSPECTION_TOKENS"] = introspectionToken
	return env
}

// TestClusterRedis runs two instances, A and B, on one database and one Redis.
func TestClusterRedis(t *testing.T) {
	env := clusterEnv(t)
	admin, email := uniqueEmail("admin"), uniqueEmail("carol")
	createUser(t, env, admin, "admin")
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	carolID := ca.register(email)

	t.Run("logout on A revokes on B at once", func(t *testing.T) {
		access, refresh := ca.login(email)
		expect(t, cb.do("GET", "/api/profile", nil, access), http.StatusOK, "")
		expect(t, ca.do("POST", "/api/auth/logout", map[string]string{"refreshToken": refresh}, access), http.StatusOK, "")
		waitRevoked(t, cb, access, 2*time.Second, "B after logout on A (REVOCATION_SYNC_INTERVAL=1h)")
	})

	t.Run("logout on A, introspection on B says inactive at once", func(t *testing.T) {
		access, refresh := ca.login(email)
		form := url.Values{"token": {access}}
		r := cb.do("POST", "/oauth/introspect", form, introspectionToken)
		if expect(t, r, http.StatusOK, ""); r.body["active"] != true || r.str("username") != email {
			t.Fatalf("introspection on B before logout = %s, want active for %s", r.raw, email)
		}
		expect(t, ca.do("POST", "/api/auth/logout", map[string]string{"refreshToken": refresh}, access), http.StatusOK, "")
		eventually(t, 2*time.Second, "introspection on B after logout on A (REVOCATION_SYNC_INTERVAL=1h)", func() (bool, string) {
			r := cb.do("POST", "/oauth/introspect", form, introspectionToken)
			return r.status == http.StatusOK && r.body["active"] == false && len(r.body) == 1, fmt.Sprintf("%d %s", r.status, r.raw)
		})
	})

	t.Run("reuse detected on B ends the session on A", func(t *testing.T) {
		access1, refresh1 := ca.login(email)
		r := ca.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": refresh1}, "")
		expect(t, r, http.StatusOK, "")
		access2, refresh2 := r.str("accessToken"), r.str("refreshToken")
		if access2 == "" || refresh2 == "" || refresh2 == refresh1 {
			t.Fatalf("POST /api/auth/refresh on A = %s, want a new access and refresh token", r.raw)
		}
		expect(t, cb.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": refresh1}, ""),
			http.StatusUnauthorized, "TOKEN_REUSE")
		expect(t, ca.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": refresh2}, ""),
			http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
		waitRevoked(t, ca, access2, 2*time.Second, "A's current access token after reuse detected on B")
		expect(t, ca.do("GET", "/api/profile", nil, access1), http.StatusUnauthorized, "TOKEN_REVOKED")
	})

	t.Run("admin disables on A, B denies at once", func(t *testing.T) {
		access, _ := ca.login(email)
		expect(t, cb.do("GET", "/api/profile", nil, access), http.StatusOK, "")
		adminAccess, _ := ca.login(admin)
		r := ca.do("PATCH", "/api/admin/users/"+carolID, map[string]any{"disabled": true}, adminAccess)
		expect(t, r, http.StatusOK, "")
		if user, _ := r.body["user"].(map[string]any); user["disabled"] != true {
			t.Errorf("PATCH /api/admin/users/%s {disabled:true} = %s, want user.disabled true", carolID, r.raw)
		}
		waitRevoked(t, cb, access, 2*time.Second, "B after an admin disabled the user on A")
		expect(t, cb.do("GET", "/api/admin", nil, adminAccess), http.StatusOK, "")
	})
}

// TestClusterPolling runs two instances without Redis: B learns of a logout on A by polling
// the database every REVOCATION_SYNC_INTERVAL.
func TestClusterPolling(t *testing.T) {
	env := baseEnv(storetest.PostgresDSN(t)) // several instances need PostgreSQL; skips without it
	env["REVOCATION_SYNC_INTERVAL"] = "1s"
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	email := uniqueEmail("poll")
	ca.register(email)
	access, refresh := ca.login(email)
	expect(t, cb.do("GET", "/api/profile", nil, access), http.StatusOK, "")
	expect(t, ca.do("POST", "/api/auth/logout", map[string]string{"refreshToken": refresh}, access), http.StatusOK, "")
	waitRevoked(t, cb, access, 4*time.Second, "B after logout on A, without Redis (REVOCATION_SYNC_INTERVAL=1s)")
}

// TestRestartKeepsRevocations stops the server and starts a new one on the same database and
// secrets: what was revoked stays revoked, and what was not still works.
func TestRestartKeepsRevocations(t *testing.T) {
	env := baseEnv(sqliteURL(t))
	s1 := startServer(t, env)
	c1 := newClient(t, s1.url)
	email := uniqueEmail("restart")
	c1.register(email)
	goneAccess, goneRefresh := c1.login(email)
	keptAccess, keptRefresh := c1.login(email)
	expect(t, c1.do("POST", "/api/auth/logout", nil, goneAccess, "Cookie", "refreshToken="+goneRefresh), http.StatusOK, "")
	expect(t, c1.do("GET", "/api/profile", nil, goneAccess), http.StatusUnauthorized, "TOKEN_REVOKED")
	if err := s1.stop(); err != nil {
		t.Fatalf("run(serve) returned %v after cancel, want nil", err)
	}

	s2 := startServer(t, env)
	c2 := newClient(t, s2.url)
	expect(t, c2.do("GET", "/api/profile", nil, goneAccess), http.StatusUnauthorized, "TOKEN_REVOKED")
	expect(t, c2.do("POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+goneRefresh),
		http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
	expect(t, c2.do("GET", "/api/profile", nil, keptAccess), http.StatusOK, "")
	expect(t, c2.do("POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+keptRefresh), http.StatusOK, "")
}

// TestRedisUnavailable serves with a REDIS_URL where nothing listens: logins and protected
// routes still work (rate limits fall back to memory) and /readyz says 503.
func TestRedisUnavailable(t *testing.T) {
	env := baseEnv(sqliteURL(t))
	env["REDIS_URL"] = "redis://127.0.0.1:1/0"
	s := startServer(t, env)
	c := newClient(t, s.url)
	email := uniqueEmail("noredis")
	c.register(email)
	access, _ := c.login(email)
	r := c.do("GET", "/api/profile", nil, access)
	expect(t, r, http.StatusOK, "")
	if got := r.header.Get("RateLimit-Limit"); got != env["RATE_LIMIT_MAX"] {
		t.Errorf("GET /api/profile with Redis down: RateLimit-Limit = %q, want %s (counted in memory)", got, env["RATE_LIMIT_MAX"])
	}
	expect(t, c.do("GET", "/readyz", nil, ""), http.StatusServiceUnavailable, "")
	expect(t, c.do("GET", "/healthz", nil, ""), http.StatusOK, "")
}
