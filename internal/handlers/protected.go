package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/jsonenc"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// handleProfile serves GET /api/profile: {"message":"Your profile","userId":...}, written
// without reflection (the hottest route; see docs/performance.md). It is given the claims by
// middleware.WithAccessToken.
func handleProfile() middleware.ClaimsHandler {
	const head, tail = `{"message":"Your profile","userId":`, `}`
	return func(c *gin.Context, claims *tokens.AccessClaims) {
		id := claims.Subject
		body := make([]byte, 0, len(head)+len(id)+2+len(tail))
		body = jsonenc.AppendString(append(body, head...), id)
		c.Data(http.StatusOK, jsonContentType, append(body, tail...))
	}
}

// handleDashboard serves GET /api/dashboard with the verified claims.
func handleDashboard() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "Welcome to dashboard", "user": middleware.ClaimsFrom(c)})
	}
}

// meJSON is the body of GET /api/me.
type meJSON struct {
	ID            string      `json:"id"`
	Email         string      `json:"email"`
	Role          models.Role `json:"role"`
	EmailVerified bool        `json:"emailVerified"`
	MFA           bool        `json:"mfa"`
	CreatedAt     time.Time   `json:"createdAt"`
}

// handleMe serves GET /api/me, read from the database.
func handleMe(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, err := svc.User(c.Request.Context(), middleware.PrincipalFrom(c).UserID)
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": meJSON{ID: u.ID, Email: u.Email, Role: u.Role, EmailVerified: u.EmailVerified,
			MFA: u.MFA, CreatedAt: u.CreatedAt}})
	}
}

// handleAdmin serves GET /api/admin; RequireRole has checked the current role.
func handleAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "Admin panel", "user": middleware.ClaimsFrom(c)})
	}
}
