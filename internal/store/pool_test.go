package store_test

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"testing"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
)

// TestPoolSize: SQLite runs on one connection; on PostgreSQL the pool is what the server
// accepts from ordinary clients, read from the server itself.
func TestPoolSize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		want := 1
		if s.Driver() == models.DriverPostgres {
			want = serverSetting(t, "max_connections") - serverSetting(t, "superuser_reserved_connections") - serverSetting(t, "reserved_connections")
		}
		if got := s.PoolSize(); got != want {
			t.Errorf("PoolSize() on %s = %d, want %d", s.Driver(), got, want)
		}
	})
}

// serverSetting reads a numeric setting of the test PostgreSQL server; 0 when it has none
// (reserved_connections is new in PostgreSQL 16).
func serverSetting(t *testing.T, name string) int {
	t.Helper()
	db, err := sql.Open("pgx", os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRowContext(context.Background(), "SELECT current_setting($1, true)", name).Scan(&v); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if !v.Valid {
		return 0
	}
	n, err := strconv.Atoi(v.String)
	if err != nil {
		t.Fatalf("%s = %q: %v", name, v.String, err)
	}
	return n
}
