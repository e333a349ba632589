// Package store is the GORM implementation of the server's storage.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	gormlogger "gorm.io/gorm/logger"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/migrations"
)

// slowQuery is how long a query may take before it is logged, and maxLoggedSQL how much
// of its text the log keeps (a batch insert can be long).
const (
	slowQuery    = 200 * time.Millisecond
	maxLoggedSQL = 1000
)

// Store reads and writes users, sessions, revocations and audit events.
// It is safe for concurrent use.
type Store struct {
	db     *gorm.DB
	sqlDB  *sql.DB
	driver models.Driver
	health *health

	// PostgreSQL only: the rotations on their way (rotate.go), those waiting for the sender, and
	// the sender's stop signal and end.
	rotating  atomic.Int32
	rotations chan *pendingRotation
	stop      chan struct{}
	stopOnce  sync.Once
	sender    sync.WaitGroup
}

// Open connects to the database and checks that it answers within ctx.
//
// driver is models.DriverPostgres (dsn is a libpq URL or key=value string; connect_timeout=5
// is added when absent) or models.DriverSQLite (dsn is a file path; its directory is created
// with mode 0700). Queries slower than 200ms are logged on log as warnings, without
// their parameters. Open does not apply migrations: call Migrate.
func Open(ctx context.Context, driver models.Driver, dsn string, log *slog.Logger) (*Store, error) {
	cfg := &gorm.Config{
		SkipDefaultTransaction: true,
		TranslateError:         true, // duplicate keys come back as gorm.ErrDuplicatedKey on both drivers
		DisableAutomaticPing:   true,
		Logger:                 slowLogger{log: log},
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	h := &health{}
	var dialector gorm.Dialector
	switch driver {
	case models.DriverPostgres:
		dialector = postgres.New(postgres.Config{
			DSN:          withConnectTimeout(dsn),
			OptionOpenDB: []stdlib.OptionOpenDB{stdlib.OptionAfterConnect(setUpConn), stdlib.OptionShouldPing(h.shouldPing)},
		})
	case models.DriverSQLite:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		dialector = sqlite.Open(dsn + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	if driver == models.DriverPostgres { // the pool's size is the server's: sizePool, once it answers
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		// One connection: a transaction then holds SQLite's write lock, so concurrent
		// writers (racing refreshes) run one after the other.
		sqlDB.SetMaxOpenConns(1)
	}
	s := &Store{db: db, sqlDB: sqlDB, driver: driver, health: h}
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(err, sqlDB.Close())
	}
	if driver == models.DriverPostgres {
		if err := s.sizePool(ctx); err != nil {
			return nil, errors.Join(err, sqlDB.Close())
		}
		s.rotations, s.stop = make(chan *pendingRotation, maxRotationBatch), make(chan struct{})
		s.sender.Go(func() { s.sendRotations(s.stop) })
	}
	return s, nil
}

// withConnectTimeout adds connect_timeout=5 to a PostgreSQL dsn that has none.
func withConnectTimeout(dsn string) string {
	if strings.Contains(dsn, "connect_timeout") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn + " connect_timeout=5")
}

// setUpConn prepares a new PostgreSQL connection: timestamptz values come back in UTC, as
// SQLite's do, instead of in the local time zone; and pgx knows the PostgreSQL type of every
// kind of Go value the store passes as a parameter (paramTypes).
func setUpConn(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	m.RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	for _, p := range paramTypes {
		m.RegisterDefaultPgType(p.value, p.name)
	}
	return nil
}

// paramTypes are the PostgreSQL types of the Go values the store passes as query parameters
// (pointers to them, and types whose underlying type is one of them, follow). pgx needs them
// when DATABASE_URL asks for default_query_exec_mode=exec or simple_protocol, where no prepared
// statement tells it the parameters' types. pgx would register a default for every Go type it
// knows, but the server is built with the nopgxregisterdefaulttypes tag (scripts/build-tags),
// which leaves that table, about 1.4 MB of code, out of the binary.
var paramTypes = []struct {
	value any
	name  string
}{
	{"", "text"}, {false, "bool"}, {int(0), "int8"}, {int64(0), "int8"}, {int32(0), "int4"},
	{float64(0), "float8"}, {time.Time{}, "timestamptz"}, {[]byte(nil), "bytea"},
	// the arrays of the rotations sent together (rotate.go)
	{[]string(nil), "_text"}, {[][]byte(nil), "_bytea"}, {[]time.Time(nil), "_timestamptz"},
}

// Migrate applies the pending migrations of migrations.FS for the store's driver.
// Running it again is a no-op. On PostgreSQL an advisory lock keeps instances that
// start together from migrating at the same time.
func (s *Store) Migrate(ctx context.Context) error {
	dir, err := fs.Sub(migrations.FS, string(s.driver))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.driver == models.DriverPostgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, dir, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", s.driver, err)
	}
	return nil
}

// Close stops sending rotations (a statement on its way is finished and answered first) and
// closes the database connections. Closing again does nothing more.
func (s *Store) Close() error {
	if s.stop != nil {
		s.stopOnce.Do(func() { close(s.stop) })
		s.sender.Wait()
	}
	return s.sqlDB.Close()
}

// Pool returns the connection pool, for its statistics (the metrics read sql.DB.Stats); all
// reads and writes go through the store's methods.
func (s *Store) Pool() *sql.DB {
	return s.sqlDB
}

// Driver returns the driver the store was opened with.
func (s *Store) Driver() models.Driver {
	return s.driver
}

// forUpdate adds FOR UPDATE to tx's query on PostgreSQL. SQLite needs no row locks:
// its single connection already serialises transactions.
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.driver == models.DriverPostgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// translate turns driver errors the callers must recognise into the models sentinels,
// and wraps the others with what was being done.
func translate(what string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		pgErr = nil
	} else {
		if pgErr.Code == "22P02" { // invalid text representation: a malformed uuid
			return models.ErrNotFound
		}
	}
	if unavailable(err, pgErr) {
		return fmt.Errorf("%s: %w", what, errors.Join(models.ErrUnavailable, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// inTx runs fn in one transaction (again, once, when a broken connection failed it before COMMIT;
// see tx). A failure to reach the database, at BEGIN, inside fn or at COMMIT, comes back marked
// models.ErrUnavailable; fn's own errors come back as they are.
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := s.tx(ctx, fn)
	if err == nil || errors.Is(err, models.ErrUnavailable) {
		return err
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		pgErr = nil
	}
	if unavailable(err, pgErr) {
		return errors.Join(models.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err says the database cannot be reached or is refusing work
// (down, restarting, out of connections), as opposed to a fault in the query.
func unavailable(err error, pgErr *pgconn.PgError) bool {
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, context.DeadlineExceeded),
		pgconn.SafeToRetry(err): // pgx's word for "nothing reached the server", e.g. a closed connection
		return true
	case pgErr != nil:
		// 08: connection exception, 53: insufficient resources, 57P0x: shutting down or starting up.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57P0")
	}
	return false
}

// utcPtr returns t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// slowLogger is GORM's logger: silent, except that it logs slow queries as warnings.
type slowLogger struct {
	log *slog.Logger
}

// LogMode returns l: the level is fixed.
func (l slowLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

// Info drops GORM's messages.
func (slowLogger) Info(context.Context, string, ...any) {}

// Warn drops GORM's messages.
func (slowLogger) Warn(context.Context, string, ...any) {}

// Error drops GORM's messages: errors are returned to the caller, who decides.
func (slowLogger) Error(context.Context, string, ...any) {}

// Trace logs the query when it took longer than slowQuery.
func (l slowLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	elapsed := time.Since(begin)
	if elapsed <= slowQuery {
		return
	}
	sql, rows := fc()
	if len(sql) > maxLoggedSQL {
		sql = sql[:maxLoggedSQL] + "..."
	}
	l.log.WarnContext(ctx, "slow query", "duration_ms", elapsed.Milliseconds(), "sql", sql, "rows", rows)
}

// ParamsFilter drops the query's parameters, so that no logged query holds a value.
func (slowLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
