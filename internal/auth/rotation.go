package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/authserver/authserver/internal/models"
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
		decision refreshDecision
		refresh  string
		maxAge   int
		sess     models.Session
		revoked  []models.Revocation
	)
	now := s.now().UTC().Truncate(time.Second)
	err = s.store.UpdateSession(ctx, claims.SessionID, func(cur *models.Session) (bool, []models.Revocation, error) {
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
			t, age, err := s.refreshToken(cur, now)
			if err != nil {
				return false, nil, err
			}
			cur.TokenHash = hashToken(t)
			refresh, maxAge, sess = t, age, *cur
			return true, nil, nil
		case reissue:
			t, age, err := s.refreshToken(cur, cur.RotatedAt)
			if err != nil {
				return false, nil, err
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
		return nil, ErrInvalidRefreshToken
	case err != nil:
		return nil, fmt.Errorf("rotate session %s: %w", claims.SessionID, err)
	case decision == revoke:
		s.revoker.Publish(ctx, revoked)
		s.record(ctx, models.AuditTokenReuseDetected, claims.Subject, claims.SessionID, c, models.AuditDetail{})
		return nil, ErrTokenReuse
	}
	u := sess.User
	out, err := s.issue(u, &sess, refresh, maxAge, now, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditRefresh, u.ID, sess.ID, c, models.AuditDetail{Generation: sess.Generation})
	return out, nil
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
