package auth

import (
	"context"
	"time"

	"github.com/authserver/authserver/internal/models"
)

// Store is the persistence the auth service needs; internal/store implements it with GORM.
// Every method that changes more than one row does it in one transaction.
type Store interface {
	// CreateUser inserts u, or returns models.ErrEmailTaken.
	CreateUser(ctx context.Context, u *models.User) error
	// UserByEmail returns the user with that (normalised) email, or models.ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*models.User, error)
	// UserByID returns the user, or models.ErrNotFound.
	UserByID(ctx context.Context, id string) (*models.User, error)

	// Passkeys lists the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]models.Passkey, error)
	// DeletePasskey deletes the user's passkey id, or returns models.ErrNotFound.
	DeletePasskey(ctx context.Context, userID, id string) error

	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *models.Session) error
	// UpdateSession locks session id for one transaction (SELECT ... FOR UPDATE on PostgreSQL) and
	// calls change on it; when change says save, it saves the session and inserts the revocations
	// change returned, else it writes nothing. An error from change rolls the transaction back and
	// is returned so that errors.Is works. A missing session is models.ErrNotFound and change is
	// not called.
	UpdateSession(ctx context.Context, id string, change func(s *models.Session) (save bool, revs []models.Revocation, err error)) error
	// RotateSession applies r in one statement and returns the session with its new generation,
	// end and AMR, and its User (id, email, role). It returns models.ErrNotFound when any of r's
	// conditions does not hold; nothing is written then.
	RotateSession(ctx context.Context, r models.Rotation) (*models.Session, error)
	// ActiveSessions lists the user's sessions that are not revoked, not past ExpiresAt at now
	// and used after idleSince, newest first.
	ActiveSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]models.Session, error)
	// EndSessions revokes, at `at` and with reason, every not-yet-revoked session matching f, and in
	// the same transaction inserts a session revocation (Subject the session id, ExpiresAt denyUntil,
	// CreatedAt at) for each one plus extra (a zero CreatedAt becomes at). It returns the revocations
	// it inserted (possibly none), for the caller to publish. f must name an ID or a UserID.
	EndSessions(ctx context.Context, f models.SessionFilter, reason models.RevokeReason, at, denyUntil time.Time, extra ...models.Revocation) ([]models.Revocation, error)
	// ChangePassword sets the user's password hash, ends every other session of the user (as
	// EndSessions with ExceptID keepSessionID, reason models.ReasonPasswordChanged) and voids the
	// user's unspent reset links, in one transaction.
	// It returns the revocations it inserted, or models.ErrNotFound for an unknown user.
	ChangePassword(ctx context.Context, userID, hash, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error)

	// ListUsers returns a page of users (see models.UserFilter).
	ListUsers(ctx context.Context, f models.UserFilter) ([]models.User, error)
	// UpdateUser applies p in one transaction; disabling ends every session of the user and cuts off
	// their access tokens. It returns the user and the revocations written, or models.ErrNotFound or
	// models.ErrLastAdmin.
	UpdateUser(ctx context.Context, id string, p models.UserPatch, at, denyUntil time.Time) (*models.User, []models.Revocation, error)
	// DeleteUser deletes the user and their sessions and cuts off their access tokens, in one
	// transaction. It returns the revocations written, or models.ErrNotFound or models.ErrLastAdmin.
	DeleteUser(ctx context.Context, id string, at, denyUntil time.Time) ([]models.Revocation, error)
	// AuditEvents returns a page of audit events (see models.AuditFilter).
	AuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error)

	// MFAState returns the user's TOTP factor (nil when none) and how many recovery codes are unused.
	MFAState(ctx context.Context, userID string) (models.MFAState, error)
	// SetPendingTOTP stores sealed as the user's pending TOTP factor, replacing an earlier pending
	// one, or returns models.ErrMFAEnabled when the factor is on.
	SetPendingTOTP(ctx context.Context, userID, sealed string, at time.Time) error
	// EnableTOTP turns on the pending factor whose sealed secret is sealed, with last step step,
	// replaces the recovery codes with codeHashes and ends every other session of the user, in one
	// transaction. It returns the revocations written, or models.ErrNotFound.
	EnableTOTP(ctx context.Context, userID, sealed string, step int64, codeHashes []string, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error)
	// DisableTOTP removes the user's TOTP factor, recovery codes and open challenges and ends every
	// other session, in one transaction. It returns the revocations written, or models.ErrNotFound.
	DisableTOTP(ctx context.Context, userID, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error)
	// ResetMFA removes every second factor and open challenge of the user and ends all their sessions,
	// in one transaction. It returns the revocations written, or models.ErrNotFound.
	ResetMFA(ctx context.Context, userID string, at, denyUntil time.Time) ([]models.Revocation, error)
	// AcceptTOTPStep records step as the last accepted step if it is later than the recorded one,
	// atomically, or returns models.ErrNotFound.
	AcceptTOTPStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode spends the user's recovery code with hash codeHash once, or returns models.ErrNotFound.
	UseRecoveryCode(ctx context.Context, userID, codeHash string) error
	// ReplaceRecoveryCodes replaces the user's recovery codes while TOTP is on, or returns models.ErrNotFound.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error
	// CreateMFAChallenge inserts c, deleting the user's spent and expired challenges.
	CreateMFAChallenge(ctx context.Context, c *models.MFAChallenge) error
	// ClaimMFAAttempt counts one more code tried with an open challenge (unspent, unexpired at `at`,
	// under maxAttempts codes), atomically, or returns models.ErrNotFound.
	ClaimMFAAttempt(ctx context.Context, id, userID string, maxAttempts int, at time.Time) error
	// SpendMFAChallenge marks the challenge used once, or returns models.ErrNotFound.
	SpendMFAChallenge(ctx context.Context, id string, at time.Time) error
	// IssueEmailToken stores t and deletes the user's other tokens of t.Purpose, in one
	// transaction; when sentAfter is not zero and a link of t.Purpose went to t.Email after it,
	// it stores nothing and returns models.ErrSentRecently. An unknown user is models.ErrNotFound.
	IssueEmailToken(ctx context.Context, t *models.EmailToken, sentAfter time.Time) error
	// EmailToken returns the usable token (unspent, unexpired at now, its user enabled and, but
	// for a change of address, still at the address it went to) with that hash and purpose, and
	// its user; anything else is models.ErrNotFound.
	EmailToken(ctx context.Context, hash []byte, purpose models.EmailPurpose, now time.Time) (*models.EmailToken, *models.User, error)
	// VerifyEmail spends a usable verification token and marks its user's address verified, in
	// one transaction, and returns the user; models.ErrNotFound for an unusable token.
	VerifyEmail(ctx context.Context, hash []byte, now time.Time) (*models.User, error)
	// ChangeEmail spends a usable change token and moves its user to the token's address,
	// verified, in one transaction. It returns the user and their previous address;
	// models.ErrNotFound for an unusable token, models.ErrEmailTaken (token unspent) for an
	// address taken in the meantime.
	ChangeEmail(ctx context.Context, hash []byte, now time.Time) (*models.User, string, error)
	// ResetPassword spends a usable reset token and, in the same transaction, sets the password
	// hash, marks the address verified, deletes the user's other reset tokens, ends every session
	// of the user and cuts off their access tokens. It returns the user and the revocations
	// written; models.ErrNotFound for an unusable token.
	ResetPassword(ctx context.Context, hash []byte, passwordHash string, at, denyUntil time.Time) (*models.User, []models.Revocation, error)
}
