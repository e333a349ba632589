package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store/storetest"
)

// TestBrokenPooledConnections drops every pooled connection at once while the database stays
// reachable (a proxy cut and restored at once, as after a quick PostgreSQL restart or a
// failover): the reads and the refresh transaction that come next must all succeed, none of
// them failing on a dead connection the pool hands out.
func TestBrokenPooledConnections(t *testing.T) {
	s, proxy := storetest.OpenBehindProxy(t)
	user := newUser(t, s, "pool@example.com", models.RoleUser, t0)
	sess := newSession(t, s, user.ID, t0)

	reads := map[string]func(ctx context.Context) error{
		"UserByEmail": func(ctx context.Context) error { _, err := s.UserByEmail(ctx, user.Email); return err },
		"UserByID":    func(ctx context.Context) error { _, err := s.UserByID(ctx, user.ID); return err },
		"ActiveSessions": func(ctx context.Context) error {
			_, err := s.ActiveSessions(ctx, user.ID, t0, t0.Add(-time.Hour))
			return err
		},
		"RevocationsSince": func(ctx context.Context) error { _, err := s.RevocationsSince(ctx, t0, t0); return err },
		"CountUsers":       func(ctx context.Context) error { _, err := s.CountUsers(ctx); return err },
		"UpdateSession": func(ctx context.Context) error {
			return s.UpdateSession(ctx, sess.ID, func(cur *models.Session) (bool, []models.Revocation, error) {
				cur.Generation++
				return true, nil, nil
			})
		},
	}
	for round := range 3 {
		// Fill the pool: several connections, each used a moment ago (pgx pings only those idle
		// for over a second, so these would be handed out unchecked).
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for _, read := range reads {
					if err := read(t.Context()); err != nil {
						t.Errorf("round %d: read before the cut: %v", round, err)
					}
				}
			})
		}
		wg.Wait()
		proxy.Cut()
		proxy.Restore()
		for name, read := range reads {
			if err := read(t.Context()); err != nil {
				t.Errorf("round %d: %s right after every pooled connection broke: %v", round, name, err)
			}
		}
	}
}
