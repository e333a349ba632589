package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/authserver/authserver/internal/models"
)

// CreateSession inserts sess, with its times in UTC.
func (s *Store) CreateSession(ctx context.Context, sess *models.Session) error {
	sess.CreatedAt = sess.CreatedAt.UTC()
	sess.LastUsedAt = sess.LastUsedAt.UTC()
	sess.ExpiresAt = sess.ExpiresAt.UTC()
	sess.RotatedAt = sess.RotatedAt.UTC()
	sess.RevokedAt = utcPtr(sess.RevokedAt)
	if err := s.db.WithContext(ctx).Create(sess).Error; err != nil {
		return translate("create session", err)
	}
	return nil
}

// UpdateSession locks session id for one transaction (SELECT ... FOR UPDATE on PostgreSQL),
// reading its user in the same query into sess.User (id, email, role, disabled), and calls change
// on it. When change says save, it then saves the session's mutable fields and inserts the
// revocations change returned (a zero CreatedAt becomes now); otherwise nothing is written. An
// error from change rolls the transaction back and is returned as it is. A missing session is
// models.ErrNotFound and change is not called.
func (s *Store) UpdateSession(ctx context.Context, id string, change func(sess *models.Session) (save bool, revs []models.Revocation, err error)) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var row struct {
			models.Session
			UserEmail    string
			UserRole     models.Role
			UserDisabled bool
		}
		q := tx.Table("sessions").
			Select("sessions.*, users.email AS user_email, users.role AS user_role, users.disabled AS user_disabled").
			Joins("JOIN users ON users.id = sessions.user_id").
			Where("sessions.id = ?", id)
		if s.driver == models.DriverPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "sessions"}})
		}
		if err := q.Take(&row).Error; err != nil {
			return translate("lock session", err)
		}
		sess := row.Session
		sess.User = &models.User{ID: sess.UserID, Email: row.UserEmail, Role: row.UserRole, Disabled: row.UserDisabled}
		save, revs, err := change(&sess)
		if err != nil || !save {
			return err
		}
		err = tx.Model(&models.Session{}).Where("id = ?", id).Updates(map[string]any{
			"last_used_at":    sess.LastUsedAt.UTC(),
			"expires_at":      sess.ExpiresAt.UTC(),
			"user_agent":      sess.UserAgent,
			"ip":              sess.IP,
			"generation":      sess.Generation,
			"token_hash":      sess.TokenHash,
			"prev_token_hash": sess.PrevTokenHash,
			"rotated_at":      sess.RotatedAt.UTC(),
			"revoked_at":      utcPtr(sess.RevokedAt),
			"revoke_reason":   sess.RevokeReason,
		}).Error
		if err != nil {
			return translate("save session", err)
		}
		return insertRevocations(tx, revs, time.Time{})
	})
}

// rotateSQL is RotateSession's statement, the same on PostgreSQL and SQLite (3.35 and later for
// RETURNING): with no row left to lock between a read and a write, a refresh is one round trip.
const rotateSQL = `UPDATE sessions
SET prev_token_hash = token_hash, token_hash = $1, generation = generation + 1,
    rotated_at = $2, last_used_at = $2, ip = $3, user_agent = $4
WHERE id = $5 AND user_id = $6 AND token_hash = $7 AND revoked_at IS NULL
  AND expires_at > $2 AND last_used_at > $8 AND expires_at BETWEEN $9 AND $10
  AND EXISTS (SELECT 1 FROM users WHERE users.id = sessions.user_id AND NOT users.disabled)
RETURNING generation, expires_at, amr,
  (SELECT email FROM users WHERE users.id = sessions.user_id),
  (SELECT role FROM users WHERE users.id = sessions.user_id)`

// ActiveSessions lists the user's sessions that are not revoked, not past ExpiresAt at now
// and used after idleSince, newest first.
func (s *Store) ActiveSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]models.Session, error) {
	var list []models.Session
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Where("user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_used_at > ?", userID, now.UTC(), idleSince.UTC()).
			Order("created_at DESC, id DESC").
			Find(&list).Error
	})
	if err != nil {
		return nil, translate("active sessions", err)
	}
	return list, nil
}

// EndSessions revokes, at `at` and with reason, every not-yet-revoked session matching f,
// and in the same transaction inserts a session revocation (ExpiresAt denyUntil) for each
// one plus extra (whose zero CreatedAt becomes at). It returns the revocations it inserted,
// possibly none. f must name an ID or a UserID.
func (s *Store) EndSessions(ctx context.Context, f models.SessionFilter, reason models.RevokeReason, at, denyUntil time.Time, extra ...models.Revocation) ([]models.Revocation, error) {
	at, denyUntil = at.UTC(), denyUntil.UTC()
	var revs []models.Revocation
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var err error
		revs, err = endSessions(tx, f, reason, at, denyUntil)
		if err != nil {
			return err
		}
		revs = append(revs, extra...)
		return insertRevocations(tx, revs, at)
	})
	if err != nil {
		return nil, err
	}
	return revs, nil
}

// changeAndEndSessions runs change and then ends the sessions matching f (with reason, at `at`,
// denied until denyUntil), in one transaction, and returns the revocations it inserted. An error
// from change rolls everything back and is returned as it is.
func (s *Store) changeAndEndSessions(ctx context.Context, f models.SessionFilter, reason models.RevokeReason, at, denyUntil time.Time, change func(tx *gorm.DB) error) ([]models.Revocation, error) {
	at, denyUntil = at.UTC(), denyUntil.UTC()
	var revs []models.Revocation
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := change(tx); err != nil {
			return err
		}
		var err error
		if revs, err = endSessions(tx, f, reason, at, denyUntil); err != nil {
			return err
		}
		return insertRevocations(tx, revs, at)
	})
	if err != nil {
		return nil, err
	}
	return revs, nil
}

// errNoSessionFilter refuses to end every session of every user at once.
var errNoSessionFilter = errors.New("end sessions: filter names no session or user")

// endSessions marks the not-yet-revoked sessions matching f as revoked and returns a
// session revocation for each, for the caller to insert.
func endSessions(tx *gorm.DB, f models.SessionFilter, reason models.RevokeReason, at, denyUntil time.Time) ([]models.Revocation, error) {
	if f.ID == "" && f.UserID == "" {
		return nil, errNoSessionFilter
	}
	var ended []models.Session
	q := tx.Model(&ended).Clauses(clause.Returning{Columns: []clause.Column{{Name: "id"}}}).Where("revoked_at IS NULL")
	if f.ID != "" {
		q = q.Where("id = ?", f.ID)
	}
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.ExceptID != "" {
		q = q.Where("id <> ?", f.ExceptID)
	}
	if err := q.Updates(map[string]any{"revoked_at": at, "revoke_reason": reason}).Error; err != nil {
		return nil, translate("end sessions", err)
	}
	revs := make([]models.Revocation, 0, len(ended))
	for _, sess := range ended {
		revs = append(revs, models.Revocation{Kind: models.RevokeSession, Subject: sess.ID, ExpiresAt: denyUntil, CreatedAt: at})
	}
	return revs, nil
}

// insertRevocations inserts revs with their times in UTC, setting their IDs. A zero
// CreatedAt becomes at, or now when at is zero too.
func insertRevocations(tx *gorm.DB, revs []models.Revocation, at time.Time) error {
	if len(revs) == 0 {
		return nil
	}
	for i := range revs {
		r := &revs[i]
		if r.CreatedAt.IsZero() {
			r.CreatedAt = at
		}
		r.Cutoff, r.ExpiresAt, r.CreatedAt = r.Cutoff.UTC(), r.ExpiresAt.UTC(), r.CreatedAt.UTC()
	}
	if err := tx.Create(&revs).Error; err != nil {
		return translate("insert revocations", err)
	}
	return nil
}
