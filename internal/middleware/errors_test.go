package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
)

// loggedEngine is an engine with the responder and Recover, logging to the returned buffer.
func loggedEngine(t *testing.T) (*gin.Engine, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(middleware.Errors(slog.New(slog.NewJSONHandler(&logs, nil))), middleware.Recover())
	return r, &logs
}

// logLines decodes the JSON log lines in logs.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestErrorsAnswersFromTheTable(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantHeader string // a header the answer must carry
		wantLogged bool
	}{
		{"edge sentinel", middleware.ErrInvalidJSON, http.StatusBadRequest, "INVALID_JSON", "", false},
		{"wrapped sentinel", fmt.Errorf("read body: %w", middleware.ErrPayloadTooLarge), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "", false},
		{"validation details", &auth.ValidationError{Fields: map[string]string{"email": "is required"}}, http.StatusBadRequest, "VALIDATION_ERROR", "", false},
		{"locked account", &auth.LockedError{RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "RATE_LIMITED", "Retry-After", false},
		{"bcrypt capacity exhausted", auth.ErrBusy, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "Retry-After", true},
		{"401 challenge", middleware.ErrNoToken, http.StatusUnauthorized, "NO_TOKEN", "WWW-Authenticate", false},
		{"503 with its cause", fmt.Errorf("find user: %w", errors.Join(models.ErrUnavailable, errors.New("dial tcp: connection refused"))), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "", true},
		{"unknown error", errors.New("disk on fire"), http.StatusInternalServerError, "INTERNAL_ERROR", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := loggedEngine(t)
			r.GET("/x", func(c *gin.Context) { middleware.Fail(c, tt.err) })
			rec := serveEdge(r, http.MethodGet, "/x", nil)
			if rec.Code != tt.wantStatus || edgeErrorCode(t, rec) != tt.wantCode {
				t.Fatalf("Fail(%v) answered %d %s, want %d %s", tt.err, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantCode)
			}
			if tt.wantHeader != "" && rec.Header().Get(tt.wantHeader) == "" {
				t.Errorf("Fail(%v) answer has no %s header", tt.err, tt.wantHeader)
			}
			if strings.Contains(rec.Body.String(), "connection refused") || strings.Contains(rec.Body.String(), "disk on fire") {
				t.Errorf("answer %s shows the error's text to the client", rec.Body.String())
			}
			lines := logLines(t, logs)
			if !tt.wantLogged {
				if len(lines) != 0 {
					t.Errorf("Fail(%v) logged %v, want nothing below 500", tt.err, lines)
				}
				return
			}
			if len(lines) != 1 || lines[0]["error"] != tt.err.Error() || lines[0]["status"] != float64(tt.wantStatus) {
				t.Errorf("Fail(%v) logged %v, want one line with the whole chain %q and status %d", tt.err, lines, tt.err.Error(), tt.wantStatus)
			}
		})
	}
}

func TestRecoverLogsPanicWithStack(t *testing.T) {
	r, logs := loggedEngine(t)
	r.GET("/boom", func(c *gin.Context) { panic("kaboom") })
	rec := serveEdge(r, http.MethodGet, "/boom", nil)
	if rec.Code != http.StatusInternalServerError || edgeErrorCode(t, rec) != "INTERNAL_ERROR" {
		t.Fatalf("GET /boom = %d %s, want 500 INTERNAL_ERROR", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("answer %s shows the panic to the client", rec.Body.String())
	}
	lines := logLines(t, logs)
	if len(lines) != 1 {
		t.Fatalf("a panic logged %d lines, want 1: %v", len(lines), lines)
	}
	msg, _ := lines[0]["error"].(string)
	if !strings.Contains(msg, "kaboom") || !strings.Contains(msg, "goroutine") || !strings.Contains(msg, "errors_test.go") {
		t.Errorf("panic log error = %q, want the panic value and the stack down to the handler", msg)
	}
	if lines[0]["route"] != "/boom" {
		t.Errorf("panic log route = %v, want /boom", lines[0]["route"])
	}
}
