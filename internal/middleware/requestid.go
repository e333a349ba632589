package middleware

import (
	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/requestid"
)

// requestIDHeader carries a request's id in and out.
const requestIDHeader = "X-Request-ID"

// RequestID gives each request an id: the client's X-Request-ID when it is 1 to 64 visible
// ASCII characters, a fresh one otherwise. The id is echoed on the response and carried in the
// request's context, where the logger (requestid.LogHandler) and the audit writer find it.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !requestid.Valid(id) {
			id = requestid.New()
		}
		c.Header(requestIDHeader, id)
		c.Request = c.Request.WithContext(requestid.With(c.Request.Context(), id))
		c.Next()
	}
}
