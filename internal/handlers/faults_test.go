package handlers_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

// cutProxy forwards TCP connections to a target until it is cut, like a database host that
// drops off the network, and can be restored on the same address.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

// listen serves on addr.
func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: the database is gone.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address: the database is back.
func (p *cutProxy) restore() { p.listen(p.addr) }

// TestDatabaseOutage cuts the PostgreSQL connection under a running server: routes that need
// the database answer 503 SERVICE_UNAVAILABLE (never 500), protected routes keep working (they
// run no SQL), and everything recovers by itself once the database is back.
func TestDatabaseOutage(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %q: %v", dsn, err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	st, err := store.Open(t.Context(), models.DriverPostgres, u.String(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("store.Open through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	e := newEnv(t, func(c *envConfig) { c.Store = st })
	e.register("outage@example.com")
	s := e.login("outage@example.com")
	creds := map[string]string{"email": "outage@example.com", "password": testPassword}

	proxy.cut()
	for _, r := range []req{
		{method: "POST", path: "/api/auth/login", body: creds},
		{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s.refresh}},
		{method: "GET", path: "/api/me", bearer: s.access},
		{method: "GET", path: "/api/auth/sessions", bearer: s.access},
	} {
		expect(t, r.method+" "+r.path+" with the database gone", e.do(r), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	}
	expect(t, "GET /readyz with the database gone", e.do(req{method: "GET", path: "/readyz"}), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	expect(t, "GET /api/profile with the database gone", e.do(req{method: "GET", path: "/api/profile", bearer: s.access}), http.StatusOK, "")
	expect(t, "GET /healthz with the database gone", e.do(req{method: "GET", path: "/healthz"}), http.StatusOK, "")

	proxy.restore()
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
