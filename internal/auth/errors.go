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
	// ErrValidation is what every *ValidationError matches with errors.Is.
	ErrValidation = errors.New("validation failed")
	// ErrAccountLocked is what every *LockedError matches with errors.Is.
	ErrAccountLocked = errors.New("too many failed logins")
)

// ValidationError lists the problems of a request, one message per field. It matches ErrValidation.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return ErrValidation.Error() }

// Unwrap makes errors.Is(err, ErrValidation) true.
func (e *ValidationError) Unwrap() error { return ErrValidation }

// LockedError means the account's login is locked after too many failures; RetryAfter says for
// how long. It matches ErrAccountLocked.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string { return ErrAccountLocked.Error() }

// Unwrap makes errors.Is(err, ErrAccountLocked) true.
func (e *LockedError) Unwrap() error { return ErrAccountLocked }
