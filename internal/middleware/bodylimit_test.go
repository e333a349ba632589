package middleware_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
)

// readSpy is a request body that remembers whether it was read.
type readSpy struct {
	r    io.Reader
	read bool
}

func (s *readSpy) Read(p []byte) (int, error) {
	s.read = true
	return s.r.Read(p)
}

func TestBodyLimit(t *testing.T) {
	const limit = 10 << 10
	tests := []struct {
		name          string
		size          int
		contentLength bool // false sends the body like a chunked one, of unknown length
		wantStatus    int
		wantCode      string
		wantRead      bool
	}{
		{"11 KiB with Content-Length", 11 << 10, true, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", false},
		{"11 KiB chunked", 11 << 10, false, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", true},
		{"10 KiB with Content-Length", limit, true, http.StatusOK, "", true},
		{"10 KiB chunked", limit, false, http.StatusOK, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newEdgeEngine(t, middleware.BodyLimit(limit))
			var got int
			r.POST("/upload", func(c *gin.Context) {
				b, err := io.ReadAll(c.Request.Body)
				if middleware.IsTooLarge(err) {
					middleware.Fail(c, middleware.ErrPayloadTooLarge)
					return
				}
				if err != nil {
					middleware.Fail(c, err)
					return
				}
				got = len(b)
				c.Status(http.StatusOK)
			})

			spy := &readSpy{r: strings.NewReader(strings.Repeat("a", tt.size))}
			req := httptest.NewRequest(http.MethodPost, "/upload", spy)
			req.ContentLength = -1
			if tt.contentLength {
				req.ContentLength = int64(tt.size)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus || edgeErrorCode(t, rec) != tt.wantCode {
				t.Fatalf("POST %d bytes = %d %q, want %d %q", tt.size, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantCode)
			}
			if spy.read != tt.wantRead {
				t.Errorf("POST %d bytes: body read = %v, want %v", tt.size, spy.read, tt.wantRead)
			}
			if tt.wantStatus == http.StatusOK && got != tt.size {
				t.Errorf("POST %d bytes: handler read %d bytes", tt.size, got)
			}
		})
	}
}

func TestIsTooLarge(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"other error", errors.New("unexpected EOF"), false},
		{"max bytes error", &http.MaxBytesError{Limit: 10}, true},
		{"wrapped max bytes error", fmt.Errorf("decode body: %w", &http.MaxBytesError{Limit: 10}), true},
	}
	for _, tt := range tests {
		if got := middleware.IsTooLarge(tt.err); got != tt.want {
			t.Errorf("IsTooLarge(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
