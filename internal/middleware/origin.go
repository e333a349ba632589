package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
)

// originSet holds allowed origins ("scheme://host[:port]"), lower-cased.
type originSet map[string]bool

// newOriginSet lower-cases the allowed origins into a set.
func newOriginSet(allowed []string) originSet {
	set := make(originSet, len(allowed))
	for _, o := range allowed {
		set[strings.ToLower(o)] = true
	}
	return set
}

// has reports whether origin is allowed: scheme, host and port must match exactly,
// ignoring case.
func (s originSet) has(origin string) bool {
	return s[strings.ToLower(origin)]
}

// Origins refuses requests from origins that are not allowed, before CORS or any handler
// sees them. A request whose Origin header is present and not allowed gets 403
// ORIGIN_NOT_ALLOWED (preflights too), or 403 CSRF_REJECTED when its path is one of
// csrfPaths. On csrfPaths a request without Origin is also refused with CSRF_REJECTED when
// it says Sec-Fetch-Site: cross-site or its Referer names a foreign origin; a request with
// neither Origin nor Referer (curl, native apps) passes. Every answer, a refusal too, depends
// on Origin, so every one carries Vary: Origin (a cache must not serve one origin's answer to another).
func Origins(allowed []string, csrfPaths ...string) gin.HandlerFunc {
	allow := newOriginSet(allowed)
	guarded := make(map[string]bool, len(csrfPaths))
	for _, p := range csrfPaths {
		guarded[p] = true
	}
	return func(c *gin.Context) {
		c.Writer.Header().Add("Vary", "Origin")
		origin := c.GetHeader("Origin")
		csrf := guarded[c.Request.URL.Path]
		foreign := origin != "" && !allow.has(origin)
		if csrf && (foreign || (origin == "" && crossSite(c.Request, allow))) {
			Fail(c, ErrCSRFRejected)
			return
		}
		if foreign {
			Fail(c, ErrOriginNotAllowed)
		}
	}
}

// crossSite reports whether a request without Origin still shows that a foreign site sent it:
// through Sec-Fetch-Site, or through a Referer whose origin is not allowed (or unreadable).
func crossSite(r *http.Request, allow originSet) bool {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return true
	}
	referer := r.Header.Get("Referer")
	if referer == "" {
		return false
	}
	u, err := url.Parse(referer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return true
	}
	return !allow.has(u.Scheme + "://" + u.Host)
}

// CORS answers cross-origin requests from the allowed origins, with credentials: it echoes
// the origin (never "*"), answers their preflights with 204, and exposes the rate-limit headers
// and WWW-Authenticate (so browser code can read why a token was refused). Install it after
// Origins, which has already refused every foreign origin and added Vary: Origin.
func CORS(allowed []string) gin.HandlerFunc {
	allow := newOriginSet(allowed)
	handle := cors.New(cors.Config{
		AllowOriginFunc:  allow.has,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		AllowHeaders:     []string{"Authorization", "Content-Type"},
		ExposeHeaders:    []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "WWW-Authenticate", "X-Request-ID"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	})
	return handle
}
