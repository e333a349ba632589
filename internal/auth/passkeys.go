package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
)

// BeginPasskeyRegistration starts registering a passkey for p's user and returns the challenge id
// and the options for navigator.credentials.create(). It fails with ErrPasskeysOff or ErrUserGone.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p Principal) (string, passkeys.CreationOptions, error) {
	if s.passkeys == nil {
		return "", passkeys.CreationOptions{}, ErrPasskeysOff
	}
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return "", passkeys.CreationOptions{}, err
	}
	return s.passkeys.BeginRegistration(ctx, u.ID, u.Email)
}

// FinishPasskeyRegistration stores the passkey credential proves, for the challenge p's user
// began, named name (trimmed; passkeys.DefaultName when empty), and records passkey_added. It
// fails with ErrPasskeysOff, a *ValidationError (name), passkeys.ErrInvalidRegistration or
// passkeys.ErrTooMany.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, challengeID string, credential []byte, name string, c Client) (*models.Passkey, error) {
	if s.passkeys == nil {
		return nil, ErrPasskeysOff
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > passkeys.MaxNameLength || strings.ContainsFunc(name, unicode.IsControl) {
		return nil, &ValidationError{Fields: map[string]string{
			"name": fmt.Sprintf("must be at most %d characters, without control characters", passkeys.MaxNameLength)}}
	}
	pk, err := s.passkeys.FinishRegistration(ctx, p.UserID, challengeID, credential, name)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditPasskeyAdded, p.UserID, p.SessionID, c, models.AuditDetail{PasskeyID: pk.ID, Name: pk.Name})
	return pk, nil
}

// Passkeys lists p's user's passkeys, oldest first. It works whether or not passkey ceremonies
// are configured.
func (s *Service) Passkeys(ctx context.Context, p Principal) ([]models.Passkey, error) {
	list, err := s.store.Passkeys(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return list, nil
}

// DeletePasskey removes p's user's passkey id and records passkey_removed. A user signs in with
// a password or a passkey, so the last passkey of an account without a password is kept:
// ErrLastSignInMethod. It fails with models.ErrNotFound for an unknown id or another user's passkey.
func (s *Service) DeletePasskey(ctx context.Context, p Principal, id string, c Client) error {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" {
		list, err := s.store.Passkeys(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("list passkeys: %w", err)
		}
		if len(list) == 1 && list[0].ID == id {
			return ErrLastSignInMethod
		}
	}
	if err := s.store.DeletePasskey(ctx, u.ID, id); err != nil {
		return err
	}
	s.record(ctx, models.AuditPasskeyRemoved, u.ID, p.SessionID, c, models.AuditDetail{PasskeyID: id})
	return nil
}

// BeginPasskeyLogin starts a passkey login, username-less when email is empty, and returns the
// challenge id and the options for navigator.credentials.get(). The answer has the same shape
// whether or not an account has the email. It fails with ErrPasskeysOff.
func (s *Service) BeginPasskeyLogin(ctx context.Context, email string) (string, passkeys.RequestOptions, error) {
	if s.passkeys == nil {
		return "", passkeys.RequestOptions{}, ErrPasskeysOff
	}
	email = NormalizeEmail(email)
	if email != "" && !validEmail(email) {
		email = noAccountEmail
	}
	return s.passkeys.BeginLogin(ctx, email)
}

// noAccountEmail stands for a malformed email in a passkey login: no account has it (it has no
// @), so the login fails like one for an unknown address, and nothing malformed is stored.
const noAccountEmail = "-"

// PasskeyLogin finishes a passkey login and opens a session: the normal login answer, with amr
// hwk, user and mfa (a device the user holds, unlocked by a PIN or biometric). Every failure is
// recorded as login_failed with method passkey; a signature counter gone backwards is recorded
// under the passkey's owner with reason passkey_counter_regressed. It fails with ErrPasskeysOff,
// passkeys.ErrInvalidAssertion (a *passkeys.CounterError for the counter) or ErrAccountDisabled.
// A successful passkey login clears the email's failed-login count; the lockout itself does not
// apply (a passkey cannot be guessed), the per-IP limit does.
func (s *Service) PasskeyLogin(ctx context.Context, challengeID string, credential []byte, c Client) (*Issued, error) {
	if s.passkeys == nil {
		return nil, ErrPasskeysOff
	}
	pk, err := s.passkeys.FinishLogin(ctx, challengeID, credential)
	var regressed *passkeys.CounterError
	switch {
	case errors.As(err, &regressed):
		s.record(ctx, models.AuditLoginFailed, regressed.UserID, "", c, models.AuditDetail{
			Method: MethodPasskey, Reason: "passkey_counter_regressed", PasskeyID: regressed.PasskeyID})
		s.log.WarnContext(ctx, "passkey counter regressed", "user_id", regressed.UserID, "passkey_id", regressed.PasskeyID,
			"stored", regressed.Stored, "got", regressed.Got)
		return nil, err
	case errors.Is(err, passkeys.ErrInvalidAssertion):
		s.record(ctx, models.AuditLoginFailed, "", "", c, models.AuditDetail{Method: MethodPasskey, Reason: "invalid_passkey"})
		return nil, err
	case err != nil:
		return nil, err
	}
	u := pk.User
	if err := s.admit(ctx, u, MethodPasskey, c); err != nil {
		return nil, err
	}
	if err := s.guard.Succeeded(ctx, u.Email); err != nil {
		return nil, fmt.Errorf("reset failed logins: %w", err)
	}
	return s.startSession(ctx, u, c, amrPasskey, models.AuditDetail{Method: MethodPasskey, PasskeyID: pk.ID})
}
