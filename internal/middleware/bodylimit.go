package middleware

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// BodyLimit refuses request bodies over maxBytes with ErrPayloadTooLarge (413). A Content-Length
// over the limit is refused at once, without reading the body; any other body is wrapped in
// http.MaxBytesReader, so reading past the limit fails with an error IsTooLarge recognises.
func BodyLimit(maxBytes int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			Fail(c, ErrPayloadTooLarge)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
	}
}

// IsTooLarge reports whether err comes from reading a body past the limit set by BodyLimit.
func IsTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}
