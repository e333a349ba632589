package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/docs"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys/passkeytest"
	"github.com/authserver/authserver/internal/store/storetest"
)

// The conformance test drives the real server through every operation of docs/openapi.yaml and
// validates each real request and response against the document (kin-openapi's openapi3filter),
// so the document cannot drift from the code. It fails when:
//   - a route of the Gin engine is not in the document, or an operation has no row below;
//   - a status an operation documents is driven by no row and not excused in notDriven;
//   - a response (status, headers, body) does not match what the document declares.
//
// Adding a route: add its operation to docs/openapi.yaml and, here, one row per status it
// documents to conformanceCases:
//
//	{op: "POST /api/widgets", status: 201, build: func(f *fixture) req { return req{...} }},
//
// 403 (foreign Origin), 413 (a declared Content-Length over 10 KiB), 429 (a second request
// under a limit of 1) and 503 (the database closed) are driven for every operation documenting
// them, from the row of its success status: only that row is needed for them.

// fixture is what the rows build their requests from: a user with a session and an admin.
type fixture struct {
	e          *testEnv
	user       session
	userID     string
	admin      session
	adminID    string
	otherID    string // a user with a session of their own
	introToken string
	calls      int // setup requests so far
}

// conformanceCase is one request and the status it must get.
type conformanceCase struct {
	op     string // "METHOD /path" as in docs/openapi.yaml
	status int
	build  func(f *fixture) req
	// offContract marks a request that breaks the document on purpose (malformed JSON, an
	// unknown method): its response is still validated, the request is not.
	offContract bool
}

const (
	conformanceEmail   = "conform@example.com"
	conformanceAdmin   = "conform-admin@example.com"
	conformanceOther   = "conform-other@example.com"
	introspectionToken = "introspection-token-for-conformance-0123456789"
	unknownID          = "00000000-0000-4000-8000-000000000000"
)

// jsonReq is a request with a JSON body.
func jsonReq(method, path string, body any, bearer string) req {
	return req{method: method, path: path, body: body, bearer: bearer}
}

// conformanceCases: every operation's success, then the errors it documents.
var conformanceCases = []conformanceCase{
	{op: "POST /api/auth/register", status: 201, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/register", map[string]string{"email": fmt.Sprintf("new-%d@example.com", time.Now().UnixNano()), "password": testPassword}, "")
	}},
	{op: "POST /api/auth/register", status: 400, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/register", map[string]string{"email": "not-an-email", "password": testPassword}, "")
	}},
	{op: "POST /api/auth/register", status: 409, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/register", map[string]string{"email": conformanceEmail, "password": testPassword}, "")
	}},
	{op: "POST /api/auth/login", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/login", map[string]string{"email": conformanceEmail, "password": testPassword}, "")
	}},
	{op: "POST /api/auth/login", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/login", body: "{not json"}
	}},
	{op: "POST /api/auth/login", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/login", map[string]string{"email": conformanceOther, "password": "wrong-password-123"}, "")
	}},
	{op: "POST /api/auth/refresh", status: 200, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{f.login(conformanceEmail).refresh}}
	}},
	{op: "POST /api/auth/refresh", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/refresh", body: "[1,2]"}
	}},
	{op: "POST /api/auth/refresh", status: 401, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/refresh"}
	}},
	{op: "POST /api/auth/logout", status: 200, build: func(f *fixture) req {
		s := f.login(conformanceEmail)
		return req{method: "POST", path: "/api/auth/logout", bearer: s.access, cookies: []*http.Cookie{s.refresh}}
	}},
	{op: "POST /api/auth/logout-all", status: 200, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/logout-all", bearer: f.login(conformanceOther).access}
	}},
	{op: "POST /api/auth/logout-all", status: 401, build: func(f *fixture) req {
		return req{method: "POST", path: "/api/auth/logout-all"}
	}},
	{op: "GET /api/auth/sessions", status: 200, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/auth/sessions", bearer: f.user.access}
	}},
	{op: "GET /api/auth/sessions", status: 401, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/auth/sessions", bearer: "not.a.jwt"}
	}},
	{op: "DELETE /api/auth/sessions/{id}", status: 204, build: func(f *fixture) req {
		s := f.login(conformanceEmail)
		sid := sidOf(f.e.t, s.access)
		return req{method: "DELETE", path: "/api/auth/sessions/" + sid, bearer: f.user.access}
	}},
	{op: "DELETE /api/auth/sessions/{id}", status: 401, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/auth/sessions/" + unknownID}
	}},
	{op: "DELETE /api/auth/sessions/{id}", status: 404, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/auth/sessions/" + unknownID, bearer: f.user.access}
	}},
	{op: "POST /api/auth/password", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password", map[string]string{"currentPassword": testPassword, "newPassword": testPassword}, f.login(conformanceOther).access)
	}},
	{op: "POST /api/auth/password", status: 400, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password", map[string]string{"currentPassword": testPassword, "newPassword": "short"}, f.user.access)
	}},
	{op: "POST /api/auth/password", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password", map[string]string{"currentPassword": "wrong-password-123", "newPassword": testPassword}, f.user.access)
	}},
	{op: "GET /api/profile", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/api/profile", bearer: f.user.access} }},
	{op: "GET /api/profile", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/profile"} }},
	{op: "GET /api/dashboard", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/api/dashboard", bearer: f.user.access} }},
	{op: "GET /api/dashboard", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/dashboard"} }},
	{op: "GET /api/me", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/api/me", bearer: f.user.access} }},
	{op: "GET /api/me", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/me"} }},
	{op: "GET /api/admin", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/api/admin", bearer: f.admin.access} }},
	{op: "GET /api/admin", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/admin"} }},
	{op: "GET /api/admin/users", status: 200, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/admin/users?limit=2", bearer: f.admin.access}
	}},
	{op: "GET /api/admin/users", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/admin/users?limit=0", bearer: f.admin.access}
	}},
	{op: "GET /api/admin/users", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/admin/users"} }},
	{op: "PATCH /api/admin/users/{id}", status: 200, build: func(f *fixture) req {
		return jsonReq("PATCH", "/api/admin/users/"+f.otherID, map[string]any{"disabled": false}, f.admin.access)
	}},
	{op: "PATCH /api/admin/users/{id}", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("PATCH", "/api/admin/users/"+f.otherID, map[string]any{}, f.admin.access)
	}},
	{op: "PATCH /api/admin/users/{id}", status: 401, build: func(f *fixture) req {
		return jsonReq("PATCH", "/api/admin/users/"+f.otherID, map[string]any{"disabled": false}, "")
	}},
	{op: "PATCH /api/admin/users/{id}", status: 404, build: func(f *fixture) req {
		return jsonReq("PATCH", "/api/admin/users/"+unknownID, map[string]any{"disabled": false}, f.admin.access)
	}},
	{op: "PATCH /api/admin/users/{id}", status: 409, build: func(f *fixture) req {
		return jsonReq("PATCH", "/api/admin/users/"+f.adminID, map[string]any{"role": "user"}, f.admin.access)
	}},
	{op: "DELETE /api/admin/users/{id}", status: 204, build: func(f *fixture) req {
		id := f.register(fmt.Sprintf("doomed-%d@example.com", time.Now().UnixNano()))
		return req{method: "DELETE", path: "/api/admin/users/" + id, bearer: f.admin.access}
	}},
	{op: "DELETE /api/admin/users/{id}", status: 401, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.otherID}
	}},
	{op: "DELETE /api/admin/users/{id}", status: 404, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + unknownID, bearer: f.admin.access}
	}},
	{op: "DELETE /api/admin/users/{id}", status: 409, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.adminID, bearer: f.admin.access}
	}},
	{op: "DELETE /api/admin/users/{id}/sessions", status: 204, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.otherID + "/sessions", bearer: f.admin.access}
	}},
	{op: "DELETE /api/admin/users/{id}/sessions", status: 401, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.otherID + "/sessions"}
	}},
	{op: "DELETE /api/admin/users/{id}/sessions", status: 404, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + unknownID + "/sessions", bearer: f.admin.access}
	}},
	{op: "GET /api/admin/audit", status: 200, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/admin/audit?limit=5", bearer: f.admin.access}
	}},
	{op: "GET /api/admin/audit", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/admin/audit?type=no_such_type", bearer: f.admin.access}
	}},
	{op: "GET /api/admin/audit", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/admin/audit"} }},
	{op: "GET /api/auth/mfa", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/api/auth/mfa", bearer: f.user.access} }},
	{op: "GET /api/auth/mfa", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/auth/mfa"} }},
	{op: "POST /api/auth/mfa/totp", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/totp", map[string]string{"password": testPassword}, f.fresh().access)
	}},
	{op: "POST /api/auth/mfa/totp", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/totp", map[string]string{}, f.user.access)
	}},
	{op: "POST /api/auth/mfa/totp", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/totp", map[string]string{"password": "wrong-password-123"}, f.user.access)
	}},
	{op: "POST /api/auth/mfa/totp", status: 409, build: func(f *fixture) req {
		s, _ := f.enrolled()
		return jsonReq("POST", "/api/auth/mfa/totp", map[string]string{"password": testPassword}, s.access)
	}},
	{op: "POST /api/auth/mfa/totp/confirm", status: 200, build: func(f *fixture) req {
		s, secret := f.pending()
		return jsonReq("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": f.e.totp(secret, 0)}, s.access)
	}},
	{op: "POST /api/auth/mfa/totp/confirm", status: 400, build: func(f *fixture) req {
		s, secret := f.pending()
		return jsonReq("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": f.e.wrongCode(secret)}, s.access)
	}},
	{op: "POST /api/auth/mfa/totp/confirm", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": "123456"}, "")
	}},
	{op: "POST /api/auth/mfa/totp/confirm", status: 409, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/totp/confirm", map[string]string{"code": "123456"}, f.fresh().access)
	}},
	{op: "DELETE /api/auth/mfa/totp", status: 204, build: func(f *fixture) req {
		s, en := f.enrolled()
		return jsonReq("DELETE", "/api/auth/mfa/totp", map[string]string{"code": f.e.totp(en.secret, 0)}, s.access)
	}},
	{op: "DELETE /api/auth/mfa/totp", status: 400, build: func(f *fixture) req {
		s, en := f.enrolled()
		return jsonReq("DELETE", "/api/auth/mfa/totp", map[string]string{"code": f.e.wrongCode(en.secret)}, s.access)
	}},
	{op: "DELETE /api/auth/mfa/totp", status: 401, build: func(f *fixture) req {
		return jsonReq("DELETE", "/api/auth/mfa/totp", map[string]string{"code": "123456"}, "")
	}},
	{op: "POST /api/auth/mfa/recovery-codes", status: 200, build: func(f *fixture) req {
		s, en := f.enrolled()
		return jsonReq("POST", "/api/auth/mfa/recovery-codes", map[string]string{"code": f.e.totp(en.secret, 0)}, s.access)
	}},
	{op: "POST /api/auth/mfa/recovery-codes", status: 400, build: func(f *fixture) req {
		s, en := f.enrolled()
		return jsonReq("POST", "/api/auth/mfa/recovery-codes", map[string]string{"code": f.e.wrongCode(en.secret)}, s.access)
	}},
	{op: "POST /api/auth/mfa/recovery-codes", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/recovery-codes", map[string]string{"code": "123456"}, "")
	}},
	{op: "POST /api/auth/mfa/verify", status: 200, build: func(f *fixture) req {
		_, en := f.enrolled()
		return jsonReq("POST", "/api/auth/mfa/verify", map[string]string{"mfaToken": f.e.mfaLogin(en.email), "code": f.e.totp(en.secret, 0)}, "")
	}},
	{op: "POST /api/auth/mfa/verify", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/verify", map[string]string{}, "")
	}},
	{op: "POST /api/auth/mfa/verify", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/mfa/verify", map[string]string{"mfaToken": "not-a-token", "code": "123456"}, "")
	}},
	{op: "DELETE /api/admin/users/{id}/mfa", status: 204, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.otherID + "/mfa", bearer: f.admin.access}
	}},
	{op: "DELETE /api/admin/users/{id}/mfa", status: 401, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + f.otherID + "/mfa"}
	}},
	{op: "DELETE /api/admin/users/{id}/mfa", status: 404, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/admin/users/" + unknownID + "/mfa", bearer: f.admin.access}
	}},
	{op: "GET /forward-auth", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/forward-auth", bearer: f.user.access} }},
	{op: "GET /forward-auth", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "GET", path: "/forward-auth?role=superuser", bearer: f.user.access}
	}},
	{op: "GET /forward-auth", status: 403, build: func(f *fixture) req {
		return req{method: "GET", path: "/forward-auth?role=admin", bearer: f.user.access}
	}},
	{op: "GET /forward-auth", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/forward-auth"} }},
	{op: "GET /forward-auth", status: 405, offContract: true, build: func(f *fixture) req {
		return req{method: "POST", path: "/forward-auth", bearer: f.user.access}
	}},
	{op: "POST /oauth/introspect", status: 200, build: func(f *fixture) req {
		return req{method: "POST", path: "/oauth/introspect", body: "token=" + url.QueryEscape(f.user.access),
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + f.introToken}}
	}},
	{op: "POST /oauth/introspect", status: 400, offContract: true, build: func(f *fixture) req {
		return req{method: "POST", path: "/oauth/introspect", body: "",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + f.introToken}}
	}},
	{op: "POST /oauth/introspect", status: 401, build: func(f *fixture) req {
		return req{method: "POST", path: "/oauth/introspect", body: "token=x",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer wrong-client-token"}}
	}},
	{op: "POST /oauth/introspect", status: 405, offContract: true, build: func(f *fixture) req {
		return req{method: "GET", path: "/oauth/introspect"}
	}},
	{op: "POST /api/auth/verify-email/resend", status: 202, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/verify-email/resend", map[string]string{"email": "nobody@example.com"}, "")
	}},
	{op: "POST /api/auth/verify-email/resend", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/verify-email/resend", map[string]string{}, "")
	}},
	{op: "POST /api/auth/verify-email", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/verify-email", map[string]string{"token": f.emailToken(models.PurposeVerifyEmail, "")}, "")
	}},
	{op: "POST /api/auth/verify-email", status: 400, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/verify-email", map[string]string{"token": "forged"}, "")
	}},
	{op: "POST /api/auth/password/forgot", status: 202, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password/forgot", map[string]string{"email": "nobody@example.com"}, "")
	}},
	{op: "POST /api/auth/password/forgot", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password/forgot", map[string]string{}, "")
	}},
	{op: "POST /api/auth/password/reset", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password/reset", map[string]string{"token": f.emailToken(models.PurposeResetPassword, ""),
			"newPassword": "a brand new passphrase 42"}, "")
	}},
	{op: "POST /api/auth/password/reset", status: 400, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/password/reset", map[string]string{"token": "forged", "newPassword": "a brand new passphrase 42"}, "")
	}},
	{op: "POST /api/auth/email", status: 202, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email", map[string]string{"password": testPassword,
			"newEmail": fmt.Sprintf("moved-%d@example.com", time.Now().UnixNano())}, f.fresh().access)
	}},
	{op: "POST /api/auth/email", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email", map[string]string{"password": testPassword}, f.user.access)
	}},
	{op: "POST /api/auth/email", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email", map[string]string{"password": "wrong-password-123", "newEmail": "x@example.com"}, f.user.access)
	}},
	{op: "POST /api/auth/email", status: 409, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email", map[string]string{"password": testPassword, "newEmail": conformanceOther}, f.user.access)
	}},
	{op: "POST /api/auth/email/confirm", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email/confirm", map[string]string{"token": f.emailToken(models.PurposeChangeEmail,
			fmt.Sprintf("confirmed-%d@example.com", time.Now().UnixNano()))}, "")
	}},
	{op: "POST /api/auth/email/confirm", status: 400, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email/confirm", map[string]string{"token": "forged"}, "")
	}},
	{op: "POST /api/auth/email/confirm", status: 409, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/email/confirm", map[string]string{"token": f.emailToken(models.PurposeChangeEmail, conformanceOther)}, "")
	}},
	{op: "POST /api/admin/users/{id}/password-reset", status: 202, build: func(f *fixture) req {
		return jsonReq("POST", "/api/admin/users/"+f.otherID+"/password-reset", nil, f.admin.access)
	}},
	{op: "POST /api/admin/users/{id}/password-reset", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/admin/users/"+f.otherID+"/password-reset", nil, "")
	}},
	{op: "POST /api/admin/users/{id}/password-reset", status: 403, build: func(f *fixture) req {
		return jsonReq("POST", "/api/admin/users/"+f.otherID+"/password-reset", nil, f.user.access)
	}},
	{op: "POST /api/admin/users/{id}/password-reset", status: 404, build: func(f *fixture) req {
		return jsonReq("POST", "/api/admin/users/"+unknownID+"/password-reset", nil, f.admin.access)
	}},
	{op: "POST /api/auth/passkeys/register/options", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/passkeys/register/options", nil, f.user.access)
	}},
	{op: "POST /api/auth/passkeys/register/options", status: 401, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/passkeys/register/options", nil, "")
	}},
	{op: "POST /api/auth/passkeys/register", status: 201, build: func(f *fixture) req {
		return f.passkeyRegistration(f.user)
	}},
	{op: "POST /api/auth/passkeys/register", status: 400, offContract: true, build: func(f *fixture) req {
		c := f.e.options("register options", "/api/auth/passkeys/register/options", f.user.access, nil)
		return jsonReq("POST", "/api/auth/passkeys/register", map[string]any{"challengeId": c.ChallengeID, "credential": map[string]any{"id": "x"}}, f.user.access)
	}},
	{op: "POST /api/auth/passkeys/register", status: 401, build: func(f *fixture) req {
		r := f.passkeyRegistration(f.user)
		r.bearer = ""
		return r
	}},
	{op: "POST /api/auth/passkeys/register", status: 409, build: func(f *fixture) req {
		s := f.fresh()
		for i := range 20 {
			f.e.addPasskey(s, fmt.Sprintf("key %d", i))
		}
		return f.passkeyRegistration(s)
	}},
	{op: "GET /api/auth/passkeys", status: 200, build: func(f *fixture) req {
		return req{method: "GET", path: "/api/auth/passkeys", bearer: f.user.access}
	}},
	{op: "GET /api/auth/passkeys", status: 401, build: func(f *fixture) req { return req{method: "GET", path: "/api/auth/passkeys"} }},
	{op: "DELETE /api/auth/passkeys/{id}", status: 204, build: func(f *fixture) req {
		_, id := f.e.addPasskey(f.user, "to delete")
		return req{method: "DELETE", path: "/api/auth/passkeys/" + id, bearer: f.user.access}
	}},
	{op: "DELETE /api/auth/passkeys/{id}", status: 401, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/auth/passkeys/" + unknownID}
	}},
	{op: "DELETE /api/auth/passkeys/{id}", status: 404, build: func(f *fixture) req {
		return req{method: "DELETE", path: "/api/auth/passkeys/" + unknownID, bearer: f.user.access}
	}},
	{op: "DELETE /api/auth/passkeys/{id}", status: 409, build: func(f *fixture) req {
		// An account without a password (none can be made through the API today) keeps its last passkey.
		email := fmt.Sprintf("passwordless-%d@example.com", time.Now().UnixNano())
		userID := f.register(email)
		a, id := f.e.addPasskey(f.login(email), "last")
		if _, err := f.e.store.ChangePassword(context.Background(), userID, "", "", f.e.clock.Now(), f.e.clock.Now()); err != nil {
			f.e.t.Fatalf("clear the password: %v", err)
		}
		rec := f.e.passkeyLogin(a)
		expect(f.e.t, "passkey login without a password", rec, http.StatusOK, "")
		return req{method: "DELETE", path: "/api/auth/passkeys/" + id, bearer: jsonBody(f.e.t, rec)["accessToken"].(string)}
	}},
	{op: "POST /api/auth/passkeys/login/options", status: 200, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/passkeys/login/options", map[string]any{"email": conformanceEmail}, "")
	}},
	{op: "POST /api/auth/passkeys/login/options", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/passkeys/login/options", map[string]any{"email": 42}, "")
	}},
	{op: "POST /api/auth/passkeys/login", status: 200, build: func(f *fixture) req {
		a, _ := f.e.addPasskey(f.fresh(), "sign-in")
		return f.passkeyAssertion(a)
	}},
	{op: "POST /api/auth/passkeys/login", status: 400, offContract: true, build: func(f *fixture) req {
		return jsonReq("POST", "/api/auth/passkeys/login", map[string]any{"challengeId": "x"}, "")
	}},
	{op: "POST /api/auth/passkeys/login", status: 401, build: func(f *fixture) req {
		return f.passkeyAssertion(passkeytest.New(f.e.t, passkeyOrigin)) // never registered
	}},
	{op: "GET /.well-known/jwks.json", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/.well-known/jwks.json"} }},
	{op: "GET /healthz", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/healthz"} }},
	{op: "GET /readyz", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/readyz"} }},
	{op: "GET /metrics", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/metrics"} }},
	{op: "GET /openapi.json", status: 200, build: func(f *fixture) req { return req{method: "GET", path: "/openapi.json"} }},
}

// notDriven excuses documented statuses this test cannot produce, each with the reason; every
// other documented status must be driven.
var notDriven = map[string]string{
	"500":                         "only an unexpected fault (a bug, a panic) answers 500; no request produces one on purpose",
	"POST /api/auth/register 403": "REGISTRATION_DISABLED needs ALLOW_REGISTRATION=false: covered by the generic foreign-Origin 403",
	"POST /oauth/introspect 404":  "the route exists only with INTROSPECTION_TOKENS; this server has them",
	"POST /api/auth/password 404": "the user deleted while another instance still accepts the token: needs two instances",
	"GET /api/me 404":             "the user deleted while another instance still accepts the token: needs two instances",
	"GET /forward-auth 503":       "forward-auth reads the database only for ?role=admin; TestForwardAuth* drive that",
	"POST /api/auth/password/forgot 503": "MAIL_NOT_CONFIGURED needs a server without mail (TestMailNotConfigured); with the database " +
		"closed the answer is still 202: the lookup runs after it",
	"POST /api/auth/verify-email/resend 503": "as for forgot-password: TestMailNotConfigured drives MAIL_NOT_CONFIGURED",
}

// originNotJudged are the operations that answer a proxy or a back end, not a browser: they judge
// no Origin (their 403 is a role or MFA refusal, driven by a row).
var originNotJudged = map[string]bool{"GET /forward-auth": true, "POST /oauth/introspect": true}

// conformanceDoc loads docs/openapi.yaml (as served) with base as its only server.
func conformanceDoc(t *testing.T, base string) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPIJSON())
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router of the OpenAPI document: %v", err)
	}
	return doc, router
}

// documented returns "METHOD /path" → the statuses each operation of doc declares.
func documented(doc *openapi3.T) map[string][]int {
	out := make(map[string][]int)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				n, _ := strconv.Atoi(code)
				out[method+" "+path] = append(out[method+" "+path], n)
			}
		}
	}
	return out
}

// conformanceServer is one real server reached over HTTP, with the document to check it against.
type conformanceServer struct {
	t      *testing.T
	e      *testEnv
	url    string
	router routers.Router
	driven map[string]bool // "METHOD /path STATUS"
}

// newConformanceServer starts the real server (mutate as for newEnv) behind httptest.NewServer.
func newConformanceServer(t *testing.T, driven map[string]bool, mutate func(*envConfig)) *conformanceServer {
	e := newEnv(t, func(c *envConfig) {
		c.Introspection = []string{introspectionToken}
		c.Mail = true
		withPasskeys(c)
		if mutate != nil {
			mutate(c)
		}
	})
	ts := httptest.NewServer(e.h)
	t.Cleanup(ts.Close)
	_, router := conformanceDoc(t, ts.URL)
	return &conformanceServer{t: t, e: e, url: ts.URL, router: router, driven: driven}
}

// newFixture makes the users and sessions the rows use.
func (s *conformanceServer) newFixture() *fixture {
	f := &fixture{e: s.e, introToken: introspectionToken}
	f.userID = f.register(conformanceEmail)
	f.otherID = f.register(conformanceOther)
	f.adminID = s.e.makeAdmin(conformanceAdmin)
	f.user, f.admin = f.login(conformanceEmail), f.login(conformanceAdmin)
	return f
}

// clientAddr returns a client address of its own for each setup request, so that setup never
// counts against the per-IP limits the rows are checked under (they come from 127.0.0.1).
func (f *fixture) clientAddr() string {
	f.calls++
	return fmt.Sprintf("198.51.100.%d:4000", f.calls%250+1)
}

// register creates a user through the API, from a client address of its own, and returns its id.
func (f *fixture) register(email string) string { return f.e.registerFrom(email, f.clientAddr()) }

// login opens a session of email through the API, from a client address of its own.
func (f *fixture) login(email string) session { return f.e.loginFrom(email, f.clientAddr()) }

// emailToken stores an emailed token of purpose for a fresh user (for a change of address, to
// address to) and returns it, as if read out of the mail.
func (f *fixture) emailToken(purpose models.EmailPurpose, to string) string {
	email := fmt.Sprintf("token-%d-%d@example.com", f.calls, time.Now().UnixNano())
	id := f.register(email)
	if to == "" {
		to = email
	}
	raw := fmt.Sprintf("conformance-token-%d", time.Now().UnixNano())
	sum := sha256.Sum256([]byte(raw))
	now := f.e.clock.Now()
	t := &models.EmailToken{TokenHash: sum[:], UserID: id, Purpose: purpose, Email: to, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.e.store.IssueEmailToken(context.Background(), t, time.Time{}); err != nil {
		f.e.t.Fatalf("IssueEmailToken: %v", err)
	}
	return raw
}

// fresh registers a new user and returns a session of theirs.
func (f *fixture) fresh() session {
	email := fmt.Sprintf("fresh-%d-%d@example.com", f.calls, time.Now().UnixNano())
	f.register(email)
	return f.login(email)
}

// passkeyRegistration is a finished registration of a new software authenticator for s's user.
func (f *fixture) passkeyRegistration(s session) req {
	a := passkeytest.New(f.e.t, passkeyOrigin)
	c := f.e.options("register options", "/api/auth/passkeys/register/options", s.access, nil)
	body := map[string]any{"challengeId": c.ChallengeID, "credential": json.RawMessage(a.Create(f.e.t, c.Options)), "name": "conformance"}
	return jsonReq("POST", "/api/auth/passkeys/register", body, s.access)
}

// passkeyAssertion is a username-less passkey login with a.
func (f *fixture) passkeyAssertion(a *passkeytest.Authenticator) req {
	c := f.e.options("login options", "/api/auth/passkeys/login/options", "", map[string]any{})
	return jsonReq("POST", "/api/auth/passkeys/login", map[string]any{"challengeId": c.ChallengeID, "credential": json.RawMessage(a.Get(f.e.t, c.Options))}, "")
}

// pending returns a fresh user's session with a pending TOTP factor, and its secret.
func (f *fixture) pending() (session, string) {
	s := f.fresh()
	rec := f.e.do(req{method: "POST", path: "/api/auth/mfa/totp", bearer: s.access, body: map[string]string{"password": testPassword}})
	expect(f.e.t, "POST /api/auth/mfa/totp", rec, http.StatusOK, "")
	return s, jsonBody(f.e.t, rec)["secret"].(string)
}

// mfaUser is a user with TOTP on.
type mfaUser struct {
	email, secret string
}

// enrolled returns a fresh user's session with TOTP on, and the user.
func (f *fixture) enrolled() (session, mfaUser) {
	email := fmt.Sprintf("mfa-%d-%d@example.com", f.calls, time.Now().UnixNano())
	f.register(email)
	s := f.login(email)
	en := f.e.enrol(s)
	return s, mfaUser{email: email, secret: en.secret}
}

// check sends r over HTTP, expects status, and validates the request (unless offContract) and the
// response against the document's operation op.
func (s *conformanceServer) check(op string, status int, r req, offContract bool) {
	t := s.t
	t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	newRequest := func(method string) *http.Request {
		hr, err := http.NewRequest(method, s.url+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.setHeaders(hr)
		return hr
	}
	sent := newRequest(r.method)
	if r.headers["Content-Length"] != "" {
		sent.ContentLength, _ = strconv.ParseInt(r.headers["Content-Length"], 10, 64)
	}
	resp, err := http.DefaultClient.Do(sent)
	if err != nil {
		t.Fatalf("%s (%s %s): %v", op, r.method, r.path, err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	what := fmt.Sprintf("%s → %d (sent %s %s)", op, status, r.method, r.path)
	if resp.StatusCode != status {
		t.Errorf("%s: got %d %s", what, resp.StatusCode, clipTo(string(got), 300))
		return
	}
	method, _, _ := strings.Cut(op, " ")
	route, params, err := s.router.FindRoute(newRequest(method))
	if err != nil {
		t.Fatalf("%s: the document has no operation for it: %v", what, err)
	}
	if route.Method+" "+route.Path != op {
		t.Fatalf("%s: matched the document's %s %s", what, route.Method, route.Path)
	}
	in := &openapi3filter.RequestValidationInput{Request: newRequest(method), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if !offContract {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: the request breaks the document: %v", what, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(got)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: the response breaks the document: %v\nbody: %s", what, err, clipTo(string(got), 500))
	}
	s.driven[op+" "+strconv.Itoa(status)] = true
}

func TestOpenAPIConformance(t *testing.T) {
	driven := make(map[string]bool)
	s := newConformanceServer(t, driven, nil)
	doc, _ := conformanceDoc(t, s.url)
	docOps := documented(doc)

	// Every route of the engine is in the document, and every operation has rows.
	engine, ok := s.e.h.(*gin.Engine)
	if !ok {
		t.Fatalf("NewServer returned %T, want *gin.Engine", s.e.h)
	}
	for _, r := range engine.Routes() {
		op := r.Method + " " + ginPathToOpenAPI(r.Path)
		if _, ok := docOps[op]; !ok {
			t.Errorf("route %s %s is served but not in docs/openapi.yaml", r.Method, r.Path)
		}
	}
	success := make(map[string]conformanceCase)
	for _, c := range conformanceCases {
		if _, ok := docOps[c.op]; !ok {
			t.Errorf("row for %s: no such operation in docs/openapi.yaml", c.op)
		}
		if c.status < 300 {
			success[c.op] = c
		}
	}
	for op := range docOps {
		if _, ok := success[op]; !ok {
			t.Errorf("%s is in docs/openapi.yaml but has no success row in conformanceCases", op)
		}
	}

	f := s.newFixture()
	for _, c := range conformanceCases {
		s.check(c.op, c.status, c.build(f), c.offContract)
	}
	for _, op := range sortedKeys(success) {
		c := success[op]
		// A foreign Origin: 403 before anything else (except where no Origin is judged).
		if slices.Contains(docOps[op], http.StatusForbidden) && !originNotJudged[op] {
			r := c.build(f)
			r.headers = withHeader(r.headers, "Origin", "https://evil.example")
			s.check(op, http.StatusForbidden, r, c.offContract)
		}
		// A declared body over 10 KiB: 413 before anything else.
		if slices.Contains(docOps[op], http.StatusRequestEntityTooLarge) {
			r := c.build(f)
			r.body = strings.Repeat("x", 11<<10)
			s.check(op, http.StatusRequestEntityTooLarge, r, true)
		}
	}

	// 429: a server whose per-IP limits are 1; after one request of each scope, every operation
	// counted against a limit is refused before anything else is looked at.
	limited := newConformanceServer(t, driven, func(c *envConfig) { c.GeneralMax, c.AuthMax = 1, 1 })
	for _, r := range [][2]string{{"POST", "/api/auth/refresh"}, {"GET", "/api/profile"}} { // spend both limits of 127.0.0.1
		hr, _ := http.NewRequest(r[0], limited.url+r[1], nil)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	for _, op := range sortedKeys(success) {
		if !slices.Contains(docOps[op], http.StatusTooManyRequests) {
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		limited.check(op, http.StatusTooManyRequests, req{method: method, path: strings.ReplaceAll(path, "{id}", unknownID)}, true)
	}

	// 503: PostgreSQL cut away under a running server (tokens are still verified in memory).
	databaseDown := false // set once PostgreSQL is there (the subtest skips without it)
	t.Run("database down", func(t *testing.T) {
		st, proxy := storetest.OpenBehindProxy(t)
		databaseDown = true
		down := newConformanceServer(t, driven, func(c *envConfig) { c.Store = st })
		df := down.newFixture()
		requests := make(map[string]req)
		for _, op := range sortedKeys(success) {
			if slices.Contains(docOps[op], http.StatusServiceUnavailable) && notDriven[op+" 503"] == "" {
				requests[op] = success[op].build(df) // built while the database answers
			}
		}
		proxy.Cut()
		for _, op := range sortedKeys(requests) {
			down.check(op, http.StatusServiceUnavailable, requests[op], success[op].offContract)
		}
	})

	// Every documented status was driven, or is excused with its reason.
	for _, op := range sortedKeys(docOps) {
		for _, status := range docOps[op] {
			key := op + " " + strconv.Itoa(status)
			if driven[key] || notDriven[strconv.Itoa(status)] != "" || notDriven[key] != "" {
				continue
			}
			if status == http.StatusServiceUnavailable && !databaseDown {
				continue // the database-down pass did not run (no PostgreSQL): said by its skip
			}
			t.Errorf("%s documents %d, but no row drives it: add a row to conformanceCases (or, if it truly cannot be produced here, a reason to notDriven)", op, status)
		}
	}
}

// ginPathToOpenAPI turns Gin's /users/:id into OpenAPI's /users/{id}.
func ginPathToOpenAPI(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// withHeader returns h with name set to value.
func withHeader(h map[string]string, name, value string) map[string]string {
	out := map[string]string{name: value}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
