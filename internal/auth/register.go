package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// validEmail reports whether email (normalised) is a plain address of at most 254 bytes.
func validEmail(email string) bool {
	if len(email) > 254 {
		return false
	}
	a, err := mail.ParseAddress(email)
	return err == nil && a.Address == email && a.Name == "" && strings.Contains(email[strings.LastIndexByte(email, '@'):], ".")
}

// Register creates a user with role user, its address not yet verified, and when the server
// sends mail, mails it a verification link (a failure to do so is logged: the user can ask for
// another). It fails with ErrRegistrationDisabled, a *ValidationError, models.ErrEmailTaken or ErrBusy.
func (s *Service) Register(ctx context.Context, email, password string, c Client) (*models.User, error) {
	if !s.settings.AllowRegistration {
		return nil, ErrRegistrationDisabled
	}
	u, err := s.createUser(ctx, email, password, models.RoleUser, false)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditUserRegistered, u.ID, "", c, models.AuditDetail{})
	if s.mailOn() {
		if err := s.sendVerification(ctx, u, c); err != nil {
			s.quiet(ctx, "verify_email", err)
		}
	}
	return u, nil
}

// validateCredentials checks a new email and password against the policy.
func (s *Service) validateCredentials(email, password string) error {
	fields := map[string]string{}
	if !validEmail(email) {
		fields["email"] = "must be a valid email address"
	}
	if p := checkPassword(password, email, s.settings.PasswordMinLength); p != "" {
		fields["password"] = p
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// CreateUser hashes password and stores a new user with role, as an operator makes one: its address
// counts as verified. Unlike Register it applies no registration switch, sends no mail and writes no
// audit event (CreateUserAs does, for the command line). It fails with a *ValidationError,
// models.ErrEmailTaken or ErrBusy.
func (s *Service) CreateUser(ctx context.Context, email, password string, role models.Role) (*models.User, error) {
	return s.createUser(ctx, email, password, role, true)
}

// createUser validates, hashes and stores a new user.
func (s *Service) createUser(ctx context.Context, email, password string, role models.Role, verified bool) (*models.User, error) {
	email = NormalizeEmail(email)
	if err := s.validateCredentials(email, password); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, &ValidationError{Fields: map[string]string{"role": "must be user or admin"}}
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &models.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: role, EmailVerified: verified,
		CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Login checks the credentials and opens a session, or, for an account with a second factor on,
// answers with only a Challenge for the second step (see VerifyMFA). An unknown email and a wrong
// password fail alike with ErrInvalidCredentials after the same bcrypt work; a disabled account
// fails with ErrAccountDisabled, and with REQUIRE_EMAIL_VERIFICATION an unverified one with
// ErrEmailNotVerified, only after its correct password; a locked email fails with *LockedError.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (*Issued, error) {
	email = NormalizeEmail(email)
	if err := s.checkLockout(ctx, email, c); err != nil {
		return nil, err
	}
	var (
		u   *models.User
		err error
	)
	if validEmail(email) { // no account has a malformed email: spare the lookup, not the bcrypt work
		u, err = s.store.UserByEmail(ctx, email)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("find user: %w", err)
		}
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.hasher.Verify(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.guard.Failed(ctx, email); err != nil {
			return nil, fmt.Errorf("count failed login: %w", err)
		}
		userID := ""
		if u != nil {
			userID = u.ID
		}
		s.record(ctx, models.AuditLoginFailed, userID, "", c, models.AuditDetail{Reason: "invalid_credentials", Email: clip(email, 254)})
		return nil, ErrInvalidCredentials
	}
	if err := s.admit(ctx, u, "", c); err != nil {
		return nil, err
	}
	st, err := s.store.MFAState(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa state: %w", err)
	}
	if st.TOTP.Enabled() { // the lockout count stays until the second step succeeds
		ch, err := s.challenge(ctx, u, st)
		if err != nil {
			return nil, err
		}
		return &Issued{Challenge: ch}, nil
	}
	if err := s.guard.Succeeded(ctx, email); err != nil {
		return nil, fmt.Errorf("reset failed logins: %w", err)
	}
	return s.startSession(ctx, u, c, amrPassword, models.AuditDetail{})
}
