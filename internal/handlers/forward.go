package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// proxyPaths are the routes a reverse proxy or a resource server calls on a client's behalf:
// they judge no Origin, since the Origin they see is the client's, meant for the upstream.
var proxyPaths = []string{"/forward-auth", "/oauth/introspect"}

// forwardQuery is what a protected location of the proxy asks of the token beyond its validity.
type forwardQuery struct {
	role models.Role // "": any role
	mfa  bool
}

// parseForwardQuery reads ?role= (only admin: every user already passes without it) and ?mfa=
// (true or false); anything else is a 400 VALIDATION_ERROR.
func parseForwardQuery(c *gin.Context) (forwardQuery, error) {
	var q forwardQuery
	if c.Request.URL.RawQuery == "" { // the usual call: no query to parse into a map
		return q, nil
	}
	problems := map[string]string{}
	if role, ok := c.GetQuery("role"); ok {
		if q.role = models.Role(role); q.role != models.RoleAdmin {
			problems["role"] = "must be admin"
		}
	}
	switch mfa, _ := c.GetQuery("mfa"); mfa {
	case "", "false":
	case "true":
		q.mfa = true
	default:
		problems["mfa"] = "must be true or false"
	}
	if len(problems) > 0 {
		return q, validationError(problems)
	}
	return q, nil
}

// handleForwardAuth serves GET /forward-auth, given the verified claims by
// middleware.WithAccessToken: 200 with an empty body and the identity headers for the proxy to
// pass upstream. ?mfa=true needs "mfa" in the token's amr (403 MFA_REQUIRED); ?role= reads the
// user's CURRENT role (403 INSUFFICIENT_PERMISSIONS), the one case that reads the database.
func handleForwardAuth(users middleware.Users) middleware.ClaimsHandler {
	return func(c *gin.Context, claims *tokens.AccessClaims) {
		q, err := parseForwardQuery(c)
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		p := middleware.PrincipalOf(claims)
		if q.mfa && !p.MFA() {
			middleware.Fail(c, middleware.ErrMFARequired)
			return
		}
		if q.role != "" {
			if err := middleware.CheckRole(c.Request.Context(), users, p.UserID, q.role); err != nil {
				middleware.Fail(c, err)
				return
			}
		}
		// Canonical keys set directly, the five values in one allocation, as RateLimit does.
		v := [...]string{p.UserID, claims.Email, claims.Role, p.SessionID, strings.Join(p.AMR, ",")}
		h := c.Writer.Header()
		h["X-Auth-User-Id"], h["X-Auth-Email"], h["X-Auth-Role"] = v[0:1:1], v[1:2:2], v[2:3:3]
		h["X-Auth-Session-Id"], h["X-Auth-Amr"] = v[3:4:4], v[4:5:5]
		c.Status(http.StatusOK)
	}
}
