package handlers_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestProxyRoutesWithMFA logs in with a second factor for real: the MFA token of the first step
// is refused by /forward-auth and inactive on introspection, and the access token it leads to
// passes ?mfa=true where a password-only one does not.
func TestProxyRoutesWithMFA(t *testing.T) {
	e := newEnv(t, withIntrospection)
	e.register("two@example.com")
	en := e.enrol(e.login("two@example.com"))
	e.register("one@example.com")
	pwd := e.login("one@example.com")

	mfaToken := e.mfaLogin("two@example.com")
	expect401(t, "MFA token at /forward-auth", e.forwardAuth("", mfaToken), "INVALID_TOKEN")
	e.expectInactive(t, "MFA token", mfaToken)

	s := e.verified("POST /api/auth/mfa/verify", e.verify(mfaToken, "code", e.totp(en.secret, 0)))
	amr := amrOf(t, s.access)
	if !slices.Contains(amr, "mfa") {
		t.Fatalf("amr after the second step = %v, want mfa in it", amr)
	}
	e.expectIdentity(t, "second-factor login at ?mfa=true", e.forwardAuth("mfa=true", s.access), s.access)
	if got := toStrings(e.introspectToken(t, "second-factor login", s.access)["amr"]); !slices.Equal(got, amr) {
		t.Errorf("introspection amr = %v, want the token's %v", got, amr)
	}

	expect(t, "password-only login at ?mfa=true", e.forwardAuth("mfa=true", pwd.access), http.StatusForbidden, "MFA_REQUIRED")
	if got := toStrings(e.introspectToken(t, "password-only login", pwd.access)["amr"]); !slices.Equal(got, amrOf(t, pwd.access)) {
		t.Errorf("password-only introspection amr = %v, want the token's %v", got, amrOf(t, pwd.access))
	}
}
