package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

const week = 7 * 24 * 60 * 60 // seconds

// refreshBody presents a refresh token in the body form, without cookies.
func (e *testEnv) refreshBody(token string) *httptest.ResponseRecorder {
	return e.do(req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refreshToken": token}})
}

// expectSessionDead checks that a session's refresh token and access token both fail.
func (e *testEnv) expectSessionDead(t *testing.T, what string, s session) {
	t.Helper()
	e.bearerFails(t, what+" access token", s.access, "TOKEN_REVOKED")
	expect401(t, what+" refresh", e.refresh(s), "INVALID_REFRESH_TOKEN")
}

// expectSessionAlive checks that a session's access token works and that it still rotates; it
// returns the rotated session.
func (e *testEnv) expectSessionAlive(t *testing.T, what string, s session) session {
	t.Helper()
	e.bearerOK(t, what+" access token", s.access)
	n := e.rotate(t, what+" refresh", s)
	e.bearerOK(t, what+" rotated access token", n.access)
	return n
}

func TestRefreshRotation(t *testing.T) {
	runOnBackends(t, []backendCase{
		{name: "rotation", run: func(t *testing.T, e *testEnv) {
			e.register("rot@example.com")
			s := e.login("rot@example.com")
			rec := e.refresh(s)
			expect(t, "refresh", rec, http.StatusOK, "")
			body := jsonBody(t, rec)
			wantKeys(t, "refresh body (cookie form)", body, "accessToken", "tokenType", "expiresIn")
			if body["tokenType"] != "Bearer" || body["expiresIn"] != float64(900) {
				t.Errorf("refresh body = %v, want tokenType Bearer and expiresIn 900", body)
			}
			checkNoStore(t, "refresh", rec)
			c := newRefreshCookie(t, "refresh", rec, true, week)
			if c.Value == s.refresh.Value {
				t.Fatalf("refresh returned the presented refresh token again, want a new one")
			}
			n := session{access: body["accessToken"].(string), refresh: c}
			if sidOf(t, n.access) != sidOf(t, s.access) || sidOf(t, n.refresh.Value) != sidOf(t, s.access) {
				t.Errorf("rotated tokens name session %s / %s, want the login's %s", sidOf(t, n.access), sidOf(t, n.refresh.Value), sidOf(t, s.access))
			}
			e.bearerOK(t, "rotated access token", n.access)
			e.bearerOK(t, "login access token after rotation", s.access)
			n2 := e.rotate(t, "second refresh with the new token", n)
			if n2.refresh.Value == n.refresh.Value || n2.refresh.Value == s.refresh.Value {
				t.Errorf("second rotation returned an earlier refresh token")
			}
		}},

		{name: "20 racing refreshes converge", run: func(t *testing.T, e *testEnv) {
			e.register("race@example.com")
			s := e.login("race@example.com")
			const n = 20
			recs := make([]*httptest.ResponseRecorder, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					hr := httptest.NewRequest("POST", "/api/auth/refresh", nil)
					hr.AddCookie(s.refresh)
					recs[i] = e.serveRaw(hr)
				})
			}
			wg.Wait()
			var first string
			for i, rec := range recs {
				expect(t, "racing refresh", rec, http.StatusOK, "")
				c := newRefreshCookie(t, "racing refresh", rec, true, week)
				if i == 0 {
					first = c.Value
				} else if c.Value != first {
					t.Errorf("racing refresh %d got refresh token %.20s..., refresh 0 got %.20s..., want the same", i, c.Value, first)
				}
				e.bearerOK(t, "racing refresh access token", jsonBody(t, rec)["accessToken"].(string))
			}
			if first == s.refresh.Value {
				t.Fatalf("racing refreshes returned the presented token, want a new one")
			}
			// The session survived and the tabs' common token rotates on.
			winner := session{refresh: &http.Cookie{Name: "refreshToken", Value: first}}
			next := e.rotate(t, "refresh with the converged token", winner)
			e.bearerOK(t, "access token after the race", next.access)
		}},

		{name: "just-replaced token within the grace", run: func(t *testing.T, e *testEnv) {
			e.register("grace@example.com")
			a := e.login("grace@example.com")
			b := e.rotate(t, "first refresh", a)
			for _, wait := range []time.Duration{0, 10 * time.Second} {
				e.clock.Advance(wait)
				rec := e.refresh(a)
				expect(t, "re-presenting the replaced token after "+wait.String(), rec, http.StatusOK, "")
				c := newRefreshCookie(t, "grace refresh", rec, true, week-int(wait/time.Second))
				if c.Value != b.refresh.Value {
					t.Errorf("re-presenting the replaced token after %v gave another refresh token, want the current one", wait)
				}
				e.bearerOK(t, "grace access token", jsonBody(t, rec)["accessToken"].(string))
			}
			// The grace did not rotate anything: the current token is still b's and still works.
			e.rotate(t, "current token after the grace refreshes", b)
		}},

		{name: "just-replaced token after the grace", run: func(t *testing.T, e *testEnv) {
			e.register("late@example.com")
			a := e.login("late@example.com")
			b := e.rotate(t, "first refresh", a)
			e.clock.Advance(11 * time.Second)
			expect401(t, "replaced token 11s after its rotation", e.refresh(a), "TOKEN_REUSE")
			expect401(t, "current token after reuse detection", e.refresh(b), "INVALID_REFRESH_TOKEN")
			e.bearerFails(t, "rotated access token after reuse detection", b.access, "TOKEN_REVOKED")
			e.bearerFails(t, "login access token after reuse detection", a.access, "TOKEN_REVOKED")
			expect401(t, "replaced token again", e.refresh(a), "INVALID_REFRESH_TOKEN")
			// Only that session ended.
			e.bearerOK(t, "a new login", e.login("late@example.com").access)
		}},

		{name: "older token within the grace", run: func(t *testing.T, e *testEnv) {
			e.register("old@example.com")
			a := e.login("old@example.com")
			b := e.rotate(t, "first refresh", a)
			c := e.rotate(t, "second refresh", b)
			rec := e.refresh(b)
			expect(t, "just-replaced token within the grace", rec, http.StatusOK, "")
			if got := cookie(rec, "refreshToken"); got == nil || got.Value != c.refresh.Value {
				t.Errorf("just-replaced token within the grace did not return the current token")
			}
			expect401(t, "token two rotations back, within the grace", e.refresh(a), "TOKEN_REUSE")
			expect401(t, "current token after reuse detection", e.refresh(c), "INVALID_REFRESH_TOKEN")
			e.bearerFails(t, "current access token after reuse detection", c.access, "TOKEN_REVOKED")
		}},

		{name: "no grace", mutate: func(c *envConfig) { c.ReuseGrace = 0 }, run: func(t *testing.T, e *testEnv) {
			e.register("strict@example.com")
			a := e.login("strict@example.com")
			b := e.rotate(t, "first refresh", a)
			expect401(t, "replaced token at once with no grace", e.refresh(a), "TOKEN_REUSE")
			expect401(t, "current token after reuse detection", e.refresh(b), "INVALID_REFRESH_TOKEN")
			e.bearerFails(t, "access token after reuse detection", b.access, "TOKEN_REVOKED")
		}},

		{name: "body form", run: func(t *testing.T, e *testEnv) {
			e.register("native@example.com")
			s := e.login("native@example.com")
			rec := e.refreshBody(s.refresh.Value)
			expect(t, "refresh in the body form", rec, http.StatusOK, "")
			body := jsonBody(t, rec)
			wantKeys(t, "refresh body (body form)", body, "accessToken", "tokenType", "expiresIn", "refreshToken")
			checkNoStore(t, "refresh in the body form", rec)
			next, _ := body["refreshToken"].(string)
			if next == "" || next == s.refresh.Value {
				t.Fatalf("refresh in the body form refreshToken = %.20q, want a new token", next)
			}
			if c := newRefreshCookie(t, "refresh in the body form", rec, true, week); c.Value != next {
				t.Errorf("body form: cookie token differs from the body's")
			}
			e.bearerOK(t, "body form access token", body["accessToken"].(string))
			rec = e.refreshBody(next)
			expect(t, "second refresh in the body form", rec, http.StatusOK, "")
			if got, _ := jsonBody(t, rec)["refreshToken"].(string); got == "" || got == next {
				t.Errorf("second body-form refresh refreshToken = %.20q, want another new token", got)
			}
		}},

		{name: "missing or malformed refresh token", run: func(t *testing.T, e *testEnv) {
			tests := []struct {
				name   string
				r      req
				status int
				code   string
			}{
				{"nothing", req{}, 401, "NO_REFRESH_TOKEN"},
				{"empty object", req{body: map[string]string{}}, 401, "NO_REFRESH_TOKEN"},
				{"empty token in the body", req{body: map[string]string{"refreshToken": ""}}, 401, "NO_REFRESH_TOKEN"},
				{"empty cookie", req{cookies: []*http.Cookie{{Name: "refreshToken", Value: ""}}}, 401, "NO_REFRESH_TOKEN"},
				{"cookie of another name", req{cookies: []*http.Cookie{{Name: "refresh", Value: "x"}}}, 401, "NO_REFRESH_TOKEN"},
				{"garbage cookie", req{cookies: []*http.Cookie{{Name: "refreshToken", Value: "garbage"}}}, 401, "INVALID_REFRESH_TOKEN"},
				{"garbage body", req{body: map[string]string{"refreshToken": "x.y.z"}}, 401, "INVALID_REFRESH_TOKEN"},
				{"token of wrong type", req{body: map[string]any{"refreshToken": 5}}, 400, "VALIDATION_ERROR"},
				{"unknown field", req{body: map[string]any{"token": "x"}}, 400, "VALIDATION_ERROR"},
				{"malformed JSON", req{body: `{"refreshToken":`}, 400, "INVALID_JSON"},
			}
			for _, tt := range tests {
				tt.r.method, tt.r.path = "POST", "/api/auth/refresh"
				rec := e.do(tt.r)
				if tt.status == 401 {
					expect401(t, "refresh with "+tt.name, rec, tt.code)
				} else {
					expect(t, "refresh with "+tt.name, rec, tt.status, tt.code)
				}
				if c := cookie(rec, "refreshToken"); c != nil && c.Value != "" {
					t.Errorf("refresh with %s set a refresh cookie", tt.name)
				}
			}
		}},

		{name: "idle timeout", mutate: func(c *envConfig) { c.IdleTimeout, c.MaxLifetime = 10*time.Minute, 2*time.Hour },
			run: func(t *testing.T, e *testEnv) {
				e.register("idle@example.com")
				rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "idle@example.com", "password": testPassword}})
				expect(t, "login", rec, http.StatusOK, "")
				if got := jsonBody(t, rec)["expiresIn"]; got != float64(600) {
					t.Errorf("login expiresIn with a 10m idle timeout = %v, want 600 (capped to the idle end)", got)
				}
				newRefreshCookie(t, "login with a 10m idle timeout", rec, true, 600)
				busy := e.login("idle@example.com")
				idle := e.login("idle@example.com")
				if exp, iat := jwtPart(t, idle.access, 1)["exp"], jwtPart(t, idle.access, 1)["iat"]; exp.(float64)-iat.(float64) != 600 {
					t.Errorf("access token exp-iat = %v, want 600 (capped to the idle end)", exp.(float64)-iat.(float64))
				}
				e.clock.Advance(10*time.Minute - time.Second)
				rec = e.refresh(busy)
				expect(t, "refresh 1s before the idle end", rec, http.StatusOK, "")
				busy = session{access: jsonBody(t, rec)["accessToken"].(string), refresh: newRefreshCookie(t, "refresh before the idle end", rec, true, 600)}
				e.clock.Advance(time.Second)
				expect401(t, "refresh at the idle end", e.refresh(idle), "INVALID_REFRESH_TOKEN")
				rec = e.do(req{method: "GET", path: "/api/profile", bearer: idle.access})
				expect(t, "access token of an idle session", rec, http.StatusUnauthorized, "")
				if code := jsonBody(t, rec)["code"]; code != "TOKEN_EXPIRED" && code != "TOKEN_REVOKED" {
					t.Errorf("access token of an idle session: code = %v, want TOKEN_EXPIRED or TOKEN_REVOKED", code)
				}
				// The refreshed session lives on and is the only one listed.
				rec = e.do(req{method: "GET", path: "/api/auth/sessions", bearer: busy.access})
				expect(t, "GET /api/auth/sessions", rec, http.StatusOK, "")
				list, _ := jsonBody(t, rec)["sessions"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["id"] != sidOf(t, busy.access) {
					t.Errorf("sessions after the idle end = %v, want only %s", list, sidOf(t, busy.access))
				}
				e.rotate(t, "refresh of the busy session", busy)
			}},

		{name: "absolute lifetime", mutate: func(c *envConfig) { c.IdleTimeout, c.MaxLifetime = time.Hour, 2*time.Hour },
			run: func(t *testing.T, e *testEnv) {
				e.register("life@example.com")
				start := e.clock.Now()
				rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "life@example.com", "password": testPassword}})
				expect(t, "login", rec, http.StatusOK, "")
				s := session{access: jsonBody(t, rec)["accessToken"].(string), refresh: newRefreshCookie(t, "login", rec, true, 3600)}
				steps := []struct {
					wait                 time.Duration
					maxAge, expiresIn    int
					wantExpAtSessionsEnd bool
				}{
					{50 * time.Minute, 3600, 900, false}, // idle end comes first
					{50 * time.Minute, 1200, 900, false}, // 20m left of the lifetime
					{10 * time.Minute, 600, 600, true},   // 10m left: the access token is capped too
					{9*time.Minute + 59*time.Second, 1, 1, true},
				}
				for _, st := range steps {
					e.clock.Advance(st.wait)
					at := e.clock.Now().Sub(start)
					rec := e.refresh(s)
					expect(t, "refresh at +"+at.String(), rec, http.StatusOK, "")
					body := jsonBody(t, rec)
					if body["expiresIn"] != float64(st.expiresIn) {
						t.Errorf("refresh at +%v expiresIn = %v, want %d", at, body["expiresIn"], st.expiresIn)
					}
					s = session{access: body["accessToken"].(string), refresh: newRefreshCookie(t, "refresh at +"+at.String(), rec, true, st.maxAge)}
					exp := jwtPart(t, s.access, 1)["exp"].(float64)
					if end := float64(start.Add(2 * time.Hour).Unix()); exp > end || (st.wantExpAtSessionsEnd && exp != end) {
						t.Errorf("refresh at +%v access exp = %v, want at most the session end %v", at, exp, end)
					}
				}
				e.clock.Advance(time.Second) // exactly the absolute end
				expect401(t, "refresh at the absolute end", e.refresh(s), "INVALID_REFRESH_TOKEN")
				rec = e.do(req{method: "GET", path: "/api/profile", bearer: s.access})
				expect(t, "access token at the absolute end", rec, http.StatusUnauthorized, "")
				if code := jsonBody(t, rec)["code"]; code != "TOKEN_EXPIRED" && code != "TOKEN_REVOKED" {
					t.Errorf("access token at the absolute end: code = %v, want TOKEN_EXPIRED or TOKEN_REVOKED", code)
				}
			}},
	})
}

func TestLogout(t *testing.T) {
	runOnBackends(t, []backendCase{
		{name: "cookie and bearer", run: func(t *testing.T, e *testEnv) {
			e.register("out@example.com")
			s := e.login("out@example.com")
			other := e.login("out@example.com")
			rec := e.do(req{method: "POST", path: "/api/auth/logout", bearer: s.access, cookies: []*http.Cookie{s.refresh}})
			expect(t, "logout", rec, http.StatusOK, "")
			if body := jsonBody(t, rec); len(body) != 1 || body["message"] != "Logged out" {
				t.Errorf("logout body = %v, want {\"message\":\"Logged out\"}", body)
			}
			checkClearedCookie(t, "logout", rec, true)
			e.expectSessionDead(t, "logged-out session", s)
			e.expectSessionAlive(t, "the user's other session", other)
		}},

		{name: "cookie only", run: func(t *testing.T, e *testEnv) {
			e.register("out@example.com")
			s := e.login("out@example.com")
			rec := e.do(req{method: "POST", path: "/api/auth/logout", cookies: []*http.Cookie{s.refresh}})
			expect(t, "logout with the cookie only", rec, http.StatusOK, "")
			checkClearedCookie(t, "logout with the cookie only", rec, true)
			e.expectSessionDead(t, "session logged out by cookie", s)
		}},

		{name: "bearer only", run: func(t *testing.T, e *testEnv) {
			e.register("out@example.com")
			s := e.login("out@example.com")
			other := e.login("out@example.com")
			rec := e.do(req{method: "POST", path: "/api/auth/logout", bearer: s.access})
			expect(t, "logout with the bearer only", rec, http.StatusOK, "")
			checkClearedCookie(t, "logout with the bearer only", rec, true)
			e.expectSessionDead(t, "session named by the bearer's sid", s)
			e.expectSessionAlive(t, "the user's other session", other)
		}},

		{name: "body form", run: func(t *testing.T, e *testEnv) {
			e.register("out@example.com")
			s := e.login("out@example.com")
			rec := e.do(req{method: "POST", path: "/api/auth/logout", body: map[string]string{"refreshToken": s.refresh.Value}})
			expect(t, "logout with the token in the body", rec, http.StatusOK, "")
			e.expectSessionDead(t, "session logged out by body", s)
		}},

		{name: "idempotent", run: func(t *testing.T, e *testEnv) {
			e.register("out@example.com")
			gone := e.login("out@example.com")
			expect(t, "first logout", e.do(req{method: "POST", path: "/api/auth/logout", bearer: gone.access, cookies: []*http.Cookie{gone.refresh}}), http.StatusOK, "")
			live := e.login("out@example.com")
			tests := []struct {
				name string
				r    req
			}{
				{"nothing", req{}},
				{"stale cookie", req{cookies: []*http.Cookie{gone.refresh}}},
				{"stale cookie and revoked bearer", req{cookies: []*http.Cookie{gone.refresh}, bearer: gone.access}},
				{"garbage cookie", req{cookies: []*http.Cookie{{Name: "refreshToken", Value: "garbage"}}}},
				{"garbage bearer", req{bearer: "garbage"}},
				{"other scheme", req{headers: map[string]string{"Authorization": "Basic eDp5"}}},
				{"empty body object", req{body: map[string]string{}}},
			}
			for _, tt := range tests {
				tt.r.method, tt.r.path = "POST", "/api/auth/logout"
				rec := e.do(tt.r)
				expect(t, "logout with "+tt.name, rec, http.StatusOK, "")
				if body := jsonBody(t, rec); body["message"] != "Logged out" {
					t.Errorf("logout with %s body = %v, want message Logged out", tt.name, body)
				}
				checkClearedCookie(t, "logout with "+tt.name, rec, true)
			}
			e.expectSessionAlive(t, "session untouched by the idempotent logouts", live)
			// An expired access token still names its session.
			e.clock.Advance(16 * time.Minute)
			expect(t, "logout with an expired bearer", e.do(req{method: "POST", path: "/api/auth/logout", bearer: live.access}), http.StatusOK, "")
		}},

		{name: "insecure cookies", mutate: func(c *envConfig) { c.CookieSecure = false }, run: func(t *testing.T, e *testEnv) {
			e.register("plain@example.com")
			rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "plain@example.com", "password": testPassword}})
			expect(t, "login", rec, http.StatusOK, "")
			s := session{access: jsonBody(t, rec)["accessToken"].(string), refresh: newRefreshCookie(t, "login with COOKIE_SECURE=false", rec, false, week)}
			rec = e.refresh(s)
			expect(t, "refresh", rec, http.StatusOK, "")
			s.refresh = newRefreshCookie(t, "refresh with COOKIE_SECURE=false", rec, false, week)
			rec = e.do(req{method: "POST", path: "/api/auth/logout", cookies: []*http.Cookie{s.refresh}})
			expect(t, "logout", rec, http.StatusOK, "")
			checkClearedCookie(t, "logout with COOKIE_SECURE=false", rec, false)
		}},

		{name: "logout-all", run: func(t *testing.T, e *testEnv) {
			e.register("all@example.com")
			e.register("bystander@example.com")
			s1 := e.login("all@example.com")
			s2 := e.login("all@example.com")
			s3 := e.rotate(t, "rotate the third session", e.login("all@example.com"))
			by := e.login("bystander@example.com")
			expect401(t, "logout-all without a token", e.do(req{method: "POST", path: "/api/auth/logout-all"}), "NO_TOKEN")
			rec := e.do(req{method: "POST", path: "/api/auth/logout-all", bearer: s1.access})
			expect(t, "logout-all", rec, http.StatusOK, "")
			if msg, _ := jsonBody(t, rec)["message"].(string); msg == "" {
				t.Errorf("logout-all body = %s, want a message", rec.Body.String())
			}
			checkClearedCookie(t, "logout-all", rec, true)
			for name, s := range map[string]session{"s1": s1, "s2": s2, "s3": s3} {
				e.expectSessionDead(t, "after logout-all, "+name, s)
			}
			e.expectSessionAlive(t, "another user's session", by)
			again := e.login("all@example.com")
			e.expectSessionAlive(t, "a login after logout-all", again)
		}},
	})
}

// sessionsOf lists the sessions seen with access, by id.
func (e *testEnv) sessionsOf(t *testing.T, access string) map[string]map[string]any {
	t.Helper()
	rec := e.do(req{method: "GET", path: "/api/auth/sessions", bearer: access})
	expect(t, "GET /api/auth/sessions", rec, http.StatusOK, "")
	body := jsonBody(t, rec)
	wantKeys(t, "GET /api/auth/sessions body", body, "sessions")
	list, ok := body["sessions"].([]any)
	if !ok {
		t.Fatalf("GET /api/auth/sessions sessions = %v, want an array", body["sessions"])
	}
	out := map[string]map[string]any{}
	for _, v := range list {
		s, _ := v.(map[string]any)
		wantKeys(t, "session entry", s, "id", "createdAt", "lastUsedAt", "userAgent", "ip", "current")
		id, _ := s["id"].(string)
		if uuid.Validate(id) != nil {
			t.Errorf("session id = %v, want a UUID", s["id"])
		}
		out[id] = s
	}
	return out
}

// timeField parses a JSON time.
func timeField(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %v, want an RFC 3339 time: %v", what, v, err)
	}
	return ts
}

func TestSessions(t *testing.T) {
	runOnBackends(t, []backendCase{
		{name: "list", run: func(t *testing.T, e *testEnv) {
			e.register("list@example.com")
			e.register("else@example.com")
			t0 := e.clock.Now()
			s1 := e.loginClient(t, "list@example.com", testPassword, "ua-one", "192.0.2.10:1111")
			s2 := e.loginClient(t, "list@example.com", testPassword, "ua-two", "[2001:db8::2]:2222")
			s3 := e.loginClient(t, "list@example.com", testPassword, "ua-three", "192.0.2.30:3333")
			e.loginClient(t, "else@example.com", testPassword, "ua-else", "192.0.2.40:4444")
			expect(t, "logout of s3", e.do(req{method: "POST", path: "/api/auth/logout", cookies: []*http.Cookie{s3.refresh}}), http.StatusOK, "")
			e.clock.Advance(time.Minute)
			rec := e.do(req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{s2.refresh},
				headers: map[string]string{"User-Agent": "ua-two-later"}, remoteAddr: "192.0.2.22:2222"})
			expect(t, "refresh of s2", rec, http.StatusOK, "")
			s2.access = jsonBody(t, rec)["accessToken"].(string)

			list := e.sessionsOf(t, s1.access)
			if len(list) != 2 {
				t.Fatalf("sessions = %v, want s1 and s2 only (s3 logged out, the other user's not shown)", list)
			}
			want := []struct {
				id, ua, ip string
				current    bool
				lastUsed   time.Time
			}{
				{sidOf(t, s1.access), "ua-one", "192.0.2.10", true, t0},
				{sidOf(t, s2.access), "ua-two-later", "192.0.2.22", false, t0.Add(time.Minute)},
			}
			for _, w := range want {
				got, ok := list[w.id]
				if !ok {
					t.Errorf("sessions = %v, missing %s", list, w.id)
					continue
				}
				if got["userAgent"] != w.ua || got["ip"] != w.ip || got["current"] != w.current {
					t.Errorf("session %s = %v, want userAgent %s, ip %s, current %v", w.id, got, w.ua, w.ip, w.current)
				}
				if c := timeField(t, "createdAt", got["createdAt"]); !c.Equal(t0) {
					t.Errorf("session %s createdAt = %v, want %v", w.id, c, t0)
				}
				if u := timeField(t, "lastUsedAt", got["lastUsedAt"]); !u.Equal(w.lastUsed) {
					t.Errorf("session %s lastUsedAt = %v, want %v", w.id, u, w.lastUsed)
				}
			}
			// The current flag follows the token used to ask.
			for id, s := range e.sessionsOf(t, s2.access) {
				if want := id == sidOf(t, s2.access); s["current"] != want {
					t.Errorf("sessions seen by s2: %s current = %v, want %v", id, s["current"], want)
				}
			}
		}},

		{name: "delete", run: func(t *testing.T, e *testEnv) {
			e.register("del@example.com")
			e.register("victim@example.com")
			s1 := e.login("del@example.com")
			s2 := e.login("del@example.com")
			victim := e.login("victim@example.com")
			del := func(access, id string) *httptest.ResponseRecorder {
				return e.do(req{method: "DELETE", path: "/api/auth/sessions/" + id, bearer: access})
			}

			for name, id := range map[string]string{
				"another user's session": sidOf(t, victim.access),
				"an unknown id":          uuid.NewString(),
				"a non-UUID id":          "not-a-uuid",
				"a refresh token's jti":  jwtPart(t, s2.refresh.Value, 1)["jti"].(string),
			} {
				expect(t, "DELETE "+name, del(s1.access, id), http.StatusNotFound, "NOT_FOUND")
			}
			e.expectSessionAlive(t, "the other user's session after a foreign DELETE", victim)

			rec := del(s1.access, sidOf(t, s2.access))
			expect(t, "DELETE own other session", rec, http.StatusNoContent, "")
			if rec.Body.Len() != 0 {
				t.Errorf("DELETE own session body = %q, want empty", rec.Body.String())
			}
			e.expectSessionDead(t, "deleted session", s2)
			if list := e.sessionsOf(t, s1.access); len(list) != 1 || list[sidOf(t, s1.access)] == nil {
				t.Errorf("sessions after DELETE = %v, want only the current one", list)
			}
			expect(t, "DELETE an already ended session", del(s1.access, sidOf(t, s2.access)), http.StatusNotFound, "NOT_FOUND")

			rec = del(s1.access, sidOf(t, s1.access))
			expect(t, "DELETE the current session", rec, http.StatusNoContent, "")
			e.expectSessionDead(t, "the current session after deleting it", s1)
		}},

		{name: "password change", run: func(t *testing.T, e *testEnv) {
			e.register("pw@example.com")
			cur := e.login("pw@example.com")
			other := e.rotate(t, "rotate another session", e.login("pw@example.com"))
			third := e.login("pw@example.com")
			change := func(current, next any) *httptest.ResponseRecorder {
				body := map[string]any{}
				if current != nil {
					body["currentPassword"] = current
				}
				if next != nil {
					body["newPassword"] = next
				}
				return e.do(req{method: "POST", path: "/api/auth/password", bearer: cur.access, body: body})
			}
			const newPassword = "a completely different passphrase"

			expect401(t, "password change with a wrong current password", change("wrong "+testPassword, newPassword), "INVALID_CREDENTIALS")
			weak := []struct {
				name string
				next any
				key  string
			}{
				{"common", "password123", "newPassword"},
				{"the email", "pw@example.com", "newPassword"},
				{"7 characters", "Zq9!xw2", "newPassword"},
				{"73 bytes", password72 + "a", "newPassword"},
				{"missing", nil, "newPassword"},
				{"of wrong type", 12345678, "newPassword"},
			}
			for _, w := range weak {
				rec := change(testPassword, w.next)
				expect(t, "password change to a new password "+w.name, rec, http.StatusBadRequest, "VALIDATION_ERROR")
				if _, ok := detailsOf(t, rec)[w.key]; !ok {
					t.Errorf("password change to a new password %s: details = %v, want %s", w.name, detailsOf(t, rec), w.key)
				}
			}
			// Nothing changed so far.
			other = e.expectSessionAlive(t, "other session after refused changes", other)
			e.bearerOK(t, "login with the old password after refused changes", e.login("pw@example.com").access)

			rec := change(testPassword, newPassword)
			expect(t, "password change", rec, http.StatusOK, "")
			if msg, _ := jsonBody(t, rec)["message"].(string); msg == "" {
				t.Errorf("password change body = %s, want a message", rec.Body.String())
			}
			e.expectSessionDead(t, "other session after the change", other)
			e.expectSessionDead(t, "third session after the change", third)
			e.expectSessionAlive(t, "the session that changed the password", cur)

			bad := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "pw@example.com", "password": testPassword}})
			expect401(t, "login with the old password", bad, "INVALID_CREDENTIALS")
			e.bearerOK(t, "login with the new password", e.loginClient(t, "pw@example.com", newPassword, "ua", "").access)
		}},
	})
}
