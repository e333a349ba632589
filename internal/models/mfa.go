package models

import (
	"errors"
	"log/slog"
	"time"
)

// ErrMFAEnabled means the user's TOTP factor is already on, so no new one can be enrolled.
var ErrMFAEnabled = errors.New("second factor already enabled")

// The reasons a change of second factor ends sessions.
const (
	ReasonMFAChanged RevokeReason = "mfa_changed" // its user turned TOTP on or off elsewhere
	ReasonMFAReset   RevokeReason = "mfa_reset"   // an operator removed the user's second factors
)

// TOTPFactor is a user's TOTP second factor (table mfa_totp). Secret is sealed (see internal/mfa),
// EnabledAt is nil while the factor is pending confirmation, and LastStep is the last accepted
// 30-second step (-1 for none): codes of that step or earlier are refused.
type TOTPFactor struct {
	UserID    string `gorm:"primaryKey"`
	Secret    string
	EnabledAt *time.Time
	LastStep  int64
	CreatedAt time.Time
}

// TableName is the factor's table.
func (TOTPFactor) TableName() string { return "mfa_totp" }

// Enabled reports whether the factor is on (confirmed), not merely pending.
func (f *TOTPFactor) Enabled() bool { return f != nil && f.EnabledAt != nil }

// LogValue leaves the sealed secret out of logs.
func (f TOTPFactor) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", f.UserID), slog.Bool("enabled", f.EnabledAt != nil))
}

// RecoveryCode is one unused recovery code of a user (table mfa_recovery_codes), stored only as a hash.
type RecoveryCode struct {
	UserID    string `gorm:"primaryKey"`
	CodeHash  string `gorm:"primaryKey"`
	CreatedAt time.Time
}

// TableName is the recovery codes' table.
func (RecoveryCode) TableName() string { return "mfa_recovery_codes" }

// MFAChallenge is the server side of an MFA token (table mfa_challenges): its ID is the token's jti.
// Failures counts the codes tried with it; UsedAt is set by its first success.
type MFAChallenge struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	Failures  int
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// TableName is the challenges' table.
func (MFAChallenge) TableName() string { return "mfa_challenges" }

// MFAState is what second factors a user has: the TOTP factor (nil when none, pending or on), how
// many unused recovery codes are left, and how many passkeys.
type MFAState struct {
	TOTP              *TOTPFactor
	RecoveryCodesLeft int
	Passkeys          int
}
