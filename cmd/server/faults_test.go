package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/authserver/authserver/internal/redis"
)

// ownRedis is a redis-server of the test's own, on a free loopback port, that the test can stop
// and start again on the same port.
type ownRedis struct {
	t    *testing.T
	port string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts a redis-server (no persistence) on a free port, or skips the test when there
// is none (fails under CI=true).
func startRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (CI=true)")
		}
		t.Skip("redis-server is not installed")
	}
	r := &ownRedis{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

// client returns a new client of r; the caller closes it.
func (r *ownRedis) client() *redis.Client {
	r.t.Helper()
	c, err := redis.New(r.url())
	if err != nil {
		r.t.Fatalf("redis.New(%s): %v", r.url(), err)
	}
	return c
}

// start runs redis-server on r's port and waits until it answers PING.
func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", r.port, "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c := r.client()
	defer c.Close()
	eventually(r.t, 30*time.Second, "redis-server answers PING", func() (bool, string) {
		err := c.Ping(context.Background())
		return err == nil, "ping: " + errString(err)
	})
}

// stop kills redis-server and waits for it to exit.
func (r *ownRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// TestRedisOutage stops the Redis that two instances share and starts it again, without
// restarting them. While Redis is gone every route answers as it should (written down in
// docs/reliability.md): /readyz 503, everything else as usual, rate limits counted in memory, and
// a logout on one instance reaches the other through the database poll. When Redis is back,
// /readyz answers 200 again and both instances are subscribed to the revocation channel again.
func TestRedisOutage(t *testing.T) {
	requireServices(t)
	own := startRedis(t)
	dbURL, _ := trackedDatabase(t)
	env := baseEnv(dbURL)
	env["REDIS_URL"] = own.url()
	env["REVOCATION_SYNC_INTERVAL"] = "2s"
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	email := uniqueEmail("redisout")
	ca.register(email)
	expect(t, ca.do("GET", "/readyz", nil, ""), http.StatusOK, "")

	own.stop()
	expect(t, ca.do("GET", "/readyz", nil, ""), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	expect(t, ca.do("GET", "/healthz", nil, ""), http.StatusOK, "")
	access, refresh := ca.login(email)
	r := ca.do("GET", "/api/profile", nil, access)
	expect(t, r, http.StatusOK, "")
	if got := r.header.Get("RateLimit-Limit"); got != env["RATE_LIMIT_MAX"] {
		t.Errorf("GET /api/profile with Redis gone: RateLimit-Limit = %q, want %s (counted in memory)", got, env["RATE_LIMIT_MAX"])
	}
	r = ca.do("POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+refresh)
	expect(t, r, http.StatusOK, "")
	refresh = r.cookieValue("refreshToken")
	expect(t, cb.do("GET", "/api/auth/sessions", nil, access), http.StatusOK, "")
	expect(t, ca.do("POST", "/api/auth/logout", map[string]string{"refreshToken": refresh}, access), http.StatusOK, "")
	expect(t, ca.do("GET", "/api/profile", nil, access), http.StatusUnauthorized, "TOKEN_REVOKED")
	waitRevoked(t, cb, access, 30*time.Second, "logout on A reaches B through the database while Redis is gone")

	own.start()
	for _, c := range []*client{ca, cb} {
		eventually(t, 60*time.Second, "/readyz answers 200 once Redis is back", func() (bool, string) {
			r := c.do("GET", "/readyz", nil, "")
			return r.status == http.StatusOK, strconv.Itoa(r.status) + " " + r.raw
		})
	}
	rc := own.client()
	defer rc.Close()
	eventually(t, 60*time.Second, "both instances subscribed to the revocation channel again", func() (bool, string) {
		n, err := redigo.Int64Map(rc.Do(context.Background(), "PUBSUB", "NUMSUB", "auth:revocations"))
		return err == nil && n["auth:revocations"] == 2, "subscribers: " + strconv.FormatInt(n["auth:revocations"], 10) + " " + errString(err)
	})
	access, _ = ca.login(email)
	expect(t, cb.do("GET", "/api/profile", nil, access), http.StatusOK, "")
	if n, err := redigo.Int64(rc.Do(context.Background(), "DBSIZE")); err != nil || n == 0 {
		t.Errorf("Redis holds %d keys (%v) after requests, want the rate-limit counters back in it", n, err)
	}
}
