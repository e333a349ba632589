// Package passkeys runs the WebAuthn registration and login ceremonies and keeps users' passkeys.
package passkeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authserver/authserver/internal/models"
)

// ChallengeTTL is how long a ceremony may take, from its options to its finish.
const ChallengeTTL = 5 * time.Minute

// MaxPerUser is how many passkeys one user may hold.
const MaxPerUser = 20

// challengeIDBytes is the number of random bytes in a challenge id.
const challengeIDBytes = 32

// Outcomes of the ceremonies; internal/middleware maps each to its HTTP answer.
var (
	// ErrInvalidRegistration means a registration was refused: bad or foreign credential JSON,
	// wrong origin or RP ID, no user verification, an unknown, spent, expired or foreign
	// challenge, or a credential already registered.
	ErrInvalidRegistration = errors.New("invalid passkey registration")
	// ErrInvalidAssertion means a passkey login was refused: bad credential JSON, unknown or
	// deleted credential, bad signature, wrong origin or RP ID, no user verification, an unknown,
	// spent or expired challenge, or a signature counter gone backwards.
	ErrInvalidAssertion = errors.New("invalid passkey assertion")
	// ErrTooMany means the user already holds MaxPerUser passkeys.
	ErrTooMany = errors.New("too many passkeys")
)

// CounterError is a refused login whose signature counter did not move past the stored one:
// the sign of a cloned authenticator. It matches ErrInvalidAssertion; callers audit it.
type CounterError struct {
	PasskeyID string
	UserID    string
	Stored    uint32
	Got       uint32
}

func (e *CounterError) Error() string {
	return fmt.Sprintf("passkey %s signature counter went from %d to %d", e.PasskeyID, e.Stored, e.Got)
}

// Unwrap makes a CounterError an ErrInvalidAssertion.
func (e *CounterError) Unwrap() error { return ErrInvalidAssertion }

// Store is the persistence the ceremonies need; internal/store implements it with GORM.
type Store interface {
	// CreateChallenge inserts c, first deleting the challenges that expired before c.CreatedAt.
	CreateChallenge(ctx context.Context, c *models.WebAuthnChallenge) error
	// TakeChallenge deletes the challenge whose IDHash is idHash and returns it (whether or not it
	// has expired), or models.ErrNotFound. Two concurrent calls never both get it.
	TakeChallenge(ctx context.Context, idHash []byte) (*models.WebAuthnChallenge, error)
	// Passkeys lists the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]models.Passkey, error)
	// PasskeyByCredentialID returns the passkey with that credential id, or models.ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*models.Passkey, error)
	// CreatePasskey inserts p, or returns models.ErrPasskeyExists when its credential id is taken.
	CreatePasskey(ctx context.Context, p *models.Passkey) error
	// UsePasskey records a login with passkey id: sign count newCount, backup state and last use
	// at, provided its sign count is still oldCount; otherwise (or when it is gone) models.ErrNotFound.
	UsePasskey(ctx context.Context, id string, oldCount, newCount int64, backupState bool, at time.Time) error
	// DeletePasskey deletes the user's passkey id, or returns models.ErrNotFound.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// Service runs the ceremonies for one relying party. It is safe for concurrent use.
type Service struct {
	wa    *webauthn.WebAuthn
	store Store
	now   func() time.Time
}

// New checks cfg (see Config.Check) and returns a Service storing through st; now is the clock.
func New(cfg Config, st Store, now func() time.Time) (*Service, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	required := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     cfg.Origins,
		// Attestation "none": the server trusts the browser's origin check and the user's
		// verification, not a vendor certificate chain.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationRequired,
		},
		// The timeout the browser is told; expiry itself is enforced by the challenge store.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
		// No extension is requested, and an output a password manager adds unasked changes
		// nothing that is verified.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn relying party: %w", err)
	}
	return &Service{wa: wa, store: st, now: now}, nil
}

// credentialParameters are the algorithms offered, most preferred first: ES256 (every platform
// authenticator), EdDSA, and RS256 (Windows Hello).
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// saveChallenge stores the ceremony state sd under a new random challenge id and returns the id.
func (s *Service) saveChallenge(ctx context.Context, purpose, userID, email string, sd *webauthn.SessionData) (string, error) {
	state, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("encode ceremony state: %w", err)
	}
	raw := make([]byte, challengeIDBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("challenge id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	err = s.store.CreateChallenge(ctx, &models.WebAuthnChallenge{
		IDHash:    hashChallengeID(id),
		Purpose:   purpose,
		UserID:    userID,
		Email:     email,
		Session:   string(state),
		CreatedAt: now,
		ExpiresAt: now.Add(ChallengeTTL),
	})
	if err != nil {
		return "", fmt.Errorf("save challenge: %w", err)
	}
	return id, nil
}

// takeChallenge spends challenge id and returns it with its ceremony state. An unknown, spent,
// expired or other-purpose challenge is refused with invalid.
func (s *Service) takeChallenge(ctx context.Context, id, purpose string, invalid error) (*models.WebAuthnChallenge, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if id == "" {
		return nil, sd, fmt.Errorf("%w: no challenge id", invalid)
	}
	c, err := s.store.TakeChallenge(ctx, hashChallengeID(id))
	if errors.Is(err, models.ErrNotFound) {
		return nil, sd, fmt.Errorf("%w: unknown or spent challenge", invalid)
	}
	if err != nil {
		return nil, sd, fmt.Errorf("take challenge: %w", err)
	}
	if c.Purpose != purpose {
		return nil, sd, fmt.Errorf("%w: challenge is for %s", invalid, c.Purpose)
	}
	if !s.now().Before(c.ExpiresAt) {
		return nil, sd, fmt.Errorf("%w: challenge expired", invalid)
	}
	if err := json.Unmarshal([]byte(c.Session), &sd); err != nil {
		return nil, sd, fmt.Errorf("decode ceremony state: %w", err)
	}
	return c, sd, nil
}

// refused wraps the library's reason err for refusing a ceremony in sentinel, keeping the
// library's debug information for the logs (it never reaches a client).
func refused(sentinel, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %w: %s", sentinel, err, pe.DevInfo)
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// hashChallengeID is how a challenge id is stored: only its SHA-256.
func hashChallengeID(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}
