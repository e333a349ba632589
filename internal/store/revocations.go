package store

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/authserver/authserver/internal/models"
)

// purgeBatch is how many rows one DELETE of a purge removes, so that no purge holds
// its locks for long.
const purgeBatch = 1000

// AddRevocations inserts revs in one statement; a zero CreatedAt becomes now.
func (s *Store) AddRevocations(ctx context.Context, revs ...models.Revocation) error {
	return insertRevocations(s.db.WithContext(ctx), slices.Clone(revs), time.Time{})
}

// RevocationsSince returns the revocations created at or after since that are still in
// force at now (ExpiresAt after now), ordered by (CreatedAt, ID).
func (s *Store) RevocationsSince(ctx context.Context, since, now time.Time) ([]models.Revocation, error) {
	var revs []models.Revocation
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Where("created_at >= ? AND expires_at > ?", since.UTC(), now.UTC()).Order("created_at, id").Find(&revs).Error
	})
	if err != nil {
		return nil, translate("revocations since", err)
	}
	return revs, nil
}

// PurgeExpired deletes the revocations that expired by now, and the sessions that are past
// their absolute end at now, unused since idleSince, or revoked at or before revokedBefore.
// It deletes in batches and returns how many sessions and revocations went, also
// alongside an error.
func (s *Store) PurgeExpired(ctx context.Context, now, idleSince, revokedBefore time.Time) (sessions, revocations int64, err error) {
	db := s.db.WithContext(ctx)
	revocations, err = deleteInBatches(db, &models.Revocation{}, "expires_at <= ?", now.UTC())
	if err != nil {
		return sessions, revocations, translate("purge revocations", err)
	}
	sessions, err = deleteInBatches(db, &models.Session{},
		"expires_at <= ? OR last_used_at <= ? OR revoked_at <= ?", now.UTC(), idleSince.UTC(), revokedBefore.UTC())
	if err != nil {
		return sessions, revocations, translate("purge sessions", err)
	}
	return sessions, revocations, nil
}

// deleteInBatches deletes the rows of model's table matching cond, purgeBatch rows per
// statement, and returns how many it deleted.
func deleteInBatches(db *gorm.DB, model any, cond string, args ...any) (int64, error) {
	var total int64
	for {
		batch := db.Model(model).Select("id").Where(cond, args...).Limit(purgeBatch)
		res := db.Where("id IN (?)", batch).Delete(model)
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if res.RowsAffected < purgeBatch {
			return total, nil
		}
	}
}
