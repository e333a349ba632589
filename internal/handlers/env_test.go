package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/authserver/authserver/internal/audit"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/handlers"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
	"github.com/authserver/authserver/internal/tokens"

	"github.com/authserver/authserver/internal/clocktest"
)

// envConfig is what a test may change about the server it gets.
type envConfig struct {
	Store             *store.Store // nil: a fresh store of the first backend
	ClientURLs        []string
	TrustedProxies    []string
	GeneralMax        int64
	AuthMax           int64
	LoginMaxFailures  int64
	ReuseGrace        time.Duration
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	AllowRegistration bool
	Fingerprint       bool
	CookieSecure      bool
	Tokens            tokens.Options // Algorithm, keys and secrets; filled with HS256 defaults when empty
	Redis             *redis.Client  // nil: rate-limit counters in memory; else in Redis under a fresh prefix
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
}

const (
	testAccessSecret  = "access-secret-for-tests-0123456789abcdef"
	testRefreshSecret = "refresh-secret-for-tests-fedcba9876543210"
)

// newEnv builds the real server (handlers.NewServer) around a real store. mutate may change
// the defaults (generous rate limits, 10s reuse grace, registration on, HS256).
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
	o := cfg.Tokens
	if o.Algorithm == "" {
		o.Algorithm, o.AccessSecret = "HS256", []byte(testAccessSecret)
	}
	if o.RefreshSecret == nil {
		o.RefreshSecret = []byte(testRefreshSecret)
	}
	o.Issuer, o.Audience, o.AccessTTL, o.Now = "auth-server", "api", cfg.AccessTTL, clk.Now
	issuer, err := tokens.New(o)
	if err != nil {
		t.Fatalf("tokens.New: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	list := revoke.NewList()
	rev := revoke.New(list, revoke.Options{Store: cfg.Store, SyncInterval: time.Hour, IdleTimeout: cfg.IdleTimeout, Log: log})
	aw := audit.New(cfg.Store, log, m, 1024, 90*24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	go aw.Run(ctx)
	t.Cleanup(func() { cancel(); aw.Wait() })
	limits, err := middleware.NewLimits(middleware.LimitsOptions{
		Window: 15 * time.Minute, GeneralMax: cfg.GeneralMax, AuthMax: cfg.AuthMax,
		LoginMaxFailures: cfg.LoginMaxFailures, LoginFailureWindow: 15 * time.Minute, Log: log,
		Redis: cfg.Redis, Prefix: "test:" + uuid.NewString(),
		OnLimited: func(c *gin.Context) { // as cmd/server wires it
			aw.Record(c.Request.Context(), models.AuditEvent{Type: "rate_limited", IP: c.ClientIP(),
				UserAgent: c.Request.UserAgent(), Detail: `{"route":` + strconv.Quote(c.FullPath()) + `}`})
		},
	})
	if err != nil {
		t.Fatalf("NewLimits: %v", err)
	}
	hasher, err := auth.NewHasher(bcrypt.MinCost, 2, 5*time.Second)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	svc := auth.New(auth.Deps{
		Store: cfg.Store, Tokens: issuer, Hasher: hasher, Revoker: rev, Audit: aw, Guard: limits.LoginGuard(), Log: log,
		Now: clk.Now,
		Settings: auth.Settings{
			RefreshTTL: cfg.RefreshTTL, ReuseGrace: cfg.ReuseGrace, IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime,
			PasswordMinLength: 8, AllowRegistration: cfg.AllowRegistration, Fingerprint: cfg.Fingerprint,
		},
	})
	h, err := handlers.NewServer(handlers.Deps{
		Auth: svc, Tokens: issuer, DenyList: list, Limits: limits, Metrics: m, Log: log,
		Ready: cfg.Store.Ping, ClientURLs: cfg.ClientURLs, TrustedProxies: cfg.TrustedProxies,
		CookieSecure: cfg.CookieSecure, Fingerprint: cfg.Fingerprint,
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return &testEnv{t: t, h: h, clock: clk, store: cfg.Store, svc: svc, issuer: issuer, list: list, audit: aw, cfg: cfg}
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
	if body != nil {
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
	if r.remoteAddr != "" {
		hr.RemoteAddr = r.remoteAddr
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
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
	rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": email, "password": testPassword}})
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
	rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": testPassword}})
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
