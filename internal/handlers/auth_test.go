package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store/storetest"
)

// ---- helpers shared by auth_test.go, sessions_test.go and attacks_test.go ----

// serveRaw sends a hand-built request to the server. Unlike do it never touches e.t, so
// goroutines may call it.
func (e *testEnv) serveRaw(hr *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
}

// keysOf returns the sorted keys of m.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

// detailsOf returns the "details" object of an error body, or nil.
func detailsOf(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	d, _ := jsonBody(t, rec)["details"].(map[string]any)
	return d
}

// expect401 checks a 401 with code and its WWW-Authenticate challenge: RFC 6750 error="invalid_token"
// when an access token was refused, a bare Bearer challenge otherwise.
func expect401(t *testing.T, what string, rec *httptest.ResponseRecorder, code string) {
	t.Helper()
	expect(t, what, rec, http.StatusUnauthorized, code)
	ch := rec.Header().Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer") {
		t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", what, ch)
	}
	invalid := strings.Contains(ch, `error="invalid_token"`)
	switch code {
	case "TOKEN_EXPIRED", "INVALID_TOKEN", "TOKEN_REVOKED":
		if !invalid {
			t.Errorf("%s: WWW-Authenticate = %q, want error=\"invalid_token\"", what, ch)
		}
	case "NO_TOKEN":
		if strings.Contains(ch, "error=") {
			t.Errorf("%s: WWW-Authenticate = %q, want no error attribute when no token was sent (RFC 6750 3.1)", what, ch)
		}
	}
}

// setCookies returns the response's Set-Cookie headers for name, parsed.
func setCookies(t *testing.T, rec *httptest.ResponseRecorder, name string) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range rec.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// checkCookieAttrs checks the attributes every refresh cookie carries (README.md "Security design").
func checkCookieAttrs(t *testing.T, what string, c *http.Cookie, secure bool) {
	t.Helper()
	if c.Path != "/api/auth" {
		t.Errorf("%s: cookie Path = %q, want /api/auth (raw %q)", what, c.Path, c.Raw)
	}
	if !c.HttpOnly {
		t.Errorf("%s: cookie HttpOnly = false, want true (raw %q)", what, c.Raw)
	}
	if c.Secure != secure {
		t.Errorf("%s: cookie Secure = %v, want %v (raw %q)", what, c.Secure, secure, c.Raw)
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("%s: cookie SameSite = %v, want Strict (raw %q)", what, c.SameSite, c.Raw)
	}
	if c.Domain != "" {
		t.Errorf("%s: cookie Domain = %q, want none (raw %q)", what, c.Domain, c.Raw)
	}
}

// newRefreshCookie checks that rec sets exactly one refresh cookie with a value, the contract's
// attributes and Max-Age maxAge, and returns it.
func newRefreshCookie(t *testing.T, what string, rec *httptest.ResponseRecorder, secure bool, maxAge int) *http.Cookie {
	t.Helper()
	list := setCookies(t, rec, "refreshToken")
	if len(list) != 1 {
		t.Fatalf("%s: %d refreshToken Set-Cookie headers %v, want 1", what, len(list), rec.Header().Values("Set-Cookie"))
	}
	c := list[0]
	if c.Value == "" {
		t.Fatalf("%s: refresh cookie has no value (raw %q)", what, c.Raw)
	}
	checkCookieAttrs(t, what, c, secure)
	if c.MaxAge != maxAge {
		t.Errorf("%s: cookie Max-Age = %d, want %d (raw %q)", what, c.MaxAge, maxAge, c.Raw)
	}
	return c
}

// checkClearedCookie checks that rec clears the refresh cookie: same name, path and attributes, Max-Age=0.
func checkClearedCookie(t *testing.T, what string, rec *httptest.ResponseRecorder, secure bool) {
	t.Helper()
	list := setCookies(t, rec, "refreshToken")
	if len(list) != 1 {
		t.Fatalf("%s: %d refreshToken Set-Cookie headers %v, want 1 clearing it", what, len(list), rec.Header().Values("Set-Cookie"))
	}
	c := list[0]
	checkCookieAttrs(t, what, c, secure)
	if c.Value != "" || !strings.Contains(c.Raw, "Max-Age=0") {
		t.Errorf("%s: Set-Cookie = %q, want an empty value with Max-Age=0", what, c.Raw)
	}
}

// checkNoStore checks the Cache-Control of a token-bearing response.
func checkNoStore(t testing.TB, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
}

// jwtPart decodes part n (0 header, 1 payload) of a compact JWT without verifying it.
func jwtPart(t testing.TB, token string, n int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[n])
	if err != nil {
		t.Fatalf("token part %d of %q: %v", n, token, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token part %d of %q: %v", n, token, err)
	}
	return m
}

// sidOf returns the sid claim of a token.
func sidOf(t testing.TB, token string) string {
	t.Helper()
	sid, _ := jwtPart(t, token, 1)["sid"].(string)
	return sid
}

// bearerOK checks that an access token is accepted on GET /api/profile.
func (e *testEnv) bearerOK(t *testing.T, what, access string) {
	t.Helper()
	expect(t, what+": GET /api/profile", e.do(req{method: "GET", path: "/api/profile", bearer: access}), http.StatusOK, "")
}

// bearerFails checks that an access token is refused on GET /api/profile with code.
func (e *testEnv) bearerFails(t *testing.T, what, access, code string) {
	t.Helper()
	expect401(t, what+": GET /api/profile", e.do(req{method: "GET", path: "/api/profile", bearer: access}), code)
}

// loginClient logs email in with password, user agent ua and remote address addr ("" for the default).
func (e *testEnv) loginClient(t *testing.T, email, password, ua, addr string) session {
	t.Helper()
	rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": password},
		headers: map[string]string{"User-Agent": ua}, remoteAddr: addr})
	expect(t, "login "+email, rec, http.StatusOK, "")
	c := cookie(rec, "refreshToken")
	if c == nil {
		t.Fatalf("login %s: no refreshToken cookie", email)
	}
	return session{access: jsonBody(t, rec)["accessToken"].(string), refresh: c}
}

// rotate refreshes s with its cookie, expects 200, and returns the new session.
func (e *testEnv) rotate(t *testing.T, what string, s session) session {
	t.Helper()
	rec := e.refresh(s)
	expect(t, what, rec, http.StatusOK, "")
	c := cookie(rec, "refreshToken")
	if c == nil || c.Value == "" {
		t.Fatalf("%s: no new refresh cookie", what)
	}
	return session{access: jsonBody(t, rec)["accessToken"].(string), refresh: c}
}

// setUser changes a user's role and/or disabled flag as the command line does.
func (e *testEnv) setUser(t *testing.T, id string, role models.Role, disabled *bool) {
	t.Helper()
	p := models.UserPatch{Disabled: disabled}
	if role != "" {
		p.Role = &role
	}
	if _, err := e.svc.UpdateUser(context.Background(), auth.Principal{}, id, p, auth.Client{}); err != nil {
		t.Fatalf("UpdateUser(%s, %+v): %v", id, p, err)
	}
}

// backendCase is a test run once per database backend, each time on a fresh server.
type backendCase struct {
	name   string
	mutate func(*envConfig)
	run    func(t *testing.T, e *testEnv)
}

// runOnBackends runs every case on every backend of storetest.Backends.
func runOnBackends(t *testing.T, cases []backendCase) {
	for _, b := range storetest.Backends(t) {
		for _, tc := range cases {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, func(c *envConfig) {
					c.Store = b.Open(t)
					if tc.mutate != nil {
						tc.mutate(c)
					}
				})
				tc.run(t, e)
			})
		}
	}
}

// ---- register ----

// password72 is a strong password of exactly 72 bytes, bcrypt's limit.
const password72 = "Violet kumquat lighthouse gravel sonata paprika meadow quill tundra zeph"

func TestRegister(t *testing.T) {
	if len(password72) != 72 {
		t.Fatalf("len(password72) = %d, want 72", len(password72))
	}
	e := newEnv(t, nil)

	t.Run("created", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/register",
			body: map[string]string{"email": "  New.User@Example.COM\t", "password": testPassword}})
		expect(t, "register", rec, http.StatusCreated, "")
		body := jsonBody(t, rec)
		wantKeys(t, "register body", body, "user")
		u, _ := body["user"].(map[string]any)
		wantKeys(t, "register body.user", u, "id", "email", "role", "emailVerified")
		if id, _ := u["id"].(string); uuid.Validate(id) != nil {
			t.Errorf("register user.id = %v, want a UUID", u["id"])
		}
		if u["email"] != "new.user@example.com" {
			t.Errorf("register user.email = %v, want new.user@example.com (trimmed, lower-cased)", u["email"])
		}
		if u["role"] != "user" {
			t.Errorf("register user.role = %v, want user", u["role"])
		}
		if strings.Contains(rec.Body.String(), "$2") || strings.Contains(rec.Body.String(), testPassword) {
			t.Errorf("register body %s leaks the password or its hash", rec.Body.String())
		}
		// The stored email is the normalised one: login works with any spelling of it.
		s := e.loginClient(t, "NEW.user@example.com ", testPassword, "ua", "")
		e.bearerOK(t, "login with another spelling", s.access)
	})

	t.Run("72 bytes accepted", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/register",
			body: map[string]string{"email": "long72@example.com", "password": password72}})
		expect(t, "register with a 72-byte password", rec, http.StatusCreated, "")
	})

	invalid := []struct {
		name        string
		body        any
		wantDetails []string
	}{
		{"bad email", map[string]string{"email": "not-an-email", "password": testPassword}, []string{"email"}},
		{"email without dot in domain", map[string]string{"email": "a@b", "password": testPassword}, []string{"email"}},
		{"email with display name", map[string]string{"email": "Bob <bob@example.com>", "password": testPassword}, []string{"email"}},
		{"missing email", map[string]string{"password": testPassword}, []string{"email"}},
		{"missing password", map[string]string{"email": "nopw@example.com"}, []string{"password"}},
		{"password 7 characters", map[string]string{"email": "short@example.com", "password": "Zq9!xw2"}, []string{"password"}},
		{"password 73 bytes", map[string]string{"email": "long73@example.com", "password": password72 + "a"}, []string{"password"}},
		{"password 19 code points, 76 bytes", map[string]string{"email": "emoji@example.com", "password": strings.Repeat("🦊", 19)}, []string{"password"}},
		{"common password123", map[string]string{"email": "common1@example.com", "password": "password123"}, []string{"password"}},
		{"common qwertyuiop", map[string]string{"email": "common2@example.com", "password": "qwertyuiop"}, []string{"password"}},
		{"common in upper case", map[string]string{"email": "common3@example.com", "password": "PASSWORD123"}, []string{"password"}},
		{"password is the email", map[string]string{"email": "longname.person@example.com", "password": "longname.person@example.com"}, []string{"password"}},
		{"password is the email in capitals", map[string]string{"email": "longname.person@example.com", "password": "LONGNAME.PERSON@EXAMPLE.COM"}, []string{"password"}},
		{"unknown field", map[string]string{"email": "mass@example.com", "password": testPassword, "role": "admin"}, []string{"role"}},
		{"email of wrong type", map[string]any{"email": 42, "password": testPassword}, []string{"email"}},
		{"password of wrong type", map[string]any{"email": "type@example.com", "password": []string{"a"}}, []string{"password"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(req{method: "POST", path: "/api/auth/register", body: tt.body})
			expect(t, "register "+tt.name, rec, http.StatusBadRequest, "VALIDATION_ERROR")
			d := detailsOf(t, rec)
			if got := keysOf(d); !slices.Equal(got, tt.wantDetails) {
				t.Errorf("register %s: details = %v, want problems for %v", tt.name, d, tt.wantDetails)
			}
			for k, v := range d {
				if s, _ := v.(string); s == "" {
					t.Errorf("register %s: details[%q] = %v, want a message", tt.name, k, v)
				}
			}
		})
	}

	t.Run("rejected mass assignment created nothing", func(t *testing.T) {
		// The "unknown field" case above used this email; it must still be free.
		id := e.register("mass@example.com")
		s := e.login("mass@example.com")
		if role := jwtPart(t, s.access, 1)["role"]; role != "user" {
			t.Errorf("role of %s = %v, want user", id, role)
		}
	})

	malformed := []struct {
		name string
		body string
	}{
		{"truncated", `{"email":"x@example.com","password":`},
		{"not an object", `["x@example.com"]`},
		{"null", `null`},
		{"empty", ``},
		{"trailing garbage", `{"email":"x@example.com","password":"correct horse battery staple"} x`},
	}
	for _, tt := range malformed {
		t.Run("malformed "+tt.name, func(t *testing.T) {
			rec := e.do(req{method: "POST", path: "/api/auth/register", body: tt.body,
				headers: map[string]string{"Content-Type": "application/json"}})
			expect(t, "register with body "+tt.body, rec, http.StatusBadRequest, "INVALID_JSON")
		})
	}

	big := `{"email":"big@example.com","password":"` + strings.Repeat("a", 10<<10) + `"}`
	t.Run("body over 10 KiB with Content-Length", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/register", body: big})
		expect(t, "register with an 10 KiB+ body", rec, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	})
	t.Run("body over 10 KiB chunked", func(t *testing.T) {
		hr := httptest.NewRequest("POST", "/api/auth/register", struct{ *strings.Reader }{strings.NewReader(big)})
		hr.ContentLength = -1
		hr.Header.Set("Content-Type", "application/json")
		expect(t, "register with a chunked 10 KiB+ body", e.serveRaw(hr), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	})

	t.Run("email taken", func(t *testing.T) {
		e.register("taken@example.com")
		for _, email := range []string{"taken@example.com", "TAKEN@example.com", "  Taken@Example.Com  "} {
			rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": email, "password": testPassword}})
			expect(t, "register "+email, rec, http.StatusConflict, "EMAIL_TAKEN")
		}
	})

	t.Run("registration disabled", func(t *testing.T) {
		off := newEnv(t, func(c *envConfig) { c.AllowRegistration = false })
		rec := off.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "closed@example.com", "password": testPassword}})
		expect(t, "register with registration off", rec, http.StatusForbidden, "REGISTRATION_DISABLED")
		rec = off.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "closed@example.com", "password": testPassword}})
		expect401(t, "login after a refused registration", rec, "INVALID_CREDENTIALS")
	})
}

// ---- login ----

func TestLogin(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("login@example.com")

	t.Run("success", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": " LOGIN@example.com", "password": testPassword}})
		expect(t, "login", rec, http.StatusOK, "")
		body := jsonBody(t, rec)
		wantKeys(t, "login body", body, "accessToken", "tokenType", "expiresIn", "user")
		if body["tokenType"] != "Bearer" {
			t.Errorf("login tokenType = %v, want Bearer", body["tokenType"])
		}
		if body["expiresIn"] != float64(15*60) {
			t.Errorf("login expiresIn = %v, want 900", body["expiresIn"])
		}
		u, _ := body["user"].(map[string]any)
		wantKeys(t, "login body.user", u, "id", "email", "role", "emailVerified")
		if u["id"] != id || u["email"] != "login@example.com" || u["role"] != "user" {
			t.Errorf("login user = %v, want id %s, email login@example.com, role user", u, id)
		}
		checkNoStore(t, "login", rec)
		c := newRefreshCookie(t, "login", rec, true, int((7 * 24 * time.Hour).Seconds()))
		if strings.Contains(rec.Body.String(), c.Value) {
			t.Errorf("login body contains the refresh token; it must only be in the cookie")
		}
		e.bearerOK(t, "login access token", body["accessToken"].(string))
	})

	t.Run("unknown email and wrong password look alike", func(t *testing.T) {
		unknown := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "nobody@example.com", "password": testPassword}})
		wrong := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "login@example.com", "password": testPassword + "!"}})
		expect401(t, "login with unknown email", unknown, "INVALID_CREDENTIALS")
		expect401(t, "login with wrong password", wrong, "INVALID_CREDENTIALS")
		if unknown.Body.String() != wrong.Body.String() {
			t.Errorf("login bodies differ: unknown email %s, wrong password %s", unknown.Body.String(), wrong.Body.String())
		}
		for _, h := range []string{"WWW-Authenticate", "Content-Type", "Set-Cookie"} {
			if a, b := unknown.Header().Values(h), wrong.Header().Values(h); !slices.Equal(a, b) {
				t.Errorf("login header %s differs: unknown email %q, wrong password %q", h, a, b)
			}
		}
		if c := cookie(wrong, "refreshToken"); c != nil {
			t.Errorf("failed login set a refresh cookie %q", c.Raw)
		}
	})

	t.Run("password over 72 bytes", func(t *testing.T) {
		e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "max@example.com", "password": password72}})
		for _, extra := range []string{"x", strings.Repeat("y", 100)} {
			rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "max@example.com", "password": password72 + extra}})
			expect401(t, "login with the 72-byte password plus "+extra, rec, "INVALID_CREDENTIALS")
		}
		rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "max@example.com", "password": password72}})
		expect(t, "login with the exact 72-byte password", rec, http.StatusOK, "")
	})

	t.Run("invalid body", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "login@example.com"}})
		expect(t, "login without password", rec, http.StatusBadRequest, "VALIDATION_ERROR")
		rec = e.do(req{method: "POST", path: "/api/auth/login", body: `{"email":`})
		expect(t, "login with malformed JSON", rec, http.StatusBadRequest, "INVALID_JSON")
	})

	t.Run("disabled account", func(t *testing.T) {
		uid := e.register("disabled@example.com")
		before := e.login("disabled@example.com")
		yes := true
		e.setUser(t, uid, "", &yes)
		rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "disabled@example.com", "password": testPassword}})
		expect(t, "login to a disabled account with its password", rec, http.StatusForbidden, "ACCOUNT_DISABLED")
		if c := cookie(rec, "refreshToken"); c != nil {
			t.Errorf("login to a disabled account set a refresh cookie %q", c.Raw)
		}
		rec = e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "disabled@example.com", "password": "wrong " + testPassword}})
		expect401(t, "login to a disabled account with a wrong password", rec, "INVALID_CREDENTIALS")
		// Disabling ended the sessions it had.
		e.bearerFails(t, "access token of a disabled user", before.access, "TOKEN_REVOKED")
		expect401(t, "refresh of a disabled user", e.refresh(before), "INVALID_REFRESH_TOKEN")
		no := false
		e.setUser(t, uid, "", &no)
		e.bearerOK(t, "login after re-enabling", e.login("disabled@example.com").access)
	})
}

// ---- protected routes ----

func TestProtectedRoutes(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("member@example.com")
	s := e.login("member@example.com")

	t.Run("profile", func(t *testing.T) {
		rec := e.do(req{method: "GET", path: "/api/profile", bearer: s.access})
		expect(t, "GET /api/profile", rec, http.StatusOK, "")
		body := jsonBody(t, rec)
		if body["message"] != "Your profile" || body["userId"] != id {
			t.Errorf("GET /api/profile = %v, want message \"Your profile\" and userId %s", body, id)
		}
	})

	t.Run("dashboard claims", func(t *testing.T) {
		rec := e.do(req{method: "GET", path: "/api/dashboard", bearer: s.access})
		expect(t, "GET /api/dashboard", rec, http.StatusOK, "")
		body := jsonBody(t, rec)
		if body["message"] != "Welcome to dashboard" {
			t.Errorf("GET /api/dashboard message = %v, want \"Welcome to dashboard\"", body["message"])
		}
		c, _ := body["user"].(map[string]any)
		for _, k := range []string{"sub", "email", "role", "iss", "aud", "iat", "nbf", "exp", "jti", "sid"} {
			if _, ok := c[k]; !ok {
				t.Errorf("GET /api/dashboard user = %v, missing claim %q", c, k)
			}
		}
		if c["sub"] != id || c["email"] != "member@example.com" || c["role"] != "user" || c["iss"] != "auth-server" {
			t.Errorf("GET /api/dashboard claims = %v, want sub %s, email member@example.com, role user, iss auth-server", c, id)
		}
		if aud := c["aud"]; aud != "api" && !(slices.Equal(toStrings(aud), []string{"api"})) {
			t.Errorf("GET /api/dashboard aud = %v, want api", aud)
		}
		for _, k := range []string{"jti", "sid"} {
			if v, _ := c[k].(string); uuid.Validate(v) != nil {
				t.Errorf("GET /api/dashboard %s = %v, want a UUID", k, c[k])
			}
		}
		if c["sid"] != sidOf(t, s.access) {
			t.Errorf("GET /api/dashboard sid = %v, want the token's %s", c["sid"], sidOf(t, s.access))
		}
		now := float64(e.clock.Now().Unix())
		if c["iat"] != now || c["nbf"] != now || c["exp"] != now+900 {
			t.Errorf("GET /api/dashboard iat, nbf, exp = %v, %v, %v, want %v, %v, %v", c["iat"], c["nbf"], c["exp"], now, now, now+900)
		}
		if _, ok := c["fgp"]; ok {
			t.Errorf("GET /api/dashboard claims carry fgp %v with fingerprints off", c["fgp"])
		}
	})

	t.Run("me reads the database", func(t *testing.T) {
		rec := e.do(req{method: "GET", path: "/api/me", bearer: s.access})
		expect(t, "GET /api/me", rec, http.StatusOK, "")
		u, _ := jsonBody(t, rec)["user"].(map[string]any)
		wantKeys(t, "GET /api/me user", u, "id", "email", "role", "emailVerified", "mfa", "createdAt")
		if u["id"] != id || u["email"] != "member@example.com" || u["role"] != "user" {
			t.Errorf("GET /api/me user = %v, want id %s, email member@example.com, role user", u, id)
		}
		if ts, _ := u["createdAt"].(string); ts == "" {
			t.Errorf("GET /api/me createdAt = %v, want a time", u["createdAt"])
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("GET /api/me createdAt = %q, want RFC 3339: %v", ts, err)
		}
	})

	t.Run("admin route", func(t *testing.T) {
		rec := e.do(req{method: "GET", path: "/api/admin", bearer: s.access})
		expect(t, "GET /api/admin as a user", rec, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		if h := rec.Header().Get("WWW-Authenticate"); h != "" {
			t.Errorf("GET /api/admin as a user: WWW-Authenticate = %q, want none on 403", h)
		}
		e.makeAdmin("boss@example.com")
		admin := e.login("boss@example.com")
		rec = e.do(req{method: "GET", path: "/api/admin", bearer: admin.access})
		expect(t, "GET /api/admin as an admin", rec, http.StatusOK, "")
		body := jsonBody(t, rec)
		if u, _ := body["user"].(map[string]any); body["message"] != "Admin panel" || u["role"] != "admin" || u["email"] != "boss@example.com" {
			t.Errorf("GET /api/admin = %v, want message \"Admin panel\" and the admin's claims", body)
		}
	})

	t.Run("role changes take effect at once", func(t *testing.T) {
		a := e.makeAdmin("demoted@example.com")
		e.makeAdmin("other-admin@example.com")
		old := e.login("demoted@example.com")
		expect(t, "GET /api/admin before demotion", e.do(req{method: "GET", path: "/api/admin", bearer: old.access}), http.StatusOK, "")
		e.setUser(t, a, models.RoleUser, nil)
		if role := jwtPart(t, old.access, 1)["role"]; role != "admin" {
			t.Fatalf("old token role claim = %v, want admin", role)
		}
		rec := e.do(req{method: "GET", path: "/api/admin", bearer: old.access})
		expect(t, "GET /api/admin with an admin-claim token after demotion", rec, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		e.bearerOK(t, "demoted admin's token on a user route", old.access)

		// And the reverse: a promotion needs no new token.
		e.setUser(t, id, models.RoleAdmin, nil)
		expect(t, "GET /api/admin with a user-claim token after promotion", e.do(req{method: "GET", path: "/api/admin", bearer: s.access}), http.StatusOK, "")
		rec = e.do(req{method: "GET", path: "/api/me", bearer: s.access})
		if u, _ := jsonBody(t, rec)["user"].(map[string]any); u["role"] != "admin" {
			t.Errorf("GET /api/me after promotion role = %v, want admin (from the database)", u["role"])
		}
		e.setUser(t, id, models.RoleUser, nil)
	})

	t.Run("bearer parsing", func(t *testing.T) {
		tests := []struct {
			name   string
			header string // "" = no Authorization header
			code   string // "" = 200
		}{
			{"no header", "", "NO_TOKEN"},
			{"basic scheme", "Basic dXNlcjpwYXNz", "NO_TOKEN"},
			{"basic scheme with the token", "Basic " + s.access, "NO_TOKEN"},
			{"bearer without token", "Bearer", "NO_TOKEN"},
			{"bearer with empty token", "Bearer ", "NO_TOKEN"},
			{"bearer with blank token", "Bearer    ", "NO_TOKEN"},
			{"token without scheme", s.access, "NO_TOKEN"},
			{"Bearer", "Bearer " + s.access, ""},
			{"bearer lower case", "bearer " + s.access, ""},
			{"BEARER upper case", "BEARER " + s.access, ""},
			{"bearer with garbage", "Bearer not.a.jwt", "INVALID_TOKEN"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := req{method: "GET", path: "/api/profile"}
				if tt.header != "" {
					r.headers = map[string]string{"Authorization": tt.header}
				}
				rec := e.do(r)
				what := "GET /api/profile with Authorization " + clipText(tt.header)
				if tt.code == "" {
					expect(t, what, rec, http.StatusOK, "")
					return
				}
				expect401(t, what, rec, tt.code)
			})
		}
	})

	t.Run("every protected route wants a token", func(t *testing.T) {
		for _, r := range []req{
			{method: "GET", path: "/api/profile"}, {method: "GET", path: "/api/dashboard"}, {method: "GET", path: "/api/me"},
			{method: "GET", path: "/api/admin"}, {method: "GET", path: "/api/auth/sessions"}, {method: "POST", path: "/api/auth/logout-all"},
			{method: "DELETE", path: "/api/auth/sessions/" + sidOf(t, s.access)},
			{method: "POST", path: "/api/auth/password", body: map[string]string{"currentPassword": testPassword, "newPassword": "another fine passphrase"}},
		} {
			expect401(t, r.method+" "+r.path+" without a token", e.do(r), "NO_TOKEN")
		}
		e.bearerOK(t, "session untouched by the refused requests", s.access)
	})
}

// toStrings converts a JSON array of strings.
func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// clipText shortens a header for a failure message.
func clipText(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// ---- routing ----

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, nil)
	notFound := []string{"/api/nope", "/nope", "/api/auth/nope", "/api/profile/extra"}
	for _, p := range notFound {
		t.Run("404 "+p, func(t *testing.T) {
			rec := e.do(req{method: "GET", path: p})
			expect(t, "GET "+p, rec, http.StatusNotFound, "NOT_FOUND")
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("GET %s Content-Type = %q, want application/json", p, ct)
			}
		})
	}
	tests := []struct {
		method, path string
		allow        string
	}{
		{"GET", "/api/auth/login", "POST"},
		{"PUT", "/api/auth/register", "POST"},
		{"DELETE", "/api/profile", "GET"},
		{"POST", "/api/me", "GET"},
		{"PUT", "/api/auth/sessions/" + uuid.NewString(), "DELETE"},
		{"POST", "/healthz", "GET"},
	}
	for _, tt := range tests {
		t.Run("405 "+tt.method+" "+tt.path, func(t *testing.T) {
			rec := e.do(req{method: tt.method, path: tt.path})
			expect(t, tt.method+" "+tt.path, rec, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
			allow := strings.Split(strings.ReplaceAll(rec.Header().Get("Allow"), " ", ""), ",")
			if !slices.Contains(allow, tt.allow) || slices.Contains(allow, tt.method) {
				t.Errorf("%s %s Allow = %q, want it to list %s and not %s", tt.method, tt.path, rec.Header().Get("Allow"), tt.allow, tt.method)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s Content-Type = %q, want application/json", tt.method, tt.path, ct)
			}
		})
	}
}
