package middleware

import (
	"context"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/ratelimit"
)

// LimitRecorder is told about each request refused with 429 RATE_LIMITED, for the audit trail;
// auth.Service implements it.
type LimitRecorder interface {
	RateLimited(ctx context.Context, c auth.Client, route string)
}

// RateLimit counts each request against its client IP in scope (c.ClientIP() believes
// X-Forwarded-For only from the engine's trusted proxies), sets the RateLimit-* headers, and
// refuses the request with 429 RATE_LIMITED and Retry-After once the limit is exceeded, telling rec.
func RateLimit(l *ratelimit.Limits, scope ratelimit.Scope, rec LimitRecorder) gin.HandlerFunc {
	return func(c *gin.Context) {
		n, err := l.Take(c.Request.Context(), scope, c.ClientIP())
		if err != nil {
			Fail(c, err)
			return
		}
		// Canonical keys set directly, the three numbers formatted into one string and their
		// slices in one array: this runs on every limited request.
		var buf [3 * 20]byte
		b := strconv.AppendInt(buf[:0], n.Limit, 10)
		i := len(b)
		b = strconv.AppendInt(b, n.Remaining, 10)
		j := len(b)
		all := string(strconv.AppendInt(b, n.ResetIn, 10))
		v := [...]string{all[:i], all[i:j], all[j:]}
		h := c.Writer.Header()
		h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
		if !n.Reached {
			return
		}
		c.Header("Retry-After", strconv.FormatInt(max(n.ResetIn, 1), 10))
		rec.RateLimited(c.Request.Context(), ClientOf(c), c.FullPath())
		Fail(c, ErrRateLimited)
	}
}

// ClientOf describes the caller for sessions and the audit trail: its IP, user agent and
// fingerprint cookie.
func ClientOf(c *gin.Context) auth.Client {
	fgp, _ := c.Cookie(FingerprintCookie)
	return auth.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), Fingerprint: fgp}
}
