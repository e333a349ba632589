package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/passkeys/passkeytest"
)

const passkeyOrigin = "https://app.example.com"

// withPasskeys configures the relying party example.com for pages of passkeyOrigin.
func withPasskeys(c *envConfig) {
	c.Passkeys = passkeys.Config{RPID: "example.com", RPName: "Example", Origins: []string{passkeyOrigin}}
}

// ceremony is the answer of an options route.
type ceremony struct {
	ChallengeID string          `json:"challengeId"`
	Options     json.RawMessage `json:"options"`
}

// options calls an options route and expects 200 with a challenge id and no-store.
func (e *testEnv) options(what, path, bearer string, body any) ceremony {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: path, bearer: bearer, body: body})
	expect(e.t, what, rec, http.StatusOK, "")
	checkNoStore(e.t, what, rec)
	var c ceremony
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.ChallengeID == "" || len(c.Options) == 0 {
		e.t.Fatalf("%s = %s, want {challengeId, options}", what, rec.Body.String())
	}
	return c
}

// finish posts a credential for challenge to path.
func (e *testEnv) finish(path, bearer, challengeID string, credential []byte, extra map[string]any) *httptest.ResponseRecorder {
	e.t.Helper()
	body := map[string]any{"challengeId": challengeID, "credential": json.RawMessage(credential)}
	for k, v := range extra {
		body[k] = v
	}
	return e.do(req{method: "POST", path: path, bearer: bearer, body: body})
}

// addPasskey registers a new software authenticator for the session's user and returns it and
// the passkey's id.
func (e *testEnv) addPasskey(s session, name string) (*passkeytest.Authenticator, string) {
	e.t.Helper()
	a := passkeytest.New(e.t, passkeyOrigin)
	c := e.options("register options", "/api/auth/passkeys/register/options", s.access, nil)
	rec := e.finish("/api/auth/passkeys/register", s.access, c.ChallengeID, a.Create(e.t, c.Options), map[string]any{"name": name})
	expect(e.t, "register passkey", rec, http.StatusCreated, "")
	return a, jsonBody(e.t, rec)["passkey"].(map[string]any)["id"].(string)
}

// passkeyLogin runs a username-less passkey login with a and returns the response.
func (e *testEnv) passkeyLogin(a *passkeytest.Authenticator) *httptest.ResponseRecorder {
	e.t.Helper()
	c := e.options("login options", "/api/auth/passkeys/login/options", "", map[string]any{})
	return e.finish("/api/auth/passkeys/login", "", c.ChallengeID, a.Get(e.t, c.Options), nil)
}

func TestPasskeyRegisterAndLogin(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		userID := e.register("pat@example.com")
		s := e.login("pat@example.com")

		c := e.options("register options", "/api/auth/passkeys/register/options", s.access, nil)
		var creation map[string]any
		if err := json.Unmarshal(c.Options, &creation); err != nil {
			t.Fatal(err)
		}
		wantKeys(t, "creation options", creation, "rp", "user", "challenge", "pubKeyCredParams", "timeout",
			"excludeCredentials", "authenticatorSelection", "hints", "attestation", "attestationFormats")
		a := passkeytest.New(t, passkeyOrigin)
		rec := e.finish("/api/auth/passkeys/register", s.access, c.ChallengeID, a.Create(t, c.Options), map[string]any{"name": "Phone"})
		expect(t, "POST /api/auth/passkeys/register", rec, http.StatusCreated, "")
		pk := jsonBody(t, rec)["passkey"].(map[string]any)
		wantKeys(t, "registered passkey", pk, "id", "name", "createdAt", "lastUsedAt")
		if _, err := uuid.Parse(pk["id"].(string)); err != nil || pk["name"] != "Phone" || pk["lastUsedAt"] != nil {
			t.Fatalf("registered passkey = %v, want a UUID id, name Phone, lastUsedAt null", pk)
		}
		if _, err := time.Parse(time.RFC3339, pk["createdAt"].(string)); err != nil {
			t.Errorf("createdAt = %v, want RFC 3339", pk["createdAt"])
		}

		rec = e.passkeyLogin(a)
		expect(t, "passkey login", rec, http.StatusOK, "")
		checkNoStore(t, "passkey login", rec)
		body := jsonBody(t, rec)
		wantKeys(t, "passkey login answer", body, "accessToken", "tokenType", "expiresIn", "user")
		if u := body["user"].(map[string]any); u["id"] != userID || u["email"] != "pat@example.com" || u["role"] != "user" {
			t.Errorf("passkey login user = %v, want pat", u)
		}
		refresh := newRefreshCookie(t, "passkey login", rec, true, int((7 * 24 * time.Hour).Seconds()))
		access := body["accessToken"].(string)
		if sub := jwtPart(t, access, 1)["sub"]; sub != userID {
			t.Errorf("access token sub = %v, want %s", sub, userID)
		}

		// The session works like any other: profile, refresh, logout.
		e.bearerOK(t, "passkey session", access)
		rotated := e.rotate(t, "refresh a passkey session", session{access: access, refresh: refresh})
		rec = e.do(req{method: "POST", path: "/api/auth/logout", cookies: []*http.Cookie{rotated.refresh}})
		expect(t, "logout a passkey session", rec, http.StatusOK, "")
		expect401(t, "refresh after logout", e.refresh(rotated), "INVALID_REFRESH_TOKEN")

		rec = e.do(req{method: "GET", path: "/api/auth/passkeys", bearer: s.access})
		expect(t, "GET /api/auth/passkeys", rec, http.StatusOK, "")
		checkNoStore(t, "GET /api/auth/passkeys", rec)
		list := jsonBody(t, rec)["passkeys"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != pk["id"] || list[0].(map[string]any)["lastUsedAt"] == nil {
			t.Fatalf("passkeys after a login = %v, want the one passkey with a lastUsedAt", list)
		}

		e.makeAdmin("root@example.com")
		root := e.login("root@example.com")
		events := e.auditEvents(root.access, "userId="+userID)
		var added, loggedIn bool
		for _, ev := range events {
			d, _ := ev["detail"].(map[string]any)
			switch ev["type"] {
			case "passkey_added":
				added = d["passkeyId"] == pk["id"] && d["name"] == "Phone" && ev["sessionId"] == sidOf(t, s.access)
			case "login_succeeded":
				loggedIn = loggedIn || (d["method"] == "passkey" && d["passkeyId"] == pk["id"] && ev["sessionId"] == sidOf(t, access))
			}
		}
		if !added || !loggedIn {
			t.Errorf("audit events of the user = %v, want passkey_added and login_succeeded with detail.method passkey", events)
		}
	})
}

func TestPasskeyLoginRefused(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		e.register("pat@example.com")
		a, _ := e.addPasskey(e.login("pat@example.com"), "")
		loginOptions := func() ceremony {
			return e.options("login options", "/api/auth/passkeys/login/options", "", map[string]any{})
		}

		c := loginOptions()
		good := a.Get(t, c.Options)
		expect(t, "first login", e.finish("/api/auth/passkeys/login", "", c.ChallengeID, good, nil), http.StatusOK, "")
		expect401(t, "the same body again", e.finish("/api/auth/passkeys/login", "", c.ChallengeID, good, nil), "INVALID_PASSKEY")
		expect401(t, "a replayed assertion with a fresh challenge",
			e.finish("/api/auth/passkeys/login", "", loginOptions().ChallengeID, good, nil), "INVALID_PASSKEY")

		c = loginOptions()
		expect401(t, "an unknown challenge id",
			e.finish("/api/auth/passkeys/login", "", "no-such-challenge", a.Get(t, c.Options), nil), "INVALID_PASSKEY")
		expect401(t, "a registration challenge id",
			e.finish("/api/auth/passkeys/login", "", e.options("register options", "/api/auth/passkeys/register/options",
				e.login("pat@example.com").access, nil).ChallengeID, a.Get(t, loginOptions().Options), nil), "INVALID_PASSKEY")

		a.Origin = "https://evil.example.net"
		expect401(t, "a wrong origin", e.passkeyLogin(a), "INVALID_PASSKEY")
		a.Origin, a.RPID = passkeyOrigin, "evil.example.net"
		expect401(t, "a wrong RP ID", e.passkeyLogin(a), "INVALID_PASSKEY")
		a.RPID, a.UserVerified = "", false
		expect401(t, "no user verification", e.passkeyLogin(a), "INVALID_PASSKEY")
		a.UserVerified = true
		expect(t, "the genuine authenticator still", e.passkeyLogin(a), http.StatusOK, "")

		for _, cred := range []string{`"x"`, `{}`, `[]`, `1`, `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`,
			`{"id":"\u0000","rawId":"AA","type":"public-key","response":{"clientDataJSON":"\u0000"}}`} {
			c := loginOptions()
			rec := e.do(req{method: "POST", path: "/api/auth/passkeys/login", body: `{"challengeId":"` + c.ChallengeID + `","credential":` + cred + `}`})
			expect401(t, "credential "+cred, rec, "INVALID_PASSKEY")
		}
		for _, body := range []string{`{}`, `{"challengeId":"x"}`, `{"credential":{}}`, `{"challengeId":"x","credential":null}`,
			`{"challengeId":7,"credential":{}}`, `{"challengeId":"x","credential":{},"name":"n"}`} {
			expect(t, "body "+body, e.do(req{method: "POST", path: "/api/auth/passkeys/login", body: body}), http.StatusBadRequest, "VALIDATION_ERROR")
		}
		expect(t, "not JSON", e.do(req{method: "POST", path: "/api/auth/passkeys/login", body: `{"challengeId":`}), http.StatusBadRequest, "INVALID_JSON")
	})
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		e.register("pat@example.com")
		e.register("sam@example.com")
		pat, sam := e.login("pat@example.com"), e.login("sam@example.com")
		const path = "/api/auth/passkeys/register"
		begin := func(s session) ceremony {
			return e.options("register options", "/api/auth/passkeys/register/options", s.access, nil)
		}

		expect401(t, "register options without a token", e.do(req{method: "POST", path: path + "/options"}), "NO_TOKEN")
		c := begin(pat)
		a := passkeytest.New(t, passkeyOrigin)
		expect401(t, "register without a token", e.finish(path, "", c.ChallengeID, a.Create(t, c.Options), nil), "NO_TOKEN")

		c = begin(pat)
		expect(t, "another user's challenge", e.finish(path, sam.access, c.ChallengeID, a.Create(t, c.Options), nil),
			http.StatusBadRequest, "INVALID_PASSKEY")
		expect(t, "an unknown challenge", e.finish(path, pat.access, "nope", a.Create(t, begin(pat).Options), nil),
			http.StatusBadRequest, "INVALID_PASSKEY")
		a.Origin = "https://evil.example.net"
		c = begin(pat)
		expect(t, "a wrong origin", e.finish(path, pat.access, c.ChallengeID, a.Create(t, c.Options), nil), http.StatusBadRequest, "INVALID_PASSKEY")
		a.Origin, a.UserVerified = passkeyOrigin, false
		c = begin(pat)
		expect(t, "no user verification", e.finish(path, pat.access, c.ChallengeID, a.Create(t, c.Options), nil), http.StatusBadRequest, "INVALID_PASSKEY")
		a.UserVerified = true
		c = begin(pat)
		good := a.Create(t, c.Options)
		expect(t, "a good registration", e.finish(path, pat.access, c.ChallengeID, good, nil), http.StatusCreated, "")
		expect(t, "the same registration again", e.finish(path, pat.access, c.ChallengeID, good, nil), http.StatusBadRequest, "INVALID_PASSKEY")
		c = begin(sam)
		expect(t, "pat's authenticator for sam", e.finish(path, sam.access, c.ChallengeID, a.Create(t, c.Options), nil),
			http.StatusBadRequest, "INVALID_PASSKEY")

		for _, cred := range []string{`"x"`, `{}`, `[1]`, `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"oA"}}`} {
			c := begin(pat)
			rec := e.do(req{method: "POST", path: path, bearer: pat.access, body: `{"challengeId":"` + c.ChallengeID + `","credential":` + cred + `}`})
			expect(t, "credential "+cred, rec, http.StatusBadRequest, "INVALID_PASSKEY")
		}
		c = begin(pat)
		rec := e.finish(path, pat.access, c.ChallengeID, passkeytest.New(t, passkeyOrigin).Create(t, c.Options),
			map[string]any{"name": strings.Repeat("n", 65)})
		expect(t, "a name of 65 characters", rec, http.StatusBadRequest, "VALIDATION_ERROR")
		c = begin(pat)
		rec = e.finish(path, pat.access, c.ChallengeID, passkeytest.New(t, passkeyOrigin).Create(t, c.Options),
			map[string]any{"name": "a\x00b"})
		expect(t, "a name with NUL", rec, http.StatusBadRequest, "VALIDATION_ERROR")

		list := jsonBody(t, e.do(req{method: "GET", path: "/api/auth/passkeys", bearer: pat.access}))["passkeys"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["name"] != passkeys.DefaultName {
			t.Fatalf("pat's passkeys = %v, want the one good registration named %q", list, passkeys.DefaultName)
		}
		if list := jsonBody(t, e.do(req{method: "GET", path: "/api/auth/passkeys", bearer: sam.access}))["passkeys"].([]any); len(list) != 0 {
			t.Fatalf("sam's passkeys = %v, want [] (not null)", list)
		}
	})
}

func TestPasskeyDelete(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		patID := e.register("pat@example.com")
		e.register("sam@example.com")
		pat, sam := e.login("pat@example.com"), e.login("sam@example.com")
		a, id := e.addPasskey(pat, "Laptop")

		for _, who := range []struct {
			what, bearer, id string
		}{{"sam deleting pat's passkey", sam.access, id}, {"an unknown id", pat.access, uuid.NewString()}, {"not a UUID", pat.access, "x'--"}} {
			expect(t, who.what, e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + who.id, bearer: who.bearer}), http.StatusNotFound, "NOT_FOUND")
		}
		expect401(t, "delete without a token", e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + id}), "NO_TOKEN")
		rec := e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + id, bearer: pat.access})
		expect(t, "pat deleting her passkey", rec, http.StatusNoContent, "")
		expect(t, "deleting it again", e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + id, bearer: pat.access}), http.StatusNotFound, "NOT_FOUND")
		expect401(t, "login with the deleted passkey", e.passkeyLogin(a), "INVALID_PASSKEY")

		e.makeAdmin("root@example.com")
		events := e.auditEvents(e.login("root@example.com").access, "type=passkey_removed")
		if len(events) != 1 || events[0]["userId"] != patID || events[0]["detail"].(map[string]any)["passkeyId"] != id {
			t.Errorf("passkey_removed events = %v, want one for pat's passkey %s", events, id)
		}
	})
}

func TestPasskeyLastSignInMethod(t *testing.T) {
	// An account without a password (none can be made through the API today) keeps its last passkey.
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		e.register("pat@example.com")
		pat := e.login("pat@example.com")
		a, first := e.addPasskey(pat, "first")
		_, second := e.addPasskey(pat, "second")
		u, err := e.store.UserByEmail(context.Background(), "pat@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.ChangePassword(context.Background(), u.ID, "", "", e.clock.Now(), e.clock.Now()); err != nil {
			t.Fatalf("clear pat's password: %v", err)
		}
		rec := e.passkeyLogin(a)
		expect(t, "passkey login without a password", rec, http.StatusOK, "")
		access := jsonBody(t, rec)["accessToken"].(string)
		expect(t, "deleting one of two passkeys", e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + second, bearer: access}), http.StatusNoContent, "")
		expect(t, "deleting the last one", e.do(req{method: "DELETE", path: "/api/auth/passkeys/" + first, bearer: access}), http.StatusConflict, "LAST_SIGN_IN_METHOD")
		expect(t, "the last passkey still signs in", e.passkeyLogin(a), http.StatusOK, "")
	})
}

func TestPasskeyLoginOfDisabledAccount(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		id := e.register("pat@example.com")
		a, _ := e.addPasskey(e.login("pat@example.com"), "")
		disabled := true
		e.setUser(t, id, "", &disabled)
		expect(t, "passkey login of a disabled account", e.passkeyLogin(a), http.StatusForbidden, "ACCOUNT_DISABLED")
		// A stranger's passkey gets the usual 401, not the 403: the 403 comes only after a valid assertion.
		stranger := passkeytest.New(t, passkeyOrigin)
		handle := uuid.MustParse(id)
		stranger.UserHandle = handle[:]
		expect401(t, "an unregistered authenticator naming the disabled user", e.passkeyLogin(stranger), "INVALID_PASSKEY")
	})
}

func TestPasskeyCounterRegression(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		id := e.register("pat@example.com")
		a, pk := e.addPasskey(e.login("pat@example.com"), "")
		a.Counter = 9
		expect(t, "login with counter 10", e.passkeyLogin(a), http.StatusOK, "")
		clone := *a
		clone.Counter = 4
		expect401(t, "a clone with counter 5", e.passkeyLogin(&clone), "INVALID_PASSKEY")
		expect(t, "the genuine authenticator with counter 11", e.passkeyLogin(a), http.StatusOK, "")

		e.makeAdmin("root@example.com")
		events := e.auditEvents(e.login("root@example.com").access, "type=login_failed&userId="+id)
		found := false
		for _, ev := range events {
			d := ev["detail"].(map[string]any)
			found = found || (d["reason"] == "passkey_counter_regressed" && d["passkeyId"] == pk && d["method"] == "passkey")
		}
		if !found {
			t.Errorf("login_failed events of pat = %v, want one with reason passkey_counter_regressed", events)
		}
	})
}

func TestPasskeyLoginOptionsShape(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		e.register("pat@example.com")
		a, _ := e.addPasskey(e.login("pat@example.com"), "")
		shape := func(body any) string {
			c := e.options("login options", "/api/auth/passkeys/login/options", "", body)
			var o map[string]any
			if err := json.Unmarshal(c.Options, &o); err != nil {
				t.Fatal(err)
			}
			if allow, ok := o["allowCredentials"].([]any); !ok || len(allow) != 0 {
				t.Errorf("login options for %v: allowCredentials = %v, want []", body, o["allowCredentials"])
			}
			delete(o, "challenge")
			b, _ := json.Marshal(o)
			return string(b)
		}
		want := shape(nil)
		for _, body := range []any{map[string]any{}, map[string]any{"email": "pat@example.com"},
			map[string]any{"email": "nobody@example.com"}, map[string]any{"email": "not an email\x00"}} {
			if got := shape(body); got != want {
				t.Errorf("login options for %v = %s, want the same as without a body: %s", body, got, want)
			}
		}
		expect(t, "an email that is not a string", e.do(req{method: "POST", path: "/api/auth/passkeys/login/options", body: `{"email":1}`}),
			http.StatusBadRequest, "VALIDATION_ERROR")

		// With an email, only that account's passkeys are accepted.
		for _, tc := range []struct {
			email  string
			status int
		}{{"PAT@example.com ", http.StatusOK}, {"sam@example.com", http.StatusUnauthorized}, {"nobody@example.com", http.StatusUnauthorized}} {
			c := e.options("login options", "/api/auth/passkeys/login/options", "", map[string]any{"email": tc.email})
			rec := e.finish("/api/auth/passkeys/login", "", c.ChallengeID, a.Get(t, c.Options), nil)
			if rec.Code != tc.status {
				t.Errorf("passkey login begun for %q with pat's passkey = %d %s, want %d", tc.email, rec.Code, rec.Body.String(), tc.status)
			}
		}
	})
}

func TestPasskeysOff(t *testing.T) {
	e := newEnv(t, nil) // no relying party configured
	e.register("pat@example.com")
	s := e.login("pat@example.com")
	for _, r := range []req{
		{method: "POST", path: "/api/auth/passkeys/register/options", bearer: s.access},
		{method: "POST", path: "/api/auth/passkeys/register", bearer: s.access, body: map[string]any{"challengeId": "x", "credential": map[string]any{}}},
		{method: "POST", path: "/api/auth/passkeys/login/options", body: map[string]any{}},
		{method: "POST", path: "/api/auth/passkeys/login", body: map[string]any{"challengeId": "x", "credential": map[string]any{}}},
	} {
		expect(t, r.method+" "+r.path+" with passkeys off", e.do(r), http.StatusServiceUnavailable, "PASSKEYS_NOT_CONFIGURED")
	}
	rec := e.do(req{method: "GET", path: "/api/auth/passkeys", bearer: s.access})
	expect(t, "GET /api/auth/passkeys with passkeys off", rec, http.StatusOK, "")
	if list := jsonBody(t, rec)["passkeys"].([]any); len(list) != 0 {
		t.Errorf("passkeys with passkeys off = %v, want []", list)
	}
}

func TestPasskeyRoutesRateLimited(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		withPasskeys(c)
		c.AuthMax = 3
	})
	for i := range 3 {
		rec := e.do(req{method: "POST", path: "/api/auth/passkeys/login/options", body: map[string]any{}})
		expect(t, "login options", rec, http.StatusOK, "")
		checkRateHeaders(t, "login options", rec, 3, 2-i)
	}
	rec := e.do(req{method: "POST", path: "/api/auth/passkeys/login", body: map[string]any{"challengeId": "x", "credential": map[string]any{}}})
	check429(t, "a passkey login over the auth limit", rec, 3)
}

func TestTooManyPasskeys(t *testing.T) {
	e := newEnv(t, withPasskeys)
	e.register("pat@example.com")
	s := e.login("pat@example.com")
	for range passkeys.MaxPerUser {
		e.addPasskey(s, "")
	}
	c := e.options("register options", "/api/auth/passkeys/register/options", s.access, nil)
	rec := e.finish("/api/auth/passkeys/register", s.access, c.ChallengeID, passkeytest.New(t, passkeyOrigin).Create(t, c.Options), nil)
	expect(t, "a passkey beyond the limit", rec, http.StatusConflict, "PASSKEY_LIMIT")
}

func TestPasskeysAndSecondFactor(t *testing.T) {
	forEachBackend(t, withPasskeys, func(t *testing.T, e *testEnv) {
		id := e.register("pat@example.com")
		s := e.login("pat@example.com")
		if st := e.mfaStatus(s.access); st["passkeys"] != float64(0) {
			t.Fatalf("GET /api/auth/mfa before any passkey = %v, want passkeys 0", st)
		}
		a, _ := e.addPasskey(s, "")
		e.addPasskey(s, "")
		if st := e.mfaStatus(s.access); st["passkeys"] != float64(2) || st["totp"] != false {
			t.Fatalf("GET /api/auth/mfa with two passkeys = %v, want passkeys 2, totp false", st)
		}

		// A passkey login is a complete multi-factor login.
		rec := e.passkeyLogin(a)
		expect(t, "passkey login", rec, http.StatusOK, "")
		if got := amrOf(t, jsonBody(t, rec)["accessToken"].(string)); !slices.Equal(got, []string{"hwk", "user", "mfa"}) {
			t.Errorf("amr after a passkey login = %q, want [hwk user mfa]", got)
		}
		passkeySession := e.verified("passkey login", rec)
		if got := amrOf(t, e.rotate(t, "refresh a passkey session", passkeySession).access); !slices.Equal(got, []string{"hwk", "user", "mfa"}) {
			t.Errorf("amr after refreshing a passkey session = %q, want [hwk user mfa]", got)
		}

		// With TOTP on, the password login's second step names the passkey as a way in.
		e.enrol(s)
		rec = e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "pat@example.com", "password": testPassword}})
		expect(t, "password login with TOTP on", rec, http.StatusOK, "")
		if got := stringList(t, jsonBody(t, rec)["methods"]); !slices.Equal(got, []string{"totp", "recovery_code", "passkey"}) {
			t.Errorf("methods of the second step = %q, want [totp recovery_code passkey]", got)
		}
		expect(t, "passkey login with TOTP on (no second step)", e.passkeyLogin(a), http.StatusOK, "")

		// The admin reset removes the passkeys too, and ends the passkey sessions.
		_, admin := e.adminLogin("root@example.com")
		expect(t, "admin MFA reset", e.do(req{method: "DELETE", path: "/api/admin/users/" + id + "/mfa", bearer: admin.access}), http.StatusNoContent, "")
		expect401(t, "a passkey session after the reset", e.refresh(passkeySession), "INVALID_REFRESH_TOKEN")
		expect401(t, "the passkey after the reset", e.passkeyLogin(a), "INVALID_PASSKEY")
		s = e.login("pat@example.com") // the password alone again
		if st := e.mfaStatus(s.access); st["passkeys"] != float64(0) || st["totp"] != false {
			t.Fatalf("GET /api/auth/mfa after the reset = %v, want no factor and no passkey", st)
		}
	})
}

func TestPasskeySatisfiesRequireMFAForAdmin(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		withPasskeys(c)
		c.RequireMFAForAdmin = true
	})
	e.makeAdmin("root@example.com")
	root := e.login("root@example.com")
	expect(t, "an admin route after a password login", e.do(req{method: "GET", path: "/api/admin", bearer: root.access}), http.StatusForbidden, "MFA_REQUIRED")
	a, _ := e.addPasskey(root, "")
	rec := e.passkeyLogin(a)
	expect(t, "admin passkey login", rec, http.StatusOK, "")
	expect(t, "an admin route after a passkey login", e.do(req{method: "GET", path: "/api/admin", bearer: jsonBody(t, rec)["accessToken"].(string)}), http.StatusOK, "")
}
