package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/tokens"
)

// nginxPath is where Debian's nginx package installs the server.
const nginxPath = "/usr/sbin/nginx"

// nginxTemplate is the repository's own nginx configuration, the one docker-compose.yml uses.
var nginxTemplate = filepath.Join("..", "..", "deploy", "nginx", "templates", "default.conf.template")

// nginxVars are the ${NAME}s of the template: the auth server, the application, what to listen on.
var nginxVars = []string{"AUTH_SERVER", "APP_UPSTREAM", "NGINX_LISTEN"}

// TestComposeUsesTheNginxTemplate checks that docker-compose.yml hands the nginx image the same
// template directory and sets every ${NAME} the tests fill in.
func TestComposeUsesTheNginxTemplate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	compose := string(raw)
	for _, want := range []string{"./deploy/nginx/templates:/etc/nginx/templates", "image: nginx:"} {
		if !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml has no %q", want)
		}
	}
	for _, name := range nginxVars {
		if !strings.Contains(compose, "\n      "+name+": ") {
			t.Errorf("docker-compose.yml does not set %s in a service's environment", name)
		}
	}
}

// renderTemplate replaces each ${NAME} of vars in the template at path, as the official nginx
// image does with the files of /etc/nginx/templates at start, and leaves every other $ alone.
// It fails when a ${NAME} of vars does not occur in the template.
func renderTemplate(t *testing.T, path string, vars map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	text := string(raw)
	for name, value := range vars {
		placeholder := "${" + name + "}"
		if !strings.Contains(text, placeholder) {
			t.Fatalf("%s has no %s", path, placeholder)
		}
		text = strings.ReplaceAll(text, placeholder, value)
	}
	return text
}

// startNginx runs nginx on a free loopback port with the repository's configuration in front of
// the auth server and the application at the given host:port addresses, and returns its base
// URL. It skips the test when nginx is not installed, unless CI is true. t.Cleanup stops nginx.
func startNginx(t *testing.T, authAddr, appAddr string) string {
	t.Helper()
	if _, err := os.Stat(nginxPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing and CI=true: install it (apt-get install -y nginx)", nginxPath)
		}
		t.Skipf("%s is missing (apt-get install -y nginx); skipping the nginx forward-auth test", nginxPath)
	}
	dir := t.TempDir()
	port := freePort(t)
	site := renderTemplate(t, nginxTemplate, map[string]string{
		nginxVars[0]: authAddr, nginxVars[1]: appAddr, nginxVars[2]: "127.0.0.1:" + port,
	})
	sitePath := filepath.Join(dir, "default.conf")
	// The rest is what the nginx image's own nginx.conf provides, with every path in dir.
	main := `daemon off;
worker_processes 1;
pid ` + filepath.Join(dir, "nginx.pid") + `;
error_log ` + filepath.Join(dir, "error.log") + ` notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ` + filepath.Join(dir, "body") + `;
    proxy_temp_path ` + filepath.Join(dir, "proxy") + `;
    fastcgi_temp_path ` + filepath.Join(dir, "fastcgi") + `;
    uwsgi_temp_path ` + filepath.Join(dir, "uwsgi") + `;
    scgi_temp_path ` + filepath.Join(dir, "scgi") + `;
    include ` + sitePath + `;
}
`
	mainPath := filepath.Join(dir, "nginx.conf")
	for path, text := range map[string]string{sitePath: site, mainPath: main} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	cmd := exec.Command(nginxPath, "-p", dir, "-c", mainPath, "-e", filepath.Join(dir, "error.log"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(b)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx output and error log:\n%s", tail(errorLog(), 4000))
		}
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited before listening (%v):\n%s", err, errorLog())
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s within 20s:\n%s", addr, errorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoApp is an upstream that answers every request with the headers it got, as JSON
// {"path": ..., "method": ..., "headers": {name: [values]}}, and counts its requests.
type echoApp struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newEchoApp(t *testing.T) *echoApp {
	a := &echoApp{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "method": r.Method, "headers": r.Header})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// seen returns the values of header name that the upstream got, as a reply of the echo app.
func seen(r reply, name string) []string {
	headers, _ := r.body["headers"].(map[string]any)
	var out []string
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			for _, x := range v.([]any) {
				out = append(out, x.(string))
			}
		}
	}
	return out
}

// TestNginxForwardAuth runs the real auth server, a real nginx with the repository's
// configuration and an upstream that echoes what it got.
func TestNginxForwardAuth(t *testing.T) {
	env := baseEnv(testDatabaseURL(t))
	admin, other, email := uniqueEmail("nginx-admin"), uniqueEmail("nginx-admin2"), uniqueEmail("nginx-user")
	createUser(t, env, admin, "admin")
	createUser(t, env, other, "admin")
	auth := startServer(t, env)
	app := newEchoApp(t)
	proxy := startNginx(t, strings.TrimPrefix(auth.url, "http://"), strings.TrimPrefix(app.srv.URL, "http://"))
	direct, viaNginx := newClient(t, auth.url), newClient(t, proxy)
	userID := direct.register(email)
	access, refresh := direct.login(email)

	// refused checks a refusal through nginx: the auth server's JSON error, its challenge on a
	// 401, and no request reaching the upstream.
	refused := func(t *testing.T, path, bearer string, status int, code string, headers ...string) {
		t.Helper()
		before := app.hits.Load()
		r := viaNginx.do("GET", path, nil, bearer, headers...)
		expect(t, r, status, code)
		if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q, want the auth server's Bearer challenge", r.what, r.header.Get("WWW-Authenticate"))
		}
		if got := app.hits.Load() - before; got != 0 {
			t.Errorf("%s: the upstream got %d requests, want none", r.what, got)
		}
	}

	t.Run("a valid token reaches the upstream with the identity, and smuggled headers do not", func(t *testing.T) {
		r := viaNginx.do("GET", "/orders/7", nil, access,
			"X-Auth-User-Id", "someone-else", "X-Auth-Role", "admin", "X-Auth-Email", "boss@example.com",
			"X-Auth-Amr", "pwd,mfa", "X-Auth-Session-Id", "forged")
		expect(t, r, http.StatusOK, "")
		if r.str("path") != "/orders/7" {
			t.Errorf("upstream saw path %q, want /orders/7", r.str("path"))
		}
		for name, want := range map[string]string{
			"X-Auth-User-Id": userID, "X-Auth-Email": email, "X-Auth-Role": "user",
		} {
			if got := seen(r, name); len(got) != 1 || got[0] != want {
				t.Errorf("upstream saw %s = %q, want exactly [%q]", name, got, want)
			}
		}
		if got := seen(r, "X-Auth-Session-Id"); len(got) != 1 || got[0] == "forged" || got[0] == "" {
			t.Errorf("upstream saw X-Auth-Session-Id = %q, want the token's sid only", got)
		}
		if got := seen(r, "X-Auth-Amr"); len(got) > 1 || (len(got) == 1 && strings.Contains(got[0], "mfa")) {
			t.Errorf("upstream saw X-Auth-Amr = %q, want the token's amr (no mfa) only", got)
		}
		if got := seen(r, "Authorization"); len(got) != 1 {
			t.Errorf("upstream saw Authorization %d times, want the client's one", len(got))
		}
	})

	t.Run("a POST with a body goes through", func(t *testing.T) {
		r := viaNginx.do("POST", "/orders", map[string]int{"n": 1}, access)
		expect(t, r, http.StatusOK, "")
		if r.str("method") != "POST" {
			t.Errorf("upstream saw method %q, want POST", r.str("method"))
		}
	})

	t.Run("no, garbage, expired, tampered and refresh tokens get the JSON 401", func(t *testing.T) {
		refused(t, "/orders", "", http.StatusUnauthorized, "NO_TOKEN")
		refused(t, "/orders", "", http.StatusUnauthorized, "NO_TOKEN", "Authorization", "Basic dXNlcjpwYXNz")
		refused(t, "/orders", "garbage", http.StatusUnauthorized, "INVALID_TOKEN")
		refused(t, "/orders", strings.Repeat("a", 7<<10), http.StatusUnauthorized, "INVALID_TOKEN")
		refused(t, "/orders", refresh, http.StatusUnauthorized, "INVALID_TOKEN")
		parts := strings.Split(access, ".")
		refused(t, "/orders", parts[0]+"."+parts[1]+"x."+parts[2], http.StatusUnauthorized, "INVALID_TOKEN")
		refused(t, "/orders", expiredToken(t, userID, email), http.StatusUnauthorized, "TOKEN_EXPIRED")
	})

	t.Run("headers over nginx's limit get a JSON 431, over the server's a 431", func(t *testing.T) {
		refused(t, "/orders", strings.Repeat("a", 9<<10), http.StatusRequestHeaderFieldsTooLarge, "HEADERS_TOO_LARGE")
		r := direct.do("GET", "/forward-auth", nil, strings.Repeat("a", 40<<10))
		if r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("GET /forward-auth on the server with a 40 KiB header = %d %s, want 431", r.status, r.raw)
		}
	})

	t.Run("logout on the auth server refuses the token through nginx at once", func(t *testing.T) {
		a2, r2 := direct.login(email)
		expect(t, viaNginx.do("GET", "/orders", nil, a2), http.StatusOK, "")
		expect(t, direct.do("POST", "/api/auth/logout", map[string]string{"refreshToken": r2}, a2), http.StatusOK, "")
		refused(t, "/orders", a2, http.StatusUnauthorized, "TOKEN_REVOKED")
	})

	t.Run("admin locations refuse a user, admit an admin, and a demotion counts at once", func(t *testing.T) {
		refused(t, "/admin/stats", access, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		adminAccess, _ := direct.login(admin)
		otherAccess, _ := direct.login(other)
		r := viaNginx.do("GET", "/admin/stats", nil, adminAccess)
		expect(t, r, http.StatusOK, "")
		if got := seen(r, "X-Auth-Role"); len(got) != 1 || got[0] != "admin" {
			t.Errorf("upstream saw X-Auth-Role = %q, want [admin]", got)
		}
		adminID := direct.do("GET", "/api/me", nil, adminAccess).str("user", "id")
		expect(t, direct.do("PATCH", "/api/admin/users/"+adminID, map[string]any{"role": "user"}, otherAccess), http.StatusOK, "")
		refused(t, "/admin/stats", adminAccess, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		expect(t, viaNginx.do("GET", "/orders", nil, adminAccess), http.StatusOK, "")
	})

	t.Run("mfa locations refuse a password-only login and admit a second-factor one", func(t *testing.T) {
		refused(t, "/secure/keys", access, http.StatusForbidden, "MFA_REQUIRED")
		second := uniqueEmail("nginx-mfa")
		direct.register(second)
		enrolling, _ := direct.login(second)
		r := direct.do("POST", "/api/auth/mfa/totp", map[string]string{"password": testPassword}, enrolling)
		expect(t, r, http.StatusOK, "")
		r = direct.do("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": totpNow(t, r.str("secret"), 0)}, enrolling)
		expect(t, r, http.StatusOK, "")
		codes, _ := r.body["recoveryCodes"].([]any)
		if len(codes) == 0 {
			t.Fatalf("confirm = %s, want recovery codes", r.raw)
		}
		r = direct.secondStep(second, "recoveryCode", codes[0].(string))
		expect(t, r, http.StatusOK, "")
		r = viaNginx.do("GET", "/secure/keys", nil, r.str("accessToken"), "X-Auth-Amr", "forged")
		expect(t, r, http.StatusOK, "")
		if got := seen(r, "X-Auth-Amr"); len(got) != 1 || !slices.Contains(strings.Split(got[0], ","), "mfa") {
			t.Errorf("upstream saw X-Auth-Amr = %q, want the token's amr, with mfa", got)
		}
	})

	t.Run("the auth server gone is a JSON 503", func(t *testing.T) {
		if err := auth.stop(); err != nil {
			t.Fatalf("stop the auth server: %v", err)
		}
		refused(t, "/orders", access, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	})
}

// expiredToken signs an access token for the user with the test secret, issued an hour ago by
// an issuer configured as baseEnv configures the server: it expired 45 minutes ago.
func expiredToken(t *testing.T, userID, email string) string {
	t.Helper()
	issuer, err := tokens.New(tokens.Options{
		Algorithm: "HS256", AccessSecret: []byte(testAccessSecret), RefreshSecret: []byte(testRefreshSecret),
		Issuer: "auth-server", Audience: "api", AccessTTL: 15 * time.Minute,
		Now: func() time.Time { return time.Now().Add(-time.Hour) },
	})
	if err != nil {
		t.Fatalf("tokens.New: %v", err)
	}
	access, _, err := issuer.IssueAccess(tokens.AccessInput{UserID: userID, Email: email, Role: "user", SessionID: "expired-session"})
	if err != nil {
		t.Fatalf("IssueAccess: %v", err)
	}
	return access
}
