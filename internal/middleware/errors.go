// Package middleware holds the Gin middleware of the server: the error responder, request log,
// recovery, bearer authentication, role check, rate limits, CORS, CSRF and security headers.
package middleware

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// Error is an HTTP failure decided at the edge (bad JSON, a foreign origin, a rate limit).
// Handlers and middleware hand it to Fail; the responder writes it.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Fail records err on c and stops the chain; the responder writes the JSON error.
func Fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// errorRow maps one error to its HTTP status, code and message.
type errorRow struct {
	err     error
	status  int
	code    string
	message string
}

// errorTable is the ONE place where errors become HTTP responses; rows are matched with errors.Is in order.
var errorTable = []errorRow{
	{ErrNoToken, http.StatusUnauthorized, "NO_TOKEN", "a bearer access token is required"},
	{tokens.ErrSessionEnded, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token's session has ended"},
	{tokens.ErrExpired, http.StatusUnauthorized, "TOKEN_EXPIRED", "the access token has expired"},
	{tokens.ErrInvalid, http.StatusUnauthorized, "INVALID_TOKEN", "the access token is invalid"},
	{ErrTokenRevoked, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token has been revoked"},
	{auth.ErrUserGone, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token has been revoked"},
	{ErrInsufficientRole, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "insufficient permissions"},
	{auth.ErrInvalidCredentials, http.StatusUnauthorized, "INVALID_CREDENTIALS", "invalid email or password"},
	{auth.ErrAccountDisabled, http.StatusForbidden, "ACCOUNT_DISABLED", "this account is disabled"},
	{auth.ErrRegistrationDisabled, http.StatusForbidden, "REGISTRATION_DISABLED", "registration is disabled"},
	{auth.ErrNoRefreshToken, http.StatusUnauthorized, "NO_REFRESH_TOKEN", "a refresh token is required"},
	{auth.ErrInvalidRefreshToken, http.StatusUnauthorized, "INVALID_REFRESH_TOKEN", "the refresh token is invalid, expired or revoked"},
	{auth.ErrTokenReuse, http.StatusUnauthorized, "TOKEN_REUSE", "refresh token reuse detected; the session has been revoked"},
	{auth.ErrBusy, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "the server is busy, try again shortly"},
	{models.ErrEmailTaken, http.StatusConflict, "EMAIL_TAKEN", "email is already registered"},
	{models.ErrLastAdmin, http.StatusConflict, "LAST_ADMIN", "the last remaining admin cannot be disabled, demoted or deleted"},
	{models.ErrNotFound, http.StatusNotFound, "NOT_FOUND", "not found"},
	{models.ErrUnavailable, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "a backing service is unavailable, try again shortly"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "the request timed out, try again shortly"},
}

// errPanic stands for a recovered panic; it is unknown to the table, so it becomes a 500.
var errPanic = errors.New("handler panicked")

// errorBody is the JSON shape of every error.
type errorBody struct {
	Message string            `json:"message"`
	Code    string            `json:"code"`
	Details map[string]string `json:"details,omitempty"`
}

// Errors is the error responder: after the chain has run, it writes the last recorded error as
// JSON, unless a response has already been written. Unknown errors become 500 INTERNAL_ERROR
// and are logged once with their full chain.
func Errors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors.Last().Err
		body, status := describe(c, err)
		if status == http.StatusInternalServerError {
			log.ErrorContext(c.Request.Context(), "request failed", "error", err.Error(),
				"method", c.Request.Method, "route", c.FullPath())
		}
		if status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", wwwAuthenticate(body))
		}
		c.AbortWithStatusJSON(status, body)
	}
}

// describe finds err's status and body, and sets the headers some errors carry.
func describe(c *gin.Context, err error) (errorBody, int) {
	var (
		e      *Error
		valid  *auth.ValidationError
		locked *auth.LockedError
	)
	switch {
	case errors.As(err, &e):
		return errorBody{Message: e.Message, Code: e.Code, Details: e.Details}, e.Status
	case errors.As(err, &valid):
		return errorBody{Message: "the request is invalid", Code: "VALIDATION_ERROR", Details: valid.Fields}, http.StatusBadRequest
	case errors.As(err, &locked):
		c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(locked.RetryAfter.Seconds())))))
		return errorBody{Message: "too many failed logins for this account, try again later", Code: "RATE_LIMITED"}, http.StatusTooManyRequests
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			return errorBody{Message: row.message, Code: row.code}, row.status
		}
	}
	return errorBody{Message: "internal server error", Code: "INTERNAL_ERROR"}, http.StatusInternalServerError
}

// wwwAuthenticate builds the RFC 6750 challenge for a 401 body: bare when no token was sent,
// error="invalid_token" when an access token was refused.
func wwwAuthenticate(b errorBody) string {
	switch b.Code {
	case "TOKEN_EXPIRED", "INVALID_TOKEN", "TOKEN_REVOKED":
		return `Bearer realm="api", error="invalid_token", error_description="` + b.Message + `"`
	}
	return `Bearer realm="api"`
}
