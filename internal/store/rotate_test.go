package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
)

// TestRotateSessionsAtOnce: many rotations at the same moment (on PostgreSQL they share
// statements) each get their own answer. Of two rotations presenting a session's current
// token, exactly one applies; a rotation presenting a wrong token, or naming an unknown, a
// malformed or an upper-case session id, applies to nothing and fails no other.
func TestRotateSessionsAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := newUser(t, s, "many@example.com", models.RoleUser, t0)
		const n = 24
		sessions := make([]*models.Session, n)
		for i := range sessions {
			sessions[i] = newSession(t, s, u.ID, t0.Add(-time.Minute))
		}
		rotation := func(sess *models.Session, presented string) models.Rotation {
			return models.Rotation{
				ID: sess.ID, UserID: u.ID, Presented: []byte(presented), Next: []byte("next-" + sess.ID),
				At: t0, IdleSince: t0.Add(-time.Hour), EndFrom: t0, EndTo: sess.ExpiresAt,
				IP: "192.0.2.7", UserAgent: "agent-" + sess.ID,
			}
		}
		type result struct {
			sess *models.Session
			err  error
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied = map[string][]*models.Session{} // session id -> rotations that applied
			strays  []error
		)
		run := func(r models.Rotation, wantApplied bool) {
			wg.Go(func() {
				got, err := s.RotateSession(ctx, r)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && wantApplied:
					applied[r.ID] = append(applied[r.ID], got)
				case errors.Is(err, models.ErrNotFound):
				default:
					strays = append(strays, fmt.Errorf("RotateSession(%s, %q) = %+v, %v", r.ID, r.Presented, got, err))
				}
			})
		}
		for _, sess := range sessions {
			run(rotation(sess, "hash-0"), true)
			run(rotation(sess, "hash-0"), true) // the same token twice: one of the two applies
			run(rotation(sess, "hash-9"), false)
		}
		unknown := rotation(sessions[0], "hash-0")
		unknown.ID = uuid.NewString()
		run(unknown, false)
		malformed := rotation(sessions[0], "hash-0")
		malformed.ID = "not-a-uuid"
		run(malformed, false)
		upper := rotation(sessions[1], "hash-0")
		upper.ID = strings.ToUpper(upper.ID)
		run(upper, true)
		wg.Wait()
		for _, err := range strays {
			t.Error(err)
		}
		for _, sess := range sessions {
			got := applied[sess.ID]
			if sess == sessions[1] {
				got = append(got, applied[strings.ToUpper(sess.ID)]...)
			}
			if len(got) != 1 {
				t.Errorf("session %s: %d rotations applied, want exactly 1", sess.ID, len(got))
				continue
			}
			if g := got[0]; g.Generation != 1 || !g.ExpiresAt.Equal(sess.ExpiresAt) || g.User.Email != u.Email || g.User.Role != models.RoleUser {
				t.Errorf("session %s rotated to %+v (user %+v), want generation 1, end %v, %s", sess.ID, g, g.User, sess.ExpiresAt, u.Email)
			}
		}
		list, err := s.ActiveSessions(ctx, u.ID, t0, t0.Add(-time.Hour))
		if err != nil || len(list) != n {
			t.Fatalf("ActiveSessions() = %d sessions, %v; want %d", len(list), err, n)
		}
		for _, row := range list {
			if row.Generation != 1 || string(row.TokenHash) != "next-"+row.ID || string(row.PrevTokenHash) != "hash-0" {
				t.Errorf("session %s after the rotations = generation %d, hashes %q and %q; want 1, next-<id>, hash-0",
					row.ID, row.Generation, row.TokenHash, row.PrevTokenHash)
			}
		}
	})
}

// TestRotateSessionAfterClose: a rotation after Close fails as unavailable (a 503), at once.
func TestRotateSessionAfterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "closed@example.com", models.RoleUser, t0)
		sess := newSession(t, s, u.ID, t0.Add(-time.Minute))
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := s.RotateSession(ctx, models.Rotation{ID: sess.ID, UserID: u.ID, Presented: []byte("hash-0"), Next: []byte("n"),
			At: t0, IdleSince: t0.Add(-time.Hour), EndFrom: t0, EndTo: sess.ExpiresAt})
		if err == nil || ctx.Err() != nil {
			t.Errorf("RotateSession() after Close = %v (context %v), want an error at once", err, ctx.Err())
		}
	})
}

// whileOneWaits runs fn while a rotation of held, alone, waits for its row, locked by another
// transaction: every rotation fn makes is then sent together with the others (PostgreSQL only).
// It then frees the row and checks that the waiting rotation applied.
func whileOneWaits(t *testing.T, s *store.Store, held *models.Session, fn func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Pool().BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx = %v", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", held.ID); err != nil {
		t.Fatalf("lock the session: %v", err)
	}
	var (
		first    *models.Session
		firstErr error
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		first, firstErr = s.RotateSession(ctx, models.Rotation{ID: held.ID, UserID: held.UserID, Presented: held.TokenHash,
			Next: []byte("after-wait"), At: t0, IdleSince: t0.Add(-time.Hour), EndFrom: t0, EndTo: held.ExpiresAt})
	})
	for deadline, waiting := time.Now().Add(3*time.Second), 0; waiting == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the rotation of the held session never waited for its row")
		}
		if err := s.Pool().QueryRowContext(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&waiting); err != nil {
			t.Fatalf("read pg_locks: %v", err)
		}
	}
	fn()
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback = %v", err)
	}
	wg.Wait()
	if firstErr != nil || first.Generation != held.Generation+1 {
		t.Errorf("RotateSession(held) that waited = %+v, %v; want generation %d", first, firstErr, held.Generation+1)
	}
}

// TestRotateSessionSkipsALockedRow: on PostgreSQL, a rotation alone waits for a session row another
// transaction holds (only its caller waits, as on the locked path), and rotations that arrive
// meanwhile, sent together, do not: the one whose row is held does not apply, at once, and the
// others apply.
func TestRotateSessionSkipsALockedRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		if s.Driver() != models.DriverPostgres {
			t.Skip("SQLite has one connection: no other transaction can hold a row")
		}
		u := newUser(t, s, "locked@example.com", models.RoleUser, t0)
		held, free := newSession(t, s, u.ID, t0.Add(-time.Minute)), newSession(t, s, u.ID, t0.Add(-time.Minute))
		rotation := func(sess *models.Session) models.Rotation {
			return models.Rotation{ID: sess.ID, UserID: u.ID, Presented: []byte("hash-0"), Next: []byte("hash-1"),
				At: t0, IdleSince: t0.Add(-time.Hour), EndFrom: t0, EndTo: sess.ExpiresAt}
		}
		whileOneWaits(t, s, held, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var heldErr, freeErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, heldErr = s.RotateSession(ctx, rotation(held)) })
			wg.Go(func() { _, freeErr = s.RotateSession(ctx, rotation(free)) })
			wg.Wait()
			if !errors.Is(heldErr, models.ErrNotFound) || freeErr != nil {
				t.Errorf("RotateSession(held, free) sent together = %v, %v; want ErrNotFound at once and nil", heldErr, freeErr)
			}
		})
	})
}
