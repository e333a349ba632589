package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
)

// refreshCookie is the refresh token's cookie; it is sent only to the auth routes.
const (
	refreshCookie = "refreshToken"
	refreshPath   = "/api/auth"
)

// cookieSettings writes the refresh and fingerprint cookies (API.md "The refresh cookie").
type cookieSettings struct {
	secure      bool
	fingerprint bool
}

// setRefresh sets the refresh cookie for maxAge seconds.
func (s cookieSettings) setRefresh(c *gin.Context, token string, maxAge int) {
	s.write(c, &http.Cookie{Name: refreshCookie, Value: token, Path: refreshPath, MaxAge: maxAge})
}

// clearRefresh expires the refresh cookie with the same name, path and attributes.
func (s cookieSettings) clearRefresh(c *gin.Context) {
	s.write(c, &http.Cookie{Name: refreshCookie, Path: refreshPath, MaxAge: -1})
}

// setFingerprint sets the token fingerprint cookie (TOKEN_FINGERPRINT) for maxAge seconds.
func (s cookieSettings) setFingerprint(c *gin.Context, value string, maxAge int) {
	if s.fingerprint && value != "" {
		s.write(c, &http.Cookie{Name: middleware.FingerprintCookie, Value: value, Path: "/", MaxAge: maxAge})
	}
}

// clearFingerprint expires the fingerprint cookie, when fingerprints are on.
func (s cookieSettings) clearFingerprint(c *gin.Context) {
	if s.fingerprint {
		s.write(c, &http.Cookie{Name: middleware.FingerprintCookie, Path: "/", MaxAge: -1})
	}
}

// write adds the cookie with HttpOnly, SameSite=Strict and Secure (unless COOKIE_SECURE=false).
// MaxAge -1 is written as Max-Age=0.
func (s cookieSettings) write(c *gin.Context, ck *http.Cookie) {
	ck.HttpOnly = true
	ck.Secure = s.secure
	ck.SameSite = http.SameSiteStrictMode
	http.SetCookie(c.Writer, ck)
}

// refreshFromCookie returns the refresh cookie's value, or "".
func refreshFromCookie(c *gin.Context) string {
	v, err := c.Cookie(refreshCookie)
	if err != nil {
		return ""
	}
	return v
}
