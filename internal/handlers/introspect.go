package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
)

// introspectionJSON is the RFC 7662 answer for an active access token.
type introspectionJSON struct {
	Active    bool     `json:"active"`
	Subject   string   `json:"sub"`
	SessionID string   `json:"sid"`
	TokenID   string   `json:"jti"`
	Issuer    string   `json:"iss"`
	Audience  string   `json:"aud"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	TokenType string   `json:"token_type"`
	Username  string   `json:"username"`
	Role      string   `json:"role"`
	AMR       []string `json:"amr"`
}

// inactiveJSON is the RFC 7662 answer for every other token: it says nothing about why.
type inactiveJSON struct {
	Active bool `json:"active"`
}

// handleIntrospect serves POST /oauth/introspect (RFC 7662) behind RequireClientToken: the form
// field token is judged as bearer auth judges an access token (the fingerprint cookie aside,
// which a resource server does not have). A missing token field is 400 VALIDATION_ERROR.
func handleIntrospect(v middleware.Verifier, deny middleware.DenyList) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := c.Request.ParseForm(); err != nil {
			if middleware.IsTooLarge(err) {
				middleware.Fail(c, middleware.ErrPayloadTooLarge)
				return
			}
			middleware.Fail(c, errors.Join(validationError(map[string]string{"body": "must be an application/x-www-form-urlencoded form"}), err))
			return
		}
		token := c.Request.PostForm.Get("token")
		if token == "" {
			middleware.Fail(c, validationError(map[string]string{"token": "is required"}))
			return
		}
		claims, err := middleware.Authenticate(v, deny, token)
		if err != nil {
			c.JSON(http.StatusOK, inactiveJSON{Active: false})
			return
		}
		out := introspectionJSON{
			Active: true, Subject: claims.Subject, SessionID: claims.SessionID, TokenID: claims.ID,
			Issuer: claims.Issuer, IssuedAt: claims.IssuedAt.Unix(), ExpiresAt: claims.ExpiresAt.Unix(),
			TokenType: "access_token", Username: claims.Email, Role: claims.Role, AMR: claims.AMR,
		}
		if len(claims.Audience) > 0 {
			out.Audience = claims.Audience[0]
		}
		if out.AMR == nil {
			out.AMR = []string{}
		}
		c.JSON(http.StatusOK, out)
	}
}
