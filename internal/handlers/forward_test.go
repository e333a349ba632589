package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// forwardAuth calls GET /forward-auth?query with bearer and extra headers (name, value pairs).
func (e *testEnv) forwardAuth(query, bearer string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := req{method: "GET", path: "/forward-auth", bearer: bearer, headers: map[string]string{}}
	if query != "" {
		r.path += "?" + query
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.headers[headers[i]] = headers[i+1]
	}
	return e.do(r)
}

// expectIdentity checks a 200 from /forward-auth: empty body and the identity headers of access.
func (e *testEnv) expectIdentity(t *testing.T, what string, rec *httptest.ResponseRecorder, access string) {
	t.Helper()
	expect(t, what, rec, http.StatusOK, "")
	if rec.Body.Len() != 0 {
		t.Errorf("%s: body = %q, want empty", what, rec.Body.String())
	}
	claims, err := e.issuer.VerifyAccess(access)
	if err != nil {
		t.Fatalf("%s: VerifyAccess(the token) = %v", what, err)
	}
	for name, want := range map[string]string{
		"X-Auth-User-Id": claims.Subject, "X-Auth-Email": claims.Email, "X-Auth-Role": claims.Role,
		"X-Auth-Session-Id": claims.SessionID, "X-Auth-Amr": strings.Join(claims.AMR, ","),
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	checkNoStore(t, what, rec)
}

func TestForwardAuth(t *testing.T) {
	runOnBackends(t, []backendCase{
		{name: "identity headers", run: func(t *testing.T, e *testEnv) {
			id := e.register("fa@example.com")
			s := e.login("fa@example.com")
			rec := e.forwardAuth("", s.access)
			e.expectIdentity(t, "GET /forward-auth", rec, s.access)
			if got := rec.Header().Get("X-Auth-User-Id"); got != id {
				t.Errorf("X-Auth-User-Id = %q, want the registered id %q", got, id)
			}
			if got := rec.Header().Get("X-Auth-Email"); got != "fa@example.com" {
				t.Errorf("X-Auth-Email = %q, want fa@example.com", got)
			}
			if got := rec.Header().Get("X-Auth-Role"); got != "user" {
				t.Errorf("X-Auth-Role = %q, want user", got)
			}
			if got := rec.Header().Get("X-Auth-Session-Id"); got != sidOf(t, s.access) {
				t.Errorf("X-Auth-Session-Id = %q, want the token's sid %q", got, sidOf(t, s.access))
			}
		}},
		{name: "the protected-route verdicts", run: func(t *testing.T, e *testEnv) {
			e.register("verdict@example.com")
			s := e.login("verdict@example.com")
			rec := e.forwardAuth("", "")
			expect401(t, "no Authorization", rec, "NO_TOKEN")
			checkNoStore(t, "no Authorization", rec)
			for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "token " + s.access, "\x00\x01"} {
				expect401(t, "Authorization "+clipText(h), e.forwardAuth("", "", "Authorization", h), "NO_TOKEN")
			}
			expect401(t, "garbage bearer", e.forwardAuth("", "not.a.jwt"), "INVALID_TOKEN")
			expect401(t, "9 KiB bearer", e.forwardAuth("", strings.Repeat("a", 9<<10)), "INVALID_TOKEN")
			expect401(t, "tampered token", e.forwardAuth("", editPayload(t, s.access, map[string]any{"role": "admin"})), "INVALID_TOKEN")
			expect401(t, "refresh token as bearer", e.forwardAuth("", s.refresh.Value), "INVALID_TOKEN")
			e.clock.Advance(16 * time.Minute)
			expect401(t, "expired token", e.forwardAuth("", s.access), "TOKEN_EXPIRED")
		}},
		{name: "logout revokes at once", run: func(t *testing.T, e *testEnv) {
			e.register("bye@example.com")
			s := e.login("bye@example.com")
			other := e.login("bye@example.com")
			expect(t, "before logout", e.forwardAuth("", s.access), http.StatusOK, "")
			expect(t, "logout", e.do(req{method: "POST", path: "/api/auth/logout", bearer: s.access, cookies: []*http.Cookie{s.refresh}}), http.StatusOK, "")
			expect401(t, "after logout", e.forwardAuth("", s.access), "TOKEN_REVOKED")
			e.expectIdentity(t, "another session of the user", e.forwardAuth("", other.access), other.access)
		}},
		{name: "role admin reads the current role", run: func(t *testing.T, e *testEnv) {
			userID := e.register("plain@example.com")
			user := e.login("plain@example.com")
			adminID, admin := e.adminLogin("boss@example.com")
			e.makeAdmin("other-boss@example.com") // so that the first admin may be demoted
			expect(t, "user at ?role=admin", e.forwardAuth("role=admin", user.access), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
			e.expectIdentity(t, "admin at ?role=admin", e.forwardAuth("role=admin", admin.access), admin.access)

			e.setUser(t, adminID, models.RoleUser, nil)
			expect(t, "demoted admin at ?role=admin", e.forwardAuth("role=admin", admin.access), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
			rec := e.forwardAuth("", admin.access)
			expect(t, "demoted admin without ?role", rec, http.StatusOK, "")
			if got := rec.Header().Get("X-Auth-Role"); got != "admin" {
				t.Errorf("demoted admin: X-Auth-Role = %q, want the token's claim admin", got)
			}

			e.setUser(t, userID, models.RoleAdmin, nil)
			expect(t, "promoted user at ?role=admin", e.forwardAuth("role=admin", user.access), http.StatusOK, "")
			disabled := true
			e.setUser(t, userID, "", &disabled)
			expect401(t, "disabled user at ?role=admin", e.forwardAuth("role=admin", user.access), "TOKEN_REVOKED")
			expect401(t, "disabled user", e.forwardAuth("", user.access), "TOKEN_REVOKED")
		}},
		{name: "bad queries", run: func(t *testing.T, e *testEnv) {
			e.register("q@example.com")
			s := e.login("q@example.com")
			for _, q := range []string{"role=user", "role=root", "role=", "mfa=yes", "mfa=1"} {
				rec := e.forwardAuth(q, s.access)
				expect(t, "?"+q, rec, http.StatusBadRequest, "VALIDATION_ERROR")
			}
			expect(t, "?mfa=false", e.forwardAuth("mfa=false", s.access), http.StatusOK, "")
			expect401(t, "?role=root without a token", e.forwardAuth("role=root", ""), "NO_TOKEN")
		}},
		{name: "no rate limit, no Origin judged", mutate: func(c *envConfig) {
			c.GeneralMax, c.ClientURLs = 2, []string{"https://app.example.com"}
		}, run: func(t *testing.T, e *testEnv) {
			e.register("busy@example.com")
			s := e.login("busy@example.com")
			for range 5 {
				rec := e.forwardAuth("", s.access, "Origin", "https://evil.example.net")
				expect(t, "GET /forward-auth from a foreign Origin, again", rec, http.StatusOK, "")
				if got := rec.Header().Get("RateLimit-Limit"); got != "" {
					t.Errorf("GET /forward-auth: RateLimit-Limit = %q, want none", got)
				}
				if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
					t.Errorf("GET /forward-auth: Access-Control-Allow-Origin = %q, want none", got)
				}
			}
			expect(t, "GET /api/profile from the foreign Origin", e.do(req{method: "GET", path: "/api/profile", bearer: s.access,
				headers: map[string]string{"Origin": "https://evil.example.net"}}), http.StatusForbidden, "ORIGIN_NOT_ALLOWED")
		}},
	})
}

// TestForwardAuthMFA checks ?mfa=true against the amr claim of tokens signed by the server.
func TestForwardAuthMFA(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("second@example.com")
	issue := func(amr []string) string {
		access, _, err := e.issuer.IssueAccess(tokens.AccessInput{UserID: id, Email: "second@example.com", Role: "user", SessionID: "sess-" + strings.Join(amr, "-"), AMR: amr})
		if err != nil {
			t.Fatalf("IssueAccess(amr %v): %v", amr, err)
		}
		return access
	}
	withMFA, pwdOnly, none := issue([]string{"pwd", "mfa"}), issue([]string{"pwd"}), issue(nil)
	e.expectIdentity(t, "amr pwd,mfa at ?mfa=true", e.forwardAuth("mfa=true", withMFA), withMFA)
	if got := e.forwardAuth("mfa=true", withMFA).Header().Get("X-Auth-Amr"); got != "pwd,mfa" {
		t.Errorf("X-Auth-Amr = %q, want pwd,mfa", got)
	}
	expect(t, "amr pwd at ?mfa=true", e.forwardAuth("mfa=true", pwdOnly), http.StatusForbidden, "MFA_REQUIRED")
	expect(t, "no amr at ?mfa=true", e.forwardAuth("mfa=true", none), http.StatusForbidden, "MFA_REQUIRED")
	expect(t, "amr pwd without ?mfa", e.forwardAuth("", pwdOnly), http.StatusOK, "")
	expect(t, "amr pwd,mfa at ?mfa=true&role=admin", e.forwardAuth(url.Values{"mfa": {"true"}, "role": {"admin"}}.Encode(), withMFA),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
}
