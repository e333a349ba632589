package handlers

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
)

// adminUserJSON is a user as the admin routes show it.
type adminUserJSON struct {
	ID            string      `json:"id"`
	Email         string      `json:"email"`
	Role          models.Role `json:"role"`
	Disabled      bool        `json:"disabled"`
	EmailVerified bool        `json:"emailVerified"`
	MFA           bool        `json:"mfa"`
	CreatedAt     time.Time   `json:"createdAt"`
}

func newAdminUserJSON(u *models.User) adminUserJSON {
	return adminUserJSON{ID: u.ID, Email: u.Email, Role: u.Role, Disabled: u.Disabled, EmailVerified: u.EmailVerified,
		MFA: u.MFA, CreatedAt: u.CreatedAt}
}

// encodeCursor turns a list position into an opaque string; nil stays nil (JSON null).
func encodeCursor(cur *models.Cursor) *string {
	if cur == nil {
		return nil
	}
	s := base64.RawURLEncoding.EncodeToString([]byte(cur.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + cur.ID))
	return &s
}

// decodeCursor reads a cursor made by encodeCursor; "" is no cursor.
func decodeCursor(s string) (*models.Cursor, bool) {
	if s == "" {
		return nil, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || uuid.Validate(id) != nil {
		return nil, false
	}
	return &models.Cursor{CreatedAt: t, ID: id}, true
}

// pageQuery reads the limit and cursor parameters, adding problems to p.
func pageQuery(c *gin.Context, p map[string]string) (int, *models.Cursor) {
	limit := 0
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > auth.MaxPageSize {
			p["limit"] = "must be a whole number from 1 to " + strconv.Itoa(auth.MaxPageSize)
		}
		limit = n
	}
	cur, ok := decodeCursor(c.Query("cursor"))
	if !ok {
		p["cursor"] = "is not a cursor this server returned"
	}
	return limit, cur
}

// handleListUsers serves GET /api/admin/users?limit=&cursor=&q=.
func handleListUsers(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := map[string]string{}
		limit, cur := pageQuery(c, p)
		q := c.Query("q")
		if !utf8.ValidString(q) || strings.ContainsRune(q, 0) || len(q) > 254 {
			p["q"] = "must be at most 254 bytes of text"
		}
		if len(p) > 0 {
			middleware.Fail(c, validationError(p))
			return
		}
		users, next, err := svc.ListUsers(c.Request.Context(), models.UserFilter{EmailPrefix: q, After: cur, Limit: limit})
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		out := make([]adminUserJSON, len(users))
		for i := range users {
			out[i] = newAdminUserJSON(&users[i])
		}
		c.JSON(http.StatusOK, gin.H{"users": out, "nextCursor": encodeCursor(next)})
	}
}

// userPatchRequest is the body of PATCH /api/admin/users/:id.
type userPatchRequest struct {
	Role     *models.Role `json:"role"`
	Disabled *bool        `json:"disabled"`
}

// Valid requires at least one change and a known role.
func (r userPatchRequest) Valid() map[string]string {
	p := map[string]string{}
	if r.Role == nil && r.Disabled == nil {
		p["role"] = "give role and/or disabled"
	}
	if r.Role != nil && !r.Role.Valid() {
		p["role"] = "must be user or admin"
	}
	return p
}

// handleUpdateUser serves PATCH /api/admin/users/:id.
func handleUpdateUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[userPatchRequest](c)
		if !ok {
			return
		}
		u, err := svc.UpdateUser(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), models.UserPatch{Role: req.Role, Disabled: req.Disabled}, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": newAdminUserJSON(u)})
	}
}

// handleDeleteUser serves DELETE /api/admin/users/:id.
func handleDeleteUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.DeleteUser(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// handleEndUserSessions serves DELETE /api/admin/users/:id/sessions.
func handleEndUserSessions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.EndUserSessions(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// auditEventJSON is one entry of GET /api/admin/audit.
type auditEventJSON struct {
	ID        string           `json:"id"`
	Type      models.AuditType `json:"type"`
	UserID    *string          `json:"userId"`
	SessionID *string          `json:"sessionId"`
	IP        string           `json:"ip"`
	UserAgent string           `json:"userAgent"`
	CreatedAt time.Time        `json:"createdAt"`
	Detail    json.RawMessage  `json:"detail"`
}

// orNull is s, or nil (JSON null) when s is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// handleAudit serves GET /api/admin/audit?userId=&type=&limit=&cursor=.
func handleAudit(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := map[string]string{}
		limit, cur := pageQuery(c, p)
		userID, typ := c.Query("userId"), models.AuditType(c.Query("type"))
		if userID != "" && uuid.Validate(userID) != nil {
			p["userId"] = "must be a UUID"
		}
		if typ != "" && !typ.Valid() {
			p["type"] = "is not an audit event type"
		}
		if len(p) > 0 {
			middleware.Fail(c, validationError(p))
			return
		}
		events, next, err := svc.AuditEvents(c.Request.Context(), models.AuditFilter{UserID: userID, Type: typ, Before: cur, Limit: limit})
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		out := make([]auditEventJSON, len(events))
		for i, e := range events {
			detail := json.RawMessage(e.Detail)
			if !json.Valid(detail) {
				detail = json.RawMessage("{}")
			}
			out[i] = auditEventJSON{ID: e.ID, Type: e.Type, UserID: orNull(e.UserID), SessionID: orNull(e.SessionID),
				IP: e.IP, UserAgent: e.UserAgent, CreatedAt: e.CreatedAt, Detail: detail}
		}
		c.JSON(http.StatusOK, gin.H{"events": out, "nextCursor": encodeCursor(next)})
	}
}
