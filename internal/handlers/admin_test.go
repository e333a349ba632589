package handlers_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/store/storetest"
)

// forEachBackend runs fn against a fresh server on every store backend (PostgreSQL when
// TEST_DATABASE_URL is set, and SQLite).
func forEachBackend(t *testing.T, mutate func(*envConfig), fn func(t *testing.T, e *testEnv)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, func(c *envConfig) {
				c.Store = b.Open(t)
				if mutate != nil {
					mutate(c)
				}
			})
			fn(t, e)
		})
	}
}

// adminLogin creates an admin with email and logs it in.
func (e *testEnv) adminLogin(email string) (id string, s session) {
	e.t.Helper()
	id = e.makeAdmin(email)
	return id, e.login(email)
}

// adminListUsers calls GET /api/admin/users?query and returns the users and nextCursor.
func (e *testEnv) adminListUsers(bearer, query string) ([]map[string]any, any) {
	e.t.Helper()
	p := e.listPage(bearer, "/api/admin/users?"+query, "users")
	return p.items, p.next
}

// listPage is one page of an admin list route.
type listPage struct {
	items []map[string]any
	next  any // the nextCursor member: a string, or nil on the last page
	raw   string
}

// listPage calls GET path as bearer, expects 200 and reads the list member and nextCursor.
func (e *testEnv) listPage(bearer, path, member string) listPage {
	e.t.Helper()
	rec := e.do(req{method: "GET", path: path, bearer: bearer})
	expect(e.t, "GET "+path, rec, http.StatusOK, "")
	body := jsonBody(e.t, rec)
	raw, ok := body[member].([]any)
	if !ok {
		e.t.Fatalf("GET %s: %s = %v, want a list", path, member, body[member])
	}
	next, ok := body["nextCursor"]
	if !ok {
		e.t.Fatalf("GET %s: no nextCursor member in %s", path, rec.Body.String())
	}
	p := listPage{next: next, raw: rec.Body.String()}
	for _, item := range raw {
		p.items = append(p.items, item.(map[string]any))
	}
	return p
}

// postLogin logs email in with password and returns the response.
func (e *testEnv) postLogin(email, password string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": password}})
}

// checkAdminUserJSON checks that v is a user as the admin routes show it, with these values.
func checkAdminUserJSON(t *testing.T, what string, v any, id, email, role string, disabled bool) {
	t.Helper()
	u, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: user = %v, want an object", what, v)
	}
	var keys []string
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"createdAt", "disabled", "email", "emailVerified", "id", "mfa", "role"}; !slices.Equal(keys, want) {
		t.Errorf("%s: user members = %v, want %v", what, keys, want)
	}
	if u["id"] != id || u["email"] != email || u["role"] != role || u["disabled"] != disabled {
		t.Errorf("%s: user = %v, want id %s, email %s, role %s, disabled %v", what, u, id, email, role, disabled)
	}
	if s, _ := u["createdAt"].(string); s == "" {
		t.Errorf("%s: createdAt = %v, want an RFC 3339 time", what, u["createdAt"])
	} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		t.Errorf("%s: createdAt = %q, want an RFC 3339 time: %v", what, s, err)
	}
}

// sessionDead checks that a session's access token gets TOKEN_REVOKED and its refresh token
// INVALID_REFRESH_TOKEN.
func (e *testEnv) sessionDead(what string, s session) {
	e.t.Helper()
	expect(e.t, what+": GET /api/profile", e.do(req{method: "GET", path: "/api/profile", bearer: s.access}), http.StatusUnauthorized, "TOKEN_REVOKED")
	expect(e.t, what+": POST /api/auth/refresh", e.refresh(s), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
}

// sessionAlive checks that a session's access token is accepted.
func (e *testEnv) sessionAlive(what string, s session) {
	e.t.Helper()
	expect(e.t, what+": GET /api/profile", e.do(req{method: "GET", path: "/api/profile", bearer: s.access}), http.StatusOK, "")
}

func TestAdminRoutesRefusePlainUser(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		adminID, admin := e.adminLogin("admin@example.com")
		userID := e.register("user@example.com")
		user := e.login("user@example.com")
		tests := []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/admin", nil},
			{"GET", "/api/admin/users", nil},
			{"GET", "/api/admin/users?q=admin", nil},
			{"PATCH", "/api/admin/users/" + adminID, map[string]any{"role": "user"}},
			{"PATCH", "/api/admin/users/" + userID, map[string]any{"role": "admin"}},
			{"DELETE", "/api/admin/users/" + adminID + "/sessions", nil},
			{"DELETE", "/api/admin/users/" + adminID, nil},
			{"GET", "/api/admin/audit", nil},
		}
		for _, tt := range tests {
			rec := e.do(req{method: tt.method, path: tt.path, body: tt.body, bearer: user.access})
			expect(t, "user "+tt.method+" "+tt.path, rec, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
			rec = e.do(req{method: tt.method, path: tt.path, body: tt.body})
			expect(t, "anonymous "+tt.method+" "+tt.path, rec, http.StatusUnauthorized, "NO_TOKEN")
		}
		// Nothing the refused requests asked for happened.
		expect(t, "admin GET /api/admin after refusals", e.do(req{method: "GET", path: "/api/admin", bearer: admin.access}), http.StatusOK, "")
		expect(t, "admin refresh after refusals", e.refresh(admin), http.StatusOK, "")
		users, _ := e.adminListUsers(admin.access, "q=user%40")
		if len(users) != 1 || users[0]["role"] != "user" {
			t.Errorf("after refused promotion, users with q=user@ = %v, want one with role user", users)
		}
	})
}

func TestAdminListUsersPages(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		adminID, admin := e.adminLogin("admin@example.com")
		want := []string{adminID}
		for i, email := range []string{"u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com", "u5@example.com", "u6@example.com"} {
			if i%2 == 0 { // some users share a creation time, some do not
				e.clock.Advance(time.Second)
			}
			want = append(want, e.register(email))
		}
		var got []string
		var sizes []int
		cursor := ""
		for page := 0; ; page++ {
			if page == 5 {
				t.Fatalf("GET /api/admin/users?limit=3: still a nextCursor after 5 pages (ids %v)", got)
			}
			q := "limit=3"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			users, next := e.adminListUsers(admin.access, q)
			sizes = append(sizes, len(users))
			for _, u := range users {
				got = append(got, u["id"].(string))
			}
			if next == nil {
				break
			}
			s, ok := next.(string)
			if !ok || s == "" {
				t.Fatalf("GET /api/admin/users?%s: nextCursor = %v, want a string or null", q, next)
			}
			cursor = s
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("GET /api/admin/users?limit=3 page sizes = %v, want [3 3 1]", sizes)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("GET /api/admin/users?limit=3 over all pages = %v, want each of %v once", got, want)
		}
		all, next := e.adminListUsers(admin.access, "")
		if len(all) != 7 || next != nil {
			t.Errorf("GET /api/admin/users = %d users, nextCursor %v, want 7 and null", len(all), next)
		}
		for _, u := range all {
			if u["id"] == adminID {
				checkAdminUserJSON(t, "GET /api/admin/users admin entry", u, adminID, "admin@example.com", "admin", false)
			}
		}
	})
}

func TestAdminListUsersSearch(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		for _, email := range []string{"al_ice@example.com", "alxice@example.com", "a%b@example.com", "axb@example.com", "Bob@Example.com"} {
			e.register(email)
		}
		tests := []struct {
			q    string
			want []string
		}{
			{"al_", []string{"al_ice@example.com"}},
			{"a%", []string{"a%b@example.com"}},
			{"al", []string{"al_ice@example.com", "alxice@example.com"}},
			{"AL", []string{"al_ice@example.com", "alxice@example.com"}},
			{"bob@example", []string{"bob@example.com"}},
			{"%", nil},
			{"_", nil},
			{"example", nil},
			{"zzz", nil},
			{"a", []string{"a%b@example.com", "admin@example.com", "al_ice@example.com", "alxice@example.com", "axb@example.com"}},
		}
		for _, tt := range tests {
			t.Run(tt.q, func(t *testing.T) {
				users, next := e.adminListUsers(admin.access, "q="+url.QueryEscape(tt.q))
				var got []string
				for _, u := range users {
					got = append(got, u["email"].(string))
				}
				sort.Strings(got)
				if !slices.Equal(got, tt.want) || next != nil {
					t.Errorf("GET /api/admin/users?q=%s = %v, nextCursor %v, want %v, null", tt.q, got, next, tt.want)
				}
			})
		}
	})
}

func TestAdminListBadParameters(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		garbage := base64.RawURLEncoding.EncodeToString([]byte("yesterday|" + uuid.NewString()))
		noID := base64.RawURLEncoding.EncodeToString([]byte(time.Now().UTC().Format(time.RFC3339Nano) + "|not-a-uuid"))
		tests := []struct{ name, query, field string }{
			{"limit zero", "limit=0", "limit"},
			{"limit negative", "limit=-1", "limit"},
			{"limit word", "limit=ten", "limit"},
			{"limit too big", "limit=201", "limit"},
			{"limit fraction", "limit=2.5", "limit"},
			{"cursor not base64", "cursor=%21%21%21", "cursor"},
			{"cursor bad time", "cursor=" + garbage, "cursor"},
			{"cursor bad id", "cursor=" + noID, "cursor"},
		}
		for _, path := range []string{"/api/admin/users", "/api/admin/audit"} {
			for _, tt := range tests {
				t.Run(path+" "+tt.name, func(t *testing.T) {
					rec := e.do(req{method: "GET", path: path + "?" + tt.query, bearer: admin.access})
					expect(t, "GET "+path+"?"+tt.query, rec, http.StatusBadRequest, "VALIDATION_ERROR")
					details, _ := jsonBody(t, rec)["details"].(map[string]any)
					if _, ok := details[tt.field]; !ok {
						t.Errorf("GET %s?%s details = %v, want a problem for %s", path, tt.query, details, tt.field)
					}
				})
			}
		}
		users, next := e.adminListUsers(admin.access, "limit=200")
		if len(users) != 1 || next != nil {
			t.Errorf("GET /api/admin/users?limit=200 = %d users, nextCursor %v, want 1, null", len(users), next)
		}
	})
}

func TestAdminUpdateUser(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("user@example.com")
		path := "/api/admin/users/" + id
		steps := []struct {
			name     string
			body     any
			role     string
			disabled bool
		}{
			{"promote", map[string]any{"role": "admin"}, "admin", false},
			{"demote", map[string]any{"role": "user"}, "user", false},
			{"disable", map[string]any{"disabled": true}, "user", true},
			{"enable and promote", map[string]any{"disabled": false, "role": "admin"}, "admin", false},
			{"same role again", map[string]any{"role": "admin"}, "admin", false},
		}
		for _, s := range steps {
			rec := e.do(req{method: "PATCH", path: path, body: s.body, bearer: admin.access})
			expect(t, "PATCH "+path+" "+s.name, rec, http.StatusOK, "")
			checkAdminUserJSON(t, "PATCH "+path+" "+s.name, jsonBody(t, rec)["user"], id, "user@example.com", s.role, s.disabled)
		}

		bad := []struct {
			name string
			body any
			code string
		}{
			{"invalid role", map[string]any{"role": "superuser"}, "VALIDATION_ERROR"},
			{"empty role", map[string]any{"role": ""}, "VALIDATION_ERROR"},
			{"role in capitals", map[string]any{"role": "ADMIN"}, "VALIDATION_ERROR"},
			{"empty patch", map[string]any{}, "VALIDATION_ERROR"},
			{"null fields", `{"role":null,"disabled":null}`, "VALIDATION_ERROR"},
			{"unknown field", map[string]any{"email": "x@example.com"}, "VALIDATION_ERROR"},
			{"unknown field beside a good one", map[string]any{"role": "user", "password": "x"}, "VALIDATION_ERROR"},
			{"disabled as string", map[string]any{"disabled": "yes"}, "VALIDATION_ERROR"},
			{"role as number", map[string]any{"role": 1}, "VALIDATION_ERROR"},
			{"malformed JSON", `{"role":`, "INVALID_JSON"},
			{"array", `[]`, "INVALID_JSON"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				rec := e.do(req{method: "PATCH", path: path, body: tt.body, bearer: admin.access})
				expect(t, "PATCH "+path+" "+tt.name, rec, http.StatusBadRequest, tt.code)
			})
		}
		// None of the refused patches changed the user.
		users, _ := e.adminListUsers(admin.access, "q=user%40")
		if len(users) != 1 {
			t.Fatalf("GET /api/admin/users?q=user@ = %v, want one user", users)
		}
		checkAdminUserJSON(t, "user after refused patches", users[0], id, "user@example.com", "admin", false)
	})
}

func TestAdminUnknownUser(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		for _, id := range []string{uuid.NewString(), "not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g"} {
			for _, r := range []req{
				{method: "PATCH", path: "/api/admin/users/" + id, body: map[string]any{"disabled": true}},
				{method: "DELETE", path: "/api/admin/users/" + id},
				{method: "DELETE", path: "/api/admin/users/" + id + "/sessions"},
			} {
				r.bearer = admin.access
				expect(t, r.method+" "+r.path, e.do(r), http.StatusNotFound, "NOT_FOUND")
			}
		}
	})
}

func TestAdminDisableUser(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("user@example.com")
		s1, s2 := e.login("user@example.com"), e.login("user@example.com")
		path := "/api/admin/users/" + id

		rec := e.do(req{method: "PATCH", path: path, body: map[string]any{"disabled": true}, bearer: admin.access})
		expect(t, "PATCH "+path+" disabled", rec, http.StatusOK, "")
		checkAdminUserJSON(t, "PATCH "+path+" disabled", jsonBody(t, rec)["user"], id, "user@example.com", "user", true)
		e.sessionDead("disabled user's first session", s1)
		e.sessionDead("disabled user's second session", s2)
		expect(t, "disabled user GET /api/me", e.do(req{method: "GET", path: "/api/me", bearer: s1.access}), http.StatusUnauthorized, "TOKEN_REVOKED")

		expect(t, "disabled user login, right password", e.postLogin("user@example.com", testPassword), http.StatusForbidden, "ACCOUNT_DISABLED")
		expect(t, "disabled user login, wrong password", e.postLogin("user@example.com", "not the password at all"), http.StatusUnauthorized, "INVALID_CREDENTIALS")

		rec = e.do(req{method: "PATCH", path: path, body: map[string]any{"disabled": false}, bearer: admin.access})
		expect(t, "PATCH "+path+" enabled", rec, http.StatusOK, "")
		checkAdminUserJSON(t, "PATCH "+path+" enabled", jsonBody(t, rec)["user"], id, "user@example.com", "user", false)
		s3 := e.login("user@example.com")
		e.sessionAlive("re-enabled user's new session", s3)
		expect(t, "re-enabled user's new session refresh", e.refresh(s3), http.StatusOK, "")
		// Re-enabling does not bring the ended sessions back.
		e.sessionDead("re-enabled user's old session", s1)
	})
}

func TestAdminDemoteTakesEffectAtOnce(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.makeAdmin("second@example.com")
		second := e.login("second@example.com")
		expect(t, "second admin GET /api/admin", e.do(req{method: "GET", path: "/api/admin", bearer: second.access}), http.StatusOK, "")

		expect(t, "demote second admin", e.do(req{method: "PATCH", path: "/api/admin/users/" + id, body: map[string]any{"role": "user"}, bearer: admin.access}), http.StatusOK, "")
		// The token still says role admin; the store says user.
		for _, path := range []string{"/api/admin", "/api/admin/users", "/api/admin/audit"} {
			expect(t, "demoted admin GET "+path, e.do(req{method: "GET", path: path, bearer: second.access}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		}
		e.sessionAlive("demoted admin's session", second)
	})
}

func TestAdminDeleteUser(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("user@example.com")
		s1, s2 := e.login("user@example.com"), e.login("user@example.com")
		other := e.register("other@example.com")
		os := e.login("other@example.com")
		path := "/api/admin/users/" + id

		rec := e.do(req{method: "DELETE", path: path, bearer: admin.access})
		expect(t, "DELETE "+path, rec, http.StatusNoContent, "")
		if rec.Body.Len() != 0 {
			t.Errorf("DELETE %s body = %q, want empty", path, rec.Body.String())
		}
		e.sessionDead("deleted user's first session", s1)
		e.sessionDead("deleted user's second session", s2)
		expect(t, "deleted user login", e.postLogin("user@example.com", testPassword), http.StatusUnauthorized, "INVALID_CREDENTIALS")
		expect(t, "DELETE "+path+" again", e.do(req{method: "DELETE", path: path, bearer: admin.access}), http.StatusNotFound, "NOT_FOUND")
		users, _ := e.adminListUsers(admin.access, "")
		for _, u := range users {
			if u["id"] == id {
				t.Errorf("GET /api/admin/users after delete lists %v", u)
			}
		}
		if len(users) != 2 {
			t.Errorf("GET /api/admin/users after delete = %d users, want 2", len(users))
		}
		// Others are untouched, and the email can be registered again.
		e.sessionAlive("other user "+other, os)
		e.register("user@example.com")
	})
}

func TestAdminEndUserSessions(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("user@example.com")
		s1, s2 := e.login("user@example.com"), e.login("user@example.com")
		e.register("other@example.com")
		os := e.login("other@example.com")
		path := "/api/admin/users/" + id + "/sessions"

		rec := e.do(req{method: "DELETE", path: path, bearer: admin.access})
		expect(t, "DELETE "+path, rec, http.StatusNoContent, "")
		e.sessionDead("first session", s1)
		e.sessionDead("second session", s2)
		e.sessionAlive("other user's session", os)
		e.sessionAlive("admin's session", admin)

		s3 := e.login("user@example.com")
		e.sessionAlive("session opened afterwards", s3)
		expect(t, "DELETE "+path+" with no session left", e.do(req{method: "DELETE", path: path, bearer: admin.access}), http.StatusNoContent, "")
		e.sessionDead("session opened afterwards, after a second DELETE", s3)
	})
}

func TestAdminLastAdmin(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		aID, a := e.adminLogin("a@example.com")
		patch := func(who session, id string, body any) *httptest.ResponseRecorder {
			return e.do(req{method: "PATCH", path: "/api/admin/users/" + id, body: body, bearer: who.access})
		}
		del := func(who session, id string) *httptest.ResponseRecorder {
			return e.do(req{method: "DELETE", path: "/api/admin/users/" + id, bearer: who.access})
		}
		lastAdmin := func(what string) {
			t.Helper()
			expect(t, what+": demote the only admin", patch(a, aID, map[string]any{"role": "user"}), http.StatusConflict, "LAST_ADMIN")
			expect(t, what+": disable the only admin", patch(a, aID, map[string]any{"disabled": true}), http.StatusConflict, "LAST_ADMIN")
			expect(t, what+": demote and disable the only admin", patch(a, aID, map[string]any{"role": "user", "disabled": true}), http.StatusConflict, "LAST_ADMIN")
			expect(t, what+": delete the only admin", del(a, aID), http.StatusConflict, "LAST_ADMIN")
			expect(t, what+": the only admin is still one", e.do(req{method: "GET", path: "/api/admin", bearer: a.access}), http.StatusOK, "")
		}
		lastAdmin("alone")
		// Changes that take nothing away are allowed.
		expect(t, "enable the only admin", patch(a, aID, map[string]any{"disabled": false}), http.StatusOK, "")
		expect(t, "keep the only admin an admin", patch(a, aID, map[string]any{"role": "admin"}), http.StatusOK, "")

		// A disabled admin does not count.
		bID := e.makeAdmin("b@example.com")
		b := e.login("b@example.com")
		expect(t, "disable the second admin", patch(a, bID, map[string]any{"disabled": true}), http.StatusOK, "")
		lastAdmin("beside a disabled admin")

		// With another enabled admin, the first can be demoted, then deleted.
		expect(t, "re-enable the second admin", patch(a, bID, map[string]any{"disabled": false}), http.StatusOK, "")
		b = e.login("b@example.com")
		rec := patch(a, aID, map[string]any{"role": "user"})
		expect(t, "demote an admin beside another", rec, http.StatusOK, "")
		checkAdminUserJSON(t, "demote an admin beside another", jsonBody(t, rec)["user"], aID, "a@example.com", "user", false)
		expect(t, "demoted admin GET /api/admin", e.do(req{method: "GET", path: "/api/admin", bearer: a.access}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")
		expect(t, "delete the demoted admin", del(b, aID), http.StatusNoContent, "")

		// b is now the last one, and cannot be removed by itself either.
		expect(t, "last admin demotes itself", patch(b, bID, map[string]any{"role": "user"}), http.StatusConflict, "LAST_ADMIN")
		expect(t, "last admin deletes itself", del(b, bID), http.StatusConflict, "LAST_ADMIN")

		// Disable and delete are allowed while another enabled admin exists.
		cID := e.makeAdmin("c@example.com")
		expect(t, "disable an admin beside another", patch(b, cID, map[string]any{"disabled": true}), http.StatusOK, "")
		dID := e.makeAdmin("d@example.com")
		expect(t, "delete an admin beside another", del(b, dID), http.StatusNoContent, "")
		expect(t, "last admin GET /api/admin", e.do(req{method: "GET", path: "/api/admin", bearer: b.access}), http.StatusOK, "")
	})
}

// A token's iat counts whole seconds: a disable and a re-enable within one second must not
// deny the tokens of the next login, while the tokens issued before the disable in that same
// second stay dead.
func TestAdminReenableWithinTheSameSecond(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, e *testEnv) {
		_, admin := e.adminLogin("admin@example.com")
		id := e.register("user@example.com")
		path := "/api/admin/users/" + id
		e.clock.Advance(300 * time.Millisecond)
		before := e.login("user@example.com")
		e.clock.Advance(400 * time.Millisecond)
		expect(t, "disable", e.do(req{method: "PATCH", path: path, body: map[string]any{"disabled": true}, bearer: admin.access}), http.StatusOK, "")
		e.clock.Advance(100 * time.Millisecond)
		expect(t, "re-enable", e.do(req{method: "PATCH", path: path, body: map[string]any{"disabled": false}, bearer: admin.access}), http.StatusOK, "")
		e.clock.Advance(100 * time.Millisecond)
		after := e.login("user@example.com")
		e.sessionAlive("login after a re-enable in the second of the disable", after)
		e.sessionDead("session opened before the disable in the same second", before)
	})
}
