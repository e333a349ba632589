package models

import (
	"errors"
	"time"
)

// Passkey is a WebAuthn credential registered by a user.
//
// CredentialID is the authenticator's credential id (unique across all users) and PublicKey its
// COSE-encoded public key. SignCount is the last signature counter seen; Transports lists the
// transports the browser reported, comma-separated. AAGUID names the authenticator model (all
// zeros for most passkey providers). BackupEligible and BackupState are the BE and BS flags.
type Passkey struct {
	ID                string `gorm:"primaryKey"`
	UserID            string
	CredentialID      []byte
	PublicKey         []byte
	SignCount         int64
	Transports        string
	AAGUID            []byte `gorm:"column:aaguid"`
	AttestationFormat string
	BackupEligible    bool
	BackupState       bool
	Name              string
	CreatedAt         time.Time
	LastUsedAt        *time.Time
	// User is the passkey's owner (id, email, role, disabled, email verified; no password hash), read with the
	// passkey by store.PasskeyByCredentialID; nil elsewhere. It is never written through the passkey.
	User *User `gorm:"-"`
}

// The purposes a WebAuthn challenge can serve.
const (
	ChallengeRegistration = "registration"
	ChallengeLogin        = "login"
)

// WebAuthnChallenge is the server's half of one WebAuthn ceremony, kept until it is finished
// or expires. IDHash is the SHA-256 of the challenge id handed to the client. UserID is the
// user registering (registration) or empty (login); Email is the address a login was asked
// for, empty for a username-less login. Session is the ceremony's state as JSON.
type WebAuthnChallenge struct {
	IDHash    []byte `gorm:"primaryKey"`
	Purpose   string
	UserID    string
	Email     string
	Session   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TableName keeps GORM from splitting "WebAuthn" into "web_authn".
func (WebAuthnChallenge) TableName() string { return "webauthn_challenges" }

// ErrPasskeyExists means a passkey with the same credential id is already registered.
var ErrPasskeyExists = errors.New("passkey already registered")
