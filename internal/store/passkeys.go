package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/authserver/authserver/internal/models"
)

// CreateChallenge inserts c (times in UTC), first deleting the challenges that expired
// before c.CreatedAt.
func (s *Store) CreateChallenge(ctx context.Context, c *models.WebAuthnChallenge) error {
	c.CreatedAt = c.CreatedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	db := s.db.WithContext(ctx)
	if err := db.Where("expires_at < ?", c.CreatedAt).Delete(&models.WebAuthnChallenge{}).Error; err != nil {
		return translate("delete expired webauthn challenges", err)
	}
	if err := db.Create(c).Error; err != nil {
		return translate("create webauthn challenge", err)
	}
	return nil
}

// TakeChallenge deletes the challenge whose IDHash is idHash and returns it, expired or not,
// or models.ErrNotFound. It is one DELETE ... RETURNING, so of two concurrent calls only one
// gets the row.
func (s *Store) TakeChallenge(ctx context.Context, idHash []byte) (*models.WebAuthnChallenge, error) {
	var list []models.WebAuthnChallenge
	err := s.db.WithContext(ctx).
		Raw("DELETE FROM webauthn_challenges WHERE id_hash = ? RETURNING *", idHash).
		Scan(&list).Error
	if err != nil {
		return nil, translate("take webauthn challenge", err)
	}
	if len(list) == 0 {
		return nil, models.ErrNotFound
	}
	return &list[0], nil
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]models.Passkey, error) {
	list := []models.Passkey{}
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Where("user_id = ?", userID).Order("created_at, id").Find(&list).Error
	})
	if err != nil {
		return nil, translate("list passkeys", err)
	}
	return list, nil
}

// PasskeyByCredentialID returns the passkey with that credential id, with its owner in User
// (id, email, role, disabled, email verified), or models.ErrNotFound.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*models.Passkey, error) {
	var row struct {
		models.Passkey
		UserEmail    string
		UserRole     models.Role
		UserDisabled bool
		UserVerified bool
	}
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Table("passkeys").
			Select("passkeys.*, users.email AS user_email, users.role AS user_role, users.disabled AS user_disabled, users.email_verified AS user_verified").
			Joins("JOIN users ON users.id = passkeys.user_id").
			Where("passkeys.credential_id = ?", credentialID).
			Take(&row).Error
	})
	if err != nil {
		return nil, translate("passkey by credential id", err)
	}
	p := row.Passkey
	p.User = &models.User{ID: p.UserID, Email: row.UserEmail, Role: row.UserRole, Disabled: row.UserDisabled, EmailVerified: row.UserVerified}
	return &p, nil
}

// CreatePasskey inserts p (times in UTC), or returns models.ErrPasskeyExists when its
// credential id is registered already.
func (s *Store) CreatePasskey(ctx context.Context, p *models.Passkey) error {
	p.CreatedAt = p.CreatedAt.UTC()
	p.LastUsedAt = utcPtr(p.LastUsedAt)
	err := s.db.WithContext(ctx).Create(p).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.ErrPasskeyExists // the credential id: passkey ids are fresh UUIDs
	}
	if err != nil {
		return translate("create passkey", err)
	}
	return nil
}

// UsePasskey records a login with passkey id (sign count newCount, backup state, last use
// at) provided its sign count is still oldCount, in one conditional UPDATE; otherwise, or when
// the passkey is gone, it returns models.ErrNotFound.
func (s *Store) UsePasskey(ctx context.Context, id string, oldCount, newCount int64, backupState bool, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&models.Passkey{}).
		Where("id = ? AND sign_count = ?", id, oldCount).
		Updates(map[string]any{"sign_count": newCount, "backup_state": backupState, "last_used_at": at.UTC()})
	if res.Error != nil {
		return translate("record passkey use", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// DeletePasskey deletes the user's passkey id, or returns models.ErrNotFound (also when the
// passkey belongs to another user or id is not a UUID).
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.Passkey{})
	if res.Error != nil {
		return translate("delete passkey", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}
