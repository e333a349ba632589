package e2e

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/clocktest"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/logtest"
)

// server is the real server (internal/app, as `server serve` builds it) on 127.0.0.1 at a random
// port, serving the example SPA, with a settable clock.
type server struct {
	url       string           // http://127.0.0.1:PORT (or http://localhost:PORT), also its CLIENT_URL
	clock     *clocktest.Clock // the clock of tokens and sessions; Advance it to expire tokens
	watch     *watch           // what the server answered to foreign origins; held refreshes
	accessTTL time.Duration
	stop      func()   // closes the listener and every idle connection: the server is gone
	app       *app.App // its store, for checks of what the server recorded
}

// baseEnv is the environment every test server starts from: test secrets, cookies over plain
// HTTP, the SPA served, rate limits no test reaches, and a fresh SQLite file. startServer adds
// CLIENT_URL and APP_URL (the server's own origin: mailed links lead to the SPA it serves) unless
// the test sets them.
func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"JWT_ACCESS_SECRET":   "e2e-access-secret-0123456789abcdef0123",
		"JWT_REFRESH_SECRET":  "e2e-refresh-secret-fedcba9876543210fedc",
		"COOKIE_SECURE":       "false",
		"SERVE_SPA":           "true",
		"RATE_LIMIT_MAX":      "100000",
		"AUTH_RATE_LIMIT_MAX": "100000",
		"DATABASE_URL":        "sqlite:" + filepath.Join(t.TempDir(), "auth.db"),
	}
}

// startServer starts the server with baseEnv overridden by env, and stops it in t.Cleanup. Its
// log is shown when the test fails.
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	return startServerAt(t, "127.0.0.1", env)
}

// startServerAt is startServer with the server's URL (and CLIENT_URL) naming host, 127.0.0.1 or
// localhost; it always listens on 127.0.0.1. Passkeys need localhost: an RP ID is a domain name.
func startServerAt(t *testing.T, host string, env map[string]string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1:0: %v", err)
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	all := baseEnv(t)
	all["CLIENT_URL"], all["APP_URL"] = url, url
	maps.Copy(all, env)
	cfg, err := config.Load(func(k string) string { return all[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	logs := &logtest.Buffer{}
	clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
	a, err := app.New(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), app.Overrides{Now: clock.Now, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(a.Close)
	if err := a.StartServing(t.Context()); err != nil {
		t.Fatalf("app.StartServing: %v", err)
	}
	h, err := a.Handler()
	if err != nil {
		t.Fatalf("app.Handler: %v", err)
	}
	w := &watch{next: h, origin: url}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: w, ReadHeaderTimeout: 5 * time.Second}}
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return &server{url: url, clock: clock, watch: w, accessTTL: cfg.AccessTTL, stop: hs.Close, app: a}
}

// uniqueEmail returns an email no other test uses.
func uniqueEmail(name string) string {
	return name + "-" + uuid.NewString()[:8] + "@example.com"
}

// login signs in as a native client would (no browser, no Origin) and returns the access token.
func (s *server) login(t *testing.T, email, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(s.url+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /api/auth/login: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("POST /api/auth/login = %d (decode error %v), want 200 with an access token", resp.StatusCode, err)
	}
	return out.AccessToken
}

// get sends GET path with the bearer token and returns the status and error code.
func (s *server) get(t *testing.T, path, token string) (status int, code string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Code
}
