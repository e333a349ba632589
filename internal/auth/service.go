// Package auth holds the use cases of the server: register and login, refresh rotation with reuse
// detection, logout and sessions, password change, and the admin actions. It knows neither HTTP
// nor GORM: it declares the store it needs (store.go) and takes a Principal, never token claims.
//
// Files by use case: register.go (register, login, create user), open.go (open a session and
// issue the login answer), rotation.go (refresh), sessions.go (logout, sessions, password
// change), admin.go (admin actions), record.go (the audit trail), email.go and emailflows.go
// (verification, password reset and change of address by emailed links).
package auth

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/mfa"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/tokens"
)

// Revoker spreads revocations written to the store to the in-memory deny lists of every instance.
type Revoker interface {
	Publish(ctx context.Context, revs []models.Revocation)
}

// Auditor records audit events without blocking; it marshals d as the event's detail.
type Auditor interface {
	Record(ctx context.Context, e models.AuditEvent, d models.AuditDetail)
}

// LoginGuard counts failed logins per normalised email; ratelimit.LoginGuard implements it.
type LoginGuard interface {
	Blocked(ctx context.Context, email string) (retryAfter time.Duration, blocked bool, err error)
	Failed(ctx context.Context, email string) error
	Succeeded(ctx context.Context, email string) error
}

// Settings are the policy knobs of the service, from the configuration.
type Settings struct {
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	ReuseGrace        time.Duration
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	Leeway            time.Duration
	PasswordMinLength int
	AllowRegistration bool
	Fingerprint       bool   // bind access tokens to a fingerprint cookie (OWASP token sidejacking)
	TOTPIssuer        string // the issuer name authenticator apps show next to a TOTP account
	Email             EmailSettings
}

// Deps are what New needs. Tokens may be nil for a service that only runs the admin use cases
// (the command line); the use cases that issue tokens then must not be called.
type Deps struct {
	Store   Store
	Tokens  *tokens.Issuer
	Hasher  *Hasher
	Revoker Revoker
	Audit   Auditor
	Guard   LoginGuard
	Sealer  *mfa.Sealer // seals TOTP secrets at rest
	// Passkeys runs the WebAuthn ceremonies; nil when no relying party is configured.
	Passkeys *passkeys.Service
	Log      *slog.Logger
	Settings Settings
	Now      func() time.Time // nil = time.Now
	// Letters writes the mails and their links; nil without APP_URL (no mail, no links).
	Letters *mail.Composer
	// Outbox sends mail in the background; nil when the server sends none (the routes that send
	// mail then fail with ErrMailNotConfigured).
	Outbox Outbox
}

// Service runs the auth use cases.
type Service struct {
	store    Store
	tokens   *tokens.Issuer
	hasher   *Hasher
	revoker  Revoker
	audit    Auditor
	guard    LoginGuard
	sealer   *mfa.Sealer
	passkeys *passkeys.Service
	log      *slog.Logger
	settings Settings
	now      func() time.Time
	letters  *mail.Composer
	outbox   Outbox

	laterSlots chan struct{}  // one per mail request running in the background (see later)
	laterRuns  sync.WaitGroup // the mail requests running in the background
}

// New returns a Service.
func New(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: d.Store, tokens: d.Tokens, hasher: d.Hasher, revoker: d.Revoker,
		audit: d.Audit, guard: d.Guard, sealer: d.Sealer, passkeys: d.Passkeys, log: d.Log, settings: d.Settings, now: now,
		letters: d.Letters, outbox: d.Outbox, laterSlots: make(chan struct{}, maxLater)}
}

// Client describes who is calling, for sessions and the audit trail. Fingerprint is the
// value of the caller's fingerprint cookie, if any (TOKEN_FINGERPRINT).
type Client struct {
	IP          string
	UserAgent   string
	Fingerprint string
}

// Principal is who an authenticated call acts for, built by the HTTP edge from a verified access
// token. The zero Principal is the operator at the command line (no user, no token).
type Principal struct {
	UserID    string
	SessionID string
	TokenID   string    // the access token's jti
	ExpiresAt time.Time // when the access token expires
	AMR       []string  // how the user authenticated (RFC 8176 "amr"), as the token says
}

// MFA reports whether p's login used a second factor ("mfa" in its amr).
func (p Principal) MFA() bool { return slices.Contains(p.AMR, "mfa") }

// CommandLine reports whether p is the operator at the command line rather than a user.
func (p Principal) CommandLine() bool { return p.UserID == "" }

// Issued is the result of a login or a refresh.
type Issued struct {
	AccessToken   string
	ExpiresIn     int // seconds
	RefreshToken  string
	RefreshMaxAge int // seconds the refresh cookie may live
	User          *models.User
	SessionID     string
	Fingerprint   string // the fingerprint cookie's value, when TOKEN_FINGERPRINT is on
	// Challenge alone is set when a correct password needs a second step: no session is open yet.
	Challenge *Challenge
}

// RegistrationOpen reports whether self-registration is allowed (ALLOW_REGISTRATION).
func (s *Service) RegistrationOpen() bool { return s.settings.AllowRegistration }

// denyUntil is when no access token issued before at is still accepted.
func (s *Service) denyUntil(at time.Time) time.Time {
	return at.Add(s.settings.AccessTTL + s.settings.Leeway + time.Second)
}
