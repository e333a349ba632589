// Package models holds the rows the server stores, the named vocabularies they use (roles, revoke
// reasons, audit event types, database drivers) and the storage sentinels.
package models

import (
	"errors"
	"time"
)

// Role is a user's role. Only the roles below exist.
type Role string

// The roles a user can have.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// Storage sentinels; only internal/store produces them.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrEmailTaken means another user already has the email.
	ErrEmailTaken = errors.New("email already registered")
	// ErrUnavailable means the database could not be reached or did not answer in time.
	ErrUnavailable = errors.New("database unavailable")
	// ErrLastAdmin means the change would leave no enabled admin.
	ErrLastAdmin = errors.New("last remaining admin")
)

// User is an account. Email is stored trimmed and lower-cased; EmailVerified says whether its
// owner proved they receive mail there (or an operator made the account).
type User struct {
	ID            string `gorm:"primaryKey"`
	Email         string
	PasswordHash  string
	Role          Role
	Disabled      bool
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// MFA reports whether a second factor is on. It is no column: the store computes it where it
	// reads users for display (UserByID, ListUsers, UpdateUser) and never writes it.
	MFA bool `gorm:"->"`
}

// Session is one login: a chain of rotated refresh tokens.
//
// Generation counts rotations. TokenHash is the SHA-256 of the current refresh token and
// PrevTokenHash that of the one it replaced at RotatedAt; the tokens themselves are never stored.
type Session struct {
	ID            string `gorm:"primaryKey"`
	UserID        string
	CreatedAt     time.Time
	LastUsedAt    time.Time
	ExpiresAt     time.Time // absolute end: CreatedAt + SESSION_MAX_LIFETIME
	UserAgent     string
	IP            string
	Generation    int64
	TokenHash     []byte
	PrevTokenHash []byte
	RotatedAt     time.Time
	RevokedAt     *time.Time
	RevokeReason  RevokeReason
	// AMR is how the session's user authenticated: RFC 8176 values, comma-separated ("pwd",
	// "pwd,otp,mfa"). Every access token of the session carries it.
	AMR string
	// User is the session's user (id, email, role, disabled; no password hash), read with the
	// session by store.UpdateSession; nil elsewhere. It is never written through the session.
	User *User `gorm:"-"`
}

// Active reports whether the session can still be used at now, given the idle timeout.
func (s *Session) Active(now time.Time, idle time.Duration) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt) && now.Before(s.IdleEnd(idle))
}

// IdleEnd is when the session ends if it is not refreshed before.
func (s *Session) IdleEnd(idle time.Duration) time.Time { return s.LastUsedAt.Add(idle) }

// RevokeReason says why a session ended.
type RevokeReason string

// The reasons a session ends early.
const (
	ReasonLogout          RevokeReason = "logout"           // its user logged out
	ReasonLogoutAll       RevokeReason = "logout_all"       // its user logged out everywhere
	ReasonEndedByOwner    RevokeReason = "session_revoked"  // its user ended it from the sessions list
	ReasonEndedByAdmin    RevokeReason = "admin"            // an admin ended the user's sessions
	ReasonTokenReuse      RevokeReason = "token_reuse"      // a replaced refresh token came back
	ReasonPasswordChanged RevokeReason = "password_changed" // its user changed the password elsewhere
	ReasonUserDisabled    RevokeReason = "user_disabled"    // its user was disabled
	ReasonUserDeleted     RevokeReason = "user_deleted"     // its user was deleted
	ReasonPasswordReset   RevokeReason = "password_reset"   // its user reset the password by email
)

// Driver names a database driver.
type Driver string

// The database drivers the server runs on.
const (
	DriverPostgres Driver = "postgres"
	DriverSQLite   Driver = "sqlite"
)

// RevocationKind says what a Revocation denies.
type RevocationKind string

// The kinds of revocation.
const (
	// RevokeSession denies every access token whose sid is Subject.
	RevokeSession RevocationKind = "session"
	// RevokeToken denies the access token whose jti is Subject.
	RevokeToken RevocationKind = "jti"
	// RevokeUser denies every access token of user Subject issued before Cutoff.
	RevokeUser RevocationKind = "user"
)

// Revocation is one entry of the access-token deny list. It is kept until ExpiresAt,
// after which no token it could deny is still valid.
type Revocation struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	Kind      RevocationKind
	Subject   string
	Cutoff    time.Time
	ExpiresAt time.Time
	CreatedAt time.Time
}

// AuditEvent is one entry of the audit trail. UserID is the user the event is about;
// Detail is a small JSON object (an AuditDetail as the audit writer marshalled it).
type AuditEvent struct {
	ID        string `gorm:"primaryKey"`
	Type      AuditType
	UserID    string
	SessionID string
	IP        string
	UserAgent string
	CreatedAt time.Time
	Detail    string
}

// SessionFilter picks sessions: by ID and/or UserID, leaving out ExceptID.
// Empty fields do not filter.
type SessionFilter struct {
	ID       string
	UserID   string
	ExceptID string
}

// Rotation is a refresh's common case, applied in one statement (store.RotateSession): session
// ID of UserID, whose current token hash is Presented, becomes the next generation with token
// hash Next, rotated and used At from IP and UserAgent, provided that at At it is not revoked,
// not past its end and used after IdleSince, its user is not disabled, and its end lies between
// EndFrom and EndTo (the next token's expiry was computed assuming so).
type Rotation struct {
	ID, UserID      string
	Presented, Next []byte
	At, IdleSince   time.Time
	EndFrom, EndTo  time.Time
	IP, UserAgent   string
}

// UserPatch is a change to a user; nil fields stay as they are.
type UserPatch struct {
	Role     *Role
	Disabled *bool
}

// Cursor marks a position in a list ordered by (CreatedAt, ID).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// UserFilter picks a page of users ordered by (CreatedAt, ID) ascending, after After when set,
// whose email starts with EmailPrefix when set.
type UserFilter struct {
	EmailPrefix string
	After       *Cursor
	Limit       int
}

// AuditFilter picks a page of audit events ordered by (CreatedAt, ID) descending (newest first),
// before Before when set, of UserID and Type when set.
type AuditFilter struct {
	UserID string
	Type   AuditType
	Before *Cursor
	Limit  int
}
