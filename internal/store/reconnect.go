package store

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/authserver/authserver/internal/models"
)

// suspectWindow is how long after a broken connection was seen every pooled connection is
// pinged before it is used.
const suspectWindow = time.Minute

// health remembers when a pooled connection last turned out to be broken (the database
// restarted, a proxy or firewall dropped it), so that the pool checks connections before use
// for a while after an outage.
type health struct {
	suspectUntil atomic.Int64 // unix nanoseconds
}

// shouldPing is pgx's hook, asked before a pooled connection is reused: pgx's own rule (a
// connection idle for over a second), and every connection for suspectWindow after a broken one.
// A connection that fails the ping is dropped and another one taken, unseen by the caller.
func (h *health) shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	return p.IdleDuration > time.Second || time.Now().UnixNano() < h.suspectUntil.Load()
}

// broken reports whether err, from a query made under ctx, is a connection that failed rather
// than a fault of the query or the end of ctx; it then starts the suspect window.
func (s *Store) broken(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || s.driver != models.DriverPostgres || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		pgErr = nil
	}
	if !unavailable(err, pgErr) {
		return false
	}
	s.health.suspectUntil.Store(time.Now().Add(suspectWindow).UnixNano())
	return true
}

// read runs fn, an idempotent read, and runs it once more when it failed on a broken connection:
// after a restart of PostgreSQL the first query on each dead pooled connection fails, and the
// second one gets a connection that is checked first.
func (s *Store) read(ctx context.Context, fn func(db *gorm.DB) error) error {
	err := fn(s.db.WithContext(ctx))
	if s.broken(ctx, err) {
		err = fn(s.db.WithContext(ctx))
	}
	return err
}

// tx runs fn in one transaction and, when it failed on a broken connection before COMMIT was
// sent, once more: the database rolled the first attempt back when its connection died, and fn
// only reads and writes through tx. A failure at COMMIT is not retried (it may have committed).
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	committing := false
	attempt := func(tx *gorm.DB) error {
		err := fn(tx)
		committing = err == nil
		return err
	}
	err := s.db.WithContext(ctx).Transaction(attempt)
	if !committing && s.broken(ctx, err) {
		err = s.db.WithContext(ctx).Transaction(attempt)
	}
	return err
}
