package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

// issue stores a token of purpose for u to address to, created at, and returns its hash.
func issue(t *testing.T, s *store.Store, u *models.User, p models.EmailPurpose, to, raw string, at time.Time) []byte {
	t.Helper()
	h := sha256.Sum256([]byte(raw))
	tok := &models.EmailToken{TokenHash: h[:], UserID: u.ID, Purpose: p, Email: to, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := s.IssueEmailToken(context.Background(), tok, time.Time{}); err != nil {
		t.Fatalf("IssueEmailToken(%s, %s) = %v", p, raw, err)
	}
	return h[:]
}

func TestIssueEmailTokenThrottlesAndVoids(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		first := issue(t, s, u, models.PurposeResetPassword, u.Email, "first", t0)

		h := sha256.Sum256([]byte("second"))
		second := &models.EmailToken{TokenHash: h[:], UserID: u.ID, Purpose: models.PurposeResetPassword, Email: u.Email,
			CreatedAt: t0.Add(30 * time.Second), ExpiresAt: t0.Add(time.Hour)}
		if err := s.IssueEmailToken(ctx, second, t0.Add(-30*time.Second)); !errors.Is(err, models.ErrSentRecently) {
			t.Fatalf("IssueEmailToken within the interval = %v, want ErrSentRecently", err)
		}
		if _, _, err := s.EmailToken(ctx, h[:], models.PurposeResetPassword, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the throttled token was stored: EmailToken = %v", err)
		}
		// Another purpose to the same address is not throttled by it.
		issue(t, s, u, models.PurposeVerifyEmail, u.Email, "verify", t0.Add(time.Second))

		if err := s.IssueEmailToken(ctx, second, t0.Add(time.Second)); err != nil {
			t.Fatalf("IssueEmailToken after the interval = %v", err)
		}
		if _, _, err := s.EmailToken(ctx, first, models.PurposeResetPassword, t0.Add(time.Minute)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("older reset token still usable after a newer one: %v", err)
		}
		if _, got, err := s.EmailToken(ctx, h[:], models.PurposeResetPassword, t0.Add(time.Minute)); err != nil || got.ID != u.ID {
			t.Errorf("EmailToken(newer) = %v, %v; want the user", got, err)
		}
		unknown := &models.EmailToken{TokenHash: []byte("x"), UserID: "00000000-0000-0000-0000-000000000000",
			Purpose: models.PurposeVerifyEmail, Email: "x@example.com", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.IssueEmailToken(ctx, unknown, time.Time{}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("IssueEmailToken for an unknown user = %v, want ErrNotFound", err)
		}
	})
}

func TestEmailTokenUsability(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "bob@example.com", models.RoleUser, t0)
		reset := issue(t, s, u, models.PurposeResetPassword, u.Email, "reset", t0)
		tests := []struct {
			name    string
			hash    []byte
			purpose models.EmailPurpose
			at      time.Time
			ok      bool
		}{
			{"fresh", reset, models.PurposeResetPassword, t0.Add(time.Minute), true},
			{"wrong purpose", reset, models.PurposeVerifyEmail, t0.Add(time.Minute), false},
			{"expired", reset, models.PurposeResetPassword, t0.Add(time.Hour), false},
			{"unknown", []byte("nope"), models.PurposeResetPassword, t0, false},
		}
		for _, tt := range tests {
			_, _, err := s.EmailToken(ctx, tt.hash, tt.purpose, tt.at)
			if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, models.ErrNotFound)) {
				t.Errorf("%s: EmailToken = %v, want usable %v", tt.name, err, tt.ok)
			}
		}
		disabled := true
		if _, _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Disabled: &disabled}, t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.EmailToken(ctx, reset, models.PurposeResetPassword, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("token of a disabled user: EmailToken = %v, want ErrNotFound", err)
		}
	})
}

func TestVerifyEmailSpendsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "cy@example.com", models.RoleUser, t0)
		h := issue(t, s, u, models.PurposeVerifyEmail, u.Email, "v", t0)
		got, err := s.VerifyEmail(ctx, h, t0.Add(time.Minute))
		if err != nil || !got.EmailVerified {
			t.Fatalf("VerifyEmail = %+v, %v; want the verified user", got, err)
		}
		if stored, _ := s.UserByID(ctx, u.ID); !stored.EmailVerified {
			t.Error("stored user not verified")
		}
		if _, err := s.VerifyEmail(ctx, h, t0.Add(time.Minute)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second VerifyEmail = %v, want ErrNotFound", err)
		}
	})
}

// A verification link for an address the account has since left verifies nothing.
func TestVerifyEmailForAnOldAddress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "old@example.com", models.RoleUser, t0)
		verify := issue(t, s, u, models.PurposeVerifyEmail, u.Email, "v", t0)
		change := issue(t, s, u, models.PurposeChangeEmail, "new@example.com", "c", t0)
		moved, old, err := s.ChangeEmail(ctx, change, t0.Add(time.Minute))
		if err != nil || moved.Email != "new@example.com" || old != "old@example.com" || !moved.EmailVerified {
			t.Fatalf("ChangeEmail = %+v, %q, %v", moved, old, err)
		}
		if _, err := s.VerifyEmail(ctx, verify, t0.Add(time.Minute)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("VerifyEmail with the old address's link = %v, want ErrNotFound", err)
		}
	})
}

func TestChangeEmailTakenInTheMeantime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "dee@example.com", models.RoleUser, t0)
		h := issue(t, s, u, models.PurposeChangeEmail, "wanted@example.com", "c", t0)
		newUser(t, s, "wanted@example.com", models.RoleUser, t0)
		if _, _, err := s.ChangeEmail(ctx, h, t0.Add(time.Minute)); !errors.Is(err, models.ErrEmailTaken) {
			t.Fatalf("ChangeEmail to a taken address = %v, want ErrEmailTaken", err)
		}
		if stored, _ := s.UserByID(ctx, u.ID); stored.Email != "dee@example.com" || stored.EmailVerified {
			t.Errorf("user after the failed change = %+v", stored)
		}
		if _, _, err := s.EmailToken(ctx, h, models.PurposeChangeEmail, t0.Add(time.Minute)); err != nil {
			t.Errorf("token spent by the failed change: %v", err)
		}
	})
}

func TestResetPasswordEndsSessionsAndVoidsLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "eve@example.com", models.RoleUser, t0)
		other := newUser(t, s, "fay@example.com", models.RoleUser, t0)
		s1, s2 := newSession(t, s, u.ID, t0), newSession(t, s, u.ID, t0)
		keep := newSession(t, s, other.ID, t0)
		h := issue(t, s, u, models.PurposeResetPassword, u.Email, "r", t0)
		at := t0.Add(time.Minute)
		got, revs, err := s.ResetPassword(ctx, h, "new-hash", at, at.Add(time.Hour))
		if err != nil {
			t.Fatalf("ResetPassword = %v", err)
		}
		if got.PasswordHash != "new-hash" || !got.EmailVerified {
			t.Errorf("ResetPassword user = %+v", got)
		}
		kinds := map[models.RevocationKind][]string{}
		for _, r := range revs {
			kinds[r.Kind] = append(kinds[r.Kind], r.Subject)
		}
		if len(kinds[models.RevokeSession]) != 2 || len(kinds[models.RevokeUser]) != 1 || kinds[models.RevokeUser][0] != u.ID {
			t.Errorf("revocations = %+v, want both sessions and the user", revs)
		}
		if ids := activeIDs(t, s, u.ID); len(ids) != 0 {
			t.Errorf("sessions %v of the reset user still active (had %s, %s)", ids, s1.ID, s2.ID)
		}
		if ids := activeIDs(t, s, other.ID); len(ids) != 1 || ids[0] != keep.ID {
			t.Errorf("another user's sessions = %v, want %s", ids, keep.ID)
		}
		stored, _ := s.UserByID(ctx, u.ID)
		if stored.PasswordHash != "new-hash" || !stored.EmailVerified {
			t.Errorf("stored user = %+v", stored)
		}
		if _, _, err := s.ResetPassword(ctx, h, "again", at, at.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second ResetPassword = %v, want ErrNotFound", err)
		}
	})
}

// A password change voids the reset links sent before it.
func TestChangePasswordVoidsResetLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "gus@example.com", models.RoleUser, t0)
		sess := newSession(t, s, u.ID, t0)
		h := issue(t, s, u, models.PurposeResetPassword, u.Email, "r", t0)
		v := issue(t, s, u, models.PurposeVerifyEmail, u.Email, "v", t0)
		if _, err := s.ChangePassword(ctx, u.ID, "changed", sess.ID, t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.EmailToken(ctx, h, models.PurposeResetPassword, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("reset link after a password change: EmailToken = %v, want ErrNotFound", err)
		}
		if _, _, err := s.EmailToken(ctx, v, models.PurposeVerifyEmail, t0); err != nil {
			t.Errorf("verification link voided by a password change: %v", err)
		}
	})
}

// Racing spends of one token: exactly one wins.
func TestResetPasswordRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "hal@example.com", models.RoleUser, t0)
		h := issue(t, s, u, models.PurposeResetPassword, u.Email, "r", t0)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, _, errs[i] = s.ResetPassword(context.Background(), h, "h", t0.Add(time.Minute), t0.Add(time.Hour))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, models.ErrNotFound):
				t.Errorf("racing ResetPassword = %v, want nil or ErrNotFound", err)
			}
		}
		if won != 1 {
			t.Errorf("%d racing resets succeeded, want exactly 1", won)
		}
	})
}

// faultyStores returns, for each backend, a fresh store and a second connection to its database,
// through which a test can plant a fault (a trigger) the store cannot see coming.
func faultyStores(t *testing.T) map[string]func(t *testing.T) (*store.Store, *sql.DB, string) {
	open := func(t *testing.T, driver models.Driver, sqlDriver, dsn string) (*store.Store, *sql.DB) {
		s, err := store.Open(t.Context(), driver, dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open(sqlDriver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return s, db
	}
	list := map[string]func(t *testing.T) (*store.Store, *sql.DB, string){
		"sqlite": func(t *testing.T) (*store.Store, *sql.DB, string) {
			s, db := open(t, models.DriverSQLite, "sqlite", filepath.Join(t.TempDir(), "auth.db"))
			return s, db, `CREATE TRIGGER fail_revocations BEFORE INSERT ON revocations BEGIN SELECT RAISE(ABORT, 'injected failure'); END`
		},
	}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		list["postgres"] = func(t *testing.T) (*store.Store, *sql.DB, string) {
			s, db := open(t, models.DriverPostgres, "pgx", storetest.PostgresDSN(t))
			return s, db, `CREATE FUNCTION fail_revocation() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
				CREATE TRIGGER fail_revocations BEFORE INSERT ON revocations FOR EACH ROW EXECUTE FUNCTION fail_revocation()`
		}
	}
	return list
}

// A reset whose last write fails leaves nothing half-written: the password, the token, the
// verification and the sessions are as before, and the token still works once the fault is gone.
func TestResetPasswordAllOrNothing(t *testing.T) {
	for name, open := range faultyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, db, trigger := open(t)
			u := newUser(t, s, "ivy@example.com", models.RoleUser, t0)
			sess := newSession(t, s, u.ID, t0)
			h := issue(t, s, u, models.PurposeResetPassword, u.Email, "r", t0)
			if _, err := db.ExecContext(ctx, trigger); err != nil {
				t.Fatalf("plant the fault: %v", err)
			}
			if _, _, err := s.ResetPassword(ctx, h, "new-hash", t0.Add(time.Minute), t0.Add(time.Hour)); err == nil ||
				!strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("ResetPassword with the revocations insert failing = %v, want the injected failure", err)
			}
			stored, err := s.UserByID(ctx, u.ID)
			if err != nil || stored.PasswordHash != "hash" || stored.EmailVerified {
				t.Errorf("user after the failed reset = %+v, %v; want it unchanged", stored, err)
			}
			if ids := activeIDs(t, s, u.ID); len(ids) != 1 || ids[0] != sess.ID {
				t.Errorf("sessions after the failed reset = %v, want %s still active", ids, sess.ID)
			}
			if _, err := db.ExecContext(ctx, "DROP TRIGGER fail_revocations"+map[string]string{"postgres": " ON revocations"}[name]); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.ResetPassword(ctx, h, "new-hash", t0.Add(time.Minute), t0.Add(time.Hour)); err != nil {
				t.Errorf("ResetPassword once the fault is gone = %v, want the unspent token to work", err)
			}
		})
	}
}
