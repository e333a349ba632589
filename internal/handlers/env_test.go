package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/audit"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/mail/mailtest"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
	"github.com/authserver/authserver/internal/tokens"

	"github.com/authserver/authserver/internal/clocktest"
)

// envConfig is what a test may change about the server it gets.
type envConfig struct {
	Store              *store.Store // nil: a fresh store of the first backend
	ClientURLs         []string
	TrustedProxies     []string
	GeneralMax         int64
	AuthMax            int64
	LoginMaxFailures   int64
	ReuseGrace         time.Duration
	AccessTTL          time.Duration
	RefreshTTL         time.Duration
	IdleTimeout        time.Duration
	MaxLifetime        time.Duration
	AllowRegistration  bool
	Fingerprint        bool
	CookieSecure       bool
	RequireMFAForAdmin bool
	ServeSPA           bool            // serve the example SPA at /
	Tokens             tokens.Options  // Algorithm, keys and access secret; HS256 with the apptest secrets when empty
	Redis              *redis.Client   // nil: rate-limit counters in memory; else in Redis under a fresh prefix
	Introspection      []string        // INTROSPECTION_TOKENS; none: no /oauth/introspect
	Log                io.Writer       // nil: logs discarded; else JSON lines written here
	Passkeys           passkeys.Config // the WebAuthn relying party; zero: passkeys off
	Mail               bool            // mail through a real SMTP server on loopback (testEnv.smtp)
	RequireVerified    bool            // REQUIRE_EMAIL_VERIFICATION
}

// testEnv is a whole HTTP server on a real store, with a settable clock.
type testEnv struct {
	t      testing.TB
	h      http.Handler
	clock  *clocktest.Clock
	store  *store.Store
	svc    *auth.Service
	issuer *tokens.Issuer
	list   *revoke.List
	audit  *audit.Writer
	cfg    envConfig
	smtp   *mailtest.Server // with envConfig.Mail: the SMTP server the mail goes to
	mail   *mail.Queue      // with envConfig.Mail: the server's mail queue
}

// newEnv builds the real server through app.New (apptest.New) around a real store. mutate may
// change the defaults (generous rate limits, 10s reuse grace, registration on, HS256).
func newEnv(t testing.TB, mutate func(*envConfig)) *testEnv {
	t.Helper()
	cfg := envConfig{
		GeneralMax: 10000, AuthMax: 10000, LoginMaxFailures: 5, ReuseGrace: 10 * time.Second,
		AccessTTL: 15 * time.Minute, RefreshTTL: 7 * 24 * time.Hour, IdleTimeout: 7 * 24 * time.Hour,
		MaxLifetime: 30 * 24 * time.Hour, AllowRegistration: true, CookieSecure: true,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if cfg.Store == nil {
		cfg.Store = storetest.Open(t)
	}
	clk := clocktest.New(time.Now().UTC().Truncate(time.Second))
	c := apptest.Config(t)
	c.RateLimitWindow, c.RateLimitMax, c.AuthRateLimitMax = 15*time.Minute, int(cfg.GeneralMax), int(cfg.AuthMax)
	c.LoginMaxFailures, c.LoginFailureWindow = int(cfg.LoginMaxFailures), 15*time.Minute
	c.ReuseGrace, c.AccessTTL, c.RefreshTTL = cfg.ReuseGrace, cfg.AccessTTL, cfg.RefreshTTL
	c.IdleTimeout, c.MaxLifetime, c.Leeway = cfg.IdleTimeout, cfg.MaxLifetime, 0
	c.AllowRegistration, c.TokenFingerprint, c.CookieSecure = cfg.AllowRegistration, cfg.Fingerprint, cfg.CookieSecure
	c.ClientURLs, c.TrustedProxies, c.ServeSPA = cfg.ClientURLs, cfg.TrustedProxies, cfg.ServeSPA
	c.RequireMFAForAdmin = cfg.RequireMFAForAdmin
	c.BcryptConcurrency, c.AuditQueueSize = 2, 1024
	for _, s := range cfg.Introspection {
		c.IntrospectionTokens = append(c.IntrospectionTokens, config.Secret(s))
	}
	c.Passkeys = cfg.Passkeys
	if o := cfg.Tokens; o.Algorithm != "" {
		c.Algorithm, c.SigningKey, c.VerifyKeys = o.Algorithm, o.SigningKey, o.VerifyKeys
		if o.AccessSecret != nil {
			c.AccessSecret = config.Secret(o.AccessSecret)
		}
	}
	var log *slog.Logger
	if cfg.Log != nil {
		log = slog.New(slog.NewJSONHandler(cfg.Log, nil))
	}
	c.Mail.AppURL = "https://app.example.com" // links even without mail, as for server user reset-link
	var smtp *mailtest.Server
	if cfg.Mail {
		smtp = mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS})
		tr, err := mail.ParseURL(smtp.URL())
		if err != nil {
			t.Fatal(err)
		}
		c.Mail.SMTP, c.Mail.From = &tr, "Example <no-reply@example.com>"
	}
	c.Mail.RequireVerified = cfg.RequireVerified
	o := app.Overrides{Now: clk.Now, Store: cfg.Store, Redis: cfg.Redis, RateLimitPrefix: "test:" + uuid.NewString()}
	if smtp != nil {
		o.Mail = app.MailOverrides{FirstRetry: 100 * time.Millisecond, RootCAs: smtp.RootCAs}
	}
	a := apptest.New(t, c, log, o)
	h, err := a.Handler()
	if err != nil {
		t.Fatalf("Handler: %v", err)
	}
	return &testEnv{t: t, h: h, clock: clk, store: cfg.Store, svc: a.Auth, issuer: a.Tokens, list: a.DenyList, audit: a.Audit,
		cfg: cfg, smtp: smtp, mail: a.Mail}
}

// req is one request to send.
type req struct {
	method, path string
	body         any // string: sent as is; otherwise JSON-encoded; nil: no body
	bearer       string
	cookies      []*http.Cookie
	headers      map[string]string
	remoteAddr   string
}

// do sends r to the server and returns the recorded response.
func (e *testEnv) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	r.setHeaders(hr)
	if r.remoteAddr != "" {
		hr.RemoteAddr = r.remoteAddr
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
}

// setHeaders puts on hr what r says besides its method, path and body: Content-Type for a
// body, the bearer token, the cookies and the extra headers.
func (r req) setHeaders(hr *http.Request) {
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
}

// jsonBody decodes a response body into a map.
func jsonBody(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return m
}

// expect checks a response's status and, for errors, its code.
func expect(t testing.TB, what string, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status = %d, want %d (body %s)", what, rec.Code, status, rec.Body.String())
	}
	if code != "" {
		if got := jsonBody(t, rec)["code"]; got != code {
			t.Fatalf("%s: code = %v, want %s (body %s)", what, got, code, rec.Body.String())
		}
	}
}

// cookie returns the named Set-Cookie of a response, or nil.
func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

const testPassword = "correct horse battery staple"

// register creates a user through the API and returns its id.
func (e *testEnv) register(email string) string {
	e.t.Helper()
	return e.registerFrom(email, "")
}

// registerFrom is register sent from the client address addr ("" for the default).
func (e *testEnv) registerFrom(email, addr string) string {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": email, "password": testPassword}, remoteAddr: addr})
	expect(e.t, "register "+email, rec, http.StatusCreated, "")
	return jsonBody(e.t, rec)["user"].(map[string]any)["id"].(string)
}

// session is a logged-in client: its access token and refresh cookie.
type session struct {
	access  string
	refresh *http.Cookie
}

// login logs email in with testPassword.
func (e *testEnv) login(email string) session {
	e.t.Helper()
	return e.loginFrom(email, "")
}

// loginFrom is login sent from the client address addr ("" for the default).
func (e *testEnv) loginFrom(email, addr string) session {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": testPassword}, remoteAddr: addr})
	expect(e.t, "login "+email, rec, http.StatusOK, "")
	c := cookie(rec, "refreshToken")
	if c == nil {
		e.t.Fatalf("login %s: no refreshToken cookie", email)
	}
	return session{access: jsonBody(e.t, rec)["accessToken"].(string), refresh: c}
}

// refresh presents the session's refresh cookie and returns the response.
func (e *testEnv) refresh(s session) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s.refresh}})
}

// makeAdmin creates an admin directly through the service (as `server user create` does).
func (e *testEnv) makeAdmin(email string) string {
	e.t.Helper()
	u, err := e.svc.CreateUser(context.Background(), email, testPassword, "admin")
	if err != nil {
		e.t.Fatalf("CreateUser(%s, admin): %v", email, err)
	}
	return u.ID
}
