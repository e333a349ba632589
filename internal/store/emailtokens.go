package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/authserver/authserver/internal/models"
)

// IssueEmailToken stores t in one transaction that locks its user, first deleting the user's
// other tokens of t.Purpose (a newer link voids the older ones). When sentAfter is not zero and
// a link of t.Purpose already went to t.Email after it, nothing changes and the answer is
// models.ErrSentRecently. An unknown user is models.ErrNotFound.
func (s *Store) IssueEmailToken(ctx context.Context, t *models.EmailToken, sentAfter time.Time) error {
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return s.inTx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockUser(tx, t.UserID, false); err != nil {
			return err
		}
		if !sentAfter.IsZero() {
			var n int64
			err := tx.Model(&models.EmailToken{}).
				Where("email = ? AND purpose = ? AND created_at > ?", t.Email, t.Purpose, sentAfter.UTC()).Count(&n).Error
			if err != nil {
				return translate("count recent email tokens", err)
			}
			if n > 0 {
				return models.ErrSentRecently
			}
		}
		if err := tx.Where("user_id = ? AND purpose = ?", t.UserID, t.Purpose).Delete(&models.EmailToken{}).Error; err != nil {
			return translate("void older email tokens", err)
		}
		if err := tx.Create(t).Error; err != nil {
			return translate("insert email token", err)
		}
		return nil
	})
}

// EmailToken returns the usable token with that hash and purpose and its user, or
// models.ErrNotFound: a token is usable while unspent, unexpired at now, its user enabled and,
// except for a change of address, still at the address the link went to.
func (s *Store) EmailToken(ctx context.Context, hash []byte, purpose models.EmailPurpose, now time.Time) (*models.EmailToken, *models.User, error) {
	db := s.db.WithContext(ctx)
	return usableToken(func() *gorm.DB { return db }, hash, purpose, now)
}

// VerifyEmail spends the verification token with that hash and marks its user's address
// verified, in one transaction, and returns the user; an unusable token is models.ErrNotFound.
func (s *Store) VerifyEmail(ctx context.Context, hash []byte, now time.Time) (*models.User, error) {
	var u *models.User
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var err error
		if _, u, err = s.spendToken(tx, hash, models.PurposeVerifyEmail, now); err != nil {
			return err
		}
		u.EmailVerified = true
		return updateUser(tx, u.ID, now, map[string]any{"email_verified": true})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ChangeEmail spends the change token with that hash and moves its user to the token's address,
// verified, in one transaction. It returns the user and their previous address; an unusable token
// is models.ErrNotFound, an address taken in the meantime models.ErrEmailTaken (the token then
// stays unspent).
func (s *Store) ChangeEmail(ctx context.Context, hash []byte, now time.Time) (*models.User, string, error) {
	var (
		u   *models.User
		old string
	)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		t, user, err := s.spendToken(tx, hash, models.PurposeChangeEmail, now)
		if err != nil {
			return err
		}
		u, old = user, user.Email
		u.Email, u.EmailVerified = t.Email, true
		return updateUser(tx, u.ID, now, map[string]any{"email": t.Email, "email_verified": true})
	})
	if err != nil {
		return nil, "", err
	}
	return u, old, nil
}

// ResetPassword spends the reset token with that hash and, in the same transaction, sets the
// user's password hash, marks their address verified, deletes their other reset tokens, ends
// every session of the user (reason "password_reset") and denies every access token issued to
// them until now (until denyUntil). It returns the user and the revocations it inserted; an
// unusable token is models.ErrNotFound.
func (s *Store) ResetPassword(ctx context.Context, hash []byte, passwordHash string, at, denyUntil time.Time) (*models.User, []models.Revocation, error) {
	at, denyUntil = at.UTC(), denyUntil.UTC()
	var (
		u    *models.User
		revs []models.Revocation
	)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var err error
		if _, u, err = s.spendToken(tx, hash, models.PurposeResetPassword, at); err != nil {
			return err
		}
		u.PasswordHash, u.EmailVerified = passwordHash, true
		if err := updateUser(tx, u.ID, at, map[string]any{"password_hash": passwordHash, "email_verified": true}); err != nil {
			return err
		}
		if err := voidResetTokens(tx, u.ID); err != nil {
			return err
		}
		if revs, err = endSessions(tx, models.SessionFilter{UserID: u.ID}, models.ReasonPasswordReset, at, denyUntil); err != nil {
			return err
		}
		revs = append(revs, userRevocation(u.ID, at, denyUntil))
		return insertRevocations(tx, revs, at)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, revs, nil
}

// spendToken locks the usable token with that hash and purpose and its user, and marks the
// token spent; anything unusable is models.ErrNotFound. Racing spends of one token: the row lock
// (PostgreSQL) or the write lock (SQLite) lets the first through and shows the others a spent token.
func (s *Store) spendToken(tx *gorm.DB, hash []byte, purpose models.EmailPurpose, now time.Time) (*models.EmailToken, *models.User, error) {
	t, u, err := usableToken(func() *gorm.DB { return s.forUpdate(tx) }, hash, purpose, now)
	if err != nil {
		return nil, nil, err
	}
	res := tx.Model(&models.EmailToken{}).Where("token_hash = ? AND used_at IS NULL", hash).Update("used_at", now.UTC())
	if res.Error != nil {
		return nil, nil, translate("spend email token", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, nil, models.ErrNotFound
	}
	return t, u, nil
}

// usableToken reads the token and its user, each through a fresh query of q (which may lock the
// rows), and checks that the token can be used (see EmailToken).
func usableToken(q func() *gorm.DB, hash []byte, purpose models.EmailPurpose, now time.Time) (*models.EmailToken, *models.User, error) {
	var t models.EmailToken
	if err := q().Where("token_hash = ? AND purpose = ?", hash, purpose).Take(&t).Error; err != nil {
		return nil, nil, translate("email token", err)
	}
	if t.UsedAt != nil || !now.Before(t.ExpiresAt) {
		return nil, nil, models.ErrNotFound
	}
	var u models.User
	if err := q().Where("id = ?", t.UserID).Take(&u).Error; err != nil {
		return nil, nil, translate("user of email token", err)
	}
	if u.Disabled || (purpose != models.PurposeChangeEmail && u.Email != t.Email) {
		return nil, nil, models.ErrNotFound
	}
	return &t, &u, nil
}

// updateUser writes changes and updated_at to the user's row; an email another user has is
// models.ErrEmailTaken.
func updateUser(tx *gorm.DB, id string, at time.Time, changes map[string]any) error {
	changes["updated_at"] = at.UTC()
	err := tx.Model(&models.User{}).Where("id = ?", id).Updates(changes).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.ErrEmailTaken
	}
	if err != nil {
		return translate("update user", err)
	}
	return nil
}

// voidResetTokens deletes the user's unspent reset tokens: a password change or reset voids them.
func voidResetTokens(tx *gorm.DB, userID string) error {
	err := tx.Where("user_id = ? AND purpose = ? AND used_at IS NULL", userID, models.PurposeResetPassword).
		Delete(&models.EmailToken{}).Error
	if err != nil {
		return translate("void reset tokens", err)
	}
	return nil
}
