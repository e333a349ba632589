package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// refreshDecision is what presenting a refresh token does to its session.
type refreshDecision int

const (
	// rotate: the current token is replaced by the next generation's.
	rotate refreshDecision = iota + 1
	// reissue: the token just replaced, within the reuse grace, gets the current token again;
	// nothing is written (racing tabs converge).
	reissue
	// revoke: an older token came back; the whole session is revoked.
	revoke
)

// decide picks what presenting a token with hash presented does to cur, at now.
func (s *Service) decide(cur *models.Session, presented []byte, now time.Time) refreshDecision {
	switch {
	case equalHash(presented, cur.TokenHash):
		return rotate
	case s.settings.ReuseGrace > 0 && equalHash(presented, cur.PrevTokenHash) && now.Sub(cur.RotatedAt) <= s.settings.ReuseGrace:
		return reissue
	default:
		return revoke
	}
}

// Refresh rotates the session of a refresh token (see docs/architecture.md, "Refresh tokens are
// deterministic"): the current token is replaced; the token just replaced, within the reuse
// grace, gets the same current token again; any older token revokes the whole session and fails
// with ErrTokenReuse. Bad, expired or revoked tokens fail with ErrInvalidRefreshToken.
// The common case, the current token presented, is one statement (rotateAtOnce); every other case,
// and a common case whose assumptions do not hold, is decided under the session's lock (rotateLocked).
func (s *Service) Refresh(ctx context.Context, token string, c Client) (*Issued, error) {
	if token == "" {
		return nil, ErrNoRefreshToken
	}
	claims, err := s.tokens.VerifyRefresh(token)
	if err != nil {
		return nil, ErrInvalidRefreshToken
	}
	presented := hashToken(token)
	now := s.now().UTC().Truncate(time.Second)
	sess, refresh, maxAge, err := s.rotateAtOnce(ctx, claims, presented, now, c)
	if errors.Is(err, models.ErrNotFound) {
		sess, refresh, maxAge, err = s.rotateLocked(ctx, claims, presented, now, c)
	}
	if err != nil {
		return nil, err
	}
	out, err := s.issue(sess.User, sess, refresh, maxAge, now, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditRefresh, sess.UserID, sess.ID, c, models.AuditDetail{Generation: sess.Generation})
	return out, nil
}

// endUnknown stands for "no later than this" when a session's end is not known.
var endUnknown = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// rotateAtOnce tries the common case of a refresh, the session's current token presented, as one
// statement (store.RotateSession). The next token is built before the session is read: its jti
// follows the presented one, and its expiry, the smaller of now plus its life and the session's
// end, is known from the presented token alone. When that token ended before its full life, its
// expiry is the session's end; otherwise the session must end no sooner than the next token's
// full life. The statement applies only if the session matches all of that, so the token is the
// one rotateLocked would have built. models.ErrNotFound means it did not apply.
func (s *Service) rotateAtOnce(ctx context.Context, claims *tokens.RefreshClaims, presented []byte, now time.Time, c Client) (*models.Session, string, int, error) {
	if claims.IssuedAt == nil || claims.ExpiresAt == nil {
		return nil, "", 0, models.ErrNotFound
	}
	life := s.refreshLife()
	endFrom, endTo := now.Add(life), endUnknown
	if prev := claims.ExpiresAt.Time.UTC(); prev.Before(claims.IssuedAt.Time.Add(life)) {
		endFrom, endTo = prev, prev // cut short by the session's end
	}
	if !endTo.After(now) {
		return nil, "", 0, models.ErrNotFound // the session has ended (within the leeway)
	}
	refresh, maxAge, err := s.refreshToken(&models.Session{ID: claims.SessionID, UserID: claims.Subject, ExpiresAt: endTo}, claims.ID, now)
	if err != nil {
		return nil, "", 0, err
	}
	sess, err := s.store.RotateSession(ctx, models.Rotation{
		ID: claims.SessionID, UserID: claims.Subject, Presented: presented, Next: hashToken(refresh),
		At: now, IdleSince: now.Add(-s.settings.IdleTimeout), EndFrom: endFrom, EndTo: endTo,
		IP: c.IP, UserAgent: clip(c.UserAgent, 512),
	})
	if err != nil {
		return nil, "", 0, err
	}
	return sess, refresh, maxAge, nil
}

// rotateLocked decides a refresh under the session's lock: rotate, reissue or revoke (then it
// publishes the revocation, records token_reuse_detected and fails with ErrTokenReuse).
func (s *Service) rotateLocked(ctx context.Context, claims *tokens.RefreshClaims, presented []byte, now time.Time, c Client) (*models.Session, string, int, error) {
	var (
		decision refreshDecision
		refresh  string
		maxAge   int
		sess     models.Session
		revoked  []models.Revocation
	)
	err := s.store.UpdateSession(ctx, claims.SessionID, func(cur *models.Session) (bool, []models.Revocation, error) {
		if cur.UserID != claims.Subject || !cur.Active(now, s.settings.IdleTimeout) || cur.User.Disabled {
			return false, nil, ErrInvalidRefreshToken
		}
		decision = s.decide(cur, presented, now)
		switch decision {
		case rotate:
			cur.PrevTokenHash = cur.TokenHash
			cur.Generation++
			cur.RotatedAt, cur.LastUsedAt = now, now
			cur.IP, cur.UserAgent = c.IP, clip(c.UserAgent, 512)
			t, age, err := s.refreshToken(cur, claims.ID, now)
			if err != nil {
				return false, nil, err
			}
			cur.TokenHash = hashToken(t)
			refresh, maxAge, sess = t, age, *cur
			return true, nil, nil
		case reissue:
			// The current token follows the presented one; rebuilt, it must be the one stored
			// (it is not when the refresh settings changed since, or the presented token came
			// from a version of this server that derived jtis otherwise).
			t, age, err := s.refreshToken(cur, claims.ID, cur.RotatedAt)
			if err != nil {
				return false, nil, err
			}
			if !equalHash(hashToken(t), cur.TokenHash) {
				return false, nil, ErrInvalidRefreshToken
			}
			refresh, maxAge, sess = t, age, *cur
			return false, nil, nil
		default:
			cur.RevokedAt = &now
			cur.RevokeReason = models.ReasonTokenReuse
			revoked = []models.Revocation{s.sessionRevocation(cur.ID, now)}
			return true, revoked, nil
		}
	})
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, ErrInvalidRefreshToken):
		return nil, "", 0, ErrInvalidRefreshToken
	case err != nil:
		return nil, "", 0, fmt.Errorf("rotate session %s: %w", claims.SessionID, err)
	case decision == revoke:
		s.revoker.Publish(ctx, revoked)
		s.record(ctx, models.AuditTokenReuseDetected, claims.Subject, claims.SessionID, c, models.AuditDetail{})
		return nil, "", 0, ErrTokenReuse
	}
	return &sess, refresh, maxAge, nil
}

// sessionRevocation denies the access tokens of session sid until none issued before at can be valid.
func (s *Service) sessionRevocation(sid string, at time.Time) models.Revocation {
	return models.Revocation{Kind: models.RevokeSession, Subject: sid, ExpiresAt: s.denyUntil(at), CreatedAt: at}
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
