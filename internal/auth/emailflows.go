package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/authserver/authserver/internal/models"
)

// RequestVerification (POST /api/auth/verify-email/resend) mails a new verification link to email
// when it is the address of an enabled, unverified account, at most once per resend interval. The
// answer is the same, and as quick, for every address: the work runs after it. It fails only with
// ErrMailNotConfigured.
func (s *Service) RequestVerification(ctx context.Context, email string, c Client) error {
	if !s.mailOn() {
		return ErrMailNotConfigured
	}
	email = NormalizeEmail(email)
	s.later(ctx, "verify_email", func(ctx context.Context) {
		u := s.mailable(ctx, email)
		if u == nil || u.EmailVerified {
			return
		}
		if err := s.sendVerification(ctx, u, c); err != nil {
			s.quiet(ctx, "verify_email", err)
		}
	})
	return nil
}

// mailable returns the enabled account whose address is email, or nil: for a malformed, unknown
// or disabled address, and when the lookup fails (logged).
func (s *Service) mailable(ctx context.Context, email string) *models.User {
	if !validEmail(email) {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		if !errors.Is(err, models.ErrNotFound) {
			s.quiet(ctx, "find user", err)
		}
		return nil
	}
	if u.Disabled {
		return nil
	}
	return u
}

// sendVerification mails u a verification link (at registration and on request), unless one went
// to the address within the resend interval (models.ErrSentRecently).
func (s *Service) sendVerification(ctx context.Context, u *models.User, c Client) error {
	token, err := s.issueLink(ctx, u, models.PurposeVerifyEmail, u.Email, true)
	if err != nil {
		return err
	}
	s.send(ctx, s.letters.VerifyEmail(u.ID, u.Email, token, s.settings.Email.VerifyTTL))
	s.record(ctx, models.AuditEmailVerificationSent, u.ID, "", c, models.AuditDetail{})
	return nil
}

// VerifyEmail (POST /api/auth/verify-email) spends a verification token and marks the address
// verified. A missing, unknown, spent, expired, voided or wrong-purpose token is ErrInvalidEmailToken.
func (s *Service) VerifyEmail(ctx context.Context, token string, c Client) (*models.User, error) {
	if token == "" {
		return nil, ErrInvalidEmailToken
	}
	u, err := s.store.VerifyEmail(ctx, hashToken(token), s.now().UTC())
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidEmailToken
	}
	if err != nil {
		return nil, fmt.Errorf("verify email: %w", err)
	}
	s.record(ctx, models.AuditEmailVerified, u.ID, "", c, models.AuditDetail{})
	return u, nil
}

// ForgotPassword (POST /api/auth/password/forgot) mails a password-reset link to email when it is
// the address of an enabled account, at most once per resend interval. Like RequestVerification
// it answers the same, and as quickly, for every address; it fails only with ErrMailNotConfigured.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
	if !s.mailOn() {
		return ErrMailNotConfigured
	}
	email = NormalizeEmail(email)
	s.later(ctx, "reset_password", func(ctx context.Context) {
		if u := s.mailable(ctx, email); u != nil {
			if err := s.sendReset(ctx, u, c, models.AuditDetail{}); err != nil {
				s.quiet(ctx, "reset_password", err)
			}
		}
	})
	return nil
}

// sendReset mails u a password-reset link and records it with detail d, unless one went to the
// address within the resend interval (models.ErrSentRecently).
func (s *Service) sendReset(ctx context.Context, u *models.User, c Client, d models.AuditDetail) error {
	token, err := s.issueLink(ctx, u, models.PurposeResetPassword, u.Email, true)
	if err != nil {
		return err
	}
	s.send(ctx, s.letters.ResetPassword(u.ID, u.Email, token, s.settings.Email.ResetTTL))
	s.record(ctx, models.AuditPasswordResetRequested, u.ID, "", c, d)
	return nil
}

// ResetPassword (POST /api/auth/password/reset) sets a new password with a reset token. In one
// transaction it spends the token, marks the address verified, voids the other reset links, ends
// every session of the user and cuts off their access tokens (on every instance at once); then it
// clears the account's failed-login count. A new password the policy refuses is a
// *ValidationError and leaves the token unspent. A bad token is ErrInvalidEmailToken.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string, c Client) error {
	if token == "" {
		return ErrInvalidEmailToken
	}
	hash, now := hashToken(token), s.now().UTC()
	_, u, err := s.store.EmailToken(ctx, hash, models.PurposeResetPassword, now)
	if errors.Is(err, models.ErrNotFound) {
		return ErrInvalidEmailToken
	}
	if err != nil {
		return fmt.Errorf("find reset token: %w", err)
	}
	if p := checkPassword(newPassword, u.Email, s.settings.PasswordMinLength); p != "" {
		return &ValidationError{Fields: map[string]string{"newPassword": p}}
	}
	pw, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	u, revs, err := s.store.ResetPassword(ctx, hash, pw, now, s.denyUntil(now))
	if errors.Is(err, models.ErrNotFound) {
		return ErrInvalidEmailToken // spent by a racing reset
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	if err := s.guard.Succeeded(ctx, u.Email); err != nil {
		s.log.WarnContext(ctx, "failed-login count not cleared after reset", "user_id", u.ID, "error", err.Error())
	}
	s.record(ctx, models.AuditPasswordReset, u.ID, "", c, models.AuditDetail{SessionsEnded: count(len(revs) - 1)})
	return nil
}

// RequestEmailChange (POST /api/auth/email) mails a confirmation link to newEmail and a notice
// without a link to the current address, after checking the password. It fails with
// ErrMailNotConfigured, a *ValidationError, ErrInvalidCredentials, models.ErrEmailTaken or ErrBusy.
// Within the resend interval of a confirmation to that address it sends nothing and succeeds.
func (s *Service) RequestEmailChange(ctx context.Context, p Principal, password, newEmail string, c Client) error {
	if !s.mailOn() {
		return ErrMailNotConfigured
	}
	newEmail = NormalizeEmail(newEmail)
	if !validEmail(newEmail) {
		return &ValidationError{Fields: map[string]string{"newEmail": "must be a valid email address"}}
	}
	u, err := s.confirmPassword(ctx, p, password, c)
	if err != nil {
		return err
	}
	if newEmail == u.Email {
		return &ValidationError{Fields: map[string]string{"newEmail": "is already the account's address"}}
	}
	if _, err := s.store.UserByEmail(ctx, newEmail); err == nil {
		return models.ErrEmailTaken
	} else if !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("find user: %w", err)
	}
	token, err := s.issueLink(ctx, u, models.PurposeChangeEmail, newEmail, true)
	if errors.Is(err, models.ErrSentRecently) {
		return nil
	}
	if err != nil {
		return err
	}
	s.send(ctx, s.letters.ConfirmEmail(u.ID, newEmail, token, s.settings.Email.VerifyTTL))
	s.send(ctx, s.letters.EmailChanged(u.ID, u.Email))
	s.record(ctx, models.AuditEmailChangeRequested, u.ID, p.SessionID, c, models.AuditDetail{Email: newEmail})
	return nil
}

// ConfirmEmailChange (POST /api/auth/email/confirm) spends a change token and moves the account to
// the new address, verified; no session ends. A bad token is ErrInvalidEmailToken; an address
// taken in the meantime is models.ErrEmailTaken (the token stays unspent).
func (s *Service) ConfirmEmailChange(ctx context.Context, token string, c Client) (*models.User, error) {
	if token == "" {
		return nil, ErrInvalidEmailToken
	}
	u, old, err := s.store.ChangeEmail(ctx, hashToken(token), s.now().UTC())
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, ErrInvalidEmailToken
	case errors.Is(err, models.ErrEmailTaken):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("change email: %w", err)
	}
	s.record(ctx, models.AuditEmailChanged, u.ID, "", c, models.AuditDetail{Email: u.Email, PreviousEmail: old})
	return u, nil
}

// SendPasswordReset (POST /api/admin/users/:id/password-reset) mails user id a reset link, as an
// action of by. A disabled account, or one sent a reset link within the resend interval, is sent
// nothing; the audit event says why. It fails with ErrMailNotConfigured or models.ErrNotFound.
func (s *Service) SendPasswordReset(ctx context.Context, by Principal, id string, c Client) error {
	if !s.mailOn() {
		return ErrMailNotConfigured
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return fmt.Errorf("find user %s: %w", id, err)
	}
	d := models.AuditDetail{AuditActor: actorDetail(by)}
	if u.Disabled {
		d.Reason = "account_disabled"
		s.record(ctx, models.AuditPasswordResetRequested, u.ID, "", c, d)
		return nil
	}
	err = s.sendReset(ctx, u, c, d)
	if errors.Is(err, models.ErrSentRecently) {
		d.Reason = "sent_recently"
		s.record(ctx, models.AuditPasswordResetRequested, u.ID, "", c, d)
		return nil
	}
	return err
}

// ResetLink returns a password-reset link for the account at email, for an operator without
// mail (server user reset-link). It voids the account's older reset links and ignores the resend
// interval. It fails with models.ErrNotFound, ErrAccountDisabled, or ErrNoAppURL when the service
// has no application URL to build links on.
func (s *Service) ResetLink(ctx context.Context, email string, c Client) (string, error) {
	if s.letters == nil {
		return "", ErrNoAppURL
	}
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return "", fmt.Errorf("find user: %w", err)
	}
	if u.Disabled {
		return "", ErrAccountDisabled
	}
	token, err := s.issueLink(ctx, u, models.PurposeResetPassword, u.Email, false)
	if err != nil {
		return "", err
	}
	s.record(ctx, models.AuditPasswordResetRequested, u.ID, "", c, models.AuditDetail{AuditActor: actorDetail(Principal{})})
	return s.letters.ResetLink(token), nil
}
