package store_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"
)

// withExecMode adds default_query_exec_mode=mode to a URL or key=value PostgreSQL dsn.
func withExecMode(t *testing.T, dsn, mode string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " default_query_exec_mode=" + mode
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %q: %v", dsn, err)
	}
	q := u.Query()
	q.Set("default_query_exec_mode", mode)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestQueryExecModesWithoutPreparedStatements: with default_query_exec_mode=exec or
// simple_protocol in DATABASE_URL (as behind a pooler in transaction mode), pgx learns no
// parameter types from a prepared statement and must know the PostgreSQL type of every Go value
// the store passes: strings, booleans, integers, times and bytes, and arrays of them (the
// rotations sent together). The server binary is built
// with nopgxregisterdefaulttypes (scripts/build-tags), so only the store's own registration
// (paramTypes) tells pgx; run with those tags, this test fails if one is missing.
func TestQueryExecModesWithoutPreparedStatements(t *testing.T) {
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, models.DriverPostgres, withExecMode(t, storetest.PostgresDSN(t), mode), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate = %v", err)
			}

			u := newUser(t, s, "mode-"+mode+"@example.com", models.RoleUser, t0)
			if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
				t.Fatalf("UserByEmail = %v, %v; want %s", got, err, u.ID)
			}
			if list, err := s.ListUsers(ctx, models.UserFilter{EmailPrefix: "mode-", After: &models.Cursor{CreatedAt: t0.Add(-time.Hour), ID: uuid.NewString()}, Limit: 10}); err != nil || len(list) != 1 {
				t.Errorf("ListUsers = %d users, %v; want 1", len(list), err)
			}

			sess := newSession(t, s, u.ID, t0)
			if ids := activeIDs(t, s, u.ID); len(ids) != 1 || ids[0] != sess.ID {
				t.Errorf("ActiveSessions = %v, want [%s]", ids, sess.ID)
			}
			if _, err := s.RotateSession(ctx, models.Rotation{
				ID: sess.ID, UserID: u.ID, Presented: sess.TokenHash, Next: []byte("hash-1"), At: t0.Add(time.Minute),
				IdleSince: t0.Add(-time.Hour), EndFrom: sess.ExpiresAt.Add(-time.Minute), EndTo: sess.ExpiresAt.Add(time.Minute),
				IP: "192.0.2.2", UserAgent: "test-agent",
			}); err != nil {
				t.Errorf("RotateSession = %v", err)
			}
			held, other := newSession(t, s, u.ID, t0), newSession(t, s, u.ID, t0)
			whileOneWaits(t, s, held, func() { // rotations sent together: arrays as parameters
				if _, err := s.RotateSession(ctx, models.Rotation{
					ID: other.ID, UserID: u.ID, Presented: other.TokenHash, Next: []byte("hash-1"), At: t0.Add(time.Minute),
					IdleSince: t0.Add(-time.Hour), EndFrom: t0, EndTo: other.ExpiresAt, IP: "192.0.2.2", UserAgent: "test-agent",
				}); err != nil {
					t.Errorf("RotateSession sent together = %v", err)
				}
			})
			rev := models.Revocation{Kind: models.RevokeSession, Subject: sess.ID, ExpiresAt: t0.Add(time.Hour)}
			if err := s.AddRevocations(ctx, rev); err != nil {
				t.Fatalf("AddRevocations = %v", err)
			}
			if revs := allRevocations(t, s); len(revs) == 0 {
				t.Errorf("RevocationsSince = none, want the session's")
			}

			ev := models.AuditEvent{ID: uuid.NewString(), Type: models.AuditLoginSucceeded, UserID: u.ID, CreatedAt: t0, Detail: "{}"}
			if err := s.InsertAuditEvents(ctx, []models.AuditEvent{ev}); err != nil {
				t.Fatalf("InsertAuditEvents = %v", err)
			}
			if evs, err := s.AuditEvents(ctx, models.AuditFilter{UserID: u.ID, Limit: 5}); err != nil || len(evs) != 1 {
				t.Errorf("AuditEvents = %d events, %v; want 1", len(evs), err)
			}
			if _, _, err := s.PurgeExpired(ctx, t0, t0.Add(-time.Hour), t0.Add(-time.Hour)); err != nil {
				t.Errorf("PurgeExpired = %v", err)
			}
			disabled, admin := true, models.RoleAdmin
			if _, _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Role: &admin, Disabled: &disabled}, t0, t0.Add(time.Hour)); err != nil {
				t.Errorf("UpdateUser = %v", err)
			}
		})
	}
}
