package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/mfa"
)

// totpNow is the TOTP code of secret at the wall clock, offset by steps of 30 seconds: the servers
// of these tests run on real time.
func totpNow(t *testing.T, secret string, steps int) string {
	t.Helper()
	code, err := mfa.Code(secret, time.Now().Add(time.Duration(steps)*mfa.Period))
	if err != nil {
		t.Fatalf("mfa.Code: %v", err)
	}
	return code
}

// secondStep logs email in on c, expects the second-step answer and completes it with field and code.
func (c *client) secondStep(email, field, code string) reply {
	c.t.Helper()
	r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}, "")
	expect(c.t, r, http.StatusOK, "")
	if r.body["mfaRequired"] != true || r.setCookie("refreshToken") != "" {
		c.t.Fatalf("login of %s with TOTP on = %s, want mfaRequired and no cookie", email, r.raw)
	}
	return c.do("POST", "/api/auth/mfa/verify", map[string]string{"mfaToken": r.str("mfaToken"), field: code}, "")
}

// TestClusterMFA runs two instances, A and B, on one database and one Redis: a code accepted on one
// is refused on the other, and turning TOTP on or off on one ends the user's other sessions on both.
func TestClusterMFA(t *testing.T) {
	env := clusterEnv(t)
	email := uniqueEmail("mfa")
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	ca.register(email)
	enrolling, _ := ca.login(email)
	onB, _ := cb.login(email)

	r := ca.do("POST", "/api/auth/mfa/totp", map[string]string{"password": testPassword}, enrolling)
	expect(t, r, http.StatusOK, "")
	secret := r.str("secret")
	r = ca.do("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": totpNow(t, secret, 0)}, enrolling)
	expect(t, r, http.StatusOK, "")
	codes, _ := r.body["recoveryCodes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("confirm on A = %s, want 10 recovery codes", r.raw)
	}
	waitRevoked(t, cb, onB, 2*time.Second, "B's session after TOTP was turned on on A")
	expect(t, cb.do("GET", "/api/profile", nil, enrolling), http.StatusOK, "")

	// The next step's code (within the accepted drift) once on A, then again on B: refused.
	next := totpNow(t, secret, 1)
	r = ca.secondStep(email, "code", next)
	expect(t, r, http.StatusOK, "")
	onA := r.str("accessToken")
	if !strings.Contains(jwtPayload(t, onA), `"amr":["pwd","otp","mfa"]`) {
		t.Errorf("access token after a TOTP login: payload %s, want amr [pwd otp mfa]", jwtPayload(t, onA))
	}
	expect(t, cb.secondStep(email, "code", next), http.StatusUnauthorized, "INVALID_MFA_CODE")

	// Turned off on B with a recovery code: A's other sessions end at once.
	r = cb.secondStep(email, "recoveryCode", codes[0].(string))
	expect(t, r, http.StatusOK, "")
	onB = r.str("accessToken")
	expect(t, cb.do("DELETE", "/api/auth/mfa/totp", map[string]string{"code": codes[1].(string)}, onB), http.StatusNoContent, "")
	waitRevoked(t, ca, onA, 2*time.Second, "A's TOTP session after TOTP was turned off on B")
	waitRevoked(t, ca, enrolling, 2*time.Second, "A's enrolling session after TOTP was turned off on B")
	expect(t, ca.do("GET", "/api/profile", nil, onB), http.StatusOK, "")
	ca.login(email) // a password alone again
}

// TestCLIResetMFA runs `server user reset-mfa` against a running server's database and Redis.
func TestCLIResetMFA(t *testing.T) {
	env := clusterEnv(t)
	email := uniqueEmail("reset")
	srv := startServer(t, env)
	c := newClient(t, srv.url)
	c.register(email)
	access, _ := c.login(email)
	r := c.do("POST", "/api/auth/mfa/totp", map[string]string{"password": testPassword}, access)
	expect(t, r, http.StatusOK, "")
	expect(t, c.do("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": totpNow(t, r.str("secret"), 0)}, access), http.StatusOK, "")

	if _, err := runCLI(t, withoutSecrets(env), "", "user", "reset-mfa", "--email", uniqueEmail("nobody")); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("reset-mfa of an unknown email = %v, want a 'no user' error", err)
	}
	out, err := runCLI(t, withoutSecrets(env), "", "user", "reset-mfa", "--email", strings.ToUpper(email))
	if err != nil || !strings.Contains(out, strings.ToLower(email)) {
		t.Fatalf("reset-mfa = %q, %v; want a line naming %s", out, err, email)
	}
	waitRevoked(t, c, access, 2*time.Second, "the user's session after reset-mfa")
	fresh, _ := c.login(email) // no second step any more
	r = c.do("GET", "/api/auth/mfa", nil, fresh)
	expect(t, r, http.StatusOK, "")
	if r.body["totp"] != false || r.body["recoveryCodesLeft"] != 0.0 {
		t.Errorf("GET /api/auth/mfa after reset-mfa = %s, want nothing on", r.raw)
	}
}

// jwtPayload decodes the payload of a compact JWS to its JSON text.
func jwtPayload(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode JWT payload: %v", err)
	}
	return string(b)
}
