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

	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *models.Session) error
	// UpdateSession locks session id for one transaction (SELECT ... FOR UPDATE on PostgreSQL) and
	// calls change on it; when change says save, it saves the session and inserts the revocations
	// change returned, else it writes nothing. An error from change rolls the transaction back and
	// is returned so that errors.Is works. A missing session is models.ErrNotFound and change is
	// not called.
	UpdateSession(ctx context.Context, id string, change func(s *models.Session) (save bool, revs []models.Revocation, err error)) error
	// ActiveSessions lists the user's sessions that are not revoked, not past ExpiresAt at now
	// and used after idleSince, newest first.
	ActiveSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]models.Session, error)
	// EndSessions revokes, at `at` and with reason, every not-yet-revoked session matching f, and in
	// the same transaction inserts a session revocation (Subject the session id, ExpiresAt denyUntil,
	// CreatedAt at) for each one plus extra (a zero CreatedAt becomes at). It returns the revocations
	// it inserted (possibly none), for the caller to publish. f must name an ID or a UserID.
	EndSessions(ctx context.Context, f models.SessionFilter, reason models.RevokeReason, at, denyUntil time.Time, extra ...models.Revocation) ([]models.Revocation, error)
	// ChangePassword sets the user's password hash and ends every other session of the user
	// (as EndSessions with ExceptID keepSessionID, reason models.ReasonPasswordChanged), in one transaction.
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
}
