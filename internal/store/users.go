package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/authserver/authserver/internal/models"
)

// CreateUser inserts u, or returns models.ErrEmailTaken. Its times are stored in UTC;
// zero ones become now.
func (s *Store) CreateUser(ctx context.Context, u *models.User) error {
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	err := s.db.WithContext(ctx).Create(u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) && s.emailExists(ctx, u.Email) {
		return models.ErrEmailTaken // a duplicate id stays a plain error: ids are fresh UUIDs
	}
	if err != nil {
		return translate("create user", err)
	}
	return nil
}

// emailExists reports whether a user has email. The driver names the duplicate key only in its
// message, so CreateUser asks the table which key clashed.
func (s *Store) emailExists(ctx context.Context, email string) bool {
	var n int64
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Model(&models.User{}).Where("email = ?", email).Limit(1).Count(&n).Error
	})
	return err == nil && n > 0
}

// UserByEmail returns the user with that (normalised) email, or models.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*models.User, error) {
	var u models.User
	if err := s.read(ctx, func(db *gorm.DB) error { return db.Where("email = ?", email).Take(&u).Error }); err != nil {
		return nil, translate("user by email", err)
	}
	return &u, nil
}

// userColumns are a user's columns and mfa, whether a second factor is on. A new kind of second
// factor adds its EXISTS here.
const userColumns = "users.*, EXISTS (SELECT 1 FROM mfa_totp WHERE mfa_totp.user_id = users.id AND mfa_totp.enabled_at IS NOT NULL) AS mfa"

// UserByID returns the user, with MFA set, or models.ErrNotFound (also for an id that is not a UUID).
func (s *Store) UserByID(ctx context.Context, id string) (*models.User, error) {
	var u models.User
	if err := s.read(ctx, func(db *gorm.DB) error { return db.Select(userColumns).Where("id = ?", id).Take(&u).Error }); err != nil {
		return nil, translate("user by id", err)
	}
	return &u, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read(ctx, func(db *gorm.DB) error { return db.Model(&models.User{}).Count(&n).Error }); err != nil {
		return 0, translate("count users", err)
	}
	return n, nil
}

// ListUsers returns a page of users, with MFA set, ordered by (CreatedAt, ID), after f.After when set,
// whose email starts with f.EmailPrefix (taken literally: % and _ match only themselves).
// At most f.Limit users come back; a Limit of zero or less means no limit.
func (s *Store) ListUsers(ctx context.Context, f models.UserFilter) ([]models.User, error) {
	q := s.db.WithContext(ctx).Select(userColumns).Order("created_at, id")
	if f.EmailPrefix != "" {
		q = q.Where(`email LIKE ? ESCAPE '\'`, escapeLike(strings.ToLower(f.EmailPrefix))+"%")
	}
	if f.After != nil {
		q = q.Where("(created_at, id) > (?, ?)", f.After.CreatedAt.UTC(), f.After.ID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var users []models.User
	if err := q.Find(&users).Error; err != nil {
		return nil, translate("list users", err)
	}
	return users, nil
}

// escapeLike escapes the LIKE wildcards in s, for the escape character '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ChangePassword sets the user's password hash and, in the same transaction, voids the user's
// unspent reset links and ends every other session of the user (as EndSessions with ExceptID
// keepSessionID, reason "password_changed"). It returns the revocations it inserted, or
// models.ErrNotFound for an unknown user.
func (s *Store) ChangePassword(ctx context.Context, userID, hash, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error) {
	f := models.SessionFilter{UserID: userID, ExceptID: keepSessionID}
	return s.changeAndEndSessions(ctx, f, models.ReasonPasswordChanged, at, denyUntil, func(tx *gorm.DB) error {
		res := tx.Model(&models.User{}).Where("id = ?", userID).
			Updates(map[string]any{"password_hash": hash, "updated_at": at.UTC()})
		if res.Error != nil {
			return translate("change password", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return voidResetTokens(tx, userID)
	})
}

// UpdateUser applies p to the user, in one transaction, and returns the updated user (MFA set) and
// the revocations it inserted. Disabling the user ends all their sessions (reason
// "user_disabled") and denies every access token issued to them until now (until denyUntil).
// It returns models.ErrNotFound for an unknown user, and models.ErrLastAdmin when the
// patch would demote or disable the only enabled admin.
func (s *Store) UpdateUser(ctx context.Context, id string, p models.UserPatch, at, denyUntil time.Time) (*models.User, []models.Revocation, error) {
	at, denyUntil = at.UTC(), denyUntil.UTC()
	var (
		u    *models.User
		revs []models.Revocation
	)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		losesAdmin := (p.Role != nil && *p.Role != models.RoleAdmin) || (p.Disabled != nil && *p.Disabled)
		var err error
		u, err = s.lockUser(tx, id, losesAdmin)
		if err != nil {
			return err
		}
		changes := map[string]any{"updated_at": at}
		if p.Role != nil {
			u.Role = *p.Role
			changes["role"] = u.Role
		}
		if p.Disabled != nil {
			u.Disabled = *p.Disabled
			changes["disabled"] = u.Disabled
		}
		u.UpdatedAt = at
		if err := tx.Model(&models.User{}).Where("id = ?", id).Updates(changes).Error; err != nil {
			return translate("update user", err)
		}
		if p.Disabled == nil || !*p.Disabled {
			return nil
		}
		revs, err = endSessions(tx, models.SessionFilter{UserID: id}, models.ReasonUserDisabled, at, denyUntil)
		if err != nil {
			return err
		}
		revs = append(revs, userRevocation(id, at, denyUntil))
		return insertRevocations(tx, revs, at)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, revs, nil
}

// DeleteUser deletes the user and, with them, their sessions, in one transaction. It first
// ends the user's active sessions (reason "user_deleted") and denies every access token
// issued to the user until now (until denyUntil), and returns the revocations it inserted.
// It returns models.ErrNotFound for an unknown user and models.ErrLastAdmin for the only
// enabled admin.
func (s *Store) DeleteUser(ctx context.Context, id string, at, denyUntil time.Time) ([]models.Revocation, error) {
	at, denyUntil = at.UTC(), denyUntil.UTC()
	var revs []models.Revocation
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockUser(tx, id, true); err != nil {
			return err
		}
		var err error
		revs, err = endSessions(tx, models.SessionFilter{UserID: id}, models.ReasonUserDeleted, at, denyUntil)
		if err != nil {
			return err
		}
		revs = append(revs, userRevocation(id, at, denyUntil))
		if err := insertRevocations(tx, revs, at); err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&models.User{}).Error; err != nil {
			return translate("delete user", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return revs, nil
}

// lockUser locks and returns user id for the rest of tx. When the change may take admin
// rights away (losesAdmin), it first locks every enabled admin, in id order so that two
// such changes cannot deadlock, and returns models.ErrLastAdmin if the user is the only one.
// Holding those locks keeps two concurrent demotions from both passing on PostgreSQL.
func (s *Store) lockUser(tx *gorm.DB, id string, losesAdmin bool) (*models.User, error) {
	var admins []string
	if losesAdmin {
		err := s.forUpdate(tx).Model(&models.User{}).
			Where("role = ? AND disabled = ?", models.RoleAdmin, false).
			Order("id").Pluck("id", &admins).Error
		if err != nil {
			return nil, translate("lock admins", err)
		}
	}
	var u models.User
	if err := s.forUpdate(tx).Select(userColumns).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, translate("lock user", err)
	}
	if losesAdmin && u.Role == models.RoleAdmin && !u.Disabled && len(admins) <= 1 {
		return nil, models.ErrLastAdmin
	}
	return &u, nil
}

// userRevocation denies the access tokens of user id issued before at.
func userRevocation(id string, at, denyUntil time.Time) models.Revocation {
	return models.Revocation{Kind: models.RevokeUser, Subject: id, Cutoff: at, ExpiresAt: denyUntil, CreatedAt: at}
}
