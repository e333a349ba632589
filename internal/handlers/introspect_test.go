package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The introspection client tokens of the tests.
const (
	introspectA = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-client-a"
	introspectB = "a1b2c3d4e5f60718293a4b5c6d7e8f90-client-b"
)

// withIntrospection configures both client tokens.
func withIntrospection(c *envConfig) { c.Introspection = []string{introspectA, introspectB} }

// introspect posts form to /oauth/introspect with the client token client ("" for none).
func (e *testEnv) introspect(client, form string) *httptest.ResponseRecorder {
	e.t.Helper()
	hr := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(form))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		hr.Header.Set("Authorization", "Bearer "+client)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
}

// introspectToken introspects token as client A and returns the 200 answer.
func (e *testEnv) introspectToken(t *testing.T, what, token string) map[string]any {
	t.Helper()
	rec := e.introspect(introspectA, url.Values{"token": {token}}.Encode())
	expect(t, what, rec, http.StatusOK, "")
	checkNoStore(t, what, rec)
	return jsonBody(t, rec)
}

// expectInactive checks that token is introspected as {"active":false} and nothing more.
func (e *testEnv) expectInactive(t *testing.T, what, token string) {
	t.Helper()
	if got := e.introspectToken(t, what, token); len(got) != 1 || got["active"] != false {
		t.Errorf("%s: introspection = %v, want exactly {\"active\":false}", what, got)
	}
}

func TestIntrospect(t *testing.T) {
	runOnBackends(t, []backendCase{
		{name: "active access token", mutate: withIntrospection, run: func(t *testing.T, e *testEnv) {
			id := e.register("intro@example.com")
			s := e.login("intro@example.com")
			claims, err := e.issuer.VerifyAccess(s.access)
			if err != nil {
				t.Fatalf("VerifyAccess: %v", err)
			}
			got := e.introspectToken(t, "active token", s.access)
			want := map[string]any{
				"active": true, "sub": id, "sid": claims.SessionID, "jti": claims.ID, "iss": "auth-server", "aud": "api",
				"iat": float64(claims.IssuedAt.Unix()), "exp": float64(claims.ExpiresAt.Unix()),
				"token_type": "access_token", "username": "intro@example.com", "role": "user",
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("introspection[%q] = %v, want %v (whole answer %v)", k, got[k], v, got)
				}
			}
			wantAMR := claims.AMR
			if wantAMR == nil {
				wantAMR = []string{}
			}
			if _, isArray := got["amr"].([]any); !isArray || !slices.Equal(toStrings(got["amr"]), wantAMR) {
				t.Errorf("introspection amr = %v, want the token's %v as an array", got["amr"], claims.AMR)
			}
			if len(got) != len(want)+1 {
				t.Errorf("introspection has members %v, want exactly %v and amr", keysOf(got), keysOf(want))
			}
			// The second client token works as well, and token_type_hint is accepted and ignored.
			rec := e.introspect(introspectB, url.Values{"token": {s.access}, "token_type_hint": {"refresh_token"}}.Encode())
			expect(t, "client B", rec, http.StatusOK, "")
			if jsonBody(t, rec)["active"] != true {
				t.Errorf("client B: %s, want active", rec.Body.String())
			}
		}},
		{name: "everything else is inactive", mutate: withIntrospection, run: func(t *testing.T, e *testEnv) {
			e.register("other@example.com")
			s := e.login("other@example.com")
			gone := e.login("other@example.com")
			expect(t, "logout", e.do(req{method: "POST", path: "/api/auth/logout", bearer: gone.access, cookies: []*http.Cookie{gone.refresh}}), http.StatusOK, "")
			e.expectInactive(t, "revoked token", gone.access)
			e.expectInactive(t, "refresh token", s.refresh.Value)
			e.expectInactive(t, "tampered token", editPayload(t, s.access, map[string]any{"role": "admin"}))
			e.expectInactive(t, "garbage", "garbage")
			e.expectInactive(t, "9 KiB of garbage", strings.Repeat("x", 9<<10))
			e.clock.Advance(16 * time.Minute)
			e.expectInactive(t, "expired token", s.access)
		}},
		{name: "client authentication", mutate: withIntrospection, run: func(t *testing.T, e *testEnv) {
			e.register("client@example.com")
			s := e.login("client@example.com")
			form := url.Values{"token": {s.access}}.Encode()
			for _, client := range []string{"", introspectA + "x", introspectA[:len(introspectA)-1], "wrong", s.access, strings.ToUpper(introspectA)} {
				rec := e.introspect(client, form)
				expect(t, "client token "+clipText(client), rec, http.StatusUnauthorized, "INVALID_CLIENT")
				if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="introspection"` {
					t.Errorf("client token %q: WWW-Authenticate = %q, want Bearer realm=\"introspection\"", clipText(client), got)
				}
				checkNoStore(t, "client token "+clipText(client), rec)
			}
			hr := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(form))
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			hr.SetBasicAuth("client", introspectA)
			expect(t, "client token as Basic", e.serveRaw(hr), http.StatusUnauthorized, "INVALID_CLIENT")
		}},
		{name: "bad requests", mutate: withIntrospection, run: func(t *testing.T, e *testEnv) {
			for _, form := range []string{"", "token=", "tok=abc", "%zz=1"} {
				rec := e.introspect(introspectA, form)
				expect(t, "form "+form, rec, http.StatusBadRequest, "VALIDATION_ERROR")
			}
			if d := detailsOf(t, e.introspect(introspectA, "")); d["token"] != "is required" {
				t.Errorf("empty form: details = %v, want token: is required", d)
			}
			hr := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(`{"token":"x"}`))
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+introspectA)
			expect(t, "JSON body", e.serveRaw(hr), http.StatusBadRequest, "VALIDATION_ERROR")
			rec := e.introspect(introspectA, "token="+strings.Repeat("a", 11<<10))
			expect(t, "11 KiB form", rec, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
			expect(t, "GET /oauth/introspect", e.do(req{method: "GET", path: "/oauth/introspect", bearer: introspectA}),
				http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
			hr = httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader("token=x"))
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			hr.Header.Set("Authorization", "Bearer "+introspectA)
			hr.Header.Set("Origin", "https://evil.example.net")
			expect(t, "a foreign Origin", e.serveRaw(hr), http.StatusOK, "")
		}},
		{name: "absent when unconfigured", run: func(t *testing.T, e *testEnv) {
			expect(t, "POST /oauth/introspect", e.introspect(introspectA, "token=x"), http.StatusNotFound, "NOT_FOUND")
		}},
	})
}
