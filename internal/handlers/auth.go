package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/jsonenc"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
)

// userJSON is a user as the auth routes show it.
type userJSON struct {
	ID            string      `json:"id"`
	Email         string      `json:"email"`
	Role          models.Role `json:"role"`
	EmailVerified bool        `json:"emailVerified"`
}

func newUserJSON(u *models.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: u.Role, EmailVerified: u.EmailVerified}
}

// credentials is the body of register and login.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Valid reports missing fields. The email's form and the password policy are the auth service's
// to judge: at login, a malformed email is simply an unknown one.
func (r credentials) Valid() map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(r.Email) == "" {
		p["email"] = "is required"
	}
	if r.Password == "" {
		p["password"] = "is required"
	}
	return p
}

// handleRegister serves POST /api/auth/register.
func handleRegister(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !svc.RegistrationOpen() {
			middleware.Fail(c, auth.ErrRegistrationDisabled)
			return
		}
		req, ok := decodeValid[credentials](c)
		if !ok {
			return
		}
		u, err := svc.Register(c.Request.Context(), req.Email, req.Password, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"user": newUserJSON(u)})
	}
}

// tokenResponse is the body of login and refresh.
type tokenResponse struct {
	AccessToken  string    `json:"accessToken"`
	TokenType    string    `json:"tokenType"`
	ExpiresIn    int       `json:"expiresIn"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	User         *userJSON `json:"user,omitempty"`
}

// sendTokens sets the cookies and writes the token response with Cache-Control: no-store.
func sendTokens(c *gin.Context, cookies cookieSettings, out *auth.Issued, body tokenResponse) {
	cookies.setRefresh(c, out.RefreshToken, out.RefreshMaxAge)
	cookies.setFingerprint(c, out.Fingerprint, out.RefreshMaxAge)
	noStore(c)
	body.AccessToken, body.TokenType, body.ExpiresIn = out.AccessToken, "Bearer", out.ExpiresIn
	c.Data(http.StatusOK, jsonContentType, body.appendJSON(make([]byte, 0, 256+len(body.AccessToken)+len(body.RefreshToken))))
}

// appendJSON appends r as encoding/json writes it, without reflection (refresh is a hot route).
func (r tokenResponse) appendJSON(dst []byte) []byte {
	o := jsonenc.NewObject(dst)
	o.String("accessToken", r.AccessToken)
	o.String("tokenType", r.TokenType)
	o.Int("expiresIn", int64(r.ExpiresIn))
	o.StringOmitEmpty("refreshToken", r.RefreshToken)
	if u := r.User; u != nil {
		o.Object("user", func(o *jsonenc.Object) {
			o.String("id", u.ID)
			o.String("email", u.Email)
			o.String("role", string(u.Role))
			o.Bool("emailVerified", u.EmailVerified)
		})
	}
	return o.End()
}

// noStore keeps a response that carries a token or a secret out of every cache.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// sendLogin writes the answer of a completed login (password, second step or passkey): the
// tokens, the cookies and the user.
func sendLogin(c *gin.Context, cookies cookieSettings, out *auth.Issued) {
	u := newUserJSON(out.User)
	sendTokens(c, cookies, out, tokenResponse{User: &u})
}

// handleLogin serves POST /api/auth/login. The refresh token goes only into the HttpOnly cookie.
func handleLogin(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[credentials](c)
		if !ok {
			return
		}
		out, err := svc.Login(c.Request.Context(), req.Email, req.Password, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		if out.Challenge != nil {
			sendChallenge(c, out.Challenge)
			return
		}
		sendLogin(c, cookies, out)
	}
}

// refreshRequest is the optional body of refresh and logout, for native clients without cookies.
type refreshRequest struct {
	RefreshToken *string `json:"refreshToken"`
}

// token returns the refresh token presented: the body's when it has one (inBody), else the
// cookie's, else "".
func (r refreshRequest) token(c *gin.Context) (token string, inBody bool) {
	if r.RefreshToken != nil && *r.RefreshToken != "" {
		return *r.RefreshToken, true
	}
	token, _ = c.Cookie(refreshCookie)
	return token, false
}

// handleRefresh serves POST /api/auth/refresh. A token sent in the body is answered in the body too.
func handleRefresh(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req refreshRequest
		if err := decodeJSON(c, &req, true); err != nil {
			middleware.Fail(c, err)
			return
		}
		token, inBody := req.token(c)
		out, err := svc.Refresh(c.Request.Context(), token, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		body := tokenResponse{}
		if inBody {
			body.RefreshToken = out.RefreshToken
		}
		sendTokens(c, cookies, out, body)
	}
}

// handleLogout serves POST /api/auth/logout: it ends the session named by the refresh cookie
// (or a {"refreshToken"} body) or by the bearer token, and always clears the cookie. It never
// fails on a missing, stale or malformed token or body.
func handleLogout(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req refreshRequest
		_ = decodeJSON(c, &req, true) // a bad body names no session: logout goes on without it
		token, _ := req.token(c)
		if err := svc.Logout(c.Request.Context(), token, middleware.PrincipalFrom(c), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		cookies.clear(c)
		c.JSON(http.StatusOK, gin.H{"message": "Logged out"})
	}
}

// handleLogoutAll serves POST /api/auth/logout-all.
func handleLogoutAll(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.LogoutAll(c.Request.Context(), *middleware.PrincipalFrom(c), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		cookies.clear(c)
		c.JSON(http.StatusOK, gin.H{"message": "Logged out of all sessions"})
	}
}

// sessionJSON is one entry of GET /api/auth/sessions.
type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func newSessionJSON(s auth.SessionView) sessionJSON {
	return sessionJSON{ID: s.ID, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, UserAgent: s.UserAgent, IP: s.IP, Current: s.Current}
}

// handleOwnList serves the list of something of the caller's (GET /api/auth/sessions,
// GET /api/auth/passkeys): list reads it, view turns each item into its JSON, and the answer is
// {member: [...]}, never cached.
func handleOwnList[T, J any](member string, list func(context.Context, auth.Principal) ([]T, error), view func(T) J) gin.HandlerFunc {
	return func(c *gin.Context) {
		items, err := list(c.Request.Context(), *middleware.PrincipalFrom(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		out := make([]J, len(items))
		for i, item := range items {
			out[i] = view(item)
		}
		noStore(c)
		c.JSON(http.StatusOK, gin.H{member: out})
	}
}

// handleOwnDelete serves the deletion of one thing of the caller's named by :id
// (DELETE /api/auth/sessions/:id, DELETE /api/auth/passkeys/:id): 204, or what del fails with.
func handleOwnDelete(del func(context.Context, auth.Principal, string, auth.Client) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := del(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// passwordRequest is the body of POST /api/auth/password.
type passwordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// Valid reports missing fields.
func (r passwordRequest) Valid() map[string]string {
	p := map[string]string{}
	if r.CurrentPassword == "" {
		p["currentPassword"] = "is required"
	}
	if r.NewPassword == "" {
		p["newPassword"] = "is required"
	}
	return p
}

// handleChangePassword serves POST /api/auth/password.
func handleChangePassword(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[passwordRequest](c)
		if !ok {
			return
		}
		if err := svc.ChangePassword(c.Request.Context(), *middleware.PrincipalFrom(c), req.CurrentPassword, req.NewPassword, middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"message": "Password changed; your other sessions have ended"})
	}
}
