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

// cookieSettings writes the refresh and fingerprint cookies (README.md "Security design"; docs/openapi.yaml).
type cookieSettings struct {
	secure      bool
	fingerprint bool
}

// setRefresh sets the refresh cookie for maxAge seconds (at least one: Max-Age=0 would delete it).
func (s cookieSettings) setRefresh(c *gin.Context, token string, maxAge int) {
	write(c, &http.Cookie{Name: refreshCookie, Value: token, Path: refreshPath, MaxAge: max(maxAge, 1)}, s.secure)
}

// setFingerprint sets the token fingerprint cookie (TOKEN_FINGERPRINT) for maxAge seconds. Its
// __Secure- prefix makes browsers demand Secure, so it is Secure whatever COOKIE_SECURE says
// (browsers accept Secure cookies from http://localhost).
func (s cookieSettings) setFingerprint(c *gin.Context, value string, maxAge int) {
	if s.fingerprint && value != "" {
		write(c, &http.Cookie{Name: middleware.FingerprintCookie, Value: value, Path: "/", MaxAge: max(maxAge, 1)}, true)
	}
}

// clear expires the refresh cookie and, when fingerprints are on, the fingerprint cookie, with
// the same names, paths and attributes they were set with.
func (s cookieSettings) clear(c *gin.Context) {
	write(c, &http.Cookie{Name: refreshCookie, Path: refreshPath, MaxAge: -1}, s.secure)
	if s.fingerprint {
		write(c, &http.Cookie{Name: middleware.FingerprintCookie, Path: "/", MaxAge: -1}, true)
	}
}

// write adds the cookie with HttpOnly, SameSite=Strict and, when secure, Secure.
// MaxAge -1 is written as Max-Age=0.
func write(c *gin.Context, ck *http.Cookie, secure bool) {
	ck.HttpOnly = true
	ck.Secure = secure
	ck.SameSite = http.SameSiteStrictMode
	http.SetCookie(c.Writer, ck)
}
