package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// The life of a login's second step: its MFA token lasts mfaTokenTTL and takes at most
// mfaMaxAttempts codes.
const (
	mfaTokenTTL    = 5 * time.Minute
	mfaMaxAttempts = 5
)

// Challenge is the answer to a correct password of an account with a second factor: no session yet,
// only an MFA token for POST /api/auth/mfa/verify and the methods that can complete the login.
type Challenge struct {
	MFAToken string
	Methods  []string
}

// challenge opens the second step of u's login after their correct password.
func (s *Service) challenge(ctx context.Context, u *models.User, st models.MFAState) (*Challenge, error) {
	now := s.now().UTC().Truncate(time.Second)
	ch := &models.MFAChallenge{ID: uuid.NewString(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(mfaTokenTTL)}
	if err := s.store.CreateMFAChallenge(ctx, ch); err != nil {
		return nil, fmt.Errorf("create mfa challenge: %w", err)
	}
	token, err := s.tokens.IssueMFA(u.ID, ch.ID, ch.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("issue mfa token: %w", err)
	}
	methods := []string{MethodTOTP}
	if st.RecoveryCodesLeft > 0 {
		methods = append(methods, MethodRecoveryCode)
	}
	if st.Passkeys > 0 {
		methods = append(methods, MethodPasskey)
	}
	return &Challenge{MFAToken: token, Methods: methods}, nil
}

// VerifyMFA completes a login with its MFA token and a TOTP code (code) or a recovery code
// (recoveryCode; exactly one of the two is set), and answers as a login does. The token takes at
// most five codes and one success, and lives five minutes. Every wrong code counts towards the
// account's lockout; only this success clears it. It fails with ErrInvalidMFAToken, ErrMFACodeRejected,
// *LockedError or ErrAccountDisabled.
func (s *Service) VerifyMFA(ctx context.Context, mfaToken, code, recoveryCode string, c Client) (*Issued, error) {
	claims, err := s.tokens.VerifyMFA(mfaToken)
	if err != nil {
		return nil, ErrInvalidMFAToken
	}
	u, err := s.store.UserByID(ctx, claims.Subject)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if err := s.checkLockout(ctx, u.Email, c); err != nil {
		return nil, err
	}
	err = s.store.ClaimMFAAttempt(ctx, claims.ID, u.ID, mfaMaxAttempts, s.now())
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, fmt.Errorf("claim mfa attempt: %w", err)
	}
	method := MethodTOTP
	if recoveryCode != "" {
		method, code = MethodRecoveryCode, recoveryCode
	}
	if err := s.secondFactor(ctx, u, method, code, ErrMFACodeRejected, "", c); err != nil {
		return nil, err
	}
	if err := s.admit(ctx, u, method, c); err != nil {
		return nil, err
	}
	if err := s.store.SpendMFAChallenge(ctx, claims.ID, s.now()); errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidMFAToken // a racing request completed this login first
	} else if err != nil {
		return nil, fmt.Errorf("spend mfa challenge: %w", err)
	}
	if err := s.guard.Succeeded(ctx, u.Email); err != nil {
		return nil, fmt.Errorf("reset failed logins: %w", err)
	}
	amr := amrPasswordTOTP
	if method == MethodRecoveryCode {
		amr = amrRecoveryCode
	}
	return s.startSession(ctx, u, c, amr, models.AuditDetail{Method: method})
}
