package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/mfa"
	"github.com/authserver/authserver/internal/models"
)

// The amr values (RFC 8176) of a login: a password alone, a password and a TOTP code, a password and
// a recovery code, a passkey with user verification (a device held, unlocked by a PIN or biometric).
var (
	amrPassword     = []string{"pwd"}
	amrPasswordTOTP = []string{"pwd", "otp", "mfa"}
	amrRecoveryCode = []string{"pwd", "mfa"}
	amrPasskey      = []string{"hwk", "user", "mfa"}
)

// The second-step methods a login can offer. MethodPasskey is not a second step of the password
// login: it tells the client that a passkey login (which needs no password) is open to the account.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
	MethodPasskey      = "passkey"
)

// MFAStatus is what second factors a user has on.
type MFAStatus struct {
	TOTP              bool
	RecoveryCodesLeft int
	Passkeys          int
}

// TOTPEnrolment is a pending TOTP factor as shown once to its user: the base32 secret, the
// otpauth:// URL and that URL as a QR code (a PNG data URL).
type TOTPEnrolment struct {
	Secret     string
	OTPAuthURL string
	QRCode     string
}

// LogValue keeps the secret out of every log.
func (e TOTPEnrolment) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MFAStatus returns the second factors of p's user.
func (s *Service) MFAStatus(ctx context.Context, p Principal) (MFAStatus, error) {
	st, err := s.store.MFAState(ctx, p.UserID)
	if err != nil {
		return MFAStatus{}, fmt.Errorf("mfa state: %w", err)
	}
	return MFAStatus{TOTP: st.TOTP.Enabled(), RecoveryCodesLeft: st.RecoveryCodesLeft, Passkeys: st.Passkeys}, nil
}

// EnrolTOTP starts a TOTP enrolment for p's user after checking their password: a new secret is
// stored, sealed, as the pending factor (replacing an earlier pending one) and returned once. It
// fails with ErrInvalidCredentials (counted towards the account's lockout), *LockedError,
// models.ErrMFAEnabled or ErrUserGone.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal, password string, c Client) (*TOTPEnrolment, error) {
	u, err := s.lockedUser(ctx, p, c)
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.guard.Failed(ctx, u.Email); err != nil {
			return nil, fmt.Errorf("count failed password: %w", err)
		}
		return nil, ErrInvalidCredentials
	}
	e, err := mfa.NewEnrolment(s.settings.TOTPIssuer, u.Email)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(u.ID, e.Secret)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPendingTOTP(ctx, u.ID, sealed, s.now()); err != nil {
		return nil, fmt.Errorf("store pending totp: %w", err)
	}
	qr, err := mfa.QRCode(e.URL)
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: e.Secret, OTPAuthURL: e.URL, QRCode: qr}, nil
}

// ConfirmTOTP turns p's user's pending TOTP factor on with a code from it, ends every other session
// of the user on every instance and returns a new set of recovery codes, shown once. It fails with
// ErrMFANotPending, ErrInvalidMFACode (counted towards the lockout), *LockedError or ErrUserGone.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string, c Client) ([]string, error) {
	u, err := s.lockedUser(ctx, p, c)
	if err != nil {
		return nil, err
	}
	st, err := s.store.MFAState(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa state: %w", err)
	}
	if st.TOTP == nil || st.TOTP.Enabled() {
		return nil, ErrMFANotPending
	}
	now := s.now().UTC()
	step, err := s.checkTOTP(st.TOTP, code, now)
	if err != nil {
		return nil, s.wrongCode(ctx, u, p.SessionID, c, MethodTOTP, err, ErrInvalidMFACode)
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	revs, err := s.store.EnableTOTP(ctx, u.ID, st.TOTP.Secret, step, hashes, p.SessionID, now, s.denyUntil(now))
	if errors.Is(err, models.ErrNotFound) { // replaced or confirmed in the meantime
		return nil, ErrMFANotPending
	}
	if err != nil {
		return nil, fmt.Errorf("enable totp: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditMFAEnabled, u.ID, p.SessionID, c, models.AuditDetail{Method: MethodTOTP, SessionsEnded: count(len(revs))})
	return codes, nil
}

// DisableTOTP turns p's user's TOTP factor off after a TOTP or recovery code, voids the recovery codes
// and ends every other session of the user on every instance. It fails with ErrInvalidMFACode (also
// when TOTP is not on; counted towards the lockout), *LockedError or ErrUserGone.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code string, c Client) error {
	u, err := s.lockedUser(ctx, p, c)
	if err != nil {
		return err
	}
	method := methodOf(code)
	if err := s.secondFactor(ctx, u, method, code, ErrInvalidMFACode, p.SessionID, c); err != nil {
		return err
	}
	now := s.now().UTC()
	revs, err := s.store.DisableTOTP(ctx, u.ID, p.SessionID, now, s.denyUntil(now))
	if errors.Is(err, models.ErrNotFound) { // turned off in the meantime
		return ErrInvalidMFACode
	}
	if err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditMFADisabled, u.ID, p.SessionID, c, models.AuditDetail{Method: method, SessionsEnded: count(len(revs))})
	return nil
}

// RegenerateRecoveryCodes replaces p's user's recovery codes after a TOTP code and returns the new
// set, shown once. It fails with ErrInvalidMFACode (also when TOTP is not on; counted towards the
// lockout), *LockedError or ErrUserGone.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal, code string, c Client) ([]string, error) {
	u, err := s.lockedUser(ctx, p, c)
	if err != nil {
		return nil, err
	}
	if err := s.secondFactor(ctx, u, MethodTOTP, code, ErrInvalidMFACode, p.SessionID, c); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	err = s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.now())
	if errors.Is(err, models.ErrNotFound) { // turned off in the meantime
		return nil, ErrInvalidMFACode
	}
	if err != nil {
		return nil, fmt.Errorf("replace recovery codes: %w", err)
	}
	s.record(ctx, models.AuditRecoveryCodesRegenerated, u.ID, p.SessionID, c, models.AuditDetail{})
	return codes, nil
}

// ResetMFA removes, as by, every second factor of the user (TOTP, recovery codes, open login
// challenges and any other kind the store keeps) and ends all their sessions on every instance. It
// fails with models.ErrNotFound.
func (s *Service) ResetMFA(ctx context.Context, by Principal, userID string, c Client) error {
	if uuid.Validate(userID) != nil {
		return models.ErrNotFound
	}
	now := s.now().UTC()
	revs, err := s.store.ResetMFA(ctx, userID, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("reset mfa of %s: %w", userID, err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditMFAReset, userID, "", c, models.AuditDetail{AuditActor: actorDetail(by), Sessions: count(len(revs))})
	return nil
}

// lockedUser returns p's user, or *LockedError while their account is locked out, or ErrUserGone.
func (s *Service) lockedUser(ctx context.Context, p Principal, c Client) (*models.User, error) {
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrUserGone
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if err := s.checkLockout(ctx, u.Email, c); err != nil {
		return nil, err
	}
	return u, nil
}

// checkLockout returns *LockedError, and records it, while email's logins are locked out.
func (s *Service) checkLockout(ctx context.Context, email string, c Client) error {
	wait, blocked, err := s.guard.Blocked(ctx, email)
	if err != nil {
		return fmt.Errorf("check login lockout: %w", err)
	}
	if blocked {
		s.record(ctx, models.AuditRateLimited, "", "", c, models.AuditDetail{Scope: "account", Email: clip(email, 254)})
		return &LockedError{RetryAfter: wait}
	}
	return nil
}

// secondFactor checks code, as a TOTP code or a recovery code (method), against u's second factor,
// spending what it accepts. On failure (also when u has no TOTP factor on) it counts the wrong code,
// records mfa_failed and returns wrong.
func (s *Service) secondFactor(ctx context.Context, u *models.User, method, code string, wrong error, sessionID string, c Client) error {
	st, err := s.store.MFAState(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("mfa state: %w", err)
	}
	switch {
	case !st.TOTP.Enabled():
		err = errNoFactor
	case method == MethodRecoveryCode:
		err = s.useRecoveryCode(ctx, u.ID, code)
	default:
		err = s.useTOTP(ctx, st.TOTP, code)
	}
	if err != nil {
		return s.wrongCode(ctx, u, sessionID, c, method, err, wrong)
	}
	if method == MethodRecoveryCode {
		s.record(ctx, models.AuditRecoveryCodeUsed, u.ID, sessionID, c, models.AuditDetail{CodesLeft: count(st.RecoveryCodesLeft - 1)})
	}
	return nil
}

// errNoFactor is why a code is refused when the user has no TOTP factor on.
var errNoFactor = errors.New("no second factor enabled")

// useTOTP accepts a TOTP code of factor f once: its step is recorded, on every instance, so the same
// code is refused again.
func (s *Service) useTOTP(ctx context.Context, f *models.TOTPFactor, code string) error {
	step, err := s.checkTOTP(f, code, s.now())
	if err != nil {
		return err
	}
	if err := s.store.AcceptTOTPStep(ctx, f.UserID, step); err != nil {
		return fmt.Errorf("accept totp step: %w", err)
	}
	return nil
}

// checkTOTP unseals f's secret and checks code against it at now, after f's last accepted step.
func (s *Service) checkTOTP(f *models.TOTPFactor, code string, now time.Time) (int64, error) {
	secret, err := s.sealer.Open(f.UserID, f.Secret)
	if err != nil {
		s.log.Error("totp secret unreadable", "user_id", f.UserID, "error", err.Error())
		return 0, err
	}
	return mfa.Validate(secret, code, now, f.LastStep)
}

// useRecoveryCode spends one of the user's recovery codes.
func (s *Service) useRecoveryCode(ctx context.Context, userID, code string) error {
	hash, err := mfa.HashRecoveryCode(userID, code)
	if err != nil {
		return err
	}
	if err := s.store.UseRecoveryCode(ctx, userID, hash); err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	return nil
}

// wrongCode handles a refused code: a store outage is returned as it is; anything else counts towards
// the account's lockout, is recorded as mfa_failed, and becomes wrong.
func (s *Service) wrongCode(ctx context.Context, u *models.User, sessionID string, c Client, method string, cause, wrong error) error {
	if errors.Is(cause, models.ErrUnavailable) {
		return cause
	}
	if err := s.guard.Failed(ctx, u.Email); err != nil {
		return fmt.Errorf("count wrong mfa code: %w", err)
	}
	s.record(ctx, models.AuditMFAFailed, u.ID, sessionID, c, models.AuditDetail{Method: method})
	return wrong
}

// methodOf tells which kind of code a user typed where either is accepted: up to eight ASCII digits
// (spaces aside) is a TOTP code, anything else a recovery code (twelve characters, mostly letters).
func methodOf(code string) string {
	code = strings.ReplaceAll(code, " ", "")
	if code == "" || len(code) > 8 {
		return MethodRecoveryCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return MethodRecoveryCode
		}
	}
	return MethodTOTP
}

// newRecoveryCodes returns a fresh set of recovery codes and their hashes for the user.
func newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	codes, err = mfa.NewRecoveryCodes()
	if err != nil {
		return nil, nil, err
	}
	hashes = make([]string, len(codes))
	for i, code := range codes {
		if hashes[i], err = mfa.HashRecoveryCode(userID, code); err != nil {
			return nil, nil, fmt.Errorf("hash new recovery code: %w", err)
		}
	}
	return codes, hashes, nil
}
