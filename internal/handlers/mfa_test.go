package handlers_test

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/mfa"
)

// enrolment is a user's enabled TOTP factor as the tests see it.
type enrolment struct {
	secret string
	codes  []string
}

// totp is the current TOTP code of secret on the server's clock, offset by steps of 30 seconds.
func (e *testEnv) totp(secret string, steps int) string {
	e.t.Helper()
	code, err := mfa.Code(secret, e.clock.Now().Add(time.Duration(steps)*mfa.Period))
	if err != nil {
		e.t.Fatalf("mfa.Code: %v", err)
	}
	return code
}

// wrongCode is a well-formed code that none of the three accepted steps of secret has.
func (e *testEnv) wrongCode(secret string) string {
	e.t.Helper()
	valid := []string{e.totp(secret, -1), e.totp(secret, 0), e.totp(secret, 1)}
	for n := 0; ; n++ {
		if c := fmt.Sprintf("%06d", n); !slices.Contains(valid, c) {
			return c
		}
	}
}

// nextStep moves the clock to the start of the next 30-second step, so a fresh code can be used.
func (e *testEnv) nextStep() {
	now := e.clock.Now()
	e.clock.Advance(time.Unix((mfa.Step(now)+1)*30, 0).Sub(now))
}

// enrol turns TOTP on for the user of s and returns the secret and recovery codes.
func (e *testEnv) enrol(s session) enrolment {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: "/api/auth/mfa/totp", bearer: s.access, body: map[string]string{"password": testPassword}})
	expect(e.t, "POST /api/auth/mfa/totp", rec, http.StatusOK, "")
	secret, _ := jsonBody(e.t, rec)["secret"].(string)
	rec = e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s.access, body: map[string]string{"code": e.totp(secret, 0)}})
	expect(e.t, "POST /api/auth/mfa/totp/confirm", rec, http.StatusOK, "")
	e.nextStep() // the confirming code is spent
	return enrolment{secret: secret, codes: stringList(e.t, jsonBody(e.t, rec)["recoveryCodes"])}
}

func stringList(t testing.TB, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a JSON list", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

// mfaLogin logs email in with testPassword and expects the second-step answer; it returns the mfaToken.
func (e *testEnv) mfaLogin(email string) string {
	e.t.Helper()
	rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": testPassword}})
	expect(e.t, "login "+email+" with TOTP on", rec, http.StatusOK, "")
	body := jsonBody(e.t, rec)
	token, _ := body["mfaToken"].(string)
	if body["mfaRequired"] != true || token == "" {
		e.t.Fatalf("login %s with TOTP on = %s, want mfaRequired and an mfaToken", email, rec.Body.String())
	}
	return token
}

// verify sends POST /api/auth/mfa/verify with the token and one code field.
func (e *testEnv) verify(token, field, code string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/auth/mfa/verify", body: map[string]string{"mfaToken": token, field: code}})
}

// verified expects a completed login from rec and returns its session.
func (e *testEnv) verified(what string, rec *httptest.ResponseRecorder) session {
	e.t.Helper()
	expect(e.t, what, rec, http.StatusOK, "")
	c := cookie(rec, "refreshToken")
	access, _ := jsonBody(e.t, rec)["accessToken"].(string)
	if c == nil || access == "" {
		e.t.Fatalf("%s = %s, want an access token and a refresh cookie", what, rec.Body.String())
	}
	return session{access: access, refresh: c}
}

func amrOf(t testing.TB, access string) []string {
	t.Helper()
	list, _ := jwtPart(t, access, 1)["amr"].([]any)
	out := make([]string, len(list))
	for i, v := range list {
		out[i], _ = v.(string)
	}
	return out
}

func (e *testEnv) mfaStatus(access string) map[string]any {
	e.t.Helper()
	rec := e.do(req{method: "GET", path: "/api/auth/mfa", bearer: access})
	expect(e.t, "GET /api/auth/mfa", rec, http.StatusOK, "")
	return jsonBody(e.t, rec)
}

func TestMFAEnrolmentAndLogin(t *testing.T) {
	forEachBackend(t, func(c *envConfig) { c.LoginMaxFailures = 100 }, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		s1, s2 := e.login("ann@example.com"), e.login("ann@example.com")
		if got := amrOf(t, s1.access); !slices.Equal(got, []string{"pwd"}) {
			t.Errorf("password login amr = %v, want [pwd]", got)
		}
		if st := e.mfaStatus(s1.access); st["totp"] != false || st["recoveryCodesLeft"] != 0.0 || st["passkeys"] != 0.0 {
			t.Errorf("GET /api/auth/mfa before enrolment = %v", st)
		}
		expect(t, "enrol with a wrong password", e.do(req{method: "POST", path: "/api/auth/mfa/totp", bearer: s1.access,
			body: map[string]string{"password": "wrong password here"}}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
		expect(t, "confirm with nothing pending", e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s1.access,
			body: map[string]string{"code": "123456"}}), http.StatusConflict, "MFA_NOT_PENDING")

		rec := e.do(req{method: "POST", path: "/api/auth/mfa/totp", bearer: s1.access, body: map[string]string{"password": testPassword}})
		expect(t, "POST /api/auth/mfa/totp", rec, http.StatusOK, "")
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("enrolment Cache-Control = %q, want no-store", cc)
		}
		body := jsonBody(t, rec)
		secret, _ := body["secret"].(string)
		url, _ := body["otpauthUrl"].(string)
		qr, _ := body["qrCode"].(string)
		if secret == "" || !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, "secret="+secret) ||
			!strings.Contains(url, "ann@example.com") || !strings.HasPrefix(qr, "data:image/png;base64,") {
			t.Fatalf("enrolment = %s, want secret, otpauthUrl for ann@example.com and a PNG qrCode", rec.Body.String())
		}
		if st := e.mfaStatus(s1.access); st["totp"] != false {
			t.Errorf("GET /api/auth/mfa with a pending factor: totp = %v, want false", st["totp"])
		}
		e.login("ann@example.com") // a pending factor asks no second step

		for _, bad := range []string{"", "12345", "1234567", "abcdef", " ", strings.Repeat("9", 100)} {
			expect(t, "confirm with "+bad, e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s1.access,
				body: map[string]string{"code": bad}}), http.StatusBadRequest, "INVALID_MFA_CODE")
		}
		expect(t, "confirm without code", e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s1.access,
			body: map[string]string{}}), http.StatusBadRequest, "VALIDATION_ERROR")
		rec = e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s1.access, body: map[string]string{"code": e.totp(secret, 0)}})
		expect(t, "confirm", rec, http.StatusOK, "")
		codes := stringList(t, jsonBody(t, rec)["recoveryCodes"])
		if len(codes) != 10 {
			t.Fatalf("confirm gave %d recovery codes, want 10", len(codes))
		}
		e.sessionAlive("the enrolling session", s1)
		e.sessionDead("another session after enrolment", s2)

		if st := e.mfaStatus(s1.access); st["totp"] != true || st["recoveryCodesLeft"] != 10.0 {
			t.Errorf("GET /api/auth/mfa after enrolment = %v, want totp and 10 codes", st)
		}
		me := jsonBody(t, e.do(req{method: "GET", path: "/api/me", bearer: s1.access}))["user"].(map[string]any)
		if me["mfa"] != true {
			t.Errorf("GET /api/me mfa = %v, want true", me["mfa"])
		}
		expect(t, "enrol again", e.do(req{method: "POST", path: "/api/auth/mfa/totp", bearer: s1.access,
			body: map[string]string{"password": testPassword}}), http.StatusConflict, "MFA_ALREADY_ENABLED")
		expect(t, "confirm again", e.do(req{method: "POST", path: "/api/auth/mfa/totp/confirm", bearer: s1.access,
			body: map[string]string{"code": e.totp(secret, 0)}}), http.StatusConflict, "MFA_NOT_PENDING")

		// The login now stops after the password: no token, no cookie, no session.
		rec = e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "ann@example.com", "password": testPassword}})
		expect(t, "login with TOTP on", rec, http.StatusOK, "")
		body = jsonBody(t, rec)
		wantKeys(t, "login with TOTP on", body, "mfaRequired", "mfaToken", "methods")
		if m := stringList(t, body["methods"]); !slices.Equal(m, []string{"totp", "recovery_code"}) {
			t.Errorf("methods = %v, want [totp recovery_code]", m)
		}
		if len(rec.Result().Cookies()) != 0 || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("second-step answer: cookies %v, Cache-Control %q; want none and no-store", rec.Result().Cookies(), rec.Header().Get("Cache-Control"))
		}
		if n := len(e.sessionsOf(t, s1.access)); n != 1 {
			t.Errorf("sessions after a login waiting for its second step = %d, want 1", n)
		}
		token := body["mfaToken"].(string)
		expect(t, "wrong password with TOTP on", e.postLogin("ann@example.com", "wrong password here"), http.StatusUnauthorized, "INVALID_CREDENTIALS")

		// The code that confirmed the enrolment is spent.
		expect(t, "verify with the confirming code", e.verify(token, "code", e.totp(secret, 0)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		e.nextStep()
		s3 := e.verified("verify", e.verify(token, "code", e.totp(secret, 0)))
		if got := amrOf(t, s3.access); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("TOTP login amr = %v, want [pwd otp mfa]", got)
		}
		s3 = e.rotate(t, "refresh after a TOTP login", s3)
		if got := amrOf(t, s3.access); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("amr after refresh = %v, want [pwd otp mfa]", got)
		}
		e.nextStep()
		expect(t, "verify with a spent mfaToken", e.verify(token, "code", e.totp(secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")
	})
}

func TestMFADriftAndReplay(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		en := e.enrol(e.login("ann@example.com"))
		e.nextStep() // the step before is the enrolment's, already spent
		tests := []struct {
			name  string
			steps int
			ok    bool
		}{
			{"two steps behind", -2, false},
			{"two steps ahead", 2, false},
			{"one step behind", -1, true},
			{"one step behind again (replay)", -1, false},
			{"one step ahead", 1, true},
			{"the current step, older than the last accepted", 0, false},
		}
		for _, tt := range tests {
			token := e.mfaLogin("ann@example.com")
			rec := e.verify(token, "code", e.totp(en.secret, tt.steps))
			if tt.ok {
				e.verified(tt.name, rec)
			} else {
				expect(t, tt.name, rec, http.StatusUnauthorized, "INVALID_MFA_CODE")
			}
		}
	})
}

func TestMFARecoveryCodes(t *testing.T) {
	forEachBackend(t, func(c *envConfig) { c.LoginMaxFailures = 100 }, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		s := e.login("ann@example.com")
		en := e.enrol(s)
		for _, c := range en.codes {
			if len(strings.ReplaceAll(c, "-", "")) < 10 {
				t.Errorf("recovery code %q is too short for 50 random bits", c)
			}
		}
		s1 := e.verified("verify with a recovery code", e.verify(e.mfaLogin("ann@example.com"), "recoveryCode", en.codes[0]))
		if got := amrOf(t, s1.access); !slices.Equal(got, []string{"pwd", "mfa"}) {
			t.Errorf("recovery-code login amr = %v, want [pwd mfa]", got)
		}
		if got := amrOf(t, e.rotate(t, "refresh", s1).access); !slices.Equal(got, []string{"pwd", "mfa"}) {
			t.Errorf("amr after refresh = %v, want [pwd mfa]", got)
		}
		expect(t, "the same recovery code again", e.verify(e.mfaLogin("ann@example.com"), "recoveryCode", en.codes[0]),
			http.StatusUnauthorized, "INVALID_MFA_CODE")
		// Typed as people type: upper case, without dashes, with spaces.
		loose := strings.ToUpper(strings.ReplaceAll(en.codes[1], "-", " "))
		e.verified("a recovery code in upper case with spaces", e.verify(e.mfaLogin("ann@example.com"), "recoveryCode", loose))
		expect(t, "a recovery code in the code field", e.verify(e.mfaLogin("ann@example.com"), "code", en.codes[2]),
			http.StatusUnauthorized, "INVALID_MFA_CODE")
		if st := e.mfaStatus(s1.access); st["recoveryCodesLeft"] != 8.0 {
			t.Errorf("recoveryCodesLeft = %v, want 8", st["recoveryCodesLeft"])
		}

		// Two logins race with one recovery code: one wins.
		tokens := []string{e.mfaLogin("ann@example.com"), e.mfaLogin("ann@example.com"), e.mfaLogin("ann@example.com")}
		statuses := raceRequests(len(tokens), func(i int) *httptest.ResponseRecorder { return e.verify(tokens[i], "recoveryCode", en.codes[3]) })
		if n := count(statuses, http.StatusOK); n != 1 || count(statuses, http.StatusUnauthorized) != len(tokens)-1 {
			t.Errorf("racing logins with one recovery code answered %v, want one 200 and the rest 401", statuses)
		}

		// New codes need a TOTP code (not a recovery code) and void the old set.
		expect(t, "new codes with a recovery code", e.do(req{method: "POST", path: "/api/auth/mfa/recovery-codes", bearer: s1.access,
			body: map[string]string{"code": en.codes[4]}}), http.StatusBadRequest, "INVALID_MFA_CODE")
		rec := e.do(req{method: "POST", path: "/api/auth/mfa/recovery-codes", bearer: s1.access, body: map[string]string{"code": e.totp(en.secret, 0)}})
		expect(t, "new recovery codes", rec, http.StatusOK, "")
		fresh := stringList(t, jsonBody(t, rec)["recoveryCodes"])
		if len(fresh) != 10 || slices.Contains(fresh, en.codes[4]) {
			t.Fatalf("new recovery codes = %v, want 10 new ones", fresh)
		}
		expect(t, "an old recovery code after regeneration", e.verify(e.mfaLogin("ann@example.com"), "recoveryCode", en.codes[4]),
			http.StatusUnauthorized, "INVALID_MFA_CODE")
		e.verified("a new recovery code", e.verify(e.mfaLogin("ann@example.com"), "recoveryCode", fresh[0]))
	})
}

// raceRequests runs send(0..n-1) at once and returns the statuses.
func raceRequests(n int, send func(i int) *httptest.ResponseRecorder) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = send(i).Code
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

func count(list []int, v int) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

func TestMFATokenLimits(t *testing.T) {
	forEachBackend(t, func(c *envConfig) { c.LoginMaxFailures = 100 }, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		en := e.enrol(e.login("ann@example.com"))

		token := e.mfaLogin("ann@example.com")
		for range 5 {
			expect(t, "wrong code", e.verify(token, "code", e.wrongCode(en.secret)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		}
		expect(t, "right code after five wrong ones", e.verify(token, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")

		token = e.mfaLogin("ann@example.com")
		e.clock.Advance(5 * time.Minute)
		expect(t, "right code after five minutes", e.verify(token, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")

		token = e.mfaLogin("ann@example.com")
		e.clock.Advance(5*time.Minute - time.Second)
		e.verified("right code just before five minutes", e.verify(token, "code", e.totp(en.secret, 0)))

		// Racing successes with one token: one session, the others refused.
		e.nextStep()
		token = e.mfaLogin("ann@example.com")
		code := e.totp(en.secret, 0)
		statuses := raceRequests(4, func(int) *httptest.ResponseRecorder { return e.verify(token, "code", code) })
		if count(statuses, http.StatusOK) != 1 {
			t.Errorf("racing verifies of one token answered %v, want exactly one 200", statuses)
		}
	})
}

func TestMFAVerifyBadInput(t *testing.T) {
	forEachBackend(t, func(c *envConfig) { c.LoginMaxFailures = 100 }, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		e.enrol(e.login("ann@example.com"))
		token := e.mfaLogin("ann@example.com")
		tampered := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
		parts := strings.Split(token, ".")
		tests := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"no body", nil, http.StatusBadRequest, "INVALID_JSON"},
			{"not JSON", "{", http.StatusBadRequest, "INVALID_JSON"},
			{"no mfaToken", map[string]string{"code": "123456"}, http.StatusBadRequest, "VALIDATION_ERROR"},
			{"no code", map[string]string{"mfaToken": "TOKEN"}, http.StatusBadRequest, "VALIDATION_ERROR"},
			{"both codes", map[string]string{"mfaToken": "TOKEN", "code": "123456", "recoveryCode": "abcd-efgh-jkmn"}, http.StatusBadRequest, "VALIDATION_ERROR"},
			{"code is a number", map[string]any{"mfaToken": "TOKEN", "code": 123456}, http.StatusBadRequest, "VALIDATION_ERROR"},
			{"unknown field", map[string]string{"mfaToken": "TOKEN", "code": "123456", "trust": "me"}, http.StatusBadRequest, "VALIDATION_ERROR"},
			{"empty mfaToken", map[string]string{"mfaToken": "", "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"garbage mfaToken", map[string]string{"mfaToken": "garbage", "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"tampered signature", map[string]string{"mfaToken": tampered, "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"payload of another", map[string]string{"mfaToken": editPayload(t, token, map[string]any{"sub": uuid.NewString()}), "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"header of an access token", map[string]string{"mfaToken": "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9." + parts[1] + "." + parts[2], "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"huge mfaToken", map[string]string{"mfaToken": strings.Repeat("a", 9000), "code": "123456"}, http.StatusUnauthorized, "INVALID_MFA_TOKEN"},
			{"empty code", map[string]string{"mfaToken": "TOKEN", "code": ""}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
			{"short code", map[string]string{"mfaToken": "TOKEN", "code": "12345"}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
			{"letters", map[string]string{"mfaToken": "TOKEN", "code": "12345x"}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
			{"NUL", map[string]string{"mfaToken": "TOKEN", "code": "12345\x00"}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
			{"bad UTF-8 recovery code", map[string]string{"mfaToken": "TOKEN", "recoveryCode": "abcd-\xff\xfe-jkmn"}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
			{"long recovery code", map[string]string{"mfaToken": "TOKEN", "recoveryCode": strings.Repeat("a", 5000)}, http.StatusUnauthorized, "INVALID_MFA_CODE"},
		}
		for _, tt := range tests {
			body := tt.body
			if m, ok := body.(map[string]string); ok && m["mfaToken"] == "TOKEN" {
				m = maps.Clone(m)
				m["mfaToken"] = token
				body = m
			} else if m, ok := body.(map[string]any); ok && m["mfaToken"] == "TOKEN" {
				m = maps.Clone(m)
				m["mfaToken"] = token
				body = m
			}
			expect(t, tt.name, e.do(req{method: "POST", path: "/api/auth/mfa/verify", body: body}), tt.status, tt.code)
			if tt.code == "INVALID_MFA_CODE" { // each wrong code counts against the token: take a new one
				token = e.mfaLogin("ann@example.com")
			}
		}
	})
}

// mfaKey is the key MFA tokens are signed with, derived as internal/tokens documents it.
func mfaKey(t *testing.T) []byte {
	t.Helper()
	key, err := hkdf.Key(sha256.New, []byte(apptest.RefreshSecret), nil, "authserver/mfa-token/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestMFATokenConfusion(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		id := e.register("ann@example.com")
		s := e.login("ann@example.com")
		en := e.enrol(s)
		token := e.mfaLogin("ann@example.com")

		// An mfaToken is no access token and no refresh token.
		e.bearerFails(t, "mfaToken as a bearer token", token, "INVALID_TOKEN")
		expect(t, "mfaToken as the refresh cookie", e.do(req{method: "POST", path: "/api/auth/refresh",
			cookies: []*http.Cookie{{Name: "refreshToken", Value: token}}}), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
		expect(t, "mfaToken as a body refresh token", e.refreshBody(token), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
		// Nor the reverse.
		expect(t, "access token as mfaToken", e.verify(s.access, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")
		expect(t, "refresh token as mfaToken", e.verify(s.refresh.Value, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")

		now := e.clock.Now()
		claims := jwt.MapClaims{"iss": "auth-server", "sub": id, "jti": uuid.NewString(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		sign := func(key []byte, typ string, c jwt.MapClaims) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
			tok.Header["typ"] = typ
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		real := jwtPart(t, token, 1)
		forged := map[string]string{
			"signed with the refresh secret":          sign([]byte(apptest.RefreshSecret), "mfa+jwt", claims),
			"signed with the access secret":           sign([]byte(apptest.AccessSecret), "mfa+jwt", claims),
			"the right key, typ refresh+jwt":          sign(mfaKey(t), "refresh+jwt", claims),
			"the right key but no challenge on file":  sign(mfaKey(t), "mfa+jwt", claims),
			"the right key, the challenge of another": sign(mfaKey(t), "mfa+jwt", jwt.MapClaims{"iss": "auth-server", "sub": uuid.NewString(), "jti": real["jti"], "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}),
			"the right key, expired":                  sign(mfaKey(t), "mfa+jwt", jwt.MapClaims{"iss": "auth-server", "sub": id, "jti": real["jti"], "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix()}),
		}
		for name, f := range forged {
			expect(t, name, e.verify(f, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")
		}
		// The real token still works: none of the forgeries spent it or counted against it.
		e.verified("the real mfaToken", e.verify(token, "code", e.totp(en.secret, 0)))
	})
}

func TestMFALockout(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) { // LOGIN_MAX_FAILURES 5
		e.register("ann@example.com")
		en := e.enrol(e.login("ann@example.com"))

		// A correct password does not clear the count; wrong codes on several tokens add up.
		first := e.mfaLogin("ann@example.com")
		for range 3 {
			expect(t, "wrong code", e.verify(first, "code", e.wrongCode(en.secret)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		}
		second := e.mfaLogin("ann@example.com")
		expect(t, "wrong recovery code", e.verify(second, "recoveryCode", "2345-6789-abcd"), http.StatusUnauthorized, "INVALID_MFA_CODE")
		expect(t, "fifth wrong code", e.verify(second, "code", e.wrongCode(en.secret)), http.StatusUnauthorized, "INVALID_MFA_CODE")

		rec := e.verify(second, "code", e.totp(en.secret, 0))
		expect(t, "right code during the lockout", rec, http.StatusTooManyRequests, "RATE_LIMITED")
		if rec.Header().Get("Retry-After") == "" {
			t.Error("429 on mfa/verify has no Retry-After")
		}
		expect(t, "right password during the lockout", e.postLogin("ann@example.com", testPassword), http.StatusTooManyRequests, "RATE_LIMITED")

	})
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		en := e.enrol(e.login("ann@example.com"))
		token := e.mfaLogin("ann@example.com")
		for range 4 {
			expect(t, "wrong code", e.verify(token, "code", e.wrongCode(en.secret)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		}
		e.verified("completed second step", e.verify(token, "code", e.totp(en.secret, 0)))
		// The completed second step cleared the count: four more failures do not lock.
		for range 4 {
			expect(t, "wrong password after success", e.postLogin("ann@example.com", "wrong password here"), http.StatusUnauthorized, "INVALID_CREDENTIALS")
		}
		e.nextStep()
		e.verified("login after four new failures", e.verify(e.mfaLogin("ann@example.com"), "code", e.totp(en.secret, 0)))
	})
}

func TestMFAWrongCodesOnOwnAccountCount(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		s := e.login("ann@example.com")
		en := e.enrol(s)
		for range 5 {
			expect(t, "disable with a wrong code", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
				body: map[string]string{"code": e.wrongCode(en.secret)}}), http.StatusBadRequest, "INVALID_MFA_CODE")
		}
		expect(t, "disable during the lockout", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
			body: map[string]string{"code": e.wrongCode(en.secret)}}), http.StatusTooManyRequests, "RATE_LIMITED")
		expect(t, "login during the lockout", e.postLogin("ann@example.com", testPassword), http.StatusTooManyRequests, "RATE_LIMITED")
	})
}

func TestMFADisable(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		s := e.login("ann@example.com")
		expect(t, "disable with nothing on", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
			body: map[string]string{"code": "123456"}}), http.StatusBadRequest, "INVALID_MFA_CODE")
		en := e.enrol(s)
		other := e.verified("second device", e.verify(e.mfaLogin("ann@example.com"), "code", e.totp(en.secret, 0)))
		e.nextStep()
		expect(t, "disable without code", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
			body: map[string]string{}}), http.StatusBadRequest, "VALIDATION_ERROR")
		rec := e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access, body: map[string]string{"code": en.codes[0]}})
		expect(t, "disable with a recovery code", rec, http.StatusNoContent, "")
		e.sessionAlive("the disabling session", s)
		e.sessionDead("another session after disable", other)
		if st := e.mfaStatus(s.access); st["totp"] != false || st["recoveryCodesLeft"] != 0.0 {
			t.Errorf("GET /api/auth/mfa after disable = %v", st)
		}
		e.login("ann@example.com") // a password alone again

		en = e.enrol(s)
		expect(t, "disable with a TOTP code", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
			body: map[string]string{"code": e.totp(en.secret, 0)}}), http.StatusNoContent, "")
		e.login("ann@example.com")
	})
}

func TestRequireMFAForAdmin(t *testing.T) {
	forEachBackend(t, func(c *envConfig) { c.RequireMFAForAdmin = true }, func(t *testing.T, e *testEnv) {
		adminID, admin := e.adminLogin("admin@example.com")
		e.register("user@example.com")
		user := e.login("user@example.com")
		expect(t, "plain user on an admin route", e.do(req{method: "GET", path: "/api/admin", bearer: user.access}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		for _, path := range []string{"/api/admin", "/api/admin/users", "/api/admin/audit"} {
			expect(t, "password-only admin on "+path, e.do(req{method: "GET", path: path, bearer: admin.access}), http.StatusForbidden, "MFA_REQUIRED")
		}
		expect(t, "password-only admin resets a user", e.do(req{method: "DELETE", path: "/api/admin/users/" + adminID + "/mfa", bearer: admin.access}), http.StatusForbidden, "MFA_REQUIRED")
		en := e.enrol(admin) // the second-factor routes stay open to enrol
		expect(t, "enrolled admin, token still password-only", e.do(req{method: "GET", path: "/api/admin", bearer: admin.access}), http.StatusForbidden, "MFA_REQUIRED")
		totp := e.verified("admin TOTP login", e.verify(e.mfaLogin("admin@example.com"), "code", e.totp(en.secret, 0)))
		expect(t, "TOTP admin", e.do(req{method: "GET", path: "/api/admin", bearer: totp.access}), http.StatusOK, "")
		refreshed := e.rotate(t, "refresh of the TOTP admin", totp)
		expect(t, "TOTP admin after refresh", e.do(req{method: "GET", path: "/api/admin/users", bearer: refreshed.access}), http.StatusOK, "")
		rc := e.verified("admin recovery-code login", e.verify(e.mfaLogin("admin@example.com"), "recoveryCode", en.codes[0]))
		expect(t, "recovery-code admin", e.do(req{method: "GET", path: "/api/admin", bearer: rc.access}), http.StatusOK, "")
	})
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		expect(t, "password-only admin without REQUIRE_MFA_FOR_ADMIN", e.do(req{method: "GET", path: "/api/admin", bearer: admin.access}), http.StatusOK, "")
	})
}

func TestAdminResetMFA(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("ann@example.com")
		s := e.login("ann@example.com")
		en := e.enrol(s)
		other := e.verified("a TOTP session", e.verify(e.mfaLogin("ann@example.com"), "code", e.totp(en.secret, 0)))
		pending := e.mfaLogin("ann@example.com")

		users, _ := e.adminListUsers(admin.access, "")
		for _, u := range users {
			if u["id"] == id && u["mfa"] != true {
				t.Errorf("admin list: ann's mfa = %v, want true", u["mfa"])
			}
		}
		expect(t, "plain user resets", e.do(req{method: "DELETE", path: "/api/admin/users/" + id + "/mfa", bearer: s.access}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		expect(t, "reset of an unknown user", e.do(req{method: "DELETE", path: "/api/admin/users/" + uuid.NewString() + "/mfa", bearer: admin.access}), http.StatusNotFound, "NOT_FOUND")
		expect(t, "reset of a malformed id", e.do(req{method: "DELETE", path: "/api/admin/users/nope/mfa", bearer: admin.access}), http.StatusNotFound, "NOT_FOUND")
		expect(t, "reset", e.do(req{method: "DELETE", path: "/api/admin/users/" + id + "/mfa", bearer: admin.access}), http.StatusNoContent, "")
		e.sessionDead("ann's first session after reset", s)
		e.sessionDead("ann's TOTP session after reset", other)
		e.nextStep()
		expect(t, "an mfaToken from before the reset", e.verify(pending, "code", e.totp(en.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_TOKEN")
		fresh := e.login("ann@example.com") // a password alone again
		if st := e.mfaStatus(fresh.access); st["totp"] != false || st["recoveryCodesLeft"] != 0.0 {
			t.Errorf("GET /api/auth/mfa after reset = %v", st)
		}
		e.flushAudit()
		events := e.auditEvents(admin.access, "type=mfa_reset")
		if len(events) != 1 || events[0]["userId"] != id {
			t.Fatalf("mfa_reset events = %v, want one about %s", events, id)
		}
		if d, _ := events[0]["detail"].(map[string]any); d["actorId"] == nil || d["via"] != "api" {
			t.Errorf("mfa_reset detail = %v, want the acting admin", d)
		}
	})
}

func TestMFAAuditHoldsNoSecrets(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		e.register("ann@example.com")
		s := e.login("ann@example.com")
		en := e.enrol(s)
		token := e.mfaLogin("ann@example.com")
		expect(t, "wrong code", e.verify(token, "code", e.wrongCode(en.secret)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		e.verified("recovery code", e.verify(token, "recoveryCode", en.codes[0]))
		rec := e.do(req{method: "POST", path: "/api/auth/mfa/recovery-codes", bearer: s.access, body: map[string]string{"code": e.totp(en.secret, 0)}})
		expect(t, "new codes", rec, http.StatusOK, "")
		fresh := stringList(t, jsonBody(t, rec)["recoveryCodes"])
		e.nextStep()
		expect(t, "disable", e.do(req{method: "DELETE", path: "/api/auth/mfa/totp", bearer: s.access,
			body: map[string]string{"code": e.totp(en.secret, 0)}}), http.StatusNoContent, "")
		e.flushAudit()
		page := e.auditGet(admin.access, "limit=200")
		raw := page.raw
		for _, typ := range []string{"mfa_enabled", "mfa_failed", "recovery_code_used", "recovery_codes_regenerated", "mfa_disabled"} {
			if len(e.auditEvents(admin.access, "type="+typ)) != 1 {
				t.Errorf("audit has %d %s events, want 1", len(e.auditEvents(admin.access, "type="+typ)), typ)
			}
		}
		for _, secret := range append(append([]string{en.secret, token}, en.codes...), fresh...) {
			if strings.Contains(raw, secret) || strings.Contains(raw, strings.ReplaceAll(secret, "-", "")) {
				t.Errorf("the audit trail shows the secret or code %q", secret)
			}
		}
	})
}

func TestMFAServiceNeverTakesAnotherUsersChallenge(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		e.register("ann@example.com")
		e.register("bob@example.com")
		ann := e.enrol(e.login("ann@example.com"))
		bob := e.enrol(e.login("bob@example.com"))
		token := e.mfaLogin("ann@example.com")
		// Bob's valid code does not complete Ann's login.
		expect(t, "another user's code", e.verify(token, "code", e.totp(bob.secret, 0)), http.StatusUnauthorized, "INVALID_MFA_CODE")
		expect(t, "another user's recovery code", e.verify(token, "recoveryCode", bob.codes[0]), http.StatusUnauthorized, "INVALID_MFA_CODE")
		out, err := e.svc.VerifyMFA(context.Background(), token, e.totp(ann.secret, 0), "", auth.Client{})
		if err != nil || out.User.Email != "ann@example.com" {
			t.Fatalf("VerifyMFA(ann's token, ann's code) = %v, %v; want ann's login", out, err)
		}
	})
}
