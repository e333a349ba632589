package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
	"github.com/authserver/authserver/internal/tokens"

	"github.com/authserver/authserver/internal/clocktest"
)

// t0 is where every test clock starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testPassword = "purple-otter-juggles-42"
	accessTTL    = 15 * time.Minute
)

// env is an auth.Service on real parts: a store, a token issuer, a revocation list and an audit writer.
type env struct {
	svc    *auth.Service
	store  *store.Store
	clock  *clocktest.Clock
	issuer *tokens.Issuer
	list   *revoke.List
	guard  auth.LoginGuard
}

// defaultSettings are the policy knobs tests start from.
func defaultSettings() auth.Settings {
	return auth.Settings{
		RefreshTTL:        7 * 24 * time.Hour,
		ReuseGrace:        10 * time.Second,
		IdleTimeout:       3 * 24 * time.Hour,
		MaxLifetime:       30 * 24 * time.Hour,
		Leeway:            5 * time.Second,
		PasswordMinLength: 8,
		AllowRegistration: true,
	}
}

// newEnv builds a service on st (a fresh store of the first backend when nil), with defaultSettings
// changed by edit.
func newEnv(tb testing.TB, st *store.Store, edit func(*auth.Settings)) *env {
	tb.Helper()
	if st == nil {
		st = storetest.Open(tb)
	}
	set := defaultSettings()
	if edit != nil {
		edit(&set)
	}
	return newEnvWith(tb, st, st, set)
}

// newEnvWith builds a service through app.New (apptest.New) on st, whose auth store is as (st
// itself, or a wrapper of it), with the policy of set, three failed logins before a lockout and
// a stopped test clock.
func newEnvWith(tb testing.TB, st *store.Store, as auth.Store, set auth.Settings) *env {
	tb.Helper()
	clk := clocktest.New(t0)
	c := apptest.Config(tb)
	c.Issuer, c.Audience, c.AccessTTL = "https://auth.test", "api.test", accessTTL
	c.RefreshTTL, c.ReuseGrace, c.IdleTimeout, c.MaxLifetime = set.RefreshTTL, set.ReuseGrace, set.IdleTimeout, set.MaxLifetime
	c.Leeway, c.PasswordMinLength, c.AllowRegistration, c.TokenFingerprint = set.Leeway, set.PasswordMinLength, set.AllowRegistration, set.Fingerprint
	c.LoginMaxFailures, c.BcryptConcurrency = 3, 4
	a := apptest.New(tb, c, nil, app.Overrides{Now: clk.Now, Store: st, AuthStore: as})
	return &env{svc: a.Auth, store: st, clock: clk, issuer: a.Tokens, list: a.DenyList, guard: a.Limits.LoginGuard()}
}

// register creates a user with testPassword and a unique email.
func (e *env) register(tb testing.TB) *models.User {
	tb.Helper()
	email := "user-" + uuid.NewString()[:8] + "@example.com"
	u, err := e.svc.Register(context.Background(), email, testPassword, auth.Client{})
	if err != nil {
		tb.Fatalf("Register(%q) error: %v", email, err)
	}
	return u
}

// login opens a session for u.
func (e *env) login(tb testing.TB, u *models.User) *auth.Issued {
	tb.Helper()
	out, err := e.svc.Login(context.Background(), u.Email, testPassword, auth.Client{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		tb.Fatalf("Login(%q) error: %v", u.Email, err)
	}
	return out
}

// refresh rotates token and fails the test on error.
func (e *env) refresh(tb testing.TB, token string) *auth.Issued {
	tb.Helper()
	out, err := e.svc.Refresh(context.Background(), token, auth.Client{})
	if err != nil {
		tb.Fatalf("Refresh error: %v", err)
	}
	return out
}

// session reads session sid of u from the store, or returns nil when it is not active.
func (e *env) session(tb testing.TB, u *models.User, sid string) *models.Session {
	tb.Helper()
	list, err := e.store.ActiveSessions(context.Background(), u.ID, time.Time{}, time.Time{})
	if err != nil {
		tb.Fatalf("ActiveSessions error: %v", err)
	}
	for i := range list {
		if list[i].ID == sid {
			return &list[i]
		}
	}
	return nil
}

// accessClaims verifies an issued access token.
func (e *env) accessClaims(tb testing.TB, out *auth.Issued) *tokens.AccessClaims {
	tb.Helper()
	c, err := e.issuer.VerifyAccess(out.AccessToken)
	if err != nil {
		tb.Fatalf("VerifyAccess(issued token) error: %v", err)
	}
	return c
}

// denied reports whether the revocation list denies the access tokens of session sid.
func (e *env) denied(u *models.User, sid string) bool {
	return e.list.Denied(u.ID, sid, uuid.NewString(), e.clock.Now())
}

func TestRefreshRotation(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("current token rotates", func(t *testing.T) {
				e := newEnv(t, b.Open(t), nil)
				u := e.register(t)
				first := e.login(t, u)
				e.clock.Advance(time.Minute)
				second := e.refresh(t, first.RefreshToken)
				if second.RefreshToken == first.RefreshToken {
					t.Fatalf("Refresh(current) returned the same refresh token, want a new one")
				}
				if second.SessionID != first.SessionID || second.User.ID != u.ID {
					t.Errorf("Refresh(current) session, user = %s, %s; want %s, %s", second.SessionID, second.User.ID, first.SessionID, u.ID)
				}
				if second.AccessToken == "" || second.ExpiresIn != int(accessTTL.Seconds()) {
					t.Errorf("Refresh(current) access token %q expiring in %ds, want one expiring in %v", second.AccessToken, second.ExpiresIn, accessTTL)
				}
				s := e.session(t, u, first.SessionID)
				if s == nil {
					t.Fatalf("session %s not active after a refresh", first.SessionID)
				}
				if s.Generation != 2 || !s.RotatedAt.Equal(t0.Add(time.Minute)) || !s.LastUsedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("session after one refresh: generation %d, rotated %v, used %v; want 2, %v, %v",
						s.Generation, s.RotatedAt, s.LastUsedAt, t0.Add(time.Minute), t0.Add(time.Minute))
				}
				third := e.refresh(t, second.RefreshToken)
				if third.RefreshToken == second.RefreshToken || third.RefreshToken == first.RefreshToken {
					t.Errorf("second Refresh returned an earlier refresh token, want a new one")
				}
			})

			t.Run("replaced token within grace gets the same token", func(t *testing.T) {
				e := newEnv(t, b.Open(t), nil)
				u := e.register(t)
				first := e.login(t, u)
				winner := e.refresh(t, first.RefreshToken)
				for _, wait := range []time.Duration{0, 5 * time.Second, 5 * time.Second} { // up to the grace, inclusive
					e.clock.Advance(wait)
					late := e.refresh(t, first.RefreshToken)
					if late.RefreshToken != winner.RefreshToken {
						t.Fatalf("Refresh(replaced token) %v after rotation gave another token, want the winner's", e.clock.Now().Sub(t0))
					}
					if late.AccessToken == "" || late.SessionID != winner.SessionID {
						t.Errorf("Refresh(replaced token) = session %q access %q, want session %q and an access token", late.SessionID, late.AccessToken, winner.SessionID)
					}
				}
				if s := e.session(t, u, first.SessionID); s == nil || s.Generation != 2 {
					t.Fatalf("session after grace refreshes = %+v, want active at generation 2", s)
				}
				if next := e.refresh(t, winner.RefreshToken); next.RefreshToken == winner.RefreshToken {
					t.Errorf("Refresh(winner's token) returned it again, want a new one")
				}
			})

			t.Run("replaced token beyond grace is reuse", func(t *testing.T) {
				e := newEnv(t, b.Open(t), nil)
				u := e.register(t)
				first := e.login(t, u)
				winner := e.refresh(t, first.RefreshToken)
				e.clock.Advance(11 * time.Second)
				checkReuse(t, e, u, first.RefreshToken, winner)
			})

			t.Run("older generation is reuse", func(t *testing.T) {
				e := newEnv(t, b.Open(t), nil)
				u := e.register(t)
				first := e.login(t, u)
				second := e.refresh(t, first.RefreshToken)
				third := e.refresh(t, second.RefreshToken)
				checkReuse(t, e, u, first.RefreshToken, third) // still within the grace of the last rotation
			})

			t.Run("grace zero is reuse at once", func(t *testing.T) {
				e := newEnv(t, b.Open(t), func(s *auth.Settings) { s.ReuseGrace = 0 })
				u := e.register(t)
				first := e.login(t, u)
				winner := e.refresh(t, first.RefreshToken)
				checkReuse(t, e, u, first.RefreshToken, winner)
			})
		})
	}
}

// checkReuse presents a stale token and checks that it fails with ErrTokenReuse, revokes the
// session in the store, publishes the revocation to the list and kills current too.
func checkReuse(t *testing.T, e *env, u *models.User, stale string, current *auth.Issued) {
	t.Helper()
	ctx := context.Background()
	if e.denied(u, current.SessionID) {
		t.Fatalf("session %s denied before any reuse", current.SessionID)
	}
	if out, err := e.svc.Refresh(ctx, stale, auth.Client{}); !errors.Is(err, auth.ErrTokenReuse) {
		t.Fatalf("Refresh(stale token) = %v, %v; want ErrTokenReuse", out, err)
	}
	if !e.denied(u, current.SessionID) {
		t.Errorf("after reuse, List.Denied(sid %s) = false, want true", current.SessionID)
	}
	if s := e.session(t, u, current.SessionID); s != nil {
		t.Errorf("after reuse, session %s still active (revoked at %v)", s.ID, s.RevokedAt)
	}
	revs, err := e.store.RevocationsSince(ctx, time.Time{}, e.clock.Now())
	if err != nil {
		t.Fatalf("RevocationsSince error: %v", err)
	}
	found := false
	for _, r := range revs {
		if r.Kind == models.RevokeSession && r.Subject == current.SessionID {
			found = true
			if least := e.clock.Now().Add(accessTTL); r.ExpiresAt.Before(least) {
				t.Errorf("session revocation expires at %v, want at least %v (an access token's life)", r.ExpiresAt, least)
			}
		}
	}
	if !found {
		t.Errorf("after reuse, store revocations = %+v, want one for session %s", revs, current.SessionID)
	}
	if out, err := e.svc.Refresh(ctx, current.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
		t.Errorf("Refresh(current token of a reused session) = %v, %v; want ErrInvalidRefreshToken", out, err)
	}
}

func TestRefreshInvalid(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), func(s *auth.Settings) { s.RefreshTTL = time.Hour })
			u := e.register(t)

			loggedOut := e.login(t, u)
			if err := e.svc.Logout(ctx, loggedOut.RefreshToken, nil, auth.Client{}); err != nil {
				t.Fatalf("Logout error: %v", err)
			}
			unknown, err := e.issuer.IssueRefresh(tokens.RefreshInput{
				UserID: u.ID, SessionID: uuid.NewString(), IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			})
			if err != nil {
				t.Fatalf("IssueRefresh error: %v", err)
			}
			other := e.register(t)
			stolen := e.login(t, other)
			foreign, err := e.issuer.IssueRefresh(tokens.RefreshInput{ // a valid signature naming another user's session
				UserID: u.ID, SessionID: stolen.SessionID, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			})
			if err != nil {
				t.Fatalf("IssueRefresh error: %v", err)
			}
			tests := []struct {
				name  string
				token string
			}{
				{"revoked session", loggedOut.RefreshToken},
				{"unknown session", unknown},
				{"session of another user", foreign},
				{"garbage", "not.a.jwt"},
				{"access token", loggedOut.AccessToken},
			}
			for _, tt := range tests {
				if out, err := e.svc.Refresh(ctx, tt.token, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
					t.Errorf("Refresh(%s) = %v, %v; want ErrInvalidRefreshToken", tt.name, out, err)
				}
			}
			if _, err := e.svc.Refresh(ctx, "", auth.Client{}); !errors.Is(err, auth.ErrNoRefreshToken) {
				t.Errorf("Refresh(\"\") error = %v, want ErrNoRefreshToken", err)
			}
			if s := e.session(t, other, stolen.SessionID); s == nil || s.Generation != 1 {
				t.Errorf("another user's session after a foreign refresh = %+v, want active at generation 1", s)
			}

			expiring := e.login(t, u)
			e.clock.Advance(time.Hour + 6*time.Second) // past exp and the leeway
			if out, err := e.svc.Refresh(ctx, expiring.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
				t.Errorf("Refresh(expired token) = %v, %v; want ErrInvalidRefreshToken", out, err)
			}
		})
	}
}

func TestRefreshIdleAndLifetime(t *testing.T) {
	ctx := context.Background()
	const idle, lifetime = 24 * time.Hour, 120 * time.Hour
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), func(s *auth.Settings) {
				s.IdleTimeout, s.MaxLifetime = idle, lifetime
			})
			u := e.register(t)

			// Idle: each refresh within the timeout extends it; a gap longer than it ends the session,
			// even within the leeway, when the token itself still verifies.
			out := e.login(t, u)
			for range 2 {
				e.clock.Advance(idle - time.Second)
				out = e.refresh(t, out.RefreshToken)
			}
			if out.RefreshMaxAge != int(idle.Seconds()) {
				t.Errorf("Refresh: refresh max age %ds, want the idle timeout %v", out.RefreshMaxAge, idle)
			}
			e.clock.Advance(idle + 2*time.Second) // beyond the idle end, within the 5s leeway of the token's exp
			if got, err := e.svc.Refresh(ctx, out.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
				t.Errorf("Refresh after %v idle = %v, %v; want ErrInvalidRefreshToken", idle+2*time.Second, got, err)
			}
			if got := mustActive(t, e, u); len(got) != 0 {
				t.Errorf("sessions active after the idle timeout = %+v, want none", got)
			}

			// Lifetime: refreshed often enough, the session still ends at its absolute end.
			out = e.login(t, u)
			for range 5 {
				e.clock.Advance(20 * time.Hour)
				out = e.refresh(t, out.RefreshToken)
			}
			if want := lifetime - 100*time.Hour; out.RefreshMaxAge != int(want.Seconds()) {
				t.Errorf("refresh max age 100h into a %v session = %ds, want %v", lifetime, out.RefreshMaxAge, want)
			}
			if out.ExpiresIn != int(accessTTL.Seconds()) {
				t.Errorf("access token expires in %ds, want %v", out.ExpiresIn, accessTTL)
			}
			e.clock.Advance(20*time.Hour - 10*time.Minute) // 10 minutes before the end: the access token is cut short
			out = e.refresh(t, out.RefreshToken)
			if out.ExpiresIn != 600 || out.RefreshMaxAge != 600 {
				t.Errorf("10 minutes before the session's end: access expires in %ds, refresh max age %ds; want 600 and 600", out.ExpiresIn, out.RefreshMaxAge)
			}
			e.clock.Advance(10*time.Minute + 2*time.Second) // beyond the end, within the leeway of the token's exp
			if got, err := e.svc.Refresh(ctx, out.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
				t.Errorf("Refresh after the session's max lifetime = %v, %v; want ErrInvalidRefreshToken", got, err)
			}
		})
	}
}

// mustActive lists u's sessions active at the test clock.
func mustActive(tb testing.TB, e *env, u *models.User) []models.Session {
	tb.Helper()
	now := e.clock.Now()
	list, err := e.store.ActiveSessions(context.Background(), u.ID, now, now.Add(-24*time.Hour))
	if err != nil {
		tb.Fatalf("ActiveSessions error: %v", err)
	}
	return list
}

func TestRefreshConcurrent(t *testing.T) {
	const n = 20
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), nil)
			u := e.register(t)
			first := e.login(t, u)
			e.clock.Advance(time.Second)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				tokens = make([]string, n)
				errs   = make([]error, n)
			)
			for i := range n {
				wg.Go(func() {
					<-start
					out, err := e.svc.Refresh(context.Background(), first.RefreshToken, auth.Client{})
					if err == nil {
						tokens[i] = out.RefreshToken
					}
					errs[i] = err
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Errorf("racing Refresh %d error: %v", i, errs[i])
				} else if tokens[i] != tokens[0] || tokens[i] == first.RefreshToken {
					t.Errorf("racing Refresh %d gave another token than the first, want all the same new token", i)
				}
			}
			if s := e.session(t, u, first.SessionID); s == nil || s.Generation != 2 {
				t.Errorf("session after %d racing refreshes = %+v, want active at generation 2", n, s)
			}
			if e.denied(u, first.SessionID) {
				t.Errorf("racing refreshes got the session denied, want it alive")
			}
		})
	}
}

// countingStore is a real store that counts how often RotateSession applied and how often it
// did not (the refresh then took the locked path).
type countingStore struct {
	*store.Store
	applied, skipped atomic.Int32
}

func (c *countingStore) RotateSession(ctx context.Context, r models.Rotation) (*models.Session, error) {
	sess, err := c.Store.RotateSession(ctx, r)
	switch {
	case err == nil:
		c.applied.Add(1)
	case errors.Is(err, models.ErrNotFound):
		c.skipped.Add(1)
	}
	return sess, err
}

// TestRefreshOneStatement checks that the one-statement rotation builds exactly the token the
// locked path builds, whatever the session's end: the token replaced, presented again within the
// grace, is reissued only if the locked path rebuilds the very token the rotation stored.
func TestRefreshOneStatement(t *testing.T) {
	const idle, lifetime = 24 * time.Hour, 120 * time.Hour
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			cs := &countingStore{Store: st}
			set := defaultSettings()
			set.IdleTimeout, set.MaxLifetime = idle, lifetime
			e := newEnvWith(t, st, cs, set)
			u := e.register(t)
			out := e.login(t, u)
			steps := []struct {
				name    string
				advance time.Duration
				applied bool
			}{
				{"20h in, full life", 20 * time.Hour, true},
				{"40h in", 20 * time.Hour, true},
				{"60h in", 20 * time.Hour, true},
				{"80h in", 20 * time.Hour, true},
				{"100h in: the session ends before a full life", 20 * time.Hour, false},
				{"110h in: the presented token ends with the session", 10 * time.Hour, true},
			}
			for _, step := range steps {
				e.clock.Advance(step.advance)
				maxAge := min(idle, t0.Add(lifetime).Sub(e.clock.Now()))
				applied, skipped := cs.applied.Load(), cs.skipped.Load()
				next := e.refresh(t, out.RefreshToken)
				if got := cs.applied.Load() > applied; got != step.applied || cs.skipped.Load()-skipped != map[bool]int32{true: 0, false: 1}[step.applied] {
					t.Errorf("%s: one statement applied %v (skipped %d), want %v", step.name, got, cs.skipped.Load()-skipped, step.applied)
				}
				if next.RefreshMaxAge != int(maxAge.Seconds()) {
					t.Errorf("%s: refresh max age %ds, want %v", step.name, next.RefreshMaxAge, maxAge)
				}
				e.clock.Advance(time.Second)
				again := e.refresh(t, out.RefreshToken) // the replaced token, within the grace
				if again.RefreshToken != next.RefreshToken {
					t.Errorf("%s: the replaced token presented again got another token, want the one just issued", step.name)
				}
				out = next
			}
			if s := e.session(t, u, out.SessionID); s == nil || s.Generation != int64(len(steps)+1) {
				t.Errorf("session after %d rotations = %+v, want active at generation %d", len(steps), s, len(steps)+1)
			}
		})
	}
}

// errCrash is the failure crashStore injects after the change ran.
var errCrash = errors.New("simulated crash before commit")

// crashStore is a real store whose UpdateSession, while crash is set, lets the service's change run
// on the locked row and then fails, as a crash between the mutation and the commit would. Its
// one-statement RotateSession cannot fail midway; while crash is set it does not apply, so that
// every refresh takes the locked path.
type crashStore struct {
	*store.Store
	mu    sync.Mutex
	crash bool
}

func (c *crashStore) setCrash(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crash = on
}

func (c *crashStore) crashing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crash
}

func (c *crashStore) RotateSession(ctx context.Context, r models.Rotation) (*models.Session, error) {
	if c.crashing() {
		return nil, models.ErrNotFound
	}
	return c.Store.RotateSession(ctx, r)
}

func (c *crashStore) UpdateSession(ctx context.Context, id string, change func(*models.Session) (bool, []models.Revocation, error)) error {
	if !c.crashing() {
		return c.Store.UpdateSession(ctx, id, change)
	}
	return c.Store.UpdateSession(ctx, id, func(s *models.Session) (bool, []models.Revocation, error) {
		if _, _, err := change(s); err != nil {
			return false, nil, err
		}
		return false, nil, errCrash
	})
}

func TestRefreshCrashMidway(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			cs := &crashStore{Store: st}
			e := newEnvWith(t, st, cs, defaultSettings())
			u := e.register(t)
			first := e.login(t, u)
			before := e.session(t, u, first.SessionID)

			cs.setCrash(true)
			e.clock.Advance(time.Minute)
			if out, err := e.svc.Refresh(ctx, first.RefreshToken, auth.Client{}); !errors.Is(err, errCrash) {
				t.Fatalf("Refresh with a crash before commit = %v, %v; want an error wrapping the crash", out, err)
			}
			after := e.session(t, u, first.SessionID)
			if after == nil {
				t.Fatalf("session %s not active after a failed rotation", first.SessionID)
			}
			if after.Generation != before.Generation || !bytes.Equal(after.TokenHash, before.TokenHash) ||
				!bytes.Equal(after.PrevTokenHash, before.PrevTokenHash) || !after.RotatedAt.Equal(before.RotatedAt) {
				t.Errorf("session after a failed rotation = generation %d rotated %v, want unchanged generation %d rotated %v and hashes",
					after.Generation, after.RotatedAt, before.Generation, before.RotatedAt)
			}

			cs.setCrash(false)
			second := e.refresh(t, first.RefreshToken)
			if second.RefreshToken == first.RefreshToken {
				t.Errorf("Refresh after the failed one returned the old token, want a new one")
			}

			// A crash while detecting reuse must neither revoke nor publish: nothing was committed.
			e.clock.Advance(time.Minute)
			cs.setCrash(true)
			if _, err := e.svc.Refresh(ctx, first.RefreshToken, auth.Client{}); !errors.Is(err, errCrash) {
				t.Fatalf("Refresh(stale token) with a crash = %v, want an error wrapping the crash", err)
			}
			if e.denied(u, first.SessionID) {
				t.Errorf("a reuse detection that was rolled back got the session denied")
			}
			if s := e.session(t, u, first.SessionID); s == nil || s.Generation != 2 {
				t.Errorf("session after a rolled-back reuse detection = %+v, want active at generation 2", s)
			}
			cs.setCrash(false)
			if _, err := e.svc.Refresh(ctx, first.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrTokenReuse) {
				t.Errorf("Refresh(stale token) without the crash error = %v, want ErrTokenReuse", err)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), nil)
			u := e.register(t)

			out, err := e.svc.Login(ctx, "  "+strings.ToUpper(u.Email)+" ", testPassword, auth.Client{})
			if err != nil {
				t.Fatalf("Login(upper-cased, padded email) error: %v", err)
			}
			claims := e.accessClaims(t, out)
			if claims.Subject != u.ID || claims.SessionID != out.SessionID || claims.Email != u.Email || claims.Role != "user" {
				t.Errorf("access claims = sub %s sid %s email %s role %s, want %s %s %s user",
					claims.Subject, claims.SessionID, claims.Email, claims.Role, u.ID, out.SessionID, u.Email)
			}
			if s := e.session(t, u, out.SessionID); s == nil || s.Generation != 1 {
				t.Errorf("session after Login = %+v, want active at generation 1", s)
			}

			long := testPassword + strings.Repeat("x", 72-len(testPassword))
			longUser, err := e.svc.Register(ctx, "long@example.com", long, auth.Client{})
			if err != nil {
				t.Fatalf("Register(72-byte password) error: %v", err)
			}
			if _, err := e.svc.Login(ctx, longUser.Email, long, auth.Client{}); err != nil {
				t.Errorf("Login(72-byte password) error: %v", err)
			}

			tests := []struct {
				name, email, password string
			}{
				{"unknown email", "nobody@example.com", testPassword},
				{"wrong password", u.Email, testPassword + "!"},
				{"password over 72 bytes", longUser.Email, long + "y"}, // bcrypt alone would ignore the 73rd byte
				{"empty password", u.Email, ""},
			}
			for _, tt := range tests {
				if out, err := e.svc.Login(ctx, tt.email, tt.password, auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
					t.Errorf("Login(%s) = %v, %v; want ErrInvalidCredentials", tt.name, out, err)
				}
			}
		})
	}
}

func TestLoginDisabled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	u := e.register(t)
	out := e.login(t, u)
	disabled := true
	if _, err := e.svc.UpdateUser(ctx, auth.Principal{}, u.ID, models.UserPatch{Disabled: &disabled}, auth.Client{}); err != nil {
		t.Fatalf("UpdateUser(disable) error: %v", err)
	}
	if got, err := e.svc.Login(ctx, u.Email, "wrong-password-123", auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("Login(disabled, wrong password) = %v, %v; want ErrInvalidCredentials", got, err)
	}
	if got, err := e.svc.Login(ctx, u.Email, testPassword, auth.Client{}); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Errorf("Login(disabled, right password) = %v, %v; want ErrAccountDisabled", got, err)
	}
	if got, err := e.svc.Refresh(ctx, out.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
		t.Errorf("Refresh(session of a disabled user) = %v, %v; want ErrInvalidRefreshToken", got, err)
	}
	if !e.denied(u, out.SessionID) {
		t.Errorf("after disabling, List.Denied(sid %s) = false, want true", out.SessionID)
	}
}

func TestLoginLockout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	u := e.register(t)
	for i := range 3 {
		if _, err := e.svc.Login(ctx, u.Email, "wrong-password-"+string(rune('a'+i)), auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failed Login %d error = %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	if _, blocked, err := e.guard.Blocked(ctx, u.Email); err != nil || !blocked {
		t.Fatalf("guard after 3 failures: Blocked(%s) = %v, %v; want true, nil", u.Email, blocked, err)
	}
	_, err := e.svc.Login(ctx, strings.ToUpper(u.Email), testPassword, auth.Client{})
	var locked *auth.LockedError
	if !errors.As(err, &locked) || locked.RetryAfter < time.Second || locked.RetryAfter > 15*time.Minute {
		t.Fatalf("Login(locked email, right password) error = %v, want *LockedError with RetryAfter within the 15m window", err)
	}
	if _, blocked, err := e.guard.Blocked(ctx, u.Email); err != nil || !blocked {
		t.Errorf("after a refused login with the right password, Blocked(%s) = %v, %v; want still true", u.Email, blocked, err)
	}

	other := e.register(t)
	if _, err := e.svc.Login(ctx, other.Email, "wrong-password-x", auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("failed Login error = %v, want ErrInvalidCredentials", err)
	}
	for range 2 { // two more failures would lock other, had the success not reset its count
		e.login(t, other)
		if _, err := e.svc.Login(ctx, other.Email, "wrong-password-y", auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failed Login error = %v, want ErrInvalidCredentials", err)
		}
	}
	if _, blocked, err := e.guard.Blocked(ctx, other.Email); err != nil || blocked {
		t.Errorf("after failures separated by successful logins, Blocked = %v, %v; want false: a success resets the count", blocked, err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b.Open(t), nil)
			u := e.register(t)
			current := e.login(t, u)
			other := e.login(t, u)
			me := middleware.PrincipalOf(e.accessClaims(t, current))

			const next = "velvet-harbor-lantern-19"
			if err := e.svc.ChangePassword(ctx, me, "wrong-current-pass", next, auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("ChangePassword(wrong current) error = %v, want ErrInvalidCredentials", err)
			}
			var verr *auth.ValidationError
			if err := e.svc.ChangePassword(ctx, me, testPassword, "short", auth.Client{}); !errors.As(err, &verr) || verr.Fields["newPassword"] == "" {
				t.Errorf("ChangePassword(too short) error = %v, want a ValidationError on newPassword", err)
			}
			if e.denied(u, other.SessionID) {
				t.Fatalf("failed password changes ended session %s", other.SessionID)
			}

			e.clock.Advance(time.Minute)
			if err := e.svc.ChangePassword(ctx, me, testPassword, next, auth.Client{}); err != nil {
				t.Fatalf("ChangePassword error: %v", err)
			}
			if e.denied(u, current.SessionID) {
				t.Errorf("ChangePassword denied the current session, want it kept")
			}
			if !e.denied(u, other.SessionID) {
				t.Errorf("ChangePassword left the other session's access tokens allowed, want them denied")
			}
			if _, err := e.svc.Refresh(ctx, other.RefreshToken, auth.Client{}); !errors.Is(err, auth.ErrInvalidRefreshToken) {
				t.Errorf("Refresh(other session) after ChangePassword error = %v, want ErrInvalidRefreshToken", err)
			}
			e.refresh(t, current.RefreshToken)
			if _, err := e.svc.Login(ctx, u.Email, testPassword, auth.Client{}); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("Login(old password) error = %v, want ErrInvalidCredentials", err)
			}
			if _, err := e.svc.Login(ctx, u.Email, next, auth.Client{}); err != nil {
				t.Errorf("Login(new password) error: %v", err)
			}
		})
	}
}

func TestRefreshAudited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	u := e.register(t)
	first := e.login(t, u)
	e.refresh(t, first.RefreshToken)
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Refresh(ctx, first.RefreshToken, auth.Client{IP: "198.51.100.7"}); !errors.Is(err, auth.ErrTokenReuse) {
		t.Fatalf("Refresh(stale token) error = %v, want ErrTokenReuse", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := e.store.AuditEvents(ctx, models.AuditFilter{UserID: u.ID, Type: "token_reuse_detected"})
		if err != nil {
			t.Fatalf("AuditEvents error: %v", err)
		}
		if len(events) == 1 {
			if events[0].SessionID != first.SessionID || events[0].IP != "198.51.100.7" {
				t.Errorf("token_reuse_detected event = %+v, want session %s and IP 198.51.100.7", events[0], first.SessionID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token_reuse_detected events = %+v, want exactly one within 10s", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCreateUserAsAudited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	u, err := e.svc.CreateUserAs(ctx, auth.Principal{}, "Ops@Example.com", testPassword, models.RoleAdmin, auth.Client{UserAgent: "server-cli"})
	if err != nil {
		t.Fatalf("CreateUserAs error: %v", err)
	}
	if u.Email != "ops@example.com" || u.Role != models.RoleAdmin {
		t.Fatalf("CreateUserAs = %s %s, want ops@example.com admin", u.Email, u.Role)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := e.store.AuditEvents(ctx, models.AuditFilter{UserID: u.ID, Type: "user_registered"})
		if err != nil {
			t.Fatalf("AuditEvents error: %v", err)
		}
		if len(events) == 1 {
			var d map[string]any
			if err := json.Unmarshal([]byte(events[0].Detail), &d); err != nil || d["via"] != "cli" || d["actorId"] != nil || d["role"] != "admin" {
				t.Errorf("user_registered detail = %s, want via cli, actorId null, role admin", events[0].Detail)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("user_registered events = %+v, want exactly one within 10s", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
