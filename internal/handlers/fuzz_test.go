package handlers_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/app/apptest"
)

// fuzzEnv is a server with rate limits out of the way, an admin, a user and a victim user.
type fuzzEnv struct {
	*testEnv
	admin, user session
	victimID    string
}

// in returns the server for one fuzz call: failures are reported on t (the *testing.F must not
// be used inside the fuzz function).
func (e *fuzzEnv) in(t *testing.T) *testEnv {
	c := *e.testEnv
	c.t = t
	return &c
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f, func(c *envConfig) {
		c.GeneralMax, c.AuthMax, c.LoginMaxFailures = math.MaxInt32, math.MaxInt32, math.MaxInt32
		c.Mail = true // the routes that send mail answer 503 MAIL_NOT_CONFIGURED without it
		withPasskeys(c)
	})
	e.makeAdmin("root@example.com")
	e.register("user@example.com")
	return &fuzzEnv{testEnv: e, admin: e.login("root@example.com"), user: e.login("user@example.com"), victimID: e.register("victim@example.com")}
}

// checkAnswer fails t unless rec is below 500 and, when it is an error, a JSON body with a code.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= http.StatusInternalServerError {
		t.Fatalf("%s: status %d, want below 500 (body %s)", what, rec.Code, rec.Body.String())
	}
	if rec.Code >= http.StatusBadRequest {
		var body struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code == "" || body.Message == "" {
			t.Fatalf("%s: status %d with body %q, want a JSON error with code and message", what, rec.Code, rec.Body.String())
		}
	}
}

// FuzzJSONBodies sends any bytes as the JSON body of every route that reads one, through the
// real handlers on a real store, with the credentials each route needs: never a 5xx, never a
// panic (the recoverer would turn it into a 500), every error a JSON body with a code.
func FuzzJSONBodies(f *testing.F) {
	e := newFuzzEnv(f)
	routes := []req{
		{method: "POST", path: "/api/auth/register"},
		{method: "POST", path: "/api/auth/login"},
		{method: "POST", path: "/api/auth/refresh"},
		{method: "POST", path: "/api/auth/logout"},
		{method: "POST", path: "/api/auth/password", bearer: e.user.access},
		{method: "PATCH", path: "/api/admin/users/" + e.victimID, bearer: e.admin.access},
		{method: "POST", path: "/api/auth/verify-email/resend"},
		{method: "POST", path: "/api/auth/verify-email"},
		{method: "POST", path: "/api/auth/password/forgot"},
		{method: "POST", path: "/api/auth/password/reset"},
		{method: "POST", path: "/api/auth/email", bearer: e.user.access},
		{method: "POST", path: "/api/auth/email/confirm"},
		{method: "POST", path: "/api/auth/mfa/totp", bearer: e.user.access},
		{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: e.user.access},
		{method: "DELETE", path: "/api/auth/mfa/totp", bearer: e.user.access},
		{method: "POST", path: "/api/auth/mfa/recovery-codes", bearer: e.user.access},
		{method: "POST", path: "/api/auth/mfa/verify"},
		{method: "POST", path: "/api/auth/passkeys/register", bearer: e.user.access},
		{method: "POST", path: "/api/auth/passkeys/login/options"},
		{method: "POST", path: "/api/auth/passkeys/login"},
	}
	for n := range routes {
		for _, body := range []string{
			`{"email":"new@example.com","password":"correct horse battery staple"}`,
			`{"email":"user@example.com","password":"correct horse battery staple"}`,
			`{"refreshToken":"a.b.c"}`, `{"currentPassword":"x","newPassword":"тихий снег ложится на крыши"}`,
			`{"role":"admin"}`, `{"disabled":true,"role":"user"}`, `{"role":null}`, `{"email":["a"]}`,
			`{"token":"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG","newPassword":"a fresh long passphrase"}`,
			`{"password":"correct horse battery staple","newEmail":"moved@example.com"}`, `{"token":""}`,
			`{"code":"123456"}`, `{"code":"12345"}`, `{"code":"１２３４５６"}`, `{"mfaToken":"a.b.c","recoveryCode":"abcd-efgh-jkmn"}`,
			`{"challengeId":"x","credential":{"id":"AA","rawId":"AA","type":"public-key","response":{}}}`,
			`{"challengeId":"` + strings.Repeat("A", 43) + `","credential":{"response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}}`,
			`null`, `[]`, `{}`, `{"a":` + strings.Repeat("[", 200), `"\u0000"`, "{\"email\":\"\xff\"}", `{"email":1e999}`,
		} {
			f.Add(uint8(n), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		r.body = string(body)
		checkAnswer(t, r.method+" "+r.path+" "+string(body), e.in(t).do(r))
	})
}

// signedByServer reports whether token is three base64url segments in their one strict spelling
// whose signature is the server's HS256 signature (apptest.AccessSecret) of the first two.
func signedByServer(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != p {
			return false
		}
	}
	mac := hmac.New(sha256.New, []byte(apptest.AccessSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	return hmac.Equal(sig, mac.Sum(nil))
}

// FuzzBearer sends any Authorization header to a protected route: never a 5xx, and 200 only for
// a Bearer token signed with the server's key, spelt the one way it was issued. (Each fuzzing
// process runs its own server, with the same key: a token issued by another one is as genuine.)
func FuzzBearer(f *testing.F) {
	e := newFuzzEnv(f)
	genuine := e.user.access
	for _, h := range []string{
		"Bearer " + genuine, "bearer " + genuine, "BEARER  " + genuine + " ", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz",
		"Bearer " + genuine + "x", "Bearer " + strings.Replace(genuine, ".", "..", 1), "Bearer a.b.c", "Bearer \xff",
		"Bearer " + genuine + "," + genuine, "Token " + genuine,
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		rec := e.in(t).do(req{method: "GET", path: "/api/profile", headers: map[string]string{"Authorization": header}})
		checkAnswer(t, "GET /api/profile with Authorization "+header, rec)
		if rec.Code == http.StatusOK {
			scheme, token, _ := strings.Cut(header, " ")
			if !strings.EqualFold(scheme, "Bearer") || !signedByServer(strings.TrimSpace(token)) {
				t.Fatalf("Authorization %q was accepted; only a Bearer token the server signed may be", header)
			}
		}
	})
}

// FuzzRefreshCookie sends any Cookie header to the refresh route: never a 5xx, and 200 only when
// it carries a refresh token the server handed out (each 200 hands out the next one).
func FuzzRefreshCookie(f *testing.F) {
	e := newFuzzEnv(f)
	issued := map[string]bool{e.user.refresh.Value: true}
	for _, h := range []string{
		"refreshToken=" + e.user.refresh.Value, "refreshToken=" + e.user.refresh.Value + "; refreshToken=a.b.c",
		"refreshToken=a.b.c; refreshToken=" + e.user.refresh.Value, "refreshToken=", "refreshToken", "=; ;=",
		`refreshToken="` + e.user.refresh.Value + `"`, "refreshtoken=" + e.user.refresh.Value, "refreshToken=%00",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		rec := e.in(t).do(req{method: "POST", path: "/api/auth/refresh", headers: map[string]string{"Cookie": header}})
		checkAnswer(t, "POST /api/auth/refresh with Cookie "+header, rec)
		if rec.Code != http.StatusOK {
			return
		}
		found := false
		for _, c := range (&http.Request{Header: http.Header{"Cookie": {header}}}).Cookies() {
			found = found || (c.Name == "refreshToken" && issued[c.Value])
		}
		if !found {
			t.Fatalf("Cookie %q was accepted; it carries no refresh token the server handed out", header)
		}
		if next := cookie(rec, "refreshToken"); next != nil {
			issued[next.Value] = true
		}
	})
}
