package store

import (
	"context"
	"fmt"
)

// sizePool sets the PostgreSQL connection pool to what the server accepts from clients like
// this one: max_connections less the slots it keeps for superusers and for roles with
// pg_use_reserved_connections (PostgreSQL 16+), never below 2. database/sql opens connections
// only when requests wait for one, so a quiet instance holds few; under load the pool grows to
// the database's own limit instead of a guess. Several instances share that limit: the first
// to take a slot gets it, and a refused connection is a 503 that clears by itself.
func (s *Store) sizePool(ctx context.Context) error {
	var limit, superuser, reserved int
	err := s.sqlDB.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int,
		COALESCE(current_setting('reserved_connections', true), '0')::int`).Scan(&limit, &superuser, &reserved)
	if err != nil {
		return fmt.Errorf("read connection limits: %w", err)
	}
	n := max(limit-superuser-reserved, 2)
	s.sqlDB.SetMaxOpenConns(n)
	s.sqlDB.SetMaxIdleConns(n)
	return nil
}

// PoolSize is the most connections the store opens at once: 1 on SQLite, the database's own
// limit on PostgreSQL (sizePool).
func (s *Store) PoolSize() int { return s.sqlDB.Stats().MaxOpenConnections }
