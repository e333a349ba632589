// Package storetest opens migrated, throw-away stores for tests: always on a temp SQLite
// file, and also on PostgreSQL when TEST_DATABASE_URL is set.
package storetest

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/store"
)

// Backend opens fresh, migrated stores of one kind of database.
type Backend struct {
	Name string
	// Open returns a new empty store, migrated, closed and removed in t.Cleanup.
	Open func(t testing.TB) *store.Store
}

// Backends returns the databases to run store tests on: "postgres" first when
// TEST_DATABASE_URL is set (each store in its own schema, dropped afterwards), then "sqlite"
// (each store a file under t.TempDir()).
func Backends(t testing.TB) []Backend {
	t.Helper()
	var list []Backend
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		list = append(list, Backend{Name: string(models.DriverPostgres), Open: func(t testing.TB) *store.Store {
			t.Helper()
			return openMigrated(t, models.DriverPostgres, PostgresDSN(t))
		}})
	}
	return append(list, Backend{Name: string(models.DriverSQLite), Open: openSQLite})
}

// Open returns a fresh, migrated store on the first backend: PostgreSQL when
// TEST_DATABASE_URL is set, else SQLite.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return Backends(t)[0].Open(t)
}

func openSQLite(t testing.TB) *store.Store {
	t.Helper()
	return openMigrated(t, models.DriverSQLite, filepath.Join(t.TempDir(), "auth.db"))
}

// PostgresDSN creates a schema with a random name in TEST_DATABASE_URL, drops it (CASCADE)
// in t.Cleanup, and returns TEST_DATABASE_URL with search_path set to it. It skips the test
// when TEST_DATABASE_URL is not set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TEST_DATABASE_URL")
	if dsn == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := "storetest_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

// withSearchPath adds search_path=schema to a URL or key=value PostgreSQL dsn.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openMigrated opens a store, applies the migrations and closes it in t.Cleanup.
// The store logs (slow queries) to the test's output.
func openMigrated(t testing.TB, driver models.Driver, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), driver, dsn, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("store.Open(%s): %v", driver, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s store: %v", driver, err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate %s store: %v", driver, err)
	}
	return s
}

// Redis returns a client of TEST_REDIS_URL that answered a ping, closed in t.Cleanup, or skips
// the test when TEST_REDIS_URL is not set. Tests share that Redis: give keys and channels a
// unique prefix.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL is not set")
	}
	c := newRedis(t, url)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("ping TEST_REDIS_URL: %v", err)
	}
	return c
}

// RedisBehindProxy returns a client of TEST_REDIS_URL (see Redis, which skips without it) whose
// connections go through a CutProxy, for outage tests.
func RedisBehindProxy(t testing.TB) (*redis.Client, *CutProxy) {
	t.Helper()
	Redis(t)
	u, err := url.Parse(os.Getenv("TEST_REDIS_URL"))
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	proxy := NewCutProxy(t, u.Host)
	u.Host = proxy.Addr()
	return newRedis(t, u.String()), proxy
}

// UnreachableRedis returns a client of a Redis where nothing listens (port 1), closed in t.Cleanup.
func UnreachableRedis(t testing.TB) *redis.Client {
	t.Helper()
	return newRedis(t, "redis://127.0.0.1:1/0")
}

// newRedis returns a client of url, closed in t.Cleanup.
func newRedis(t testing.TB, url string) *redis.Client {
	t.Helper()
	c, err := redis.New(url)
	if err != nil {
		t.Fatalf("redis.New(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
