package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationsFS embed.FS

// migration is one numbered schema change.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name string
	// bootstrap creates schema_migrations when missing.
	bootstrap string
	// lock, when set, is run first in every migration transaction so that
	// replicas starting at once take turns. SQLite needs none: its
	// transactions begin IMMEDIATE, which already excludes other writers.
	lock string
	// numbered placeholders ($1, $2, …) instead of ?.
	numbered bool
}

// migrationLockKey is the PostgreSQL advisory lock migrations hold: any
// constant works as long as every oombot uses the same one ("oombot" in
// ASCII).
const migrationLockKey = 0x6f6f6d626f74

var (
	sqliteDialect = dialect{
		name: "sqlite",
		bootstrap: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL
)`,
	}
	postgresDialect = dialect{
		name: "postgres",
		bootstrap: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TIMESTAMPTZ NOT NULL
)`,
		lock:     "SELECT pg_advisory_xact_lock(" + strconv.Itoa(migrationLockKey) + ")",
		numbered: true,
	}
)

// q rewrites a query written with ? placeholders for the dialect. Queries
// in this package never contain a literal '?'.
func (d dialect) q(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrations returns the dialect's embedded migrations in order.
func (d dialect) migrations() []migration {
	ms, err := loadMigrations(migrationsFS, path.Join("migrations", d.name))
	if err != nil {
		// The files are compiled in and checked by the tests; a bad one is
		// a build mistake, not a runtime condition.
		panic(err)
	}
	return ms
}

// loadMigrations reads NNNN_name.sql files from dir and checks that they
// are numbered 1, 2, 3… without gaps.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_description.sql", dir, name)
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dir, name, err)
		}
		ms = append(ms, migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(data)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations in %s: expected version %d, found %s", dir, i+1, m.Name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return ms, nil
}

// ErrSchemaTooNew says the database was migrated by a newer oombot.
var ErrSchemaTooNew = errors.New("database schema is newer than this oombot")

type schemaTooNewError struct{ have, know int }

func (e *schemaTooNewError) Error() string {
	return fmt.Sprintf("database schema v%d is newer than this oombot (knows v%d): upgrade oombot or point it at another database", e.have, e.know)
}

func (e *schemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// checkSchema checks, without changing anything, that the database is at
// schema version know.
func checkSchema(ctx context.Context, db *sql.DB, know int) error {
	var cur sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("no oombot schema in this database (the bot creates it when it first starts): %w", err)
	}
	switch have := int(cur.Int64); {
	case have > know:
		return &schemaTooNewError{have: have, know: know}
	case have < know:
		return fmt.Errorf("database schema v%d is older than this oombot (knows v%d): start the bot with this version once to migrate it", have, know)
	}
	return nil
}

// migrate applies the migrations db lacks, one transaction each, until the
// schema is at the last one.
func migrate(ctx context.Context, db *sql.DB, d dialect, ms []migration, now func() time.Time, log *slog.Logger) error {
	for {
		applied, err := migrateStep(ctx, db, d, ms, now)
		if err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
		log.Info("applied schema migration", "version", applied.Version, "name", applied.Name)
	}
}

// migrateStep applies the next missing migration and returns it, or nil
// when the schema is current. The version is read under the lock, so of
// replicas starting together the first applies each step and the others
// see it done.
func migrateStep(ctx context.Context, db *sql.DB, d dialect, ms []migration, now func() time.Time) (*migration, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: begin: %w", err)
	}
	// Rollback after Commit is a no-op.
	defer func() { _ = tx.Rollback() }()
	if d.lock != "" {
		if _, err := tx.ExecContext(ctx, d.lock); err != nil {
			return nil, fmt.Errorf("migrate: take lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.bootstrap); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var cur sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&cur); err != nil {
		return nil, fmt.Errorf("migrate: read schema version: %w", err)
	}
	have := int(cur.Int64)
	switch {
	case have > len(ms):
		return nil, &schemaTooNewError{have: have, know: len(ms)}
	case have == len(ms):
		return nil, tx.Commit()
	}
	m := ms[have]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return nil, fmt.Errorf("migrate: apply %s: %w", m.Name, err)
	}
	var at any = now().UTC()
	if d.name == "sqlite" {
		at = now().UTC().Format(time.RFC3339Nano)
	}
	if _, err := tx.ExecContext(ctx, d.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), m.Version, at); err != nil {
		return nil, fmt.Errorf("migrate: record %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("migrate: commit %s: %w", m.Name, err)
	}
	return &m, nil
}
