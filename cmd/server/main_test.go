package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/authserver/authserver/internal/store/storetest"

	"github.com/authserver/authserver/internal/logtest"
)

// The secrets and the password every test uses. The password passes the password policy.
const (
	testAccessSecret  = "c3f1e9a27b5d4086af12e7c9b3d5f8a1-access-secret"
	testRefreshSecret = "7d2b9e4f1a6c8035be47d1f9a2c6e803-refresh-secret"
	testPassword      = "violet-Lantern-harbor-42"
)

// mapEnv is a getenv reading a copy of env.
func mapEnv(env map[string]string) func(string) string {
	env = maps.Clone(env)
	return func(k string) string { return env[k] }
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1:0: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatalf("close probe listener: %v", err)
	}
	return strconv.Itoa(port)
}

// sqliteURL returns a DATABASE_URL naming a new SQLite file under t.TempDir().
func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
}

// testDatabaseURL returns a fresh PostgreSQL schema when TEST_DATABASE_URL is set, else a fresh SQLite file.
func testDatabaseURL(t *testing.T) string {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return storetest.PostgresDSN(t)
	}
	return sqliteURL(t)
}

// baseEnv is a valid environment on databaseURL: cheap bcrypt and rate limits no test reaches.
// startServer adds PORT.
func baseEnv(databaseURL string) map[string]string {
	return map[string]string{
		"JWT_ACCESS_SECRET":   testAccessSecret,
		"JWT_REFRESH_SECRET":  testRefreshSecret,
		"DATABASE_URL":        databaseURL,
		"BCRYPT_COST":         "10",
		"AUTH_RATE_LIMIT_MAX": "100000",
		"RATE_LIMIT_MAX":      "100000",
		"SHUTDOWN_TIMEOUT":    "20s",
	}
}

// uniqueEmail returns an email no other test (nor an earlier run sharing Redis) uses.
func uniqueEmail(name string) string {
	return name + "-" + uuid.NewString()[:8] + "@example.com"
}

// server is one run of the whole program serving on a local port.
type server struct {
	url            string
	args           []string
	stdout, stderr *logtest.Buffer
	cancel         context.CancelFunc
	done           chan error
	once           sync.Once
	err            error
}

// startServer runs run(ctx, args, env+PORT, ...) in a goroutine (args default to "serve") and
// waits until /healthz answers 200. t.Cleanup stops it and checks that run returned nil.
func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	if len(args) == 0 {
		args = []string{"serve"}
	}
	env = maps.Clone(env)
	// Whole-program tests hash with race-instrumented bcrypt on a shared machine: give a request
	// and a bcrypt slot time enough that only a real fault, not a slow hash, answers 503.
	for k, v := range map[string]string{"REQUEST_TIMEOUT": "60s", "BCRYPT_QUEUE_TIMEOUT": "50s"} {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	port := freePort(t)
	env["PORT"] = port
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{url: "http://127.0.0.1:" + port, args: args, stdout: &logtest.Buffer{}, stderr: &logtest.Buffer{},
		cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, mapEnv(env), strings.NewReader(""), s.stdout, s.stderr) }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("run(%q) returned %v after its context was cancelled, want nil", args, err)
		}
		if t.Failed() {
			t.Logf("server %s stderr:\n%s\nstdout (tail):\n%s", s.url, s.stderr, tail(s.stdout.String(), 4000))
		}
	})
	waitHealthy(t, s.url, func() string {
		select {
		case err := <-s.done:
			s.once.Do(cancel)
			return fmt.Sprintf("run(%q) returned %v before serving; stderr:\n%s", args, err, s.stderr)
		default:
			return ""
		}
	})
	return s
}

// waitHealthy polls base's /healthz until it answers 200, failing t after 60s or as soon as
// exited reports why the server is gone (it returns "" while the server runs).
func waitHealthy(t *testing.T, base string, exited func() string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if why := exited(); why != "" {
			t.Fatal(why)
		}
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz did not answer 200 within 60s (last error %v)", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels run's context and returns what run returned. Calling it again returns the same.
func (s *server) stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(60 * time.Second):
			s.err = errors.New("run did not return within 60s of the cancel")
		}
	})
	return s.err
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// client talks to one server over real HTTP, with a cookie jar.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar.New: %v", err)
	}
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// reply is a response read in full.
type reply struct {
	what   string // "METHOD path", for messages
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// str returns the string at a path of keys in the JSON body ("" when absent).
func (r reply) str(keys ...string) string {
	var v any = r.body
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// setCookie returns the Set-Cookie line for name ("" when absent).
func (r reply) setCookie(name string) string {
	for _, line := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// cookieValue returns the value the response sets for the cookie name ("" when absent).
func (r reply) cookieValue(name string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(r.setCookie(name), name+"="), ";")
	return v
}

// do sends a request; body (if not nil) is encoded as JSON, or as a form when it is url.Values;
// headers come in name, value pairs. Any failure to get an answer fails the test.
func (c *client) do(method, path string, body any, bearer string, headers ...string) reply {
	c.t.Helper()
	r, err := c.try(method, path, body, bearer, headers...)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// try is do returning its failure instead, for goroutines other than the test's.
func (c *client) try(method, path string, body any, bearer string, headers ...string) (reply, error) {
	var rd io.Reader
	contentType := "application/json"
	if form, ok := body.(url.Values); ok {
		rd, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, fmt.Errorf("encode body of %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{}, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("read body of %s %s: %w", method, path, err)
	}
	r := reply{what: method + " " + path, status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return reply{}, fmt.Errorf("%s %s: body %q is not a JSON object: %w", method, path, raw, err)
		}
	}
	return r, nil
}

// expect fails the test unless r has the status and, when code is not "", the error code.
func expect(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.str("code") != code) {
		t.Fatalf("%s = %d %s, want %d %s", r.what, r.status, r.raw, status, code)
	}
}

// register creates a user through the API and returns its id.
func (c *client) register(email string) string {
	c.t.Helper()
	r := c.do("POST", "/api/auth/register", map[string]string{"email": email, "password": testPassword}, "")
	expect(c.t, r, http.StatusCreated, "")
	return r.str("user", "id")
}

// login logs in with testPassword and returns the access token and the refresh token from the cookie.
func (c *client) login(email string) (access, refresh string) {
	c.t.Helper()
	r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
	expect(c.t, r, http.StatusOK, "")
	access, refresh = r.str("accessToken"), r.cookieValue("refreshToken")
	if access == "" || refresh == "" {
		c.t.Fatalf("POST /api/auth/login gave access token %q and refresh cookie %q, want both", access, refresh)
	}
	return access, refresh
}

// eventually calls check until it reports true, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRevoked polls GET /api/profile with access until it answers 401 TOKEN_REVOKED.
func waitRevoked(t *testing.T, c *client, access string, within time.Duration, what string) {
	t.Helper()
	eventually(t, within, what, func() (bool, string) {
		r := c.do("GET", "/api/profile", nil, access)
		return r.status == http.StatusUnauthorized && r.str("code") == "TOKEN_REVOKED", fmt.Sprintf("%d %s", r.status, r.raw)
	})
}

// jwtHeader decodes the header of a compact JWS.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode JWT header %q: %v", seg, err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWT header %s: %v", b, err)
	}
	return h
}

// jwksKids returns the kids of GET /.well-known/jwks.json, sorted.
func jwksKids(t *testing.T, c *client) []string {
	t.Helper()
	r := c.do("GET", "/.well-known/jwks.json", nil, "")
	expect(t, r, http.StatusOK, "")
	keys, ok := r.body["keys"].([]any)
	if !ok {
		t.Fatalf("GET /.well-known/jwks.json = %s, want {\"keys\":[...]}", r.raw)
	}
	kids := []string{}
	for _, k := range keys {
		m, _ := k.(map[string]any)
		kid, _ := m["kid"].(string)
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

func TestServeEndToEnd(t *testing.T) {
	env := baseEnv(testDatabaseURL(t))
	env["COOKIE_SECURE"] = "false" // the cookie jar sends Secure cookies only over HTTPS
	s := startServer(t, env)
	c := newClient(t, s.url)

	email := uniqueEmail("alice")
	r := c.do("POST", "/api/auth/register", map[string]string{"email": strings.ToUpper(email), "password": testPassword}, "")
	expect(t, r, http.StatusCreated, "")
	id := r.str("user", "id")
	if uuid.Validate(id) != nil || r.str("user", "email") != strings.ToLower(email) || r.str("user", "role") != "user" {
		t.Fatalf("POST /api/auth/register = %s, want a UUID id, the lower-cased email and role user", r.raw)
	}

	r = c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
	expect(t, r, http.StatusOK, "")
	access := r.str("accessToken")
	if access == "" || r.str("tokenType") != "Bearer" || r.body["expiresIn"] != float64(900) || r.str("user", "id") != id {
		t.Fatalf("POST /api/auth/login = %s, want accessToken, tokenType Bearer, expiresIn 900 and the user", r.raw)
	}
	if _, leaked := r.body["refreshToken"]; leaked {
		t.Errorf("POST /api/auth/login body carries refreshToken: %s", r.raw)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("POST /api/auth/login Cache-Control = %q, want no-store", got)
	}
	cookie := r.setCookie("refreshToken")
	for _, attr := range []string{"Path=/api/auth", "HttpOnly", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("login Set-Cookie = %q, want %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("login Set-Cookie = %q under COOKIE_SECURE=false, want no Secure", cookie)
	}
	firstRefresh := r.cookieValue("refreshToken")

	r = c.do("GET", "/api/profile", nil, access)
	expect(t, r, http.StatusOK, "")
	if r.str("userId") != id {
		t.Errorf("GET /api/profile = %s, want userId %s", r.raw, id)
	}
	r = c.do("GET", "/api/profile", nil, "")
	expect(t, r, http.StatusUnauthorized, "NO_TOKEN")
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("GET /api/profile without a token: WWW-Authenticate = %q, want Bearer ...", r.header.Get("WWW-Authenticate"))
	}
	r = c.do("GET", "/api/me", nil, access)
	expect(t, r, http.StatusOK, "")
	if r.str("user", "id") != id || r.str("user", "email") != email || r.str("user", "role") != "user" || r.str("user", "createdAt") == "" {
		t.Errorf("GET /api/me = %s, want id %s, email %s, role user and createdAt", r.raw, id, email)
	}

	// The jar sends the cookie (Path=/api/auth) by itself.
	r = c.do("POST", "/api/auth/refresh", nil, "")
	expect(t, r, http.StatusOK, "")
	newAccess, newRefresh := r.str("accessToken"), r.cookieValue("refreshToken")
	if newAccess == "" || newRefresh == "" || newRefresh == firstRefresh {
		t.Fatalf("POST /api/auth/refresh = %s with cookie %q, want a new access token and a new refresh cookie", r.raw, r.setCookie("refreshToken"))
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /api/auth/refresh Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
	expect(t, c.do("GET", "/api/profile", nil, newAccess), http.StatusOK, "")

	r = c.do("POST", "/api/auth/logout", nil, newAccess)
	expect(t, r, http.StatusOK, "")
	if r.str("message") != "Logged out" || !strings.Contains(r.setCookie("refreshToken"), "Max-Age=0") {
		t.Errorf("POST /api/auth/logout = %s, Set-Cookie %q; want message Logged out and a cleared cookie", r.raw, r.setCookie("refreshToken"))
	}
	expect(t, c.do("GET", "/api/profile", nil, newAccess), http.StatusUnauthorized, "TOKEN_REVOKED")
	expect(t, c.do("GET", "/api/profile", nil, access), http.StatusUnauthorized, "TOKEN_REVOKED")
	expect(t, c.do("POST", "/api/auth/refresh", nil, ""), http.StatusUnauthorized, "NO_REFRESH_TOKEN")
	expect(t, c.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": newRefresh}, ""),
		http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
	expect(t, c.do("POST", "/api/auth/logout", nil, ""), http.StatusOK, "") // idempotent

	r = c.do("GET", "/readyz", nil, "")
	expect(t, r, http.StatusOK, "")
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("GET /readyz X-Content-Type-Options = %q, want nosniff", got)
	}
	r = c.do("GET", "/metrics", nil, "")
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(r.raw, "# TYPE auth_http_requests_total") || !strings.Contains(r.raw, `route="/api/auth/login"`) {
		t.Errorf("GET /metrics = %s, want auth_http_requests_total with the login route", tail(r.raw, 2000))
	}
	if kids := jwksKids(t, c); len(kids) != 0 {
		t.Errorf("GET /.well-known/jwks.json under HS256 lists %q, want no keys", kids)
	}
	expect(t, c.do("GET", "/api/nope", nil, ""), http.StatusNotFound, "NOT_FOUND")
}

// TestServeGracefulShutdown holds a login in flight (its body not yet sent, so the handler is
// reading it) while run's context is cancelled: the login must still complete with 200.
func TestServeGracefulShutdown(t *testing.T) {
	env := baseEnv(testDatabaseURL(t))
	s := startServer(t, env)
	email := uniqueEmail("inflight")
	newClient(t, s.url).register(email)

	held := holdPost(t, s.url, "/api/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, testPassword))

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	eventually(t, 30*time.Second, "log line \"shutting down\" after cancel", func() (bool, string) {
		return strings.Contains(s.stdout.String(), `"msg":"shutting down"`), tail(s.stdout.String(), 500)
	})
	select {
	case err := <-stopped:
		t.Fatalf("run returned (%v) while a request was still in flight", err)
	default:
	}

	status, raw, err := held.finish()
	if err != nil || status != http.StatusOK || !strings.Contains(raw, `"accessToken"`) {
		t.Fatalf("in-flight POST /api/auth/login during shutdown = %d %s, %v; want 200 with an access token", status, raw, err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("run returned %v after a graceful shutdown, want nil", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return within 60s after the in-flight request completed")
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), 2*time.Second); err == nil {
		_ = c.Close()
		t.Errorf("dial %s after run returned succeeded, want the listener closed", s.url)
	}
}

func TestServeDevMode(t *testing.T) {
	tests := []struct {
		args  []string
		login bool // bcrypt is slow under -race: log in under one spelling only
	}{
		{[]string{"-dev"}, true},
		{[]string{"serve", "-dev"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env := baseEnv(sqliteURL(t))
			delete(env, "JWT_ACCESS_SECRET")
			delete(env, "JWT_REFRESH_SECRET")
			s := startServer(t, env, tt.args...)
			warning := s.stderr.String()
			for _, want := range []string{"DEVELOPMENT MODE", "JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECURE"} {
				if !strings.Contains(warning, want) {
					t.Errorf("run(%q) stderr = %q, want it to mention %s", tt.args, warning, want)
				}
			}
			c := newClient(t, s.url)
			expect(t, c.do("GET", "/readyz", nil, ""), http.StatusOK, "")
			if !tt.login {
				return
			}
			email := uniqueEmail("dev")
			c.register(email)
			r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
			expect(t, r, http.StatusOK, "")
			cookie := r.setCookie("refreshToken")
			if cookie == "" || strings.Contains(cookie, "Secure") {
				t.Errorf("run(%q) login Set-Cookie = %q, want a refresh cookie without Secure", tt.args, cookie)
			}
			expect(t, c.do("GET", "/api/profile", nil, r.str("accessToken")), http.StatusOK, "")
		})
	}
}

// TestServeDevModeWithEnvExample: `cp .env.example .env && server -dev` works: the placeholders
// are replaced, COOKIE_SECURE=true of the file loses to -dev, and it listens on 127.0.0.1 only.
func TestServeDevModeWithEnvExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	s := startServer(t, map[string]string{"BCRYPT_COST": "10"}, "-dev")
	port := strings.TrimPrefix(s.url, "http://127.0.0.1:")
	for _, want := range []string{"on http://127.0.0.1:" + port + "\n", "database: SQLite file " + filepath.Join(dir, "data", "auth.db")} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("run(-dev) stderr = %q, want %q", s.stderr, want)
		}
	}
	if want := `"addr":"127.0.0.1:` + port + `"`; !strings.Contains(s.stdout.String(), want) {
		t.Errorf("run(-dev) log = %q, want %s", tail(s.stdout.String(), 2000), want)
	}
	c := newClient(t, s.url)
	email := uniqueEmail("devenv")
	c.register(email)
	r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
	expect(t, r, http.StatusOK, "")
	if cookie := r.setCookie("refreshToken"); cookie == "" || strings.Contains(cookie, "Secure") {
		t.Errorf("run(-dev) with .env COOKIE_SECURE=true: login Set-Cookie = %q, want a refresh cookie without Secure", cookie)
	}
	if got := r.header.Get("RateLimit-Limit"); got != "1000" {
		t.Errorf("run(-dev) auth RateLimit-Limit = %q, want 1000 (generous)", got)
	}
}

func TestRunConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // the variables named, one line each
	}{
		{
			name: "every problem at once",
			env: map[string]string{"JWT_ACCESS_SECRET": "short-secret", "JWT_ALGORITHM": "HS512", "BCRYPT_COST": "20",
				"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "never.db")},
			want: []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "JWT_ALGORITHM", "BCRYPT_COST"},
		},
		{
			name: "passkey settings browsers would refuse",
			env: map[string]string{"JWT_ACCESS_SECRET": testAccessSecret, "JWT_REFRESH_SECRET": testRefreshSecret,
				"WEBAUTHN_RP_ID": "127.0.0.1", "WEBAUTHN_ORIGINS": "http://app.example.com",
				"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "never.db")},
			want: []string{"WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"},
		},
		{
			name: "no secrets without -dev",
			env:  map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "never.db")},
			want: []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr logtest.Buffer
			err := run(t.Context(), []string{"serve"}, mapEnv(tt.env), strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatalf("run(serve) with %v = nil, want a configuration error", tt.env)
			}
			var problems []string
			for _, line := range strings.Split(err.Error(), "\n")[1:] {
				if line != "" {
					problems = append(problems, line)
				}
			}
			for _, name := range tt.want {
				n := 0
				for _, line := range problems {
					if strings.HasPrefix(line, name+":") {
						n++
					}
				}
				if n != 1 {
					t.Errorf("run(serve) error has %d lines starting %q, want 1; error:\n%v", n, name+":", err)
				}
			}
			if len(problems) != len(tt.want) {
				t.Errorf("run(serve) error has %d problem lines, want %d; error:\n%v", len(problems), len(tt.want), err)
			}
			if strings.Contains(err.Error(), "short-secret") {
				t.Errorf("run(serve) error shows a secret's value:\n%v", err)
			}
		})
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var stdout, stderr logtest.Buffer
	err := run(t.Context(), []string{"frobnicate"}, mapEnv(nil), strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) || !strings.Contains(err.Error(), "usage:") {
		t.Fatalf("run(frobnicate) = %v, want an unknown command error with the usage", err)
	}
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr logtest.Buffer
		err := run(t.Context(), []string{arg}, mapEnv(nil), strings.NewReader(""), &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), "keys generate") {
			t.Errorf("run(%s) = %v, stdout %q; want nil and the usage", arg, err, stdout.String())
		}
	}
}

// generateKey runs `keys generate --alg alg --out dir` and returns the printed paths and kid,
// after checking the files and their names.
func generateKey(t *testing.T, alg, dir string) (private, public, kid string) {
	t.Helper()
	var stdout, stderr logtest.Buffer
	args := []string{"keys", "generate", "--alg", alg, "--out", dir}
	if err := run(t.Context(), args, mapEnv(nil), strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) = %v, want nil", args, err)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		label, value, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(label) {
		case "private key":
			private = strings.TrimSpace(value)
		case "public key":
			public = strings.TrimSpace(value)
		case "kid":
			kid = strings.TrimSpace(value)
		}
	}
	if kid == "" || private != filepath.Join(dir, kid+".pem") || public != filepath.Join(dir, kid+".pub.pem") {
		t.Fatalf("run(%q) printed %q; want <dir>/<kid>.pem and <dir>/<kid>.pub.pem", args, stdout.String())
	}
	st, err := os.Stat(private)
	if err != nil {
		t.Fatalf("run(%q) printed %s, which cannot be read: %v", args, private, err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key %s has mode %v, want 0600", private, st.Mode().Perm())
	}
	if _, err := os.Stat(public); err != nil {
		t.Fatalf("run(%q) printed %s, which cannot be read: %v", args, public, err)
	}
	return private, public, kid
}

// TestServeAsymmetricKeys serves with a generated key, then rotates to a new key that still
// accepts the old one, then drops the old one. Both algorithms share one database and user.
func TestServeAsymmetricKeys(t *testing.T) {
	db := testDatabaseURL(t)
	email := uniqueEmail("keys")
	createUser(t, baseEnv(db), email, "user")
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			keyDir := filepath.Join(t.TempDir(), "keys", "new") // created by the command
			priv1, pub1, kid1 := generateKey(t, alg, keyDir)

			env := baseEnv(db)
			delete(env, "JWT_ACCESS_SECRET")
			env["JWT_ALGORITHM"] = alg
			env["JWT_PRIVATE_KEY_FILE"] = priv1
			s1 := startServer(t, env)
			c1 := newClient(t, s1.url)
			if kids := jwksKids(t, c1); !slices.Equal(kids, []string{kid1}) {
				t.Fatalf("JWKS under %s lists %q, want [%s] (the kid in the key's file name)", alg, kids, kid1)
			}
			r := c1.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
			expect(t, r, http.StatusOK, "")
			if cookie := r.setCookie("refreshToken"); !strings.Contains(cookie, "; Secure") {
				t.Errorf("login Set-Cookie = %q with COOKIE_SECURE unset, want Secure", cookie)
			}
			oldAccess, refresh := r.str("accessToken"), r.cookieValue("refreshToken")
			h := jwtHeader(t, oldAccess)
			if h["alg"] != alg || h["kid"] != kid1 || h["typ"] != "at+jwt" {
				t.Errorf("access token header = %v, want alg %s, kid %s, typ at+jwt", h, alg, kid1)
			}
			expect(t, c1.do("GET", "/api/profile", nil, oldAccess), http.StatusOK, "")
			if err := s1.stop(); err != nil {
				t.Fatalf("run(serve) under %s returned %v after cancel, want nil", alg, err)
			}

			priv2, _, kid2 := generateKey(t, alg, keyDir)
			env["JWT_PRIVATE_KEY_FILE"] = priv2
			env["JWT_VERIFY_KEY_FILES"] = pub1
			s2 := startServer(t, env)
			c2 := newClient(t, s2.url)
			if kids, want := jwksKids(t, c2), slices.Sorted(slices.Values([]string{kid1, kid2})); !slices.Equal(kids, want) {
				t.Errorf("JWKS after rotation lists %q, want %q", kids, want)
			}
			expect(t, c2.do("GET", "/api/profile", nil, oldAccess), http.StatusOK, "")
			r = c2.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": refresh}, "")
			expect(t, r, http.StatusOK, "")
			newAccess := r.str("accessToken")
			if h := jwtHeader(t, newAccess); h["kid"] != kid2 {
				t.Errorf("access token after rotation has kid %v, want %s", h["kid"], kid2)
			}
			if err := s2.stop(); err != nil {
				t.Fatalf("run(serve) after rotation returned %v after cancel, want nil", err)
			}

			delete(env, "JWT_VERIFY_KEY_FILES")
			s3 := startServer(t, env)
			c3 := newClient(t, s3.url)
			expect(t, c3.do("GET", "/api/profile", nil, oldAccess), http.StatusUnauthorized, "INVALID_TOKEN")
			expect(t, c3.do("GET", "/api/profile", nil, newAccess), http.StatusOK, "")
		})
	}
}
