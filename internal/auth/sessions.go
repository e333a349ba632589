package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// Logout ends the session named by the refresh token, or else by the caller's access token (p,
// nil when none was valid), and denies that access token by its jti. It never fails on a
// missing, bad or stale token.
func (s *Service) Logout(ctx context.Context, refreshToken string, p *Principal, c Client) error {
	userID, sid := "", ""
	if rc, err := s.tokens.VerifyRefresh(refreshToken); err == nil {
		userID, sid = rc.Subject, rc.SessionID
	} else if p != nil {
		userID, sid = p.UserID, p.SessionID
	}
	now := s.now().UTC()
	var extra []models.Revocation
	if p != nil {
		extra = append(extra, models.Revocation{Kind: models.RevokeToken, Subject: p.TokenID, ExpiresAt: p.ExpiresAt.Add(s.settings.Leeway + time.Second), CreatedAt: now})
	}
	if sid == "" {
		return nil // neither token names a session: nothing to end
	}
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{ID: sid, UserID: userID}, models.ReasonLogout, now, s.denyUntil(now), extra...)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditLogout, userID, sid, c, models.AuditDetail{})
	return nil
}

// LogoutAll ends every session of p's user.
func (s *Service) LogoutAll(ctx context.Context, p Principal, c Client) error {
	now := s.now().UTC()
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{UserID: p.UserID}, models.ReasonLogoutAll, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("end sessions of user %s: %w", p.UserID, err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditLogoutAll, p.UserID, p.SessionID, c, models.AuditDetail{Sessions: count(len(revs))})
	return nil
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	models.Session
	Current bool
}

// Sessions lists the active sessions of p's user, marking p's own.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionView, error) {
	now := s.now().UTC()
	list, err := s.store.ActiveSessions(ctx, p.UserID, now, now.Add(-s.settings.IdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionView, len(list))
	for i, sess := range list {
		out[i] = SessionView{Session: sess, Current: sess.ID == p.SessionID}
	}
	return out, nil
}

// EndSession ends one of p's user's sessions; another user's session, or an unknown or already
// ended one, is models.ErrNotFound.
func (s *Service) EndSession(ctx context.Context, p Principal, sessionID string, c Client) error {
	if uuid.Validate(sessionID) != nil {
		return models.ErrNotFound
	}
	now := s.now().UTC()
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{ID: sessionID, UserID: p.UserID}, models.ReasonEndedByOwner, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("end session %s: %w", sessionID, err)
	}
	if len(revs) == 0 {
		return models.ErrNotFound
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditSessionRevoked, p.UserID, sessionID, c, models.AuditDetail{By: "owner"})
	return nil
}

// ChangePassword replaces p's user's password after checking the current one, and ends every
// other session of the user. It fails with ErrInvalidCredentials, a *ValidationError or ErrBusy.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string, c Client) error {
	u, err := s.confirmPassword(ctx, p, current, c)
	if err != nil {
		return err
	}
	if problem := checkPassword(next, u.Email, s.settings.PasswordMinLength); problem != "" {
		return &ValidationError{Fields: map[string]string{"newPassword": problem}}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	revs, err := s.store.ChangePassword(ctx, u.ID, hash, p.SessionID, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditPasswordChanged, u.ID, p.SessionID, c, models.AuditDetail{SessionsEnded: count(len(revs))})
	return nil
}

// confirmPassword returns p's user once password is theirs. A wrong password is recorded as a
// login_failed event (reason wrong_current_password) and fails with ErrInvalidCredentials.
func (s *Service) confirmPassword(ctx context.Context, p Principal, password string, c Client) (*models.User, error) {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, models.AuditLoginFailed, u.ID, p.SessionID, c, models.AuditDetail{Reason: "wrong_current_password"})
		return nil, ErrInvalidCredentials
	}
	return u, nil
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
