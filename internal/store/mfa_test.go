package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

func hashes(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

func mfaState(t *testing.T, s *store.Store, userID string) models.MFAState {
	t.Helper()
	st, err := s.MFAState(context.Background(), userID)
	if err != nil {
		t.Fatalf("MFAState(%s) = %v", userID, err)
	}
	return st
}

// enableTOTP gives u an enabled TOTP factor with ten recovery codes "code-00".."code-09".
func enableTOTP(t *testing.T, s *store.Store, u *models.User) {
	t.Helper()
	ctx := context.Background()
	if err := s.SetPendingTOTP(ctx, u.ID, "sealed-"+u.ID, t0); err != nil {
		t.Fatalf("SetPendingTOTP = %v", err)
	}
	if _, err := s.EnableTOTP(ctx, u.ID, "sealed-"+u.ID, 10, hashes("code", 10), "", t0, t0.Add(time.Hour)); err != nil {
		t.Fatalf("EnableTOTP = %v", err)
	}
}

func TestEnrolAndEnableTOTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		if st := mfaState(t, s, u.ID); st.TOTP != nil || st.RecoveryCodesLeft != 0 {
			t.Fatalf("MFAState of a new user = %+v, want none", st)
		}
		keep := newSession(t, s, u.ID, t0)
		other := newSession(t, s, u.ID, t0)

		if err := s.SetPendingTOTP(ctx, u.ID, "first", t0); err != nil {
			t.Fatalf("SetPendingTOTP(first) = %v", err)
		}
		if err := s.SetPendingTOTP(ctx, u.ID, "second", t0.Add(time.Minute)); err != nil {
			t.Fatalf("SetPendingTOTP(second) replacing a pending one = %v", err)
		}
		st := mfaState(t, s, u.ID)
		if st.TOTP == nil || st.TOTP.Enabled() || st.TOTP.Secret != "second" || st.TOTP.LastStep != -1 {
			t.Fatalf("MFAState after two enrolments = %+v, want the second one pending", st.TOTP)
		}
		// A code checked against the replaced secret does not turn the new one on.
		if _, err := s.EnableTOTP(ctx, u.ID, "first", 5, hashes("a", 10), keep.ID, t0, t0.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("EnableTOTP(replaced secret) = %v, want ErrNotFound", err)
		}
		revs, err := s.EnableTOTP(ctx, u.ID, "second", 5, hashes("a", 10), keep.ID, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("EnableTOTP = %v", err)
		}
		if len(revs) != 1 || revs[0].Subject != other.ID {
			t.Errorf("EnableTOTP revocations = %+v, want the other session only", revs)
		}
		if ids := activeIDs(t, s, u.ID); !slices.Equal(ids, []string{keep.ID}) {
			t.Errorf("active sessions after EnableTOTP = %v, want only %s", ids, keep.ID)
		}
		st = mfaState(t, s, u.ID)
		if !st.TOTP.Enabled() || st.TOTP.LastStep != 5 || st.RecoveryCodesLeft != 10 {
			t.Errorf("MFAState after EnableTOTP = %+v, %d codes; want on, last step 5, 10 codes", st.TOTP, st.RecoveryCodesLeft)
		}
		if err := s.SetPendingTOTP(ctx, u.ID, "third", t0); !errors.Is(err, models.ErrMFAEnabled) {
			t.Errorf("SetPendingTOTP while on = %v, want ErrMFAEnabled", err)
		}
		if st := mfaState(t, s, u.ID); st.TOTP.Secret != "second" {
			t.Errorf("secret after a refused enrolment = %q, want it unchanged", st.TOTP.Secret)
		}
		if _, err := s.EnableTOTP(ctx, u.ID, "second", 6, nil, keep.ID, t0, t0.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("EnableTOTP twice = %v, want ErrNotFound", err)
		}
	})
}

func TestAcceptTOTPStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		if err := s.AcceptTOTPStep(ctx, u.ID, 100); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("AcceptTOTPStep without a factor = %v, want ErrNotFound", err)
		}
		enableTOTP(t, s, u) // last step 10
		for _, tt := range []struct {
			step int64
			want error
		}{{10, models.ErrNotFound}, {9, models.ErrNotFound}, {11, nil}, {11, models.ErrNotFound}, {13, nil}, {12, models.ErrNotFound}} {
			if err := s.AcceptTOTPStep(ctx, u.ID, tt.step); !errors.Is(err, tt.want) {
				t.Errorf("AcceptTOTPStep(%d) = %v, want %v", tt.step, err, tt.want)
			}
		}
		// Racing acceptances of one step: exactly one wins.
		if n := race(t, 8, func() error { return s.AcceptTOTPStep(ctx, u.ID, 50) }); n != 1 {
			t.Errorf("%d of 8 racing AcceptTOTPStep(50) succeeded, want 1", n)
		}
	})
}

// Two instances on one PostgreSQL database refuse each other's accepted codes.
func TestAcceptTOTPStepAcrossInstances(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	open := func() *store.Store {
		s, err := store.Open(context.Background(), models.DriverPostgres, dsn, slog.Default())
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := open()
	if err := a.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate = %v", err)
	}
	b := open()
	u := newUser(t, a, "ann@example.com", models.RoleUser, t0)
	enableTOTP(t, a, u)
	if err := a.AcceptTOTPStep(context.Background(), u.ID, 20); err != nil {
		t.Fatalf("instance A: AcceptTOTPStep(20) = %v", err)
	}
	if err := b.AcceptTOTPStep(context.Background(), u.ID, 20); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("instance B: AcceptTOTPStep(20) after A = %v, want ErrNotFound", err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		other := newUser(t, s, "bob@example.com", models.RoleUser, t0)
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes("x", 10), t0); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("ReplaceRecoveryCodes without TOTP on = %v, want ErrNotFound", err)
		}
		enableTOTP(t, s, u)
		enableTOTP(t, s, other)
		if err := s.UseRecoveryCode(ctx, u.ID, "code-03"); err != nil {
			t.Fatalf("UseRecoveryCode = %v", err)
		}
		if err := s.UseRecoveryCode(ctx, u.ID, "code-03"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UseRecoveryCode twice = %v, want ErrNotFound", err)
		}
		if got := mfaState(t, s, u.ID).RecoveryCodesLeft; got != 9 {
			t.Errorf("RecoveryCodesLeft = %d, want 9", got)
		}
		if got := mfaState(t, s, other.ID).RecoveryCodesLeft; got != 10 {
			t.Errorf("another user's RecoveryCodesLeft = %d, want 10", got)
		}
		if n := race(t, 8, func() error { return s.UseRecoveryCode(ctx, u.ID, "code-04") }); n != 1 {
			t.Errorf("%d of 8 racing UseRecoveryCode succeeded, want 1", n)
		}
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes("new", 10), t0); err != nil {
			t.Fatalf("ReplaceRecoveryCodes = %v", err)
		}
		if err := s.UseRecoveryCode(ctx, u.ID, "code-05"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UseRecoveryCode(old set) after replace = %v, want ErrNotFound", err)
		}
		if err := s.UseRecoveryCode(ctx, u.ID, "new-05"); err != nil {
			t.Errorf("UseRecoveryCode(new set) = %v", err)
		}
	})
}

func TestMFAChallenges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		other := newUser(t, s, "bob@example.com", models.RoleUser, t0)
		newChallenge := func(at time.Time) *models.MFAChallenge {
			c := &models.MFAChallenge{ID: uuid.NewString(), UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
			if err := s.CreateMFAChallenge(ctx, c); err != nil {
				t.Fatalf("CreateMFAChallenge = %v", err)
			}
			return c
		}
		c := newChallenge(t0)
		if err := s.ClaimMFAAttempt(ctx, c.ID, other.ID, 5, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ClaimMFAAttempt by another user = %v, want ErrNotFound", err)
		}
		if err := s.ClaimMFAAttempt(ctx, c.ID, u.ID, 5, t0.Add(5*time.Minute)); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ClaimMFAAttempt at expiry = %v, want ErrNotFound", err)
		}
		for i := range 5 {
			if err := s.ClaimMFAAttempt(ctx, c.ID, u.ID, 5, t0); err != nil {
				t.Fatalf("ClaimMFAAttempt #%d = %v", i+1, err)
			}
		}
		if err := s.ClaimMFAAttempt(ctx, c.ID, u.ID, 5, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("sixth ClaimMFAAttempt = %v, want ErrNotFound", err)
		}

		d := newChallenge(t0)
		if n := race(t, 12, func() error { return s.ClaimMFAAttempt(ctx, d.ID, u.ID, 5, t0) }); n != 5 {
			t.Errorf("%d of 12 racing ClaimMFAAttempt succeeded, want 5", n)
		}

		e := newChallenge(t0)
		if n := race(t, 8, func() error { return s.SpendMFAChallenge(ctx, e.ID, t0) }); n != 1 {
			t.Errorf("%d of 8 racing SpendMFAChallenge succeeded, want 1", n)
		}
		if err := s.ClaimMFAAttempt(ctx, e.ID, u.ID, 5, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ClaimMFAAttempt on a spent challenge = %v, want ErrNotFound", err)
		}
		if err := s.SpendMFAChallenge(ctx, "not-a-uuid", t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SpendMFAChallenge(not-a-uuid) = %v, want ErrNotFound", err)
		}
		if err := s.ClaimMFAAttempt(ctx, "not-a-uuid", u.ID, 5, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ClaimMFAAttempt(not-a-uuid) = %v, want ErrNotFound", err)
		}

		// A new challenge clears the spent and expired ones: e (spent) and, ten minutes on, c and d.
		newChallenge(t0.Add(10 * time.Minute))
		for _, old := range []*models.MFAChallenge{c, d, e} {
			if err := s.SpendMFAChallenge(ctx, old.ID, t0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("challenge %s still there after a later one was created (%v)", old.ID, err)
			}
		}
	})
}

func TestDisableAndResetMFA(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		keep := newSession(t, s, u.ID, t0)
		newSession(t, s, u.ID, t0)
		if _, err := s.DisableTOTP(ctx, u.ID, keep.ID, t0, t0.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("DisableTOTP without a factor = %v, want ErrNotFound", err)
		}
		if err := s.SetPendingTOTP(ctx, u.ID, "pending", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DisableTOTP(ctx, u.ID, keep.ID, t0, t0.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("DisableTOTP of a pending factor = %v, want ErrNotFound", err)
		}
		if _, err := s.EnableTOTP(ctx, u.ID, "pending", 1, hashes("c", 10), keep.ID, t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		later := newSession(t, s, u.ID, t0)
		ch := &models.MFAChallenge{ID: uuid.NewString(), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
		if err := s.CreateMFAChallenge(ctx, ch); err != nil {
			t.Fatal(err)
		}
		revs, err := s.DisableTOTP(ctx, u.ID, keep.ID, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("DisableTOTP = %v", err)
		}
		if len(revs) != 1 || revs[0].Subject != later.ID {
			t.Errorf("DisableTOTP revocations = %+v, want the session opened since (%s)", revs, later.ID)
		}
		if st := mfaState(t, s, u.ID); st.TOTP != nil || st.RecoveryCodesLeft != 0 {
			t.Errorf("MFAState after DisableTOTP = %+v, want nothing", st)
		}
		if err := s.ClaimMFAAttempt(ctx, ch.ID, u.ID, 5, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("challenge after DisableTOTP: ClaimMFAAttempt = %v, want ErrNotFound", err)
		}

		enableTOTP(t, s, u) // ends every session
		last := newSession(t, s, u.ID, t0)
		revs, err = s.ResetMFA(ctx, u.ID, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("ResetMFA = %v", err)
		}
		if len(revs) != 1 || revs[0].Subject != last.ID {
			t.Errorf("ResetMFA revocations = %+v, want the last session (%s)", revs, last.ID)
		}
		if ids := activeIDs(t, s, u.ID); len(ids) != 0 {
			t.Errorf("active sessions after ResetMFA = %v, want none", ids)
		}
		if st := mfaState(t, s, u.ID); st.TOTP != nil || st.RecoveryCodesLeft != 0 {
			t.Errorf("MFAState after ResetMFA = %+v, want nothing", st)
		}
		if _, err := s.ResetMFA(ctx, u.ID, t0, t0.Add(time.Hour)); err != nil {
			t.Errorf("ResetMFA of a user without factors = %v, want nil", err)
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := s.ResetMFA(ctx, id, t0, t0.Add(time.Hour)); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("ResetMFA(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}

// race runs fn n times at once and returns how many calls returned nil. Any error other than
// models.ErrNotFound fails the test.
func race(t *testing.T, n int, fn func() error) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ok    int
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			err := fn()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, models.ErrNotFound):
				t.Errorf("racing call = %v, want nil or ErrNotFound", err)
			}
		})
	}
	close(start)
	wg.Wait()
	return ok
}
