// Package mailtest runs a real SMTP server (emersion/go-smtp) on loopback for tests, with a
// self-signed certificate for STARTTLS and TLS, and reads the links out of the mails it receives.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Security is how the server protects its conversations.
type Security int

// The values of Options.Security.
const (
	Plain    Security = iota // no TLS at all: STARTTLS is not offered
	StartTLS                 // STARTTLS offered
	TLS                      // TLS from the first byte
)

// Options shapes a Server.
type Options struct {
	Security Security
	// Username and Password, when set, make AUTH PLAIN required (offered only over TLS unless the
	// server is Plain).
	Username, Password string
	// Hold, when not nil, makes every DATA wait until it is closed: a server that stalls mid-way.
	Hold chan struct{}
	// HangUp makes the server drop the connection right after accepting a message (after its
	// 250), so the client's RSET or QUIT fails.
	HangUp bool
}

// Received is one mail the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte // the message as sent: headers and MIME body
	TLS  bool   // whether the conversation was encrypted
}

// Counts are the commands the server saw, accepted or not.
type Counts struct {
	Mail      int // MAIL FROM commands
	PlainMail int // of which over an unencrypted connection
	Auth      int // AUTH attempts
}

// Server is an SMTP server on 127.0.0.1, stopped in t.Cleanup.
type Server struct {
	o       Options
	addr    string
	tlsConf *tls.Config
	// RootCAs trusts the server's self-signed certificate (for clients under test).
	RootCAs *x509.CertPool

	received chan Received

	mu     sync.Mutex
	srv    *smtp.Server
	ln     net.Listener
	counts Counts
}

// Start starts a server on a free loopback port.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("mailtest: certificate: %v", err)
	}
	s := &Server{o: o, RootCAs: pool, received: make(chan Received, 100),
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// URL returns the SMTP URL for this server: smtp:// for StartTLS, smtps:// for TLS, and
// smtp://...?tls=none for Plain, with the user and password when the server wants them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	switch s.o.Security {
	case TLS:
		u.Scheme = "smtps"
	case Plain:
		u.RawQuery = "tls=none"
	}
	if s.o.Username != "" {
		u.User = url.UserPassword(s.o.Username, s.o.Password)
	}
	return u.String()
}

// Stop closes the listener and every connection: the server is down. Its address stays reserved
// for Restart only by convention; tests restart it soon after.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.ln.Close() // Serve may not have registered it yet, so Close alone could miss it
		_ = s.srv.Close()
		s.srv, s.ln = nil, nil
	}
}

// Restart listens again at the same address after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("mailtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// serve starts a go-smtp server on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	switch s.o.Security {
	case StartTLS:
		srv.TLSConfig = s.tlsConf
	case TLS:
		l = tls.NewListener(l, s.tlsConf)
	case Plain:
		srv.AllowInsecureAuth = true
	}
	s.mu.Lock()
	s.srv, s.ln = srv, l
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Next returns the next mail received, failing the test when none comes within 10 seconds.
func (s *Server) Next(t testing.TB) Received {
	t.Helper()
	select {
	case m := <-s.received:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("mailtest: no mail arrived at %s", s.addr)
		return Received{}
	}
}

// Pending returns the mails received and not yet taken by Next, without waiting.
func (s *Server) Pending() []Received {
	var list []Received
	for {
		select {
		case m := <-s.received:
			list = append(list, m)
		default:
			return list
		}
	}
}

// Counts returns the commands seen so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// session is one SMTP conversation.
type session struct {
	s        *Server
	conn     *smtp.Conn
	authed   bool
	from     string
	to       []string
	accepted bool // a message was just accepted (for Options.HangUp)
}

func (se *session) encrypted() bool {
	_, ok := se.conn.TLSConnectionState()
	return ok
}

// AuthMechanisms offers PLAIN when the server has a user.
func (se *session) AuthMechanisms() []string {
	if se.s.o.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks the user and password.
func (se *session) Auth(mech string) (sasl.Server, error) {
	se.s.mu.Lock()
	se.s.counts.Auth++
	se.s.mu.Unlock()
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != se.s.o.Username || pass != se.s.o.Password {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

// Mail starts a message, refusing it without login when the server wants one.
func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.s.mu.Lock()
	se.s.counts.Mail++
	if !se.encrypted() {
		se.s.counts.PlainMail++
	}
	se.s.mu.Unlock()
	if se.s.o.Username != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

// Rcpt adds a recipient.
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

// Data stores the message (after Hold, when set).
func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if se.s.o.Hold != nil {
		<-se.s.o.Hold
	}
	se.s.received <- Received{From: se.from, To: se.to, Data: data, TLS: se.encrypted()}
	se.accepted = true
	return nil
}

// Reset forgets the message in progress; go-smtp calls it after each message too, once the 250
// is written, which is when Options.HangUp drops the line.
func (se *session) Reset() {
	if se.accepted && se.s.o.HangUp {
		_ = se.conn.Conn().Close()
	}
	se.from, se.to, se.accepted = "", nil, false
}

// Logout ends the session.
func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a day, and a pool
// trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
