package store_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

var _ auth.Store = (*store.Store)(nil)

// t0 is the tests' "now"; times are whole microseconds, as PostgreSQL stores them.
var t0 = time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC)

// forEachBackend runs test on a fresh store of every backend.
func forEachBackend(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			test(t, b.Open(t))
		})
	}
}

func newUser(t *testing.T, s *store.Store, email string, role models.Role, createdAt time.Time) *models.User {
	t.Helper()
	u := &models.User{ID: uuid.NewString(), Email: email, PasswordHash: "hash", Role: role, CreatedAt: createdAt, UpdatedAt: createdAt}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s) = %v", email, err)
	}
	return u
}

func newSession(t *testing.T, s *store.Store, userID string, createdAt time.Time) *models.Session {
	t.Helper()
	sess := &models.Session{
		ID:         uuid.NewString(),
		UserID:     userID,
		CreatedAt:  createdAt,
		LastUsedAt: createdAt,
		ExpiresAt:  createdAt.Add(30 * 24 * time.Hour),
		UserAgent:  "test-agent",
		IP:         "192.0.2.1",
		TokenHash:  []byte("hash-0"),
		RotatedAt:  createdAt,
	}
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	return sess
}

// allRevocations returns every stored revocation still in force at t0.
func allRevocations(t *testing.T, s *store.Store) []models.Revocation {
	t.Helper()
	revs, err := s.RevocationsSince(context.Background(), time.Time{}, t0)
	if err != nil {
		t.Fatalf("RevocationsSince() = %v", err)
	}
	return revs
}

func activeIDs(t *testing.T, s *store.Store, userID string) []string {
	t.Helper()
	list, err := s.ActiveSessions(context.Background(), userID, t0, t0.Add(-time.Hour))
	if err != nil {
		t.Fatalf("ActiveSessions(%s) = %v", userID, err)
	}
	ids := make([]string, len(list))
	for i, sess := range list {
		ids[i] = sess.ID
	}
	return ids
}

func TestOpenRejectsUnknownDriver(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql", "x", slog.Default())
	if err == nil {
		t.Fatal(`Open("mysql") = nil error, want one`)
	}
}

func TestOpenSQLiteCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "db")
	s, err := store.Open(context.Background(), models.DriverSQLite, filepath.Join(dir, "auth.db"), slog.Default())
	if err != nil {
		t.Fatalf("Open(sqlite in a new directory) = %v", err)
	}
	defer s.Close()
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("database directory = %v, %v, want mode 0700", info, err)
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "keep@example.com", models.RoleUser, t0)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate() = %v", err)
		}
		if _, err := s.UserByID(context.Background(), u.ID); err != nil {
			t.Errorf("UserByID after second Migrate() = %v, want the user", err)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping() = %v", err)
		}
		if got, want := s.Driver(), models.Driver(path.Base(t.Name())); got != want {
			t.Errorf("Driver() = %q, want %q", got, want)
		}
	})
}

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		local := time.FixedZone("UTC+2", 2*60*60)
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0.In(local))

		byEmail, err := s.UserByEmail(ctx, "ann@example.com")
		if err != nil {
			t.Fatalf("UserByEmail() = %v", err)
		}
		byID, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID() = %v", err)
		}
		for _, got := range []*models.User{byEmail, byID} {
			if got.ID != u.ID || got.Email != u.Email || got.PasswordHash != "hash" || got.Role != models.RoleUser || got.Disabled {
				t.Errorf("read user = %+v, want %+v", got, u)
			}
			if !got.CreatedAt.Equal(t0) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("read user CreatedAt = %v, want %v in UTC", got.CreatedAt, t0)
			}
		}

		dup := &models.User{ID: uuid.NewString(), Email: "ann@example.com", PasswordHash: "h", Role: models.RoleUser}
		if err := s.CreateUser(ctx, dup); !errors.Is(err, models.ErrEmailTaken) {
			t.Errorf("CreateUser(same email) = %v, want ErrEmailTaken", err)
		}
		again := &models.User{ID: u.ID, Email: "other@example.com", PasswordHash: "h", Role: models.RoleUser}
		if err := s.CreateUser(ctx, again); err == nil || errors.Is(err, models.ErrEmailTaken) {
			t.Errorf("CreateUser(same id) = %v, want a plain error", err)
		}

		if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UserByEmail(unknown) = %v, want ErrNotFound", err)
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := s.UserByID(ctx, id); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("UserByID(%q) = %v, want ErrNotFound", id, err)
			}
		}

		newUser(t, s, "bob@example.com", models.RoleAdmin, t0)
		if n, err := s.CountUsers(ctx); err != nil || n != 2 {
			t.Errorf("CountUsers() = %d, %v, want 2, nil", n, err)
		}
	})
}

var errBoom = errors.New("boom")

func TestUpdateSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		sess := newSession(t, s, u.ID, t0.Add(-time.Minute))

		t.Run("saves", func(t *testing.T) {
			err := s.UpdateSession(ctx, sess.ID, func(got *models.Session) (bool, []models.Revocation, error) {
				if got.ID != sess.ID || got.Generation != 0 || string(got.TokenHash) != "hash-0" || got.PrevTokenHash != nil {
					t.Errorf("change got %+v, want the stored session", got)
				}
				if got.User == nil || got.User.ID != u.ID || got.User.Email != u.Email || got.User.Role != u.Role || got.User.Disabled {
					t.Errorf("change got session user %+v, want %s %s %s enabled", got.User, u.ID, u.Email, u.Role)
				}
				got.Generation++
				got.PrevTokenHash, got.TokenHash = got.TokenHash, []byte("hash-1")
				got.RotatedAt, got.LastUsedAt = t0, t0
				got.IP = "192.0.2.2"
				return true, []models.Revocation{{Kind: models.RevokeToken, Subject: "jti-1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}}, nil
			})
			if err != nil {
				t.Fatalf("UpdateSession() = %v", err)
			}
			list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
			if err != nil || len(list) != 1 {
				t.Fatalf("ActiveSessions() = %v, %v, want 1 session", list, err)
			}
			got := list[0]
			if got.Generation != 1 || string(got.TokenHash) != "hash-1" || string(got.PrevTokenHash) != "hash-0" ||
				!got.RotatedAt.Equal(t0) || !got.LastUsedAt.Equal(t0) || got.IP != "192.0.2.2" || got.RevokedAt != nil {
				t.Errorf("session after UpdateSession = %+v, want generation 1, rotated at %v", got, t0)
			}
			revs := allRevocations(t, s)
			if len(revs) != 1 || revs[0].Kind != models.RevokeToken || revs[0].Subject != "jti-1" || revs[0].ID == 0 {
				t.Errorf("revocations after UpdateSession = %+v, want the jti-1 one", revs)
			}
		})

		t.Run("rolls back when change fails", func(t *testing.T) {
			err := s.UpdateSession(ctx, sess.ID, func(got *models.Session) (bool, []models.Revocation, error) {
				got.Generation = 99
				now := t0
				got.RevokedAt = &now
				return true, []models.Revocation{{Kind: models.RevokeSession, Subject: sess.ID, ExpiresAt: t0.Add(time.Hour)}}, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("UpdateSession(failing change) = %v, want errBoom", err)
			}
			list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
			if err != nil || len(list) != 1 || list[0].Generation != 1 {
				t.Errorf("ActiveSessions() after rollback = %+v, %v, want the session at generation 1", list, err)
			}
			if revs := allRevocations(t, s); len(revs) != 1 {
				t.Errorf("revocations after rollback = %+v, want only the earlier one", revs)
			}
		})

		t.Run("writes nothing unless change says save", func(t *testing.T) {
			err := s.UpdateSession(ctx, sess.ID, func(got *models.Session) (bool, []models.Revocation, error) {
				got.Generation = 42
				return false, []models.Revocation{{Kind: models.RevokeSession, Subject: sess.ID, ExpiresAt: t0.Add(time.Hour)}}, nil
			})
			if err != nil {
				t.Fatalf("UpdateSession(change without save) = %v, want nil", err)
			}
			list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
			if err != nil || len(list) != 1 || list[0].Generation != 1 {
				t.Errorf("ActiveSessions() after a change without save = %+v, %v, want the session at generation 1", list, err)
			}
			if revs := allRevocations(t, s); len(revs) != 1 {
				t.Errorf("revocations after a change without save = %+v, want only the earlier one", revs)
			}
		})

		t.Run("missing session", func(t *testing.T) {
			for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
				called := false
				err := s.UpdateSession(ctx, id, func(*models.Session) (bool, []models.Revocation, error) {
					called = true
					return true, nil, nil
				})
				if !errors.Is(err, models.ErrNotFound) || called {
					t.Errorf("UpdateSession(%q) = %v (change called: %v), want ErrNotFound without calling change", id, err, called)
				}
			}
		})
	})
}

func TestUpdateSessionSerialises(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		sess := newSession(t, s, u.ID, t0)
		const n = 20
		errs := make(chan error, n)
		for range n {
			go func() {
				errs <- s.UpdateSession(ctx, sess.ID, func(got *models.Session) (bool, []models.Revocation, error) {
					got.Generation++
					return true, nil, nil
				})
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("concurrent UpdateSession() = %v", err)
			}
		}
		list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
		if err != nil || len(list) != 1 {
			t.Fatalf("ActiveSessions() = %v, %v, want 1 session", list, err)
		}
		if list[0].Generation != n {
			t.Errorf("generation after %d concurrent increments = %d, want %d", n, list[0].Generation, n)
		}
	})
}

func TestActiveSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		other := newUser(t, s, "bob@example.com", models.RoleUser, t0)
		older := newSession(t, s, u.ID, t0.Add(-20*time.Minute))
		newer := newSession(t, s, u.ID, t0.Add(-10*time.Minute))
		newSession(t, s, other.ID, t0)

		revoked := newSession(t, s, u.ID, t0)
		if _, err := s.EndSessions(ctx, models.SessionFilter{ID: revoked.ID}, models.ReasonLogout, t0, t0.Add(time.Hour)); err != nil {
			t.Fatalf("EndSessions() = %v", err)
		}
		expired := &models.Session{ID: uuid.NewString(), UserID: u.ID, CreatedAt: t0.Add(-48 * time.Hour),
			LastUsedAt: t0, ExpiresAt: t0, TokenHash: []byte("h"), RotatedAt: t0}
		idle := &models.Session{ID: uuid.NewString(), UserID: u.ID, CreatedAt: t0.Add(-48 * time.Hour),
			LastUsedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour), TokenHash: []byte("h"), RotatedAt: t0}
		for _, sess := range []*models.Session{expired, idle} {
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatalf("CreateSession() = %v", err)
			}
		}

		got := activeIDs(t, s, u.ID)
		want := []string{newer.ID, older.ID}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("ActiveSessions() ids = %v, want %v (newest first; not revoked, expired or idle)", got, want)
		}
	})
}

func TestEndSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ann := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		bob := newUser(t, s, "bob@example.com", models.RoleUser, t0)
		a1 := newSession(t, s, ann.ID, t0.Add(-3*time.Minute))
		a2 := newSession(t, s, ann.ID, t0.Add(-2*time.Minute))
		a3 := newSession(t, s, ann.ID, t0.Add(-1*time.Minute))
		b1 := newSession(t, s, bob.ID, t0)
		deny := t0.Add(time.Hour)

		tests := []struct {
			name      string
			f         models.SessionFilter
			badID     bool // PostgreSQL may answer ErrNotFound
			extra     []models.Revocation
			wantEnded []string
			wantExtra int
			wantAnn   []string
			wantBob   []string
		}{
			{"another user's session", models.SessionFilter{ID: b1.ID, UserID: ann.ID}, false, nil,
				nil, 0, []string{a3.ID, a2.ID, a1.ID}, []string{b1.ID}},
			{"all but one", models.SessionFilter{UserID: ann.ID, ExceptID: a1.ID}, false,
				[]models.Revocation{{Kind: models.RevokeToken, Subject: "jti-x", ExpiresAt: deny}},
				[]string{a2.ID, a3.ID}, 1, []string{a1.ID}, []string{b1.ID}},
			{"one by id", models.SessionFilter{ID: b1.ID}, false, nil,
				[]string{b1.ID}, 0, []string{a1.ID}, []string{}},
			{"already ended", models.SessionFilter{ID: b1.ID}, false, nil,
				nil, 0, []string{a1.ID}, []string{}},
			{"not a uuid", models.SessionFilter{ID: "not-a-uuid", UserID: ann.ID}, true, nil,
				nil, 0, []string{a1.ID}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(allRevocations(t, s))
				revs, err := s.EndSessions(ctx, tt.f, models.ReasonLogout, t0, deny, tt.extra...)
				if err != nil && !(tt.badID && errors.Is(err, models.ErrNotFound)) {
					t.Fatalf("EndSessions(%+v) = %v", tt.f, err)
				}
				ended := map[string]bool{}
				extra := 0
				for _, r := range revs {
					switch {
					case r.Kind == models.RevokeSession && r.ExpiresAt.Equal(deny) && r.CreatedAt.Equal(t0) && r.ID != 0:
						ended[r.Subject] = true
					case r.Kind == models.RevokeToken && r.CreatedAt.Equal(t0) && r.ID != 0:
						extra++
					default:
						t.Errorf("EndSessions(%+v) returned unexpected revocation %+v", tt.f, r)
					}
				}
				if len(ended) != len(tt.wantEnded) || extra != tt.wantExtra {
					t.Errorf("EndSessions(%+v) ended %v and %d extra, want %v and %d", tt.f, ended, extra, tt.wantEnded, tt.wantExtra)
				}
				for _, id := range tt.wantEnded {
					if !ended[id] {
						t.Errorf("EndSessions(%+v) did not end %s", tt.f, id)
					}
				}
				if n := len(allRevocations(t, s)) - before; n != len(revs) {
					t.Errorf("EndSessions(%+v) stored %d revocations, returned %d", tt.f, n, len(revs))
				}
				if got := activeIDs(t, s, ann.ID); !equal(got, tt.wantAnn) {
					t.Errorf("ann's active sessions = %v, want %v", got, tt.wantAnn)
				}
				if got := activeIDs(t, s, bob.ID); !equal(got, tt.wantBob) {
					t.Errorf("bob's active sessions = %v, want %v", got, tt.wantBob)
				}
			})
		}

		if _, err := s.EndSessions(ctx, models.SessionFilter{}, models.ReasonLogout, t0, deny); err == nil {
			t.Errorf("EndSessions(empty filter) = nil error, want one")
		}
		if got := activeIDs(t, s, ann.ID); len(got) != 1 {
			t.Errorf("ann's active sessions after EndSessions(empty filter) = %v, want 1", got)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChangePassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0.Add(-time.Hour))
		keep := newSession(t, s, u.ID, t0.Add(-2*time.Minute))
		other := newSession(t, s, u.ID, t0.Add(-1*time.Minute))

		revs, err := s.ChangePassword(ctx, u.ID, "new-hash", keep.ID, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("ChangePassword() = %v", err)
		}
		if len(revs) != 1 || revs[0].Kind != models.RevokeSession || revs[0].Subject != other.ID {
			t.Errorf("ChangePassword() revocations = %+v, want one for session %s", revs, other.ID)
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got.PasswordHash != "new-hash" || !got.UpdatedAt.Equal(t0) {
			t.Errorf("user after ChangePassword() = %+v, %v, want hash new-hash updated at %v", got, err, t0)
		}
		if ids := activeIDs(t, s, u.ID); !equal(ids, []string{keep.ID}) {
			t.Errorf("active sessions after ChangePassword() = %v, want only %s", ids, keep.ID)
		}
		if _, err := s.ChangePassword(ctx, uuid.NewString(), "h", "", t0, t0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ChangePassword(unknown user) = %v, want ErrNotFound", err)
		}
	})
}

func TestRevocationsAndPurge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// 1001 expired revocations: more than one purge batch.
		expired := make([]models.Revocation, 1001)
		for i := range expired {
			expired[i] = models.Revocation{Kind: models.RevokeToken, Subject: uuid.NewString(), ExpiresAt: t0, CreatedAt: t0.Add(-time.Hour)}
		}
		if err := s.AddRevocations(ctx, expired...); err != nil {
			t.Fatalf("AddRevocations(1001) = %v", err)
		}
		if expired[0].ID != 0 {
			t.Errorf("AddRevocations() changed the caller's slice: %+v", expired[0])
		}
		live := []models.Revocation{
			{Kind: models.RevokeUser, Subject: "u2", Cutoff: t0, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0.Add(2 * time.Minute)},
			{Kind: models.RevokeSession, Subject: "s1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0.Add(time.Minute)},
			{Kind: models.RevokeSession, Subject: "s0", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0.Add(-time.Minute)},
		}
		if err := s.AddRevocations(ctx, live...); err != nil {
			t.Fatalf("AddRevocations() = %v", err)
		}

		got, err := s.RevocationsSince(ctx, t0, t0)
		if err != nil {
			t.Fatalf("RevocationsSince() = %v", err)
		}
		if len(got) != 2 || got[0].Subject != "s1" || got[1].Subject != "u2" || !got[1].Cutoff.Equal(t0) {
			t.Errorf("RevocationsSince(t0, t0) = %+v, want s1 then u2 (with its cutoff)", got)
		}

		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		keep := newSession(t, s, u.ID, t0)
		gone := []*models.Session{
			{ID: uuid.NewString(), UserID: u.ID, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0, TokenHash: []byte("h"), RotatedAt: t0},
			{ID: uuid.NewString(), UserID: u.ID, CreatedAt: t0, LastUsedAt: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(time.Hour), TokenHash: []byte("h"), RotatedAt: t0},
		}
		for _, sess := range gone {
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatalf("CreateSession() = %v", err)
			}
		}
		revokedLongAgo := newSession(t, s, u.ID, t0)
		revokedRecently := newSession(t, s, u.ID, t0)
		if _, err := s.EndSessions(ctx, models.SessionFilter{ID: revokedLongAgo.ID}, models.ReasonLogout, t0.Add(-2*time.Hour), t0.Add(-time.Hour)); err != nil {
			t.Fatalf("EndSessions() = %v", err)
		}
		if _, err := s.EndSessions(ctx, models.SessionFilter{ID: revokedRecently.ID}, models.ReasonLogout, t0, t0.Add(time.Hour)); err != nil {
			t.Fatalf("EndSessions() = %v", err)
		}

		sessions, revocations, err := s.PurgeExpired(ctx, t0, t0.Add(-time.Hour), t0.Add(-time.Hour))
		if err != nil {
			t.Fatalf("PurgeExpired() = %v", err)
		}
		// The revocation of revokedLongAgo expired too.
		if sessions != 3 || revocations != 1002 {
			t.Errorf("PurgeExpired() = %d sessions, %d revocations, want 3, 1002", sessions, revocations)
		}
		if got := allRevocations(t, s); len(got) != 4 {
			t.Errorf("revocations after purge = %d, want 4", len(got))
		}
		if ids := activeIDs(t, s, u.ID); !equal(ids, []string{keep.ID}) {
			t.Errorf("active sessions after purge = %v, want %s", ids, keep.ID)
		}
		if sessions, revocations, err := s.PurgeExpired(ctx, t0, t0.Add(-time.Hour), t0.Add(-time.Hour)); err != nil || sessions != 0 || revocations != 0 {
			t.Errorf("second PurgeExpired() = %d, %d, %v, want 0, 0, nil", sessions, revocations, err)
		}
	})
}

func TestRotateSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "ann@example.com", models.RoleAdmin, t0)
		sess := newSession(t, s, u.ID, t0.Add(-time.Minute))
		end := sess.ExpiresAt
		base := models.Rotation{
			ID: sess.ID, UserID: u.ID, Presented: []byte("hash-0"), Next: []byte("hash-1"),
			At: t0, IdleSince: t0.Add(-time.Hour), EndFrom: t0.Add(time.Hour), EndTo: end.Add(time.Hour),
			IP: "192.0.2.9", UserAgent: "agent-2",
		}
		revoked := newSession(t, s, u.ID, t0.Add(-time.Minute))
		if _, err := s.EndSessions(ctx, models.SessionFilter{ID: revoked.ID}, models.ReasonLogout, t0.Add(-time.Second), t0.Add(time.Hour)); err != nil {
			t.Fatalf("EndSessions() = %v", err)
		}
		off := &models.User{ID: uuid.NewString(), Email: "off@example.com", PasswordHash: "hash", Role: models.RoleUser, Disabled: true, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(ctx, off); err != nil {
			t.Fatalf("CreateUser(disabled) = %v", err)
		}
		offSess := newSession(t, s, off.ID, t0.Add(-time.Minute))

		for _, tt := range []struct {
			name string
			edit func(r *models.Rotation)
		}{
			{"another user's id", func(r *models.Rotation) { r.UserID = off.ID }},
			{"unknown session", func(r *models.Rotation) { r.ID = uuid.NewString() }},
			{"malformed session id", func(r *models.Rotation) { r.ID = "not-a-uuid" }},
			{"not the current token", func(r *models.Rotation) { r.Presented = []byte("hash-9") }},
			{"idle too long", func(r *models.Rotation) { r.IdleSince = t0 }},
			{"past its end", func(r *models.Rotation) { r.At = end }},
			{"ends before EndFrom", func(r *models.Rotation) { r.EndFrom = end.Add(time.Second) }},
			{"ends after EndTo", func(r *models.Rotation) { r.EndTo = end.Add(-time.Second) }},
			{"revoked", func(r *models.Rotation) { r.ID = revoked.ID }},
			{"user disabled", func(r *models.Rotation) { r.ID, r.UserID = offSess.ID, off.ID }},
		} {
			r := base
			tt.edit(&r)
			if got, err := s.RotateSession(ctx, r); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("RotateSession(%s) = %+v, %v; want ErrNotFound", tt.name, got, err)
			}
		}
		if list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour)); err != nil || len(list) != 1 || list[0].Generation != 0 || string(list[0].TokenHash) != "hash-0" {
			t.Fatalf("session after rotations that did not apply = %+v, %v; want it unchanged", list, err)
		}

		got, err := s.RotateSession(ctx, base)
		if err != nil {
			t.Fatalf("RotateSession() = %v", err)
		}
		if got.ID != sess.ID || got.Generation != 1 || !got.ExpiresAt.Equal(end) || got.User == nil ||
			got.User.ID != u.ID || got.User.Email != u.Email || got.User.Role != models.RoleAdmin {
			t.Errorf("RotateSession() = %+v (user %+v), want generation 1, end %v, the admin ann", got, got.User, end)
		}
		list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
		if err != nil || len(list) != 1 {
			t.Fatalf("ActiveSessions() = %v, %v; want 1 session", list, err)
		}
		if row := list[0]; row.Generation != 1 || string(row.TokenHash) != "hash-1" || string(row.PrevTokenHash) != "hash-0" ||
			!row.RotatedAt.Equal(t0) || !row.LastUsedAt.Equal(t0) || row.IP != "192.0.2.9" || row.UserAgent != "agent-2" {
			t.Errorf("session after RotateSession = %+v, want generation 1, hashes 1 and 0, rotated and used at %v from 192.0.2.9", row, t0)
		}
		if _, err := s.RotateSession(ctx, base); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("RotateSession(the same token again) = %v, want ErrNotFound", err)
		}

		exact := base // an end known exactly, from a token cut short by it
		exact.Presented, exact.Next, exact.EndFrom, exact.EndTo = []byte("hash-1"), []byte("hash-2"), end, end
		if got, err := s.RotateSession(ctx, exact); err != nil || got.Generation != 2 {
			t.Errorf("RotateSession(end known exactly) = %+v, %v; want generation 2", got, err)
		}
	})
}
