package storetest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
)

// CutProxy forwards TCP connections to a target until it is cut, like a database host that
// drops off the network, and can be restored on the same address.
type CutProxy struct {
	t      testing.TB
	target string
	mu     sync.Mutex
	addr   string
	ln     net.Listener
	conns  []net.Conn
}

// NewCutProxy listens on a free loopback port and forwards each connection to target; it is
// cut in t.Cleanup.
func NewCutProxy(t testing.TB, target string) *CutProxy {
	t.Helper()
	p := &CutProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.Cut)
	return p
}

// Addr is the proxy's host:port.
func (p *CutProxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// listen serves on addr.
func (p *CutProxy) listen(addr string) {
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

// Cut closes the listener and every connection: the database is gone.
func (p *CutProxy) Cut() {
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

// Restore listens again on the same address: the database is back.
func (p *CutProxy) Restore() { p.listen(p.Addr()) }

// OpenBehindProxy opens a fresh, migrated PostgreSQL store (see PostgresDSN, which skips
// without TEST_DATABASE_URL) whose connections go through a CutProxy, for outage tests.
func OpenBehindProxy(t testing.TB) (*store.Store, *CutProxy) {
	t.Helper()
	dsn := PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %q: %v", dsn, err)
	}
	proxy := NewCutProxy(t, u.Host)
	u.Host = proxy.Addr()
	return openMigrated(t, models.DriverPostgres, u.String()), proxy
}
