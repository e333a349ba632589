package middleware

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// Recover turns a panic into a 500 INTERNAL_ERROR. The error it records carries the panic's
// value and stack, so the responder logs them (with the route, never the request).
func Recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				Fail(c, fmt.Errorf("%w: %v\n%s", errPanic, v, debug.Stack()))
			}
		}()
		c.Next()
	}
}
