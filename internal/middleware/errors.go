// Package middleware holds the Gin middleware of the server: the error responder, request log,
// recovery, deadline, bearer authentication, role check, the rate-limit adapter, origin checks
// (CORS and CSRF), body limit and security headers.
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
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/tokens"
)

// Failures decided at the HTTP edge, mapped in errorTable. Handlers and middleware hand them
// (possibly wrapped with their cause) to Fail.
var (
	ErrInvalidJSON      = errors.New("request body is not a JSON object")
	ErrPayloadTooLarge  = errors.New("request body too large")
	ErrOriginNotAllowed = errors.New("origin not allowed")
	ErrCSRFRejected     = errors.New("cross-site request refused")
	ErrRateLimited      = errors.New("rate limit exceeded")
	ErrNoRoute          = errors.New("no such endpoint")
	ErrMethodNotAllowed = errors.New("method not allowed")
	ErrNotReady         = errors.New("a backing service does not answer")
	ErrNoToken          = errors.New("no bearer token")
	ErrTokenRevoked     = errors.New("token revoked")
	ErrInsufficientRole = errors.New("insufficient permissions")
	ErrMFARequired      = errors.New("second factor required")
	ErrInvalidClient    = errors.New("no valid introspection client token")
	errPanic            = errors.New("handler panicked") // unknown to the table: a 500
)

// internalError is the body of every error the table does not know.
var internalError = errorBody{Message: "internal server error", Code: "INTERNAL_ERROR"}

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

// errorTable is the ONE place where errors become HTTP responses: every error code the server
// sends has its row here. Rows are matched with errors.Is in order; an error matching none is a
// 500 INTERNAL_ERROR.
var errorTable = []errorRow{
	{ErrInvalidJSON, http.StatusBadRequest, "INVALID_JSON", "the body must be a valid JSON object"},
	{auth.ErrValidation, http.StatusBadRequest, "VALIDATION_ERROR", "the request is invalid"},
	{ErrPayloadTooLarge, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is too large"},
	{ErrOriginNotAllowed, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", "origin not allowed"},
	{ErrCSRFRejected, http.StatusForbidden, "CSRF_REJECTED", "cross-site request refused"},
	{ErrRateLimited, http.StatusTooManyRequests, "RATE_LIMITED", "too many requests, try again later"},
	{auth.ErrAccountLocked, http.StatusTooManyRequests, "RATE_LIMITED", "too many failed logins for this account, try again later"},
	{ErrNoRoute, http.StatusNotFound, "NOT_FOUND", "no such endpoint"},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed on this path"},
	{ErrNoToken, http.StatusUnauthorized, "NO_TOKEN", "a bearer access token is required"},
	{tokens.ErrSessionEnded, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token's session has ended"},
	{tokens.ErrExpired, http.StatusUnauthorized, "TOKEN_EXPIRED", "the access token has expired"},
	{tokens.ErrInvalid, http.StatusUnauthorized, "INVALID_TOKEN", "the access token is invalid"},
	{ErrTokenRevoked, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token has been revoked"},
	{auth.ErrUserGone, http.StatusUnauthorized, "TOKEN_REVOKED", "the access token has been revoked"},
	{ErrInsufficientRole, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "insufficient permissions"},
	{ErrMFARequired, http.StatusForbidden, "MFA_REQUIRED", "this route requires a login with a second factor"},
	{ErrInvalidClient, http.StatusUnauthorized, "INVALID_CLIENT", "a valid introspection client token is required"},
	{auth.ErrInvalidMFACode, http.StatusBadRequest, "INVALID_MFA_CODE", "the code is invalid or was already used"},
	{auth.ErrMFACodeRejected, http.StatusUnauthorized, "INVALID_MFA_CODE", "the code is invalid or was already used"},
	{auth.ErrInvalidMFAToken, http.StatusUnauthorized, "INVALID_MFA_TOKEN", "the mfa token is invalid, expired or spent; log in again"},
	{auth.ErrMFANotPending, http.StatusConflict, "MFA_NOT_PENDING", "no TOTP enrolment is waiting for confirmation"},
	{models.ErrMFAEnabled, http.StatusConflict, "MFA_ALREADY_ENABLED", "TOTP is already enabled"},
	{auth.ErrInvalidCredentials, http.StatusUnauthorized, "INVALID_CREDENTIALS", "invalid email or password"},
	{auth.ErrAccountDisabled, http.StatusForbidden, "ACCOUNT_DISABLED", "this account is disabled"},
	{auth.ErrRegistrationDisabled, http.StatusForbidden, "REGISTRATION_DISABLED", "registration is disabled"},
	{auth.ErrNoRefreshToken, http.StatusUnauthorized, "NO_REFRESH_TOKEN", "a refresh token is required"},
	{auth.ErrInvalidRefreshToken, http.StatusUnauthorized, "INVALID_REFRESH_TOKEN", "the refresh token is invalid, expired or revoked"},
	{auth.ErrTokenReuse, http.StatusUnauthorized, "TOKEN_REUSE", "refresh token reuse detected; the session has been revoked"},
	{auth.ErrBusy, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "the server is busy, try again shortly"},
	{passkeys.ErrInvalidRegistration, http.StatusBadRequest, "INVALID_PASSKEY", "the passkey could not be registered"},
	{passkeys.ErrInvalidAssertion, http.StatusUnauthorized, "INVALID_PASSKEY", "the passkey was not accepted"},
	{passkeys.ErrTooMany, http.StatusConflict, "PASSKEY_LIMIT", "this account holds the most passkeys allowed; delete one first"},
	{auth.ErrPasskeysOff, http.StatusServiceUnavailable, "PASSKEYS_NOT_CONFIGURED", "passkeys are not configured on this server"},
	{auth.ErrLastSignInMethod, http.StatusConflict, "LAST_SIGN_IN_METHOD", "this is the account's last way to sign in"},
	{auth.ErrInvalidEmailToken, http.StatusBadRequest, "INVALID_EMAIL_TOKEN", "the link is invalid, used or expired: ask for a new one"},
	{auth.ErrEmailNotVerified, http.StatusForbidden, "EMAIL_NOT_VERIFIED", "confirm your email address first: use the link mailed to you, or ask for a new one"},
	{auth.ErrMailNotConfigured, http.StatusServiceUnavailable, "MAIL_NOT_CONFIGURED", "this server does not send mail"},
	{models.ErrEmailTaken, http.StatusConflict, "EMAIL_TAKEN", "email is already registered"},
	{models.ErrLastAdmin, http.StatusConflict, "LAST_ADMIN", "the last remaining admin cannot be disabled, demoted or deleted"},
	{models.ErrNotFound, http.StatusNotFound, "NOT_FOUND", "not found"},
	{ErrNotReady, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "a backing service does not answer"},
	{models.ErrUnavailable, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "a backing service is unavailable, try again shortly"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "the request timed out, try again shortly"},
}

// errorBody is the JSON shape of every error.
type errorBody struct {
	Message string            `json:"message"`
	Code    string            `json:"code"`
	Details map[string]string `json:"details,omitempty"`
}

// Errors is the error responder: after the chain has run, it writes the last recorded error as
// JSON, unless a response has already been written. Every 5xx is logged once with the error's
// whole chain (the cause of a 503 too); the client only sees the row's message.
func Errors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors.Last().Err
		body, status := describe(c, err)
		if status >= http.StatusInternalServerError {
			log.ErrorContext(c.Request.Context(), "request failed", "error", err.Error(), "status", status,
				"method", c.Request.Method, "route", c.FullPath())
		}
		if status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", wwwAuthenticate(body))
		}
		c.AbortWithStatusJSON(status, body)
	}
}

// describe finds err's row and builds the body; validation errors add their details, and a
// locked account and a full bcrypt queue (a login flood is shed: try again in a second) set Retry-After.
func describe(c *gin.Context, err error) (errorBody, int) {
	for _, row := range errorTable {
		if !errors.Is(err, row.err) {
			continue
		}
		body := errorBody{Message: row.message, Code: row.code}
		var (
			valid  *auth.ValidationError
			locked *auth.LockedError
		)
		if errors.As(err, &valid) {
			body.Details = valid.Fields
		}
		if errors.As(err, &locked) {
			c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(locked.RetryAfter.Seconds())))))
		}
		if errors.Is(err, auth.ErrBusy) {
			c.Header("Retry-After", "1")
		}
		return body, row.status
	}
	return internalError, http.StatusInternalServerError
}

// wwwAuthenticate builds the RFC 6750 challenge for a 401 body: bare when no token was sent,
// error="invalid_token" when an access token was refused, and the introspection realm when
// the caller of POST /oauth/introspect did not present one of its client tokens.
func wwwAuthenticate(b errorBody) string {
	switch b.Code {
	case "TOKEN_EXPIRED", "INVALID_TOKEN", "TOKEN_REVOKED":
		return `Bearer realm="api", error="invalid_token", error_description="` + b.Message + `"`
	case "INVALID_CLIENT":
		return `Bearer realm="introspection"`
	}
	return `Bearer realm="api"`
}
