package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/mail/mailtest"
	"github.com/authserver/authserver/internal/store/storetest"
)

// withMail adds the settings that send mail through srv.
func withMail(env map[string]string, srv *mailtest.Server) map[string]string {
	env["SMTP_URL"] = srv.URL()
	env["APP_URL"] = "https://app.example.com"
	env["MAIL_FROM"] = "Auth <no-reply@example.com>"
	return env
}

// resetToken asks server c for a reset link for email and returns its token, read out of the mail.
func resetToken(t *testing.T, c *client, srv *mailtest.Server, email string) string {
	t.Helper()
	expect(t, c.do("POST", "/api/auth/password/forgot", map[string]string{"email": email}, ""), http.StatusAccepted, "")
	for {
		m := srv.Next(t)
		if tok, err := m.Token("/reset-password"); err == nil {
			return tok
		}
	}
}

// resetEndsSessionsOnB registers a user on A, logs in on B, resets the password on A through the
// mailed link, and waits for B to refuse B's access token.
func resetEndsSessionsOnB(t *testing.T, env map[string]string, within time.Duration, what string) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.Plain})
	withMail(env, srv)
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	email := uniqueEmail("reset")
	ca.register(email)
	access, refresh := cb.login(email)
	expect(t, cb.do("GET", "/api/profile", nil, access), http.StatusOK, "")
	tok := resetToken(t, ca, srv, email)
	expect(t, ca.do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "newPassword": "a brand new passphrase 42"}, ""),
		http.StatusOK, "")
	waitRevoked(t, cb, access, within, what)
	expect(t, cb.do("POST", "/api/auth/refresh", map[string]string{"refreshToken": refresh}, ""), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
}

// A password reset on A ends the user's sessions on B at once through Redis.
func TestClusterPasswordResetRedis(t *testing.T) {
	resetEndsSessionsOnB(t, clusterEnv(t), 2*time.Second, "B after a reset on A (REVOCATION_SYNC_INTERVAL=1h)")
}

// Without Redis, B learns of the reset within REVOCATION_SYNC_INTERVAL.
func TestClusterPasswordResetPolling(t *testing.T) {
	env := baseEnv(storetest.PostgresDSN(t))
	env["REVOCATION_SYNC_INTERVAL"] = "1s"
	resetEndsSessionsOnB(t, env, 4*time.Second, "B after a reset on A, without Redis (REVOCATION_SYNC_INTERVAL=1s)")
}

var devLink = regexp.MustCompile(`http://localhost:(\d+)/verify-email#token=([A-Za-z0-9_%-]+)`)

// -dev without SMTP_URL writes each mail whole to the log, with a link to the dev server itself.
func TestServeDevModeLogsMail(t *testing.T) {
	env := baseEnv(sqliteURL(t))
	delete(env, "JWT_ACCESS_SECRET")
	delete(env, "JWT_REFRESH_SECRET")
	s := startServer(t, env, "-dev")
	c := newClient(t, s.url)
	email := uniqueEmail("devmail")
	c.register(email)
	var token string
	eventually(t, 10*time.Second, "the verification mail in the log", func() (bool, string) {
		m := devLink.FindStringSubmatch(s.stdout.String())
		if m == nil {
			return false, tail(s.stdout.String(), 2000)
		}
		if !strings.HasSuffix(s.url, ":"+m[1]) {
			t.Errorf("dev mail link to port %s, want the server's own %s", m[1], s.url)
		}
		token = m[2]
		return true, ""
	})
	if out := s.stdout.String(); !strings.Contains(out, "Confirm your email address") || !strings.Contains(out, email) {
		t.Errorf("dev log lacks the whole mail (subject, recipient): %s", tail(out, 2000))
	}
	r := c.do("POST", "/api/auth/verify-email", map[string]string{"token": token}, "")
	expect(t, r, http.StatusOK, "")
	if r.str("user", "email") != email {
		t.Errorf("verify-email with the logged link = %s", r.raw)
	}
}

func TestResetLinkCommand(t *testing.T) {
	env := baseEnv(sqliteURL(t))
	env["APP_URL"] = "https://app.example.com/"
	email := uniqueEmail("cli")
	createUser(t, env, email, "user")
	out, err := runCLI(t, env, "", "user", "reset-link", "--email", email)
	if err != nil {
		t.Fatalf("run(user reset-link) = %v", err)
	}
	link := strings.TrimSpace(out)
	if !strings.HasPrefix(link, "https://app.example.com/reset-password#token=") {
		t.Fatalf("run(user reset-link) printed %q, want a reset link", out)
	}
	s := startServer(t, env)
	c := newClient(t, s.url)
	// A user made on the command line counts as verified.
	access, _ := c.login(email)
	if r := c.do("GET", "/api/me", nil, access); r.body["user"].(map[string]any)["emailVerified"] != true {
		t.Errorf("GET /api/me of a user made on the command line = %s, want emailVerified true", r.raw)
	}
	_, tok, _ := strings.Cut(link, "#token=")
	expect(t, c.do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "newPassword": "a brand new passphrase 42"}, ""),
		http.StatusOK, "")
	waitRevoked(t, c, access, 2*time.Second, "after a reset with the command line's link")

	if _, err := runCLI(t, env, "", "user", "reset-link", "--email", "nobody@example.com"); err == nil {
		t.Error("run(user reset-link) for an unknown email = nil, want an error")
	}
	delete(env, "APP_URL")
	if _, err := runCLI(t, env, "", "user", "reset-link", "--email", email); err == nil || !strings.Contains(err.Error(), "APP_URL") {
		t.Errorf("run(user reset-link) without APP_URL = %v, want an error naming APP_URL", err)
	}
}
