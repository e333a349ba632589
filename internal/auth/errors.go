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
	// ErrPasskeysOff means no WebAuthn relying party is configured, so no passkey ceremony can run.
	ErrPasskeysOff = errors.New("passkeys are not configured")
	// ErrLastSignInMethod means the change would leave the account no way to sign in.
	ErrLastSignInMethod = errors.New("last way to sign in")
	// ErrValidation is what every *ValidationError matches with errors.Is.
	ErrValidation = errors.New("validation failed")
	// ErrAccountLocked is what every *LockedError matches with errors.Is.
	ErrAccountLocked = errors.New("too many failed logins")
	// ErrInvalidMFACode means a TOTP or recovery code given for the caller's own account (confirm,
	// disable, new recovery codes) is malformed, wrong or already used, or no factor is on.
	ErrInvalidMFACode = errors.New("invalid mfa code")
	// ErrMFACodeRejected is ErrInvalidMFACode at the second step of a login, where it answers 401.
	ErrMFACodeRejected = errors.New("mfa code rejected")
	// ErrInvalidMFAToken means an MFA token is malformed, forged, expired, spent, or out of attempts.
	ErrInvalidMFAToken = errors.New("invalid mfa token")
	// ErrMFANotPending means there is no pending TOTP enrolment to confirm.
	ErrMFANotPending = errors.New("no pending totp enrolment")
	// ErrInvalidEmailToken: an emailed token is empty, unknown, spent, expired, voided or of another purpose.
	ErrInvalidEmailToken = errors.New("invalid or expired email link")
	// ErrEmailNotVerified: REQUIRE_EMAIL_VERIFICATION is on and the account's address is not verified.
	ErrEmailNotVerified = errors.New("email address not verified")
	// ErrMailNotConfigured: a route that sends mail was called on a server that sends none.
	ErrMailNotConfigured = errors.New("mail is not configured")
	// ErrNoAppURL: a link was asked for without an application URL to build it on.
	ErrNoAppURL = errors.New("APP_URL is not set: links cannot be made")
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
