// Package auth holds the use cases of the server: register, login, refresh rotation with reuse
// detection, logout, sessions and password change.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// Revoker spreads revocations written to the store to the in-memory deny lists of every instance.
type Revoker interface {
	Publish(ctx context.Context, revs []models.Revocation)
}

// Auditor records audit events without blocking.
type Auditor interface {
	Record(ctx context.Context, e models.AuditEvent)
}

// LoginGuard counts failed logins per normalised email.
type LoginGuard interface {
	Blocked(ctx context.Context, email string) (retryAfter time.Duration, blocked bool, err error)
	Failed(ctx context.Context, email string) error
	Succeeded(ctx context.Context, email string) error
}

// Settings are the policy knobs of the service, from the configuration.
type Settings struct {
	RefreshTTL        time.Duration
	ReuseGrace        time.Duration
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	Leeway            time.Duration
	PasswordMinLength int
	AllowRegistration bool
	Fingerprint       bool // bind access tokens to a fingerprint cookie (OWASP token sidejacking)
}

// Deps are what New needs.
type Deps struct {
	Store    Store
	Tokens   *tokens.Issuer
	Hasher   *Hasher
	Revoker  Revoker
	Audit    Auditor
	Guard    LoginGuard
	Log      *slog.Logger
	Settings Settings
	Now      func() time.Time // nil = time.Now
}

// Service runs the auth use cases.
type Service struct {
	store   Store
	tokens  *tokens.Issuer
	hasher  *Hasher
	revoker Revoker
	audit   Auditor
	guard   LoginGuard
	log     *slog.Logger
	set     Settings
	now     func() time.Time
}

// New returns a Service.
func New(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: d.Store, tokens: d.Tokens, hasher: d.Hasher, revoker: d.Revoker,
		audit: d.Audit, guard: d.Guard, log: d.Log, set: d.Settings, now: now}
}

// Client describes who is calling, for sessions and the audit trail. Fingerprint is the
// value of the caller's fingerprint cookie, if any (TOKEN_FINGERPRINT).
type Client struct {
	IP          string
	UserAgent   string
	Fingerprint string
}

// Issued is the result of a login or a refresh.
type Issued struct {
	AccessToken   string
	ExpiresIn     int // seconds
	RefreshToken  string
	RefreshMaxAge int // seconds the refresh cookie may live
	User          *models.User
	SessionID     string
	Fingerprint   string // the fingerprint cookie's value, when TOKEN_FINGERPRINT is on
}

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

// RegistrationOpen reports whether self-registration is allowed (ALLOW_REGISTRATION).
func (s *Service) RegistrationOpen() bool { return s.set.AllowRegistration }

// Register creates a user with role user. It fails with ErrRegistrationDisabled, a *ValidationError,
// models.ErrEmailTaken or ErrBusy.
func (s *Service) Register(ctx context.Context, email, password string, c Client) (*models.User, error) {
	if !s.set.AllowRegistration {
		return nil, ErrRegistrationDisabled
	}
	u, err := s.CreateUser(ctx, email, password, models.RoleUser)
	if err != nil {
		return nil, err
	}
	s.record(ctx, "user_registered", u.ID, "", c, nil)
	return u, nil
}

// validateCredentials checks a new email and password against the policy.
func (s *Service) validateCredentials(email, password string) error {
	fields := map[string]string{}
	if !validEmail(email) {
		fields["email"] = "must be a valid email address"
	}
	if p := checkPassword(password, email, s.set.PasswordMinLength); p != "" {
		fields["password"] = p
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// CreateUser hashes password and stores a new user with role. Unlike Register it applies no
// registration switch and writes no audit event (CreateUserAs does, for the command line). It fails with
// a *ValidationError, models.ErrEmailTaken or ErrBusy.
func (s *Service) CreateUser(ctx context.Context, email, password string, role models.Role) (*models.User, error) {
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
	u := &models.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Login checks the credentials and opens a session. An unknown email and a wrong password fail
// alike with ErrInvalidCredentials after the same bcrypt work; a disabled account fails with
// ErrAccountDisabled only after its correct password; a locked email fails with *LockedError.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (*Issued, error) {
	email = NormalizeEmail(email)
	if wait, blocked, err := s.guard.Blocked(ctx, email); err != nil {
		return nil, fmt.Errorf("check login lockout: %w", err)
	} else if blocked {
		s.record(ctx, "rate_limited", "", "", c, map[string]any{"scope": "account", "email": clip(email, 254)})
		return nil, &LockedError{RetryAfter: wait}
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
		s.record(ctx, "login_failed", userID, "", c, map[string]any{"reason": "invalid_credentials", "email": clip(email, 254)})
		return nil, ErrInvalidCredentials
	}
	if u.Disabled {
		s.record(ctx, "login_failed", u.ID, "", c, map[string]any{"reason": "account_disabled"})
		return nil, ErrAccountDisabled
	}
	if err := s.guard.Succeeded(ctx, email); err != nil {
		return nil, fmt.Errorf("reset failed logins: %w", err)
	}
	out, err := s.openSession(ctx, u, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, "login_succeeded", u.ID, out.SessionID, c, nil)
	return out, nil
}

// openSession stores a new session for u and issues its first tokens.
func (s *Service) openSession(ctx context.Context, u *models.User, c Client) (*Issued, error) {
	now := s.now().UTC().Truncate(time.Second)
	sess := &models.Session{
		ID: uuid.NewString(), UserID: u.ID, CreatedAt: now, LastUsedAt: now, RotatedAt: now,
		ExpiresAt: now.Add(s.set.MaxLifetime), UserAgent: clip(c.UserAgent, 512), IP: c.IP, Generation: 1,
	}
	refresh, maxAge, err := s.refreshToken(sess, now)
	if err != nil {
		return nil, err
	}
	sess.TokenHash = hashToken(refresh)
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s.issue(u, sess, refresh, maxAge, now, c)
}

// refreshToken (re)builds the refresh token of sess's current generation, issued at iat. The
// token is a pure function of the session, so a racing refresh can be given the same one again.
func (s *Service) refreshToken(sess *models.Session, iat time.Time) (token string, maxAge int, err error) {
	exp := minTime(iat.Add(s.set.RefreshTTL), iat.Add(s.set.IdleTimeout), sess.ExpiresAt)
	token, err = s.tokens.IssueRefresh(tokens.RefreshInput{
		UserID: sess.UserID, SessionID: sess.ID, Generation: sess.Generation, IssuedAt: iat, ExpiresAt: exp,
	})
	if err != nil {
		return "", 0, fmt.Errorf("issue refresh token: %w", err)
	}
	return token, int(exp.Sub(s.now()).Seconds()), nil
}

// issue makes the access token of a session; it never outlives the session's idle or absolute end.
// With fingerprints on, the token carries the SHA-256 of the client's fingerprint cookie, a new
// random one when the client has none.
func (s *Service) issue(u *models.User, sess *models.Session, refresh string, maxAge int, now time.Time, c Client) (*Issued, error) {
	in := tokens.AccessInput{
		UserID: u.ID, Email: u.Email, Role: string(u.Role), SessionID: sess.ID,
		NotAfter: minTime(sess.ExpiresAt, now.Add(s.set.IdleTimeout)),
	}
	fgp := ""
	if s.set.Fingerprint {
		fgp = c.Fingerprint
		if len(fgp) != 64 {
			fgp = hex.EncodeToString(randomBytes(32))
		}
		in.Fingerprint = tokens.FingerprintHash(fgp)
	}
	access, claims, err := s.tokens.IssueAccess(in)
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	return &Issued{
		AccessToken: access, ExpiresIn: int(claims.ExpiresAt.Sub(now).Seconds()),
		RefreshToken: refresh, RefreshMaxAge: max(maxAge, 0), User: u, SessionID: sess.ID, Fingerprint: fgp,
	}, nil
}

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Refresh rotates the session of a refresh token (API.md "Rotation and reuse detection"):
// the current token is replaced; the token just replaced, within the reuse grace, gets the same
// current token again (racing tabs converge); any older token revokes the whole session and
// fails with ErrTokenReuse. Bad, expired or revoked tokens fail with ErrInvalidRefreshToken.
func (s *Service) Refresh(ctx context.Context, token string, c Client) (*Issued, error) {
	if token == "" {
		return nil, ErrNoRefreshToken
	}
	claims, err := s.tokens.VerifyRefresh(token)
	if err != nil {
		return nil, ErrInvalidRefreshToken
	}
	presented := hashToken(token)
	var (
		refresh string
		maxAge  int
		reused  []models.Revocation
		sess    models.Session
	)
	now := s.now().UTC().Truncate(time.Second)
	err = s.store.UpdateSession(ctx, claims.SessionID, func(cur *models.Session) ([]models.Revocation, error) {
		if cur.UserID != claims.Subject || !cur.Active(now, s.set.IdleTimeout) || cur.User.Disabled {
			return nil, ErrInvalidRefreshToken
		}
		switch {
		case equalHash(presented, cur.TokenHash):
			cur.PrevTokenHash = cur.TokenHash
			cur.Generation++
			cur.RotatedAt, cur.LastUsedAt = now, now
			cur.IP, cur.UserAgent = c.IP, clip(c.UserAgent, 512)
			t, age, err := s.refreshToken(cur, now)
			if err != nil {
				return nil, err
			}
			cur.TokenHash = hashToken(t)
			refresh, maxAge, sess = t, age, *cur
			return nil, nil
		case s.set.ReuseGrace > 0 && equalHash(presented, cur.PrevTokenHash) && now.Sub(cur.RotatedAt) <= s.set.ReuseGrace:
			t, age, err := s.refreshToken(cur, cur.RotatedAt)
			if err != nil {
				return nil, err
			}
			refresh, maxAge, sess = t, age, *cur
			return nil, errUnchanged
		default:
			cur.RevokedAt = &now
			cur.RevokeReason = "token_reuse"
			reused = []models.Revocation{s.sessionRevocation(cur.ID, now)}
			return reused, nil
		}
	})
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, ErrInvalidRefreshToken):
		return nil, ErrInvalidRefreshToken
	case err != nil && !errors.Is(err, errUnchanged):
		return nil, fmt.Errorf("rotate session %s: %w", claims.SessionID, err)
	case reused != nil:
		s.revoker.Publish(ctx, reused)
		s.record(ctx, "token_reuse_detected", claims.Subject, claims.SessionID, c, nil)
		return nil, ErrTokenReuse
	}
	u := sess.User
	out, err := s.issue(u, &sess, refresh, maxAge, now, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, "refresh", u.ID, sess.ID, c, map[string]any{"generation": sess.Generation})
	return out, nil
}

// sessionRevocation denies the access tokens of session sid until none issued before at can be valid.
func (s *Service) sessionRevocation(sid string, at time.Time) models.Revocation {
	return models.Revocation{Kind: models.RevokeSession, Subject: sid, ExpiresAt: s.denyUntil(at), CreatedAt: at}
}

// denyUntil is when no access token issued before at is still accepted.
func (s *Service) denyUntil(at time.Time) time.Time {
	return at.Add(s.tokens.AccessTTL() + s.set.Leeway + time.Second)
}

// Logout ends the session named by the refresh token, or else by the access token's sid, and
// denies the presented access token by its jti. It never fails on a missing, bad or stale token.
func (s *Service) Logout(ctx context.Context, refreshToken string, access *tokens.AccessClaims, c Client) error {
	userID, sid := "", ""
	if rc, err := s.tokens.VerifyRefresh(refreshToken); err == nil {
		userID, sid = rc.Subject, rc.SessionID
	} else if access != nil {
		userID, sid = access.Subject, access.SessionID
	}
	now := s.now().UTC()
	var extra []models.Revocation
	if access != nil {
		extra = append(extra, models.Revocation{Kind: models.RevokeToken, Subject: access.ID, ExpiresAt: access.ExpiresAt.Add(s.set.Leeway + time.Second), CreatedAt: now})
	}
	if sid == "" {
		return nil // neither token names a session: nothing to end
	}
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{ID: sid, UserID: userID}, "logout", now, s.denyUntil(now), extra...)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, "logout", userID, sid, c, nil)
	return nil
}

// LogoutAll ends every session of the access token's user.
func (s *Service) LogoutAll(ctx context.Context, access *tokens.AccessClaims, c Client) error {
	now := s.now().UTC()
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{UserID: access.Subject}, "logout_all", now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("end sessions of user %s: %w", access.Subject, err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, "logout_all", access.Subject, access.SessionID, c, map[string]any{"sessions": len(revs)})
	return nil
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	models.Session
	Current bool
}

// Sessions lists the active sessions of the access token's user, marking the token's own.
func (s *Service) Sessions(ctx context.Context, access *tokens.AccessClaims) ([]SessionView, error) {
	now := s.now().UTC()
	list, err := s.store.ActiveSessions(ctx, access.Subject, now, now.Add(-s.set.IdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionView, len(list))
	for i, sess := range list {
		out[i] = SessionView{Session: sess, Current: sess.ID == access.SessionID}
	}
	return out, nil
}

// EndSession ends one of the access token's user's sessions; another user's session, or an
// unknown or already ended one, is models.ErrNotFound.
func (s *Service) EndSession(ctx context.Context, access *tokens.AccessClaims, sessionID string, c Client) error {
	if uuid.Validate(sessionID) != nil {
		return models.ErrNotFound
	}
	now := s.now().UTC()
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{ID: sessionID, UserID: access.Subject}, "session_revoked", now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("end session %s: %w", sessionID, err)
	}
	if len(revs) == 0 {
		return models.ErrNotFound
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, "session_revoked", access.Subject, sessionID, c, map[string]any{"by": "owner"})
	return nil
}

// ChangePassword replaces the user's password after checking the current one, and ends every
// other session of the user. It fails with ErrInvalidCredentials, a *ValidationError or ErrBusy.
func (s *Service) ChangePassword(ctx context.Context, access *tokens.AccessClaims, current, next string, c Client) error {
	u, err := s.User(ctx, access.Subject)
	if err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		s.record(ctx, "login_failed", u.ID, access.SessionID, c, map[string]any{"reason": "wrong_current_password"})
		return ErrInvalidCredentials
	}
	if p := checkPassword(next, u.Email, s.set.PasswordMinLength); p != "" {
		return &ValidationError{Fields: map[string]string{"newPassword": p}}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	revs, err := s.store.ChangePassword(ctx, u.ID, hash, access.SessionID, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, "password_changed", u.ID, access.SessionID, c, map[string]any{"sessions_ended": len(revs)})
	return nil
}

// User returns the user an access token was issued to, or ErrUserGone when it no longer
// exists (deleted, and this instance has not heard of the revocation yet).
func (s *Service) User(ctx context.Context, id string) (*models.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrUserGone
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

// record hands one audit event to the auditor.
func (s *Service) record(ctx context.Context, typ, userID, sessionID string, c Client, detail map[string]any) {
	d := "{}"
	if detail != nil {
		if b, err := json.Marshal(detail); err == nil {
			d = string(b)
		}
	}
	s.audit.Record(ctx, models.AuditEvent{Type: typ, UserID: userID, SessionID: sessionID, IP: c.IP, UserAgent: clip(c.UserAgent, 512), Detail: d})
}

// hashToken is the SHA-256 of a refresh token, the only form in which tokens are stored.
func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// equalHash compares two token hashes in constant time; an empty stored hash matches nothing.
func equalHash(a, b []byte) bool {
	return len(b) == sha256.Size && subtle.ConstantTimeCompare(a, b) == 1
}

// clip makes client-supplied text safe to store: valid UTF-8 without NUL, at most n bytes, cut on
// a rune boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD") // databases refuse NUL and bad UTF-8
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// minTime returns the earliest of ts.
func minTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}
