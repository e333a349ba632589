package auth

import (
	"errors"
	"time"
)

// Business outcomes of the auth use cases; internal/middleware maps each to its HTTP answer.
var (
	ErrInvalidCredentials   = errors.New("invalid email or password")
	ErrAccountDisabled      = errors.New("account disabled")
	ErrRegistrationDisabled = errors.New("registration disabled")
	ErrInvalidRefreshToken  = errors.New("invalid refresh token")
	ErrNoRefreshToken       = errors.New("no refresh token")
	ErrTokenReuse           = errors.New("refresh token reuse detected")
	ErrBusy                 = errors.New("password hashing capacity exhausted")
	ErrUserGone             = errors.New("user no longer exists")
	errUnchanged            = errors.New("session unchanged")
)

// ValidationError lists the problems of a request, one message per field.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return "validation failed" }

// LockedError means the account's login is locked after too many failures; RetryAfter says for how long.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string { return "too many failed logins" }
