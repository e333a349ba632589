package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/store/storetest"
)

// TestHostileInput sends malformed and hostile requests to every kind of endpoint, on each
// database: each must get a JSON error below 500 (or a success), never a 500 or a panic.
func TestHostileInput(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, func(c *envConfig) { c.Store = b.Open(t) })
			e.makeAdmin("root@example.com")
			admin := e.login("root@example.com")
			user := e.login("root@example.com")
			nul, badUTF8 := "a\x00b@example.com", "\xff\xfe@example.com"
			cases := []req{
				{method: "POST", path: "/api/auth/register", body: map[string]string{"email": nul, "password": testPassword}},
				{method: "POST", path: "/api/auth/register", body: map[string]string{"email": badUTF8, "password": testPassword}},
				{method: "POST", path: "/api/auth/register", body: map[string]string{"email": "x@example.com", "password": "pass\x00word-long-enough"}},
				{method: "POST", path: "/api/auth/register", body: `{"email":["a"],"password":{"x":1}}`},
				{method: "POST", path: "/api/auth/register", body: `[1,2,3]`},
				{method: "POST", path: "/api/auth/register", body: `null`},
				{method: "POST", path: "/api/auth/register", body: `{"email":"a@example.com","password":"` + strings.Repeat("x", 9000) + `"}`},
				{method: "POST", path: "/api/auth/login", body: map[string]string{"email": nul, "password": testPassword}},
				{method: "POST", path: "/api/auth/login", body: map[string]string{"email": badUTF8, "password": "\xff"}},
				{method: "POST", path: "/api/auth/login", body: map[string]string{"email": strings.Repeat("a", 5000) + "@x.com", "password": "x"}},
				{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "root@example.com", "password": testPassword},
					headers: map[string]string{"User-Agent": "evil\x00agent\xff" + strings.Repeat("u", 2000)}},
				{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refreshToken": "a.b.c"}},
				{method: "POST", path: "/api/auth/refresh", body: map[string]any{"refreshToken": 12}},
				{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{{Name: "refreshToken", Value: "%%%"}}},
				{method: "POST", path: "/api/auth/logout", body: `{{{`},
				{method: "DELETE", path: "/api/auth/sessions/'%20OR%201=1%20--", bearer: user.access},
				{method: "DELETE", path: "/api/auth/sessions/%00", bearer: user.access},
				{method: "POST", path: "/api/auth/password", bearer: user.access, body: map[string]string{"currentPassword": "\x00", "newPassword": badUTF8}},
				{method: "GET", path: "/api/admin/users?q=%00&limit=abc&cursor=%%", bearer: admin.access},
				{method: "GET", path: "/api/admin/users?q=%ff%fe", bearer: admin.access},
				{method: "GET", path: "/api/admin/users?limit=-1", bearer: admin.access},
				{method: "GET", path: "/api/admin/users?cursor=" + strings.Repeat("A", 500), bearer: admin.access},
				{method: "GET", path: "/api/admin/audit?userId=%00&type=%ff", bearer: admin.access},
				{method: "PATCH", path: "/api/admin/users/not-a-uuid", bearer: admin.access, body: map[string]any{"role": "admin"}},
				{method: "PATCH", path: "/api/admin/users/00000000-0000-0000-0000-000000000000", bearer: admin.access, body: map[string]any{"role": "root"}},
				{method: "PATCH", path: "/api/admin/users/00000000-0000-0000-0000-000000000000", bearer: admin.access, body: map[string]any{"disabled": "yes"}},
				{method: "DELETE", path: "/api/admin/users/%27%3B%20DROP%20TABLE%20users", bearer: admin.access},
				{method: "DELETE", path: "/api/admin/users/00000000-0000-0000-0000-000000000000/sessions", bearer: admin.access},
				{method: "GET", path: "/api/profile", headers: map[string]string{"Authorization": "Bearer " + strings.Repeat("A", 9000)}},
				{method: "GET", path: "/api/profile", headers: map[string]string{"Authorization": "Bearer \xff.\xfe.\x00"}},
			}
			for _, r := range cases {
				rec := e.do(r)
				what := r.method + " " + r.path
				if rec.Code >= 500 {
					t.Errorf("%s: status = %d, want below 500 (body %s)", what, rec.Code, rec.Body.String())
					continue
				}
				if rec.Code >= 400 {
					var body struct{ Message, Code string }
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code == "" || body.Message == "" {
						t.Errorf("%s: status %d body = %q, want a JSON error with message and code", what, rec.Code, rec.Body.String())
					}
				}
			}
			// The admin can still work: nothing above broke the store.
			expect(t, "GET /api/admin/users after hostile input", e.do(req{method: "GET", path: "/api/admin/users", bearer: admin.access}), http.StatusOK, "")
		})
	}
}
