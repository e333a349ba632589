package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// startSession is the end of every successful login, whatever proved who u is (a password, a
// password and a second factor, a passkey): it opens a session for u that remembers amr (RFC 8176)
// for all its access tokens, records login_succeeded with detail, and returns the login answer.
func (s *Service) startSession(ctx context.Context, u *models.User, c Client, amr []string, detail models.AuditDetail) (*Issued, error) {
	now := s.now().UTC().Truncate(time.Second)
	sess := &models.Session{
		ID: uuid.NewString(), UserID: u.ID, CreatedAt: now, LastUsedAt: now, RotatedAt: now,
		ExpiresAt: now.Add(s.settings.MaxLifetime), UserAgent: clip(c.UserAgent, 512), IP: c.IP, Generation: 1,
		AMR: strings.Join(amr, ","),
	}
	refresh, maxAge, err := s.refreshToken(sess, "", now)
	if err != nil {
		return nil, err
	}
	sess.TokenHash = hashToken(refresh)
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	out, err := s.issue(u, sess, refresh, maxAge, now, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditLoginSucceeded, u.ID, out.SessionID, c, detail)
	return out, nil
}

// admit refuses a user who proved who they are but may not log in, whatever the proof (a password,
// a second factor, a passkey; method as in the audit detail, "" for a password): a disabled
// account, or an unverified address while REQUIRE_EMAIL_VERIFICATION is on. Each refusal is
// recorded as login_failed with its reason.
func (s *Service) admit(ctx context.Context, u *models.User, method string, c Client) error {
	var err error
	reason := ""
	switch {
	case u.Disabled:
		err, reason = ErrAccountDisabled, "account_disabled"
	case s.settings.Email.RequireVerified && !u.EmailVerified:
		err, reason = ErrEmailNotVerified, "email_not_verified"
	default:
		return nil
	}
	s.record(ctx, models.AuditLoginFailed, u.ID, "", c, models.AuditDetail{Method: method, Reason: reason})
	return err
}

// refreshToken builds the refresh token of sess that follows the token whose jti is follows (""
// for the session's first), issued at iat, and its cookie's Max-Age. The token is a pure function
// of its arguments and the session's end, so a racing refresh can be given the same one again.
func (s *Service) refreshToken(sess *models.Session, follows string, iat time.Time) (token string, maxAge int, err error) {
	exp := minTime(iat.Add(s.refreshLife()), sess.ExpiresAt)
	token, err = s.tokens.IssueRefresh(tokens.RefreshInput{
		UserID: sess.UserID, SessionID: sess.ID, Follows: follows, IssuedAt: iat, ExpiresAt: exp,
	})
	if err != nil {
		return "", 0, fmt.Errorf("issue refresh token: %w", err)
	}
	return token, int(exp.Sub(s.now()).Seconds()), nil
}

// refreshLife is how long a refresh token lives when its session ends later: the refresh expiry,
// or the idle timeout when that is shorter.
func (s *Service) refreshLife() time.Duration {
	return min(s.settings.RefreshTTL, s.settings.IdleTimeout)
}

// issue makes the access token of a session; it never outlives the session's idle or absolute end.
// With fingerprints on, the token carries the SHA-256 of the client's fingerprint cookie, a new
// random one when the client has none.
func (s *Service) issue(u *models.User, sess *models.Session, refresh string, maxAge int, now time.Time, c Client) (*Issued, error) {
	in := tokens.AccessInput{
		UserID: u.ID, Email: u.Email, Role: string(u.Role), SessionID: sess.ID, AMR: strings.FieldsFunc(sess.AMR, isComma),
		NotAfter: minTime(sess.ExpiresAt, now.Add(s.settings.IdleTimeout)),
	}
	fgp := ""
	if s.settings.Fingerprint {
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

// isComma splits a session's stored amr list.
func isComma(r rune) bool { return r == ',' }
