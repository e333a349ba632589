package passkeys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// DefaultName is the name of a passkey registered without one.
const DefaultName = "Passkey"

// MaxNameLength is the longest passkey name accepted, in characters.
const MaxNameLength = 64

// BeginRegistration starts registering a passkey for the user (id userID, shown as email). It
// returns the challenge id the finish must quote and the options for navigator.credentials.create();
// the user's existing passkeys are listed in excludeCredentials so one authenticator is not
// registered twice.
func (s *Service) BeginRegistration(ctx context.Context, userID, email string) (string, CreationOptions, error) {
	handle, err := userHandle(userID)
	if err != nil {
		return "", CreationOptions{}, err
	}
	existing, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return "", CreationOptions{}, fmt.Errorf("list passkeys: %w", err)
	}
	u := &user{handle: handle, name: email, credentials: credentials(existing)}
	exclude := make([]protocol.CredentialDescriptor, 0, len(u.credentials))
	for _, c := range u.credentials {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithCredentialParameters(credentialParameters),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return "", CreationOptions{}, fmt.Errorf("begin registration: %w", err)
	}
	id, err := s.saveChallenge(ctx, models.ChallengeRegistration, userID, "", sd)
	if err != nil {
		return "", CreationOptions{}, err
	}
	return id, creationOptions(creation.Response), nil
}

// FinishRegistration checks credential (the PublicKeyCredential JSON from create()) against
// challenge challengeID, which it spends, and stores the new passkey under name (trimmed;
// DefaultName when empty). It fails with ErrInvalidRegistration (malformed credential, wrong
// origin or RP ID, no user verification, a challenge that is unknown, spent, expired or
// another user's, a credential already registered) or ErrTooMany.
func (s *Service) FinishRegistration(ctx context.Context, userID, challengeID string, credential []byte, name string) (*models.Passkey, error) {
	c, sd, err := s.takeChallenge(ctx, challengeID, models.ChallengeRegistration, ErrInvalidRegistration)
	if err != nil {
		return nil, err
	}
	if c.UserID != userID {
		return nil, fmt.Errorf("%w: challenge belongs to another user", ErrInvalidRegistration)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, refused(ErrInvalidRegistration, err)
	}
	existing, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	if len(existing) >= MaxPerUser {
		return nil, ErrTooMany
	}
	handle, err := userHandle(userID)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(&user{handle: handle, credentials: credentials(existing)}, sd, parsed)
	if err != nil {
		return nil, refused(ErrInvalidRegistration, err)
	}
	if !cred.Flags.UserVerified {
		return nil, fmt.Errorf("%w: user not verified", ErrInvalidRegistration)
	}
	if name = strings.TrimSpace(name); name == "" {
		name = DefaultName
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if knownTransports[t] && !slices.Contains(transports, string(t)) {
			transports = append(transports, string(t))
		}
	}
	p := &models.Passkey{
		ID:                uuid.NewString(),
		UserID:            userID,
		CredentialID:      cred.ID,
		PublicKey:         cred.PublicKey,
		SignCount:         int64(cred.Authenticator.SignCount),
		Transports:        strings.Join(transports, ","),
		AAGUID:            cred.Authenticator.AAGUID,
		AttestationFormat: cred.AttestationFormat,
		BackupEligible:    cred.Flags.BackupEligible,
		BackupState:       cred.Flags.BackupState,
		Name:              name,
		CreatedAt:         s.now().UTC().Truncate(time.Second),
	}
	err = s.store.CreatePasskey(ctx, p)
	if errors.Is(err, models.ErrPasskeyExists) {
		return nil, fmt.Errorf("%w: credential already registered", ErrInvalidRegistration)
	}
	if err != nil {
		return nil, fmt.Errorf("save passkey: %w", err)
	}
	return p, nil
}

// knownTransports are the transports kept from a registration; anything else a client sends is dropped.
var knownTransports = map[protocol.AuthenticatorTransport]bool{
	protocol.USB: true, protocol.NFC: true, protocol.BLE: true, protocol.SmartCard: true,
	protocol.Hybrid: true, protocol.Internal: true,
}

// user is a WebAuthn user: the handle is the user's UUID as 16 bytes.
type user struct {
	handle      []byte
	name        string
	credentials []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// userHandle is the WebAuthn user handle of user id: the 16 bytes of the UUID.
func userHandle(id string) ([]byte, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, fmt.Errorf("user id %q: %w", id, err)
	}
	return u[:], nil
}

// credentials turns stored passkeys into the library's credentials.
func credentials(list []models.Passkey) []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(list))
	for _, p := range list {
		out = append(out, credential(p))
	}
	return out
}

// credential turns a stored passkey into the library's credential.
func credential(p models.Passkey) webauthn.Credential {
	var transports []protocol.AuthenticatorTransport
	for t := range strings.SplitSeq(p.Transports, ",") {
		if t != "" {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
	}
	return webauthn.Credential{
		ID:                p.CredentialID,
		PublicKey:         p.PublicKey,
		AttestationFormat: p.AttestationFormat,
		Transport:         transports,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   true,
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: uint32(p.SignCount)},
	}
}
