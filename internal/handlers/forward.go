package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
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

// handleForwardAuth serves GET /forward-auth behind the bearer middleware: 200 with an empty
// body and the identity headers for the proxy to pass upstream. ?mfa=true needs "mfa" in the
// token's amr (403 MFA_REQUIRED); ?role= reads the user's CURRENT role (403
// INSUFFICIENT_PERMISSIONS), the one case that reads the database.
func handleForwardAuth(users middleware.Users) gin.HandlerFunc {
	return func(c *gin.Context) {
		q, err := parseForwardQuery(c)
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		p := middleware.PrincipalFrom(c)
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
		claims := middleware.ClaimsFrom(c)
		h := c.Writer.Header()
		h.Set("X-Auth-User-Id", p.UserID)
		h.Set("X-Auth-Email", claims.Email)
		h.Set("X-Auth-Role", claims.Role)
		h.Set("X-Auth-Session-Id", p.SessionID)
		h.Set("X-Auth-Amr", strings.Join(p.AMR, ","))
		c.Status(http.StatusOK)
	}
}
