package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/authserver/authserver/internal/passkeys/passkeytest"
	"github.com/authserver/authserver/internal/store/storetest"
)

// ceremonyStart calls a passkey options route and returns the challenge id and the options.
func (c *client) ceremonyStart(path, bearer string, body any) (string, []byte) {
	c.t.Helper()
	r := c.do("POST", path, body, bearer)
	expect(c.t, r, http.StatusOK, "")
	options, err := json.Marshal(r.body["options"])
	if err != nil || r.str("challengeId") == "" {
		c.t.Fatalf("%s = %s, want {challengeId, options}", r.what, r.raw)
	}
	return r.str("challengeId"), options
}

// TestClusterPasskeys runs two instances, A and B, on one PostgreSQL database: a ceremony begun
// on one instance finishes on the other, and a challenge spent on one is spent on both.
func TestClusterPasskeys(t *testing.T) {
	env := baseEnv(storetest.PostgresDSN(t)) // several instances need PostgreSQL; skips without it
	env["WEBAUTHN_RP_ID"] = "example.com"
	env["WEBAUTHN_ORIGINS"] = "https://app.example.com"
	a, b := startServer(t, env), startServer(t, env)
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	email := uniqueEmail("passkey")
	ca.register(email)
	access, _ := ca.login(email)
	key := passkeytest.New(t, "https://app.example.com")

	id, options := ca.ceremonyStart("/api/auth/passkeys/register/options", access, nil)
	r := cb.do("POST", "/api/auth/passkeys/register",
		map[string]any{"challengeId": id, "credential": json.RawMessage(key.Create(t, options)), "name": "Key"}, access)
	expect(t, r, http.StatusCreated, "")

	id, options = cb.ceremonyStart("/api/auth/passkeys/login/options", "", map[string]any{})
	assertion := map[string]any{"challengeId": id, "credential": json.RawMessage(key.Get(t, options))}
	r = ca.do("POST", "/api/auth/passkeys/login", assertion, "")
	expect(t, r, http.StatusOK, "")
	if r.str("accessToken") == "" || r.cookieValue("refreshToken") == "" {
		t.Fatalf("passkey login on A of a challenge from B = %s, want an access token and a refresh cookie", r.raw)
	}
	expect(t, cb.do("GET", "/api/profile", nil, r.str("accessToken")), http.StatusOK, "")
	expect(t, cb.do("POST", "/api/auth/passkeys/login", assertion, ""), http.StatusUnauthorized, "INVALID_PASSKEY")
}
