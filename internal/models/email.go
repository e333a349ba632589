package models

import (
	"errors"
	"time"
)

// EmailPurpose says what an emailed link does.
type EmailPurpose string

// The purposes of emailed links.
const (
	PurposeVerifyEmail   EmailPurpose = "verify_email"   // confirms the account's address
	PurposeResetPassword EmailPurpose = "reset_password" // sets a new password
	PurposeChangeEmail   EmailPurpose = "change_email"   // moves the account to a new address
)

// EmailToken is a one-time link sent by email. TokenHash is the SHA-256 of the token, which is
// never stored; Email is the address the link went to (for PurposeChangeEmail, the new address).
// UsedAt is set when the token is spent.
type EmailToken struct {
	TokenHash []byte `gorm:"primaryKey"`
	UserID    string
	Purpose   EmailPurpose
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// ErrSentRecently means a link of that purpose went to that address within the resend interval.
var ErrSentRecently = errors.New("a link was sent to that address recently")
