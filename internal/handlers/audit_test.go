package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// flushAudit waits until every audit event recorded so far is in the store: it records a
// marker event and polls the store until the marker is there (the writer keeps order).
func (e *testEnv) flushAudit() {
	e.t.Helper()
	marker := uuid.NewString()
	e.audit.Record(context.Background(), models.AuditEvent{Type: "test_flush_marker", SessionID: marker}, models.AuditDetail{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := e.store.AuditEvents(context.Background(), models.AuditFilter{Type: "test_flush_marker"})
		if err != nil {
			e.t.Fatalf("store.AuditEvents(test_flush_marker) = %v", err)
		}
		for _, ev := range events {
			if ev.SessionID == marker {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("audit marker %s not written within 10s", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// auditGet calls GET /api/admin/audit?query as bearer and expects 200.
func (e *testEnv) auditGet(bearer, query string) listPage {
	e.t.Helper()
	return e.listPage(bearer, "/api/admin/audit?"+query, "events")
}

// auditAll reads every page of GET /api/admin/audit?query (pages of limit), after flushing.
func (e *testEnv) auditAll(bearer, query string, limit int) []listPage {
	e.t.Helper()
	e.flushAudit()
	var pages []listPage
	cursor := ""
	for len(pages) < 100 {
		q := fmt.Sprintf("limit=%d", limit)
		if query != "" {
			q += "&" + query
		}
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := e.auditGet(bearer, q)
		pages = append(pages, p)
		if p.next == nil {
			return pages
		}
		s, ok := p.next.(string)
		if !ok || s == "" {
			e.t.Fatalf("GET /api/admin/audit?%s: nextCursor = %v, want a string or null", q, p.next)
		}
		cursor = s
	}
	e.t.Fatalf("GET /api/admin/audit?%s: still a nextCursor after 100 pages", query)
	return nil
}

// auditEvents returns every event of GET /api/admin/audit?query, newest first.
func (e *testEnv) auditEvents(bearer, query string) []map[string]any {
	e.t.Helper()
	var all []map[string]any
	for _, p := range e.auditAll(bearer, query, 200) {
		all = append(all, p.items...)
	}
	return all
}

// auditFixture is what a case's setup prepared.
type auditFixture struct {
	adminID string
	admin   session
	userID  string
	user    session
	other   session // a second session of the user
}

func TestAuditEachActionWritesOneEvent(t *testing.T) {
	const wrong = "wrong password, not the one"
	tests := []struct {
		name    string
		mutate  func(*envConfig)
		setup   func(e *testEnv, f *auditFixture) // after the admin exists and is logged in
		act     func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder
		status  int
		typ     string
		user    func(f *auditFixture) string // "" means null
		session func(e *testEnv, f *auditFixture) string
		byAdmin bool // detail.actorId is the admin
	}{
		{
			name: "register",
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "new@example.com", "password": testPassword}})
				if rec.Code == http.StatusCreated {
					f.userID = jsonBody(e.t, rec)["user"].(map[string]any)["id"].(string)
				}
				return rec
			},
			status: http.StatusCreated, typ: "user_registered",
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name: "login",
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				rec := e.postLogin("user@example.com", testPassword)
				if rec.Code == http.StatusOK {
					f.user.access = jsonBody(e.t, rec)["accessToken"].(string)
				}
				return rec
			},
			status: http.StatusOK, typ: "login_succeeded",
			user:    func(f *auditFixture) string { return f.userID },
			session: func(e *testEnv, f *auditFixture) string { return sidOf(e.t, f.user.access) },
		},
		{
			name: "failed login",
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.postLogin("user@example.com", wrong)
			},
			status: http.StatusUnauthorized, typ: "login_failed",
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name: "failed login, unknown email",
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.postLogin("nobody@example.com", wrong)
			},
			status: http.StatusUnauthorized, typ: "login_failed",
			user: func(f *auditFixture) string { return "" },
		},
		{
			name:  "refresh",
			setup: func(e *testEnv, f *auditFixture) { f.user = e.login("user@example.com") },
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.refresh(f.user)
			},
			status: http.StatusOK, typ: "refresh",
			user:    func(f *auditFixture) string { return f.userID },
			session: func(e *testEnv, f *auditFixture) string { return sidOf(e.t, f.user.access) },
		},
		{
			name: "reuse detection",
			setup: func(e *testEnv, f *auditFixture) {
				f.user = e.login("user@example.com")
				expect(e.t, "refresh before reuse", e.refresh(f.user), http.StatusOK, "")
				e.clock.Advance(time.Minute) // past the reuse grace
			},
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.refresh(f.user) // the replaced token
			},
			status: http.StatusUnauthorized, typ: "token_reuse_detected",
			user:    func(f *auditFixture) string { return f.userID },
			session: func(e *testEnv, f *auditFixture) string { return sidOf(e.t, f.user.access) },
		},
		{
			name:  "logout",
			setup: func(e *testEnv, f *auditFixture) { f.user = e.login("user@example.com") },
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "POST", path: "/api/auth/logout", bearer: f.user.access, cookies: []*http.Cookie{f.user.refresh}})
			},
			status: http.StatusOK, typ: "logout",
			user:    func(f *auditFixture) string { return f.userID },
			session: func(e *testEnv, f *auditFixture) string { return sidOf(e.t, f.user.access) },
		},
		{
			name: "logout-all",
			setup: func(e *testEnv, f *auditFixture) {
				f.user, f.other = e.login("user@example.com"), e.login("user@example.com")
			},
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "POST", path: "/api/auth/logout-all", bearer: f.user.access})
			},
			status: http.StatusOK, typ: "logout_all",
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name: "session delete",
			setup: func(e *testEnv, f *auditFixture) {
				f.user, f.other = e.login("user@example.com"), e.login("user@example.com")
			},
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "DELETE", path: "/api/auth/sessions/" + sidOf(e.t, f.other.access), bearer: f.user.access})
			},
			status: http.StatusNoContent, typ: "session_revoked",
			user:    func(f *auditFixture) string { return f.userID },
			session: func(e *testEnv, f *auditFixture) string { return sidOf(e.t, f.other.access) },
		},
		{
			name: "password change",
			setup: func(e *testEnv, f *auditFixture) {
				f.user, f.other = e.login("user@example.com"), e.login("user@example.com")
			},
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "POST", path: "/api/auth/password", bearer: f.user.access,
					body: map[string]string{"currentPassword": testPassword, "newPassword": "a new and rather long passphrase"}})
			},
			status: http.StatusOK, typ: "password_changed",
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name: "admin update",
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "PATCH", path: "/api/admin/users/" + f.userID, body: map[string]any{"disabled": true}, bearer: f.admin.access})
			},
			status: http.StatusOK, typ: "user_updated", byAdmin: true,
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name:  "admin delete",
			setup: func(e *testEnv, f *auditFixture) { f.user = e.login("user@example.com") },
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "DELETE", path: "/api/admin/users/" + f.userID, bearer: f.admin.access})
			},
			status: http.StatusNoContent, typ: "user_deleted", byAdmin: true,
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name:  "admin ends sessions",
			setup: func(e *testEnv, f *auditFixture) { f.user = e.login("user@example.com") },
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.do(req{method: "DELETE", path: "/api/admin/users/" + f.userID + "/sessions", bearer: f.admin.access})
			},
			status: http.StatusNoContent, typ: "session_revoked", byAdmin: true,
			user: func(f *auditFixture) string { return f.userID },
		},
		{
			name:   "rate limited",
			mutate: func(c *envConfig) { c.AuthMax = 2 }, // the admin's login and the user's registration
			act: func(e *testEnv, f *auditFixture) *httptest.ResponseRecorder {
				return e.postLogin("user@example.com", testPassword)
			},
			status: http.StatusTooManyRequests, typ: "rate_limited",
			user: func(f *auditFixture) string { return "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.mutate)
			f := &auditFixture{}
			f.adminID, f.admin = e.adminLogin("admin@example.com")
			if tt.name != "register" {
				f.userID = e.register("user@example.com")
			}
			if tt.setup != nil {
				tt.setup(e, f)
			}
			before := map[string]bool{}
			for _, ev := range e.auditEvents(f.admin.access, "") {
				before[ev["id"].(string)] = true
			}

			rec := tt.act(e, f)
			expect(t, tt.name, rec, tt.status, "")

			var added []map[string]any
			for _, ev := range e.auditEvents(f.admin.access, "") {
				if !before[ev["id"].(string)] && ev["type"] != "test_flush_marker" {
					added = append(added, ev)
				}
			}
			if len(added) != 1 {
				t.Fatalf("%s: new audit events = %v, want exactly one %s", tt.name, added, tt.typ)
			}
			ev := added[0]
			if ev["type"] != tt.typ {
				t.Errorf("%s: event type = %v, want %s", tt.name, ev["type"], tt.typ)
			}
			checkAuditEventShape(t, tt.name, ev)
			if want := tt.user(f); want == "" && ev["userId"] != nil || want != "" && ev["userId"] != want {
				t.Errorf("%s: event userId = %v, want %q (null when empty)", tt.name, ev["userId"], want)
			}
			if tt.session != nil {
				if want := tt.session(e, f); ev["sessionId"] != want {
					t.Errorf("%s: event sessionId = %v, want %s", tt.name, ev["sessionId"], want)
				}
			}
			if ev["ip"] != "192.0.2.1" {
				t.Errorf("%s: event ip = %v, want 192.0.2.1 (the client's address)", tt.name, ev["ip"])
			}
			detail, _ := ev["detail"].(map[string]any)
			if tt.byAdmin && detail["actorId"] != f.adminID {
				t.Errorf("%s: event detail = %v, want actorId %s", tt.name, ev["detail"], f.adminID)
			}
			if !tt.byAdmin && detail["actorId"] != nil {
				t.Errorf("%s: event detail = %v, want no actorId", tt.name, ev["detail"])
			}
			// The type filter finds it too, and only events of that type.
			typed := e.auditEvents(f.admin.access, "type="+tt.typ)
			found := false
			for _, te := range typed {
				found = found || te["id"] == ev["id"]
				if te["type"] != tt.typ {
					t.Errorf("GET /api/admin/audit?type=%s returned an event of type %v", tt.typ, te["type"])
				}
			}
			if !found {
				t.Errorf("GET /api/admin/audit?type=%s = %v, want it to hold event %v", tt.typ, typed, ev["id"])
			}
		})
	}
}

// checkAuditEventShape checks an event's members and the forms of its id, time and detail.
func checkAuditEventShape(t *testing.T, what string, ev map[string]any) {
	t.Helper()
	var keys []string
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"createdAt", "detail", "id", "ip", "sessionId", "type", "userAgent", "userId"}; !slices.Equal(keys, want) {
		t.Errorf("%s: event members = %v, want %v", what, keys, want)
	}
	for _, k := range []string{"id", "userId", "sessionId"} {
		if v, ok := ev[k].(string); ok && uuid.Validate(v) != nil {
			t.Errorf("%s: event %s = %q, want a UUID", what, k, v)
		} else if !ok && (k == "id" || ev[k] != nil) {
			t.Errorf("%s: event %s = %v, want a UUID string", what, k, ev[k])
		}
	}
	if s, _ := ev["createdAt"].(string); s == "" {
		t.Errorf("%s: event createdAt = %v, want a time", what, ev["createdAt"])
	} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		t.Errorf("%s: event createdAt = %q: %v", what, s, err)
	}
	if _, ok := ev["detail"].(map[string]any); !ok {
		t.Errorf("%s: event detail = %v, want an object", what, ev["detail"])
	}
}

func TestAuditFilters(t *testing.T) {
	e := newEnv(t, nil)
	_, admin := e.adminLogin("admin@example.com")
	alice := e.register("alice@example.com")
	bob := e.register("bob@example.com")
	for range 3 {
		e.login("alice@example.com")
		expect(t, "bob bad login", e.postLogin("bob@example.com", "not bob's password"), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	e.login("bob@example.com")

	type filterCase struct {
		query     string
		wantUser  string
		wantType  string
		wantCount int
	}
	tests := []filterCase{
		{"userId=" + alice, alice, "", 4}, // registered, 3 logins
		{"userId=" + bob, bob, "", 5},     // registered, 3 failures, 1 login
		{"type=login_failed", "", "login_failed", 3},
		{"type=login_succeeded", "", "login_succeeded", 5}, // the admin's too
		{"type=user_registered", "", "user_registered", 2},
		{"userId=" + bob + "&type=login_succeeded", bob, "login_succeeded", 1},
		{"userId=" + alice + "&type=login_failed", alice, "login_failed", 0},
		{"userId=" + uuid.NewString(), "", "", 0},
		{"type=user_deleted", "", "user_deleted", 0},
		{"type=email_verification_sent", "", "email_verification_sent", 0}, // a type of a later feature
		{"type=passkey_removed", "", "passkey_removed", 0},
	}
	for _, typ := range models.AuditTypes() { // the filter accepts every listed type
		tests = append(tests, filterCase{"userId=" + uuid.NewString() + "&type=" + string(typ), "", string(typ), 0})
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			events := e.auditEvents(admin.access, tt.query)
			if len(events) != tt.wantCount {
				t.Errorf("GET /api/admin/audit?%s = %d events, want %d", tt.query, len(events), tt.wantCount)
			}
			for _, ev := range events {
				if tt.wantUser != "" && ev["userId"] != tt.wantUser || tt.wantType != "" && ev["type"] != tt.wantType {
					t.Errorf("GET /api/admin/audit?%s returned %v", tt.query, ev)
				}
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		all := e.auditEvents(admin.access, "userId="+bob)
		var ids, paged []string
		for _, ev := range all {
			ids = append(ids, ev["id"].(string))
		}
		pages := e.auditAll(admin.access, "userId="+bob, 2)
		var sizes []int
		for i, p := range pages {
			sizes = append(sizes, len(p.items))
			if last := i == len(pages)-1; last != (p.next == nil) {
				t.Errorf("page %d of %d: nextCursor = %v, want null only on the last page", i+1, len(pages), p.next)
			}
			for _, ev := range p.items {
				paged = append(paged, ev["id"].(string))
			}
		}
		if !slices.Equal(sizes, []int{2, 2, 1}) || !slices.Equal(paged, ids) {
			t.Errorf("GET /api/admin/audit?userId=bob&limit=2 pages of %v = %v, want [2 2 1] pages of %v in order", sizes, paged, ids)
		}
	})

	bad := []struct{ query, field string }{
		{"userId=abc", "userId"},
		{"userId=" + strings.ToUpper(alice) + "x", "userId"},
		{"type=nope", "type"},
		{"type=LOGIN_FAILED", "type"},
		{"type=test_flush_marker", "type"},
		{"limit=0", "limit"},
		{"cursor=zzz", "cursor"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			rec := e.do(req{method: "GET", path: "/api/admin/audit?" + tt.query, bearer: admin.access})
			expect(t, "GET /api/admin/audit?"+tt.query, rec, http.StatusBadRequest, "VALIDATION_ERROR")
			if _, ok := detailsOf(t, rec)[tt.field]; !ok {
				t.Errorf("GET /api/admin/audit?%s details = %v, want a problem for %s", tt.query, detailsOf(t, rec), tt.field)
			}
		})
	}
}

func TestAuditHoldsNoSecrets(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.LoginMaxFailures = 100 })
	var secrets []string
	keep := func(tokens ...string) {
		for _, tok := range tokens {
			sum := sha256.Sum256([]byte(tok))
			secrets = append(secrets, tok, hex.EncodeToString(sum[:]))
			if parts := strings.Split(tok, "."); len(parts) == 3 {
				secrets = append(secrets, parts[2]) // the signature alone
			}
		}
	}
	const (
		adminPass = "admin passphrase 9f8e7d6c"
		userPass  = "user passphrase 1a2b3c4d5e"
		newPass   = "changed passphrase 5e6f7a8b"
		wrongPass = "wrong passphrase 0c1d2e3f"
	)
	secrets = append(secrets, adminPass, userPass, newPass, wrongPass)
	if _, err := e.svc.CreateUser(context.Background(), "admin@example.com", adminPass, "admin"); err != nil {
		t.Fatalf("CreateUser(admin) = %v", err)
	}
	loginWith := func(email, password string) session {
		t.Helper()
		rec := e.postLogin(email, password)
		expect(t, "login "+email, rec, http.StatusOK, "")
		s := session{access: jsonBody(t, rec)["accessToken"].(string), refresh: cookie(rec, "refreshToken")}
		keep(s.access, s.refresh.Value)
		return s
	}
	admin := loginWith("admin@example.com", adminPass)
	rec := e.do(req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "user@example.com", "password": userPass}})
	expect(t, "register user", rec, http.StatusCreated, "")
	userID := jsonBody(t, rec)["user"].(map[string]any)["id"].(string)

	s1 := loginWith("user@example.com", userPass)
	rec = e.refresh(s1)
	expect(t, "refresh", rec, http.StatusOK, "")
	s2 := session{access: jsonBody(t, rec)["accessToken"].(string), refresh: cookie(rec, "refreshToken")}
	keep(s2.access, s2.refresh.Value)
	// A native client's body refresh.
	rec = e.do(req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refreshToken": s2.refresh.Value}})
	expect(t, "body refresh", rec, http.StatusOK, "")
	s3 := jsonBody(t, rec)
	keep(s3["accessToken"].(string), s3["refreshToken"].(string))
	e.clock.Advance(time.Minute)
	expect(t, "reuse", e.refresh(s1), http.StatusUnauthorized, "TOKEN_REUSE")

	expect(t, "wrong password", e.postLogin("user@example.com", wrongPass), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	expect(t, "unknown email", e.postLogin("ghost@example.com", userPass), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	s4 := loginWith("user@example.com", userPass)
	s5 := loginWith("user@example.com", userPass)
	expect(t, "wrong current password", e.do(req{method: "POST", path: "/api/auth/password", bearer: s4.access,
		body: map[string]string{"currentPassword": wrongPass, "newPassword": newPass}}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	expect(t, "password change", e.do(req{method: "POST", path: "/api/auth/password", bearer: s4.access,
		body: map[string]string{"currentPassword": userPass, "newPassword": newPass}}), http.StatusOK, "")
	expect(t, "refresh of an ended session", e.refresh(s5), http.StatusUnauthorized, "INVALID_REFRESH_TOKEN")
	s6 := loginWith("user@example.com", newPass)
	expect(t, "logout", e.do(req{method: "POST", path: "/api/auth/logout", bearer: s6.access, cookies: []*http.Cookie{s6.refresh}}), http.StatusOK, "")
	expect(t, "logout-all", e.do(req{method: "POST", path: "/api/auth/logout-all", bearer: s4.access}), http.StatusOK, "")
	expect(t, "logout with a stale token in the body", e.do(req{method: "POST", path: "/api/auth/logout", body: map[string]string{"refreshToken": s4.refresh.Value}}), http.StatusOK, "")
	expect(t, "admin disables", e.do(req{method: "PATCH", path: "/api/admin/users/" + userID, body: map[string]any{"disabled": true}, bearer: admin.access}), http.StatusOK, "")
	expect(t, "disabled login", e.postLogin("user@example.com", newPass), http.StatusForbidden, "ACCOUNT_DISABLED")

	// Every row, through the API (raw JSON of every page) and straight from the store.
	var haystacks []string
	var count int
	for _, p := range e.auditAll(admin.access, "", 5) {
		haystacks = append(haystacks, p.raw)
		count += len(p.items)
	}
	rows, err := e.store.AuditEvents(context.Background(), models.AuditFilter{})
	if err != nil {
		t.Fatalf("store.AuditEvents() = %v", err)
	}
	types := map[models.AuditType]bool{}
	for _, r := range rows {
		types[r.Type] = true
		haystacks = append(haystacks, fmt.Sprintf("%#v", r))
	}
	if count != len(rows) || len(rows) < 15 {
		t.Fatalf("audit rows: %d through the API, %d in the store, want the same, at least 15", count, len(rows))
	}
	for _, typ := range []models.AuditType{"login_succeeded", "login_failed", "refresh", "token_reuse_detected", "password_changed", "logout", "logout_all", "user_updated"} {
		if !types[typ] {
			t.Errorf("audit rows have no %s event; the scan would miss it", typ)
		}
	}
	for _, h := range haystacks {
		lower := strings.ToLower(h)
		for _, s := range secrets {
			if i := strings.Index(lower, strings.ToLower(s)); i >= 0 {
				t.Errorf("audit trail holds the secret %q: ...%s...", s, h[max(i-200, 0):min(i+len(s)+50, len(h))])
			}
		}
	}
}
