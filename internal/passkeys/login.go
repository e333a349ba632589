package passkeys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authserver/authserver/internal/models"
)

// BeginLogin starts a passkey login and returns the challenge id the finish must quote and
// the options for navigator.credentials.get(). The request is always for a discoverable
// credential (allowCredentials empty), so the answer has the same shape whether or not an
// account has the email. email (normalised by the caller, or "" for a username-less login)
// is remembered: the finish then accepts only a passkey of the account with that email.
func (s *Service) BeginLogin(ctx context.Context, email string) (string, RequestOptions, error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin()
	if err != nil {
		return "", RequestOptions{}, fmt.Errorf("begin login: %w", err)
	}
	id, err := s.saveChallenge(ctx, models.ChallengeLogin, "", email, sd)
	if err != nil {
		return "", RequestOptions{}, err
	}
	return id, requestOptions(assertion.Response), nil
}

// FinishLogin checks credential (the PublicKeyCredential JSON from get()) against challenge
// challengeID, which it spends, records the passkey's use and returns it with its User set.
// It fails with ErrInvalidAssertion: malformed credential, unknown or deleted credential, a
// user handle that is not the credential's owner, an owner whose email is not the one the
// login was begun for, bad signature, wrong origin or RP ID, no user verification, a challenge
// that is unknown, spent or expired; and with a *CounterError (which matches
// ErrInvalidAssertion) when the signature counter did not move past the stored one.
// Whether the owner may log in (disabled, ...) is the caller's decision.
func (s *Service) FinishLogin(ctx context.Context, challengeID string, credential []byte) (*models.Passkey, error) {
	c, sd, err := s.takeChallenge(ctx, challengeID, models.ChallengeLogin, ErrInvalidAssertion)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, refused(ErrInvalidAssertion, err)
	}
	pk, err := s.store.PasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown credential", ErrInvalidAssertion)
	}
	if err != nil {
		return nil, fmt.Errorf("find passkey: %w", err)
	}
	handle, err := userHandle(pk.UserID)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(parsed.Response.UserHandle, handle) {
		return nil, fmt.Errorf("%w: user handle is not the credential's owner", ErrInvalidAssertion)
	}
	if c.Email != "" && (pk.User == nil || pk.User.Email != c.Email) {
		return nil, fmt.Errorf("%w: credential of another account than the one asked for", ErrInvalidAssertion)
	}
	owner := &user{handle: handle, credentials: credentials([]models.Passkey{*pk})}
	_, cred, err := s.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return owner, nil }, sd, parsed)
	if err != nil {
		return nil, refused(ErrInvalidAssertion, err)
	}
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, fmt.Errorf("%w: user not verified", ErrInvalidAssertion)
	}
	got := parsed.Response.AuthenticatorData.Counter
	regressed := &CounterError{PasskeyID: pk.ID, UserID: pk.UserID, Stored: uint32(pk.SignCount), Got: got}
	if cred.Authenticator.CloneWarning {
		return nil, regressed
	}
	now := s.now().UTC().Truncate(time.Second)
	backup := parsed.Response.AuthenticatorData.Flags.HasBackupState()
	err = s.store.UsePasskey(ctx, pk.ID, pk.SignCount, int64(got), backup, now)
	if errors.Is(err, models.ErrNotFound) {
		// Deleted, or another login moved the counter in the meantime: a clone racing.
		if _, again := s.store.PasskeyByCredentialID(ctx, parsed.RawID); again == nil {
			return nil, regressed
		}
		return nil, fmt.Errorf("%w: credential deleted", ErrInvalidAssertion)
	}
	if err != nil {
		return nil, fmt.Errorf("record passkey use: %w", err)
	}
	pk.SignCount, pk.BackupState, pk.LastUsedAt = int64(got), backup, &now
	return pk, nil
}
