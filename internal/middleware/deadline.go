package middleware

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
)

// Deadline bounds the work of each request: its context ends after d, so a hung database
// call returns 503 instead of holding a connection forever.
func Deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
