// Package sqlstore is the persistent store.Store: one implementation over
// database/sql for SQLite (a single replica, a file on a volume) and
// PostgreSQL (shared by replicas, so dedup keys and workload claims survive
// a leader handover and no alert is answered twice).
//
// Keys are claimed with one INSERT … ON CONFLICT DO UPDATE … WHERE expired
// RETURNING statement, which both databases execute atomically: of any
// number of replicas claiming the same key at once exactly one gets a row
// back. Triage reports are kept as gzipped JSON.
//
// The schema is created and upgraded by numbered migrations embedded in
// the binary (migrations/<dialect>/NNNN_name.sql), applied in order, one
// transaction each, and recorded in schema_migrations. Replicas starting at
// once serialise on a lock (PostgreSQL: an advisory transaction lock;
// SQLite: BEGIN IMMEDIATE), so each migration runs exactly once.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/store"
)

// DefaultMaxReportBytes bounds a stored report (gzipped JSON). Evidence
// with long log excerpts is what makes reports large; a report above the
// bound is stored without it.
const DefaultMaxReportBytes = 1 << 20

// Options tune a Store. The zero value is usable.
type Options struct {
	// Logger receives migration and trimming notices (default: discarded).
	Logger *slog.Logger
	// Now stamps applied migrations (default time.Now). Every other time
	// comes from the caller, as store.Store's methods take it explicitly.
	Now func() time.Time
	// MaxReportBytes bounds a stored report after compression (default
	// DefaultMaxReportBytes); larger reports lose their evidence.
	MaxReportBytes int
	// MaxConns caps PostgreSQL connections per replica (default 10).
	// SQLite always uses one; see OpenSQLite.
	MaxConns int
	// ReadOnly opens an existing database for reading (bot history): no
	// file is created, no migration applied, and the schema must be the
	// one this binary knows; the session refuses writes.
	ReadOnly bool
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxReportBytes <= 0 {
		o.MaxReportBytes = DefaultMaxReportBytes
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	return o
}

// Store is a store.Store backed by SQLite or PostgreSQL. It is safe for
// concurrent use, and several Stores (replicas) may share one PostgreSQL
// database.
type Store struct {
	db   *sql.DB
	d    dialect
	o    Options
	log  *slog.Logger
	desc string
}

var _ store.Store = (*Store)(nil)

// Open opens the store cfg describes: SQLite or PostgreSQL through this
// package, or store.NewMemory for the memory driver.
func Open(ctx context.Context, cfg config.Store, o Options) (store.Store, error) {
	if cfg.Driver == config.StoreMemory {
		return store.NewMemory(), nil
	}
	return OpenPersistent(ctx, cfg, o)
}

// ErrMemory is returned by OpenPersistent for the memory driver, which
// keeps nothing between runs.
var ErrMemory = errors.New("store.driver memory keeps nothing to show: configure sqlite or postgres")

// OpenPersistent opens the SQLite or PostgreSQL store cfg describes, for
// callers that need more than store.Store (bot history). The memory driver
// is ErrMemory.
func OpenPersistent(ctx context.Context, cfg config.Store, o Options) (*Store, error) {
	switch cfg.Driver {
	case config.StoreSQLite, "":
		return OpenSQLite(ctx, cfg.Path, o)
	case config.StorePostgres:
		return OpenPostgres(ctx, cfg.DSN, o)
	case config.StoreMemory:
		return nil, ErrMemory
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %s, %s or %s)", cfg.Driver, config.StoreSQLite, config.StorePostgres, config.StoreMemory)
	}
}

// sqliteBusyTimeout is how long a statement waits for another process's
// write lock (bot history reading while the bot writes, or a second bot on
// the same file by mistake) before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// OpenSQLite opens (creating it and its directory when missing) the SQLite
// database at path and migrates it.
//
// The file is opened in WAL mode, so readers (bot history) never block the
// writer, with a busy timeout and foreign keys on. The pool is limited to a
// single connection: SQLite admits one writer at a time, and more
// connections would only contend for the file lock, turning into
// SQLITE_BUSY errors (a deferred transaction that upgrades to a write
// cannot even wait for the lock) instead of waiting in Go's fair queue. The
// bot writes a few rows per alert, so one connection is far from a
// bottleneck.
func OpenSQLite(ctx context.Context, path string, o Options) (*Store, error) {
	s, err := newSQLite(path, o)
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx, s.d.migrations()); err != nil {
		s.db.Close()
		return nil, err
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: sqlite %s: read journal mode: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// WAL needs shared memory, which network filesystems may lack;
		// the store still works, but readers then block the writer.
		s.log.Warn("sqlite is not in WAL mode; put the database on a local volume", "path", path, "journal_mode", mode)
	}
	return s, nil
}

// newSQLite opens the database without touching the schema.
func newSQLite(path string, o Options) (*Store, error) {
	o = o.withDefaults()
	if path == "" {
		return nil, errors.New("store: sqlite needs store.path (e.g. /var/lib/oombot/oombot.db)")
	}
	// The driver treats everything after '?' as connection parameters.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("store: sqlite path %q must not contain '?'", path)
	}
	dsn := path + "?_pragma=busy_timeout(" + strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		// BEGIN IMMEDIATE takes the write lock when the transaction starts,
		// so a migration racing another process waits for it (busy_timeout)
		// rather than failing when it first writes.
		"&_txlock=immediate"
	if o.ReadOnly {
		// Opening a missing file would create an empty database.
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: no database at %s (the bot creates it when it first starts): %w", path, err)
		}
		dsn += "&_pragma=query_only(1)"
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	// Keep the connection: reopening would redo the pragmas for nothing.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return &Store{db: db, d: sqliteDialect, o: o, log: o.Logger, desc: "sqlite " + path}, nil
}

// OpenPostgres connects to the PostgreSQL database dsn names and migrates
// it. Errors and logs name the host, port, database and user, never the
// DSN itself: it carries the password.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*Store, error) {
	s, err := newPostgres(dsn, o)
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx, s.d.migrations()); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// newPostgres prepares the connection pool without connecting.
func newPostgres(dsn string, o Options) (*Store, error) {
	o = o.withDefaults()
	if dsn == "" {
		return nil, fmt.Errorf("store: postgres needs a DSN in %s", config.EnvPostgresDSN)
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords from its parse errors only on a best
		// effort basis, and an unparsable DSN is exactly when that can
		// miss: say what is wrong without echoing any of it.
		return nil, fmt.Errorf("store: %s is not a valid PostgreSQL connection string (want postgres://USER:PASSWORD@HOST:5432/DB?sslmode=require); it is not shown because it holds a password", config.EnvPostgresDSN)
	}
	desc := fmt.Sprintf("postgres host=%s port=%d database=%s user=%s", cc.Host, cc.Port, cc.Database, cc.User)
	if o.ReadOnly {
		cc.RuntimeParams["default_transaction_read_only"] = "on"
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	// Let idle connections go so a quiet bot does not pin server slots,
	// and recycle old ones so a failover behind a proxy is picked up.
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return &Store{db: db, d: postgresDialect, o: o, log: o.Logger, desc: desc}, nil
}

// init checks the connection and applies the migrations ms (read-only:
// checks the schema is at the last of them).
func (s *Store) init(ctx context.Context, ms []migration) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: connect to %s: %w", s.desc, err)
	}
	if s.o.ReadOnly {
		if err := checkSchema(ctx, s.db, len(ms)); err != nil {
			return fmt.Errorf("store: %s: %w", s.desc, err)
		}
	} else if err := migrate(ctx, s.db, s.d, ms, s.o.Now, s.log); err != nil {
		return fmt.Errorf("store: %s: %w", s.desc, err)
	}
	s.log.Info("store ready", "store", s.desc)
	return nil
}

// String names the database without credentials, for logs.
func (s *Store) String() string { return s.desc }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.desc, err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.desc, err)
	}
	return nil
}
