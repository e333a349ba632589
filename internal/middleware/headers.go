package middleware

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// securityHeaders are the headers helmet sends by default, tightened for a JSON API that
// serves no documents, scripts or frames.
var securityHeaders = []struct{ name, value string }{
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
	{"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"X-DNS-Prefetch-Control", "off"},
	{"X-Download-Options", "noopen"},
	{"X-Permitted-Cross-Domain-Policies", "none"},
	{"Origin-Agent-Cluster", "?1"},
	{"X-XSS-Protection", "0"},
}

// SecurityHeaders sets the security headers on every response before the rest of the chain
// runs, so errors, 404s and 429s carry them too. Strict-Transport-Security is sent even over
// plain HTTP, since TLS usually ends at a proxy in front of the server.
func SecurityHeaders() gin.HandlerFunc {
	// Canonical keys and value slices are made once: setting them is then a map store per header.
	// The slices are shared by every response; nothing modifies a header value in place.
	set := make(http.Header, len(securityHeaders))
	for _, sh := range securityHeaders {
		set.Set(sh.name, sh.value)
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for k, v := range set {
			h[k] = v
		}
	}
}

// NoStore marks every response of the route, errors included, Cache-Control: no-store. As with
// the security headers, the value slice is made once and shared (a header is never modified in place).
func NoStore() gin.HandlerFunc {
	noStore := []string{"no-store"}
	return func(c *gin.Context) { c.Writer.Header()["Cache-Control"] = noStore }
}
