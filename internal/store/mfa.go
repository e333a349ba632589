package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/authserver/authserver/internal/models"
)

// mfaTables hold a user's second factors and their open challenges; ResetMFA empties them for a user.
// A new kind of factor adds its table here.
var mfaTables = []string{"mfa_totp", "mfa_recovery_codes", "mfa_challenges"}

// MFAState returns the user's TOTP factor (nil when none), the number of unused recovery codes and
// the number of passkeys.
func (s *Store) MFAState(ctx context.Context, userID string) (models.MFAState, error) {
	var st models.MFAState
	var f models.TOTPFactor
	err := s.read(ctx, func(db *gorm.DB) error { return db.Where("user_id = ?", userID).Take(&f).Error })
	switch {
	case err == nil:
		st.TOTP = &f
	case !errors.Is(err, gorm.ErrRecordNotFound):
		if err = translate("totp factor", err); !errors.Is(err, models.ErrNotFound) { // a malformed id has none
			return st, err
		}
	}
	var n int64
	if err := s.read(ctx, func(db *gorm.DB) error {
		return db.Model(&models.RecoveryCode{}).Where("user_id = ?", userID).Count(&n).Error
	}); err != nil {
		if err = translate("count recovery codes", err); !errors.Is(err, models.ErrNotFound) {
			return st, err
		}
	}
	st.RecoveryCodesLeft = int(n)
	if err := s.read(ctx, func(db *gorm.DB) error {
		return db.Model(&models.Passkey{}).Where("user_id = ?", userID).Count(&n).Error
	}); err != nil {
		if err = translate("count passkeys", err); !errors.Is(err, models.ErrNotFound) {
			return st, err
		}
	}
	st.Passkeys = int(n)
	return st, nil
}

// SetPendingTOTP stores sealed as the user's pending TOTP factor, replacing an earlier pending one,
// in one statement. It returns models.ErrMFAEnabled when the user's factor is already on.
func (s *Store) SetPendingTOTP(ctx context.Context, userID, sealed string, at time.Time) error {
	f := models.TOTPFactor{UserID: userID, Secret: sealed, LastStep: -1, CreatedAt: at.UTC()}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"secret", "last_step", "created_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "mfa_totp.enabled_at IS NULL"}}},
	}).Create(&f)
	if res.Error != nil {
		return translate("set pending totp", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrMFAEnabled
	}
	return nil
}

// EnableTOTP turns the user's pending factor on, if its sealed secret is still sealed (a newer
// enrolment did not replace it), with step as its last accepted step. In the same transaction it
// replaces the user's recovery codes with codeHashes and ends every other session of the user
// (reason models.ReasonMFAChanged). It returns the revocations inserted, or models.ErrNotFound when
// no such pending factor exists.
func (s *Store) EnableTOTP(ctx context.Context, userID, sealed string, step int64, codeHashes []string, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error) {
	f := models.SessionFilter{UserID: userID, ExceptID: keepSessionID}
	return s.changeAndEndSessions(ctx, f, models.ReasonMFAChanged, at, denyUntil, func(tx *gorm.DB) error {
		res := tx.Model(&models.TOTPFactor{}).
			Where("user_id = ? AND secret = ? AND enabled_at IS NULL", userID, sealed).
			Updates(map[string]any{"enabled_at": at.UTC(), "last_step": step})
		if res.Error != nil {
			return translate("enable totp", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return replaceRecoveryCodes(tx, userID, codeHashes, at.UTC())
	})
}

// DisableTOTP removes the user's TOTP factor (on or pending), recovery codes and open challenges, and
// ends every other session of the user (reason models.ReasonMFAChanged), in one transaction. It
// returns the revocations inserted, or models.ErrNotFound when the user has no factor that is on.
func (s *Store) DisableTOTP(ctx context.Context, userID, keepSessionID string, at, denyUntil time.Time) ([]models.Revocation, error) {
	f := models.SessionFilter{UserID: userID, ExceptID: keepSessionID}
	return s.changeAndEndSessions(ctx, f, models.ReasonMFAChanged, at, denyUntil, func(tx *gorm.DB) error {
		res := tx.Where("user_id = ? AND enabled_at IS NOT NULL", userID).Delete(&models.TOTPFactor{})
		if res.Error != nil {
			return translate("disable totp", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return deleteFactors(tx, userID)
	})
}

// ResetMFA removes every second factor of the user, their passkeys and their open challenges, and ends every session
// of the user (reason models.ReasonMFAReset), in one transaction. It returns the revocations inserted,
// or models.ErrNotFound for an unknown user.
func (s *Store) ResetMFA(ctx context.Context, userID string, at, denyUntil time.Time) ([]models.Revocation, error) {
	return s.changeAndEndSessions(ctx, models.SessionFilter{UserID: userID}, models.ReasonMFAReset, at, denyUntil, func(tx *gorm.DB) error {
		var u models.User
		if err := s.forUpdate(tx).Select("id").Where("id = ?", userID).Take(&u).Error; err != nil {
			return translate("lock user", err)
		}
		if err := deleteFactors(tx, userID); err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&models.Passkey{}).Error; err != nil {
			return translate("delete passkeys", err)
		}
		return nil
	})
}

// deleteFactors deletes the user's rows from every table of mfaTables.
func deleteFactors(tx *gorm.DB, userID string) error {
	for _, table := range mfaTables {
		if err := tx.Exec("DELETE FROM "+table+" WHERE user_id = ?", userID).Error; err != nil {
			return translate("delete "+table, err)
		}
	}
	return nil
}

// AcceptTOTPStep records step as the last accepted step of the user's enabled TOTP factor, if it is
// later than the one recorded: one statement, so two instances cannot both accept the same code.
// It returns models.ErrNotFound when the step is not later (a replay) or no factor is on.
func (s *Store) AcceptTOTPStep(ctx context.Context, userID string, step int64) error {
	res := s.db.WithContext(ctx).Model(&models.TOTPFactor{}).
		Where("user_id = ? AND enabled_at IS NOT NULL AND last_step < ?", userID, step).
		Update("last_step", step)
	if res.Error != nil {
		return translate("accept totp step", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// UseRecoveryCode deletes the user's unused recovery code with hash codeHash: one statement, so a
// code is used once even by racing requests. It returns models.ErrNotFound when there is none.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string) error {
	res := s.db.WithContext(ctx).Where("user_id = ? AND code_hash = ?", userID, codeHash).Delete(&models.RecoveryCode{})
	if res.Error != nil {
		return translate("use recovery code", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// ReplaceRecoveryCodes replaces the user's recovery codes with codeHashes, in one transaction, if the
// user's TOTP factor is on; otherwise it returns models.ErrNotFound.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var f models.TOTPFactor
		if err := s.forUpdate(tx).Select("user_id").Where("user_id = ? AND enabled_at IS NOT NULL", userID).Take(&f).Error; err != nil {
			return translate("lock totp factor", err)
		}
		return replaceRecoveryCodes(tx, userID, codeHashes, at.UTC())
	})
}

// replaceRecoveryCodes deletes the user's recovery codes and inserts codeHashes.
func replaceRecoveryCodes(tx *gorm.DB, userID string, codeHashes []string, at time.Time) error {
	if err := tx.Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error; err != nil {
		return translate("delete recovery codes", err)
	}
	rows := make([]models.RecoveryCode, len(codeHashes))
	for i, h := range codeHashes {
		rows[i] = models.RecoveryCode{UserID: userID, CodeHash: h, CreatedAt: at}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return translate("insert recovery codes", err)
	}
	return nil
}

// CreateMFAChallenge inserts c and, in the same transaction, deletes the user's challenges that are
// spent or expired at c.CreatedAt.
func (s *Store) CreateMFAChallenge(ctx context.Context, c *models.MFAChallenge) error {
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return s.inTx(ctx, func(tx *gorm.DB) error {
		err := tx.Where("user_id = ? AND (used_at IS NOT NULL OR expires_at <= ?)", c.UserID, c.CreatedAt).
			Delete(&models.MFAChallenge{}).Error
		if err != nil {
			return translate("delete old mfa challenges", err)
		}
		if err := tx.Create(c).Error; err != nil {
			return translate("create mfa challenge", err)
		}
		return nil
	})
}

// ClaimMFAAttempt counts one more code tried with challenge id of user userID, if the challenge is
// unspent, unexpired at `at` and has had fewer than maxAttempts codes: one statement, so racing
// requests cannot try more codes than that between them. It returns models.ErrNotFound otherwise.
func (s *Store) ClaimMFAAttempt(ctx context.Context, id, userID string, maxAttempts int, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&models.MFAChallenge{}).
		Where("id = ? AND user_id = ? AND used_at IS NULL AND expires_at > ? AND failures < ?", id, userID, at.UTC(), maxAttempts).
		Update("failures", gorm.Expr("failures + 1"))
	if res.Error != nil {
		return translate("claim mfa attempt", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// SpendMFAChallenge marks challenge id used at `at`, if it was not already: of racing successes only
// one wins. It returns models.ErrNotFound when the challenge is gone or already used.
func (s *Store) SpendMFAChallenge(ctx context.Context, id string, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&models.MFAChallenge{}).
		Where("id = ? AND used_at IS NULL", id).
		Update("used_at", at.UTC())
	if res.Error != nil {
		return translate("spend mfa challenge", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}
