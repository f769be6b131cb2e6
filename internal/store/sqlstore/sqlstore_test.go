package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const incident = "../../../examples/incidents/image-decode-bomb"

// backend is one database the tests run against: newDB gives a fresh,
// empty database (a file path or a DSN), open and prepare open it with or
// without migrating.
type backend struct {
	name    string
	newDB   func(t testing.TB) string
	open    func(ctx context.Context, target string, o Options) (*Store, error)
	prepare func(target string, o Options) (*Store, error)
}

func sqliteBackend() backend {
	return backend{
		name:    "sqlite",
		newDB:   func(t testing.TB) string { return filepath.Join(t.TempDir(), "oombot.db") },
		open:    OpenSQLite,
		prepare: newSQLite,
	}
}

func postgresBackend(pg *realserver.PG) backend {
	return backend{
		name:    "postgres",
		newDB:   pg.NewDatabase,
		open:    OpenPostgres,
		prepare: newPostgres,
	}
}

func TestSQLite(t *testing.T) { runBackend(t, sqliteBackend()) }

// TestPostgres runs everything against one real server, a fresh database
// per store.
func TestPostgres(t *testing.T) { runBackend(t, postgresBackend(realserver.Postgres(t))) }

func runBackend(t *testing.T, b backend) {
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, b, b.newDB(t), Options{}) })
	})
	// Two replicas on one database: claims and deliveries stay atomic
	// across them, not just across goroutines of one.
	t.Run("ReplicaRaces", func(t *testing.T) {
		target := b.newDB(t)
		r1, r2 := mustOpen(t, b, target, Options{}), mustOpen(t, b, target, Options{})
		t.Cleanup(func() { r1.Close(); r2.Close() })
		storetest.Races(t, r1, r2)
	})
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, b) })
	t.Run("ReadOnly", func(t *testing.T) { testReadOnly(t, b) })
	t.Run("ReportRoundTrip", func(t *testing.T) { testReportRoundTrip(t, b) })
	t.Run("ReportTrimmed", func(t *testing.T) { testReportTrimmed(t, b) })
}

func mustOpen(t testing.TB, b backend, target string, o Options) *Store {
	t.Helper()
	s, err := b.open(context.Background(), target, o)
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	return s
}

// logTo returns a logger writing text lines to buf (safe for concurrent
// stores).
func logTo(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func versions(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func hasIndex(t *testing.T, s *Store, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	if s.d.name == "postgres" {
		q = "SELECT COUNT(*) FROM pg_indexes WHERE indexname = ?"
	}
	var n int
	if err := s.db.QueryRow(s.d.q(q), name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func testMigrations(t *testing.T, b backend) {
	ctx := context.Background()
	all := b.prepareMigrations(t)
	if len(all) < 2 {
		t.Fatalf("%s has %d migrations; the multi-step path needs at least 2", b.name, len(all))
	}
	want := make([]int, len(all))
	for i := range all {
		want[i] = i + 1
	}

	t.Run("from v1", func(t *testing.T) {
		// A database an older oombot created (v1 only), with a triage in
		// it, is upgraded step by step and keeps its data.
		target := b.newDB(t)
		old, err := b.prepare(target, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := old.init(ctx, all[:1]); err != nil {
			t.Fatal(err)
		}
		if err := old.PutTriage(ctx, store.Triage{ID: "kept", Pod: "checkout-1", At: time.Unix(1_770_000_000, 0)}); err != nil {
			t.Fatal(err)
		}
		if hasIndex(t, old, "triages_history") {
			t.Fatal("v1 already has the v2 index")
		}
		old.Close()
		var logs syncBuffer
		s := mustOpen(t, b, target, Options{Logger: logTo(&logs)})
		defer s.Close()
		if got := versions(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("versions = %v, want %v", got, want)
		}
		if !hasIndex(t, s, "triages_history") {
			t.Error("v2 index missing after the upgrade")
		}
		if n := strings.Count(logs.String(), "applied schema migration"); n != len(all)-1 {
			t.Errorf("%d migrations logged, want %d:\n%s", n, len(all)-1, logs.String())
		}
		if _, ok, err := s.GetTriage(ctx, "kept"); !ok || err != nil {
			t.Errorf("triage lost in the upgrade: %v %v", ok, err)
		}
	})

	t.Run("replicas start together", func(t *testing.T) {
		// Four replicas open one empty database at once: every one
		// succeeds and each migration is applied exactly once.
		target := b.newDB(t)
		var logs syncBuffer
		stores := make([]*Store, 4)
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = b.open(ctx, target, Options{Logger: logTo(&logs)})
			}()
		}
		wg.Wait()
		for i, s := range stores {
			if errs[i] != nil {
				t.Errorf("replica %d: %v", i, errs[i])
				continue
			}
			defer s.Close()
		}
		if t.Failed() {
			return
		}
		if got := versions(t, stores[0]); !reflect.DeepEqual(got, want) {
			t.Errorf("versions = %v, want %v", got, want)
		}
		if n := strings.Count(logs.String(), "applied schema migration"); n != len(all) {
			t.Errorf("%d migrations applied, want %d:\n%s", n, len(all), logs.String())
		}
	})

	t.Run("newer database", func(t *testing.T) {
		target := b.newDB(t)
		s := mustOpen(t, b, target, Options{})
		next := len(all) + 1
		if _, err := s.db.Exec(s.d.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), next, s.migrationTime()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := b.open(ctx, target, Options{})
		wantMsg := fmt.Sprintf("database schema v%d is newer than this oombot (knows v%d): upgrade oombot or point it at another database", next, len(all))
		if !errors.Is(err, ErrSchemaTooNew) || err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("err = %v, want %q", err, wantMsg)
		}
	})

	t.Run("reopen is a no-op", func(t *testing.T) {
		target := b.newDB(t)
		mustOpen(t, b, target, Options{}).Close()
		var logs syncBuffer
		s := mustOpen(t, b, target, Options{Logger: logTo(&logs)})
		defer s.Close()
		if strings.Contains(logs.String(), "applied schema migration") {
			t.Errorf("migrations applied again:\n%s", logs.String())
		}
	})
}

// A read-only store (bot history) reads a current database, refuses to
// write, and neither creates nor migrates one.
func testReadOnly(t *testing.T, b backend) {
	ctx := context.Background()
	all := b.prepareMigrations(t)
	t.Run("current", func(t *testing.T) {
		target := b.newDB(t)
		rw := mustOpen(t, b, target, Options{})
		if err := rw.PutTriage(ctx, store.Triage{ID: "t1", Pod: "p", At: time.Unix(1_770_000_000, 0)}); err != nil {
			t.Fatal(err)
		}
		rw.Close()
		ro := mustOpen(t, b, target, Options{ReadOnly: true})
		defer ro.Close()
		if got, err := ro.History(ctx, store.HistoryQuery{Workload: "p"}); err != nil || len(got) != 1 {
			t.Errorf("History = %d triages, %v", len(got), err)
		}
		if err := ro.PutTriage(ctx, store.Triage{ID: "t2", Pod: "p"}); err == nil {
			t.Error("a read-only store wrote")
		}
	})
	t.Run("empty", func(t *testing.T) {
		target := b.newDB(t)
		s, err := b.open(ctx, target, Options{ReadOnly: true})
		if err == nil {
			s.Close()
			t.Fatal("opened a database without a schema")
		}
		if !strings.Contains(err.Error(), "the bot creates it when it first starts") {
			t.Errorf("err = %v", err)
		}
		if b.name == "sqlite" {
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("read-only open created %s: %v", target, err)
			}
		}
	})
	t.Run("older", func(t *testing.T) {
		target := b.newDB(t)
		old, err := b.prepare(target, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := old.init(ctx, all[:1]); err != nil {
			t.Fatal(err)
		}
		old.Close()
		_, err = b.open(ctx, target, Options{ReadOnly: true})
		want := fmt.Sprintf("database schema v1 is older than this oombot (knows v%d)", len(all))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		raw, err := b.prepare(target, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if got := versions(t, raw); !reflect.DeepEqual(got, []int{1}) {
			t.Errorf("versions after a read-only open = %v, want [1]", got)
		}
	})
}

// prepareMigrations returns the backend's embedded migrations.
func (b backend) prepareMigrations(t *testing.T) []migration {
	t.Helper()
	d := sqliteDialect
	if b.name == "postgres" {
		d = postgresDialect
	}
	ms, err := loadMigrations(migrationsFS, "migrations/"+d.name)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// migrationTime is an applied_at value of the dialect's column type.
func (s *Store) migrationTime() any {
	if s.d.name == "sqlite" {
		return time.Now().UTC().Format(time.RFC3339Nano)
	}
	return time.Now()
}

// Both dialects ship the same migrations, numbered without gaps.
func TestEmbeddedMigrations(t *testing.T) {
	var names [2][]string
	for i, d := range []dialect{sqliteDialect, postgresDialect} {
		for _, m := range d.migrations() {
			names[i] = append(names[i], m.Name)
		}
	}
	if !reflect.DeepEqual(names[0], names[1]) || len(names[0]) < 2 {
		t.Fatalf("sqlite migrations %v, postgres %v: want the same ones, at least 2", names[0], names[1])
	}
}

func TestLoadMigrationsRejects(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "expected version 2"},
		{"bad name", []string{"0001_a.sql", "two.sql"}, "NNNN_description.sql"},
		{"zero", []string{"0000_a.sql"}, "NNNN_description.sql"},
		{"none", nil, "no migrations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("SELECT 1"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := loadMigrations(os.DirFS(dir), ".")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// A real report (the image-decode-bomb incident, triaged by the engine)
// comes back from the database equal to what was stored, so the buttons
// (re-run, raw evidence) work on it after a restart.
func testReportRoundTrip(t *testing.T, b backend) {
	ctx := context.Background()
	rep := bundletest.Triage(t, incident)
	if len(rep.Matches) == 0 || rep.Evidence == nil {
		t.Fatalf("the incident should match a playbook and carry evidence: %s", rep.Verdict)
	}
	s := mustOpen(t, b, b.newDB(t), Options{})
	defer s.Close()
	in := store.Triage{ID: "t1", Cluster: rep.Target.Cluster, Namespace: rep.Target.Namespace, Pod: rep.Target.Pod,
		Container: rep.Target.Container, Thread: chat.Ref{Channel: "C1", TS: "1.2"}, Report: rep, At: rep.FiredAt}
	if err := s.PutTriage(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetTriage(ctx, "t1")
	if !ok || err != nil {
		t.Fatalf("GetTriage: %v %v", ok, err)
	}
	back := got.Report
	if back == nil {
		t.Fatal("report lost")
	}
	// JSON keeps instants, not zones: times the engine took from
	// Kubernetes objects in the local zone come back in UTC. Compare with
	// the original after the same normalisation, and byte for byte as
	// JSON, which is everything stored (Chart is json:"-" by design).
	want := normalised(t, rep)
	if back.Verdict != rep.Verdict || !reflect.DeepEqual(back.Matches, want.Matches) || !reflect.DeepEqual(back.Facts, want.Facts) ||
		!reflect.DeepEqual(back.Evidence, want.Evidence) || !reflect.DeepEqual(back.Termination, want.Termination) {
		t.Errorf("verdict, matches, facts, evidence or termination changed:\n got %s %+v\nwant %s %+v", back.Verdict, back.Matches, rep.Verdict, rep.Matches)
	}
	if !reflect.DeepEqual(back, want) {
		t.Error("report changed in the round trip")
	}
	wantJSON, _ := json.Marshal(rep)
	haveJSON, _ := json.Marshal(back)
	if !bytes.Equal(haveJSON, wantJSON) {
		t.Errorf("report JSON changed in the round trip (%d vs %d bytes)", len(haveJSON), len(wantJSON))
	}
	if ev, _ := json.Marshal(back.Evidence); len(ev) < 1000 {
		t.Errorf("evidence came back with %d bytes of JSON", len(ev))
	}
	if store.TopPlaybook(back) != rep.Matches[0].ID {
		t.Errorf("top playbook %s, want %s", store.TopPlaybook(back), rep.Matches[0].ID)
	}
	var top string
	var conf float64
	var size int
	if err := s.db.QueryRow(s.d.q("SELECT top_playbook, top_confidence, LENGTH(report) FROM triages WHERE id = ?"), "t1").Scan(&top, &conf, &size); err != nil {
		t.Fatal(err)
	}
	if top != rep.Matches[0].ID || conf != rep.Matches[0].Confidence {
		t.Errorf("columns top_playbook=%s top_confidence=%v, want %s %v", top, conf, rep.Matches[0].ID, rep.Matches[0].Confidence)
	}
	t.Logf("report: %d bytes of JSON stored as %d gzipped", len(wantJSON), size)
	if size >= len(wantJSON)/2 {
		t.Errorf("report stored in %d bytes for %d of JSON: not compressed", size, len(wantJSON))
	}
}

// normalised is r as JSON gives it back: the same instants, in UTC.
func normalised(t *testing.T, r *report.Report) *report.Report {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out report.Report
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// A report above MaxReportBytes is kept without its evidence, and the log
// says so; one below keeps everything.
func testReportTrimmed(t *testing.T, b backend) {
	ctx := context.Background()
	rep := bundletest.Triage(t, incident)
	var logs syncBuffer
	s := mustOpen(t, b, b.newDB(t), Options{Logger: logTo(&logs), MaxReportBytes: 512})
	defer s.Close()
	if err := s.PutTriage(ctx, store.Triage{ID: "big", Pod: "p", Report: rep, At: rep.FiredAt}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetTriage(ctx, "big")
	if !ok || err != nil || got.Report == nil {
		t.Fatalf("GetTriage: %+v %v %v", got, ok, err)
	}
	if got.Report.Evidence != nil {
		t.Error("evidence kept above MaxReportBytes")
	}
	if got.Report.Verdict != rep.Verdict || !reflect.DeepEqual(got.Report.Matches, normalised(t, rep).Matches) {
		t.Error("trimming lost more than the evidence")
	}
	if rep.Evidence == nil {
		t.Fatal("PutTriage changed the caller's report")
	}
	if l := logs.String(); !strings.Contains(l, "stored without its evidence") || !strings.Contains(l, "triage=big") {
		t.Errorf("no log line about the trimmed report:\n%s", l)
	}
	var trimmed int
	if err := s.db.QueryRow(s.d.q("SELECT report_trimmed FROM triages WHERE id = ?"), "big").Scan(&trimmed); err != nil || trimmed != 1 {
		t.Errorf("report_trimmed = %d, %v", trimmed, err)
	}
}

// Connection errors and logs name the server, never the password.
func TestPostgresDSNRedacted(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, c := range []struct {
		name, dsn string
		want      []string
	}{
		{"unreachable URL", "postgres://oombot:" + secret + "@127.0.0.1:1/oombot?sslmode=disable&connect_timeout=2",
			[]string{"host=127.0.0.1 port=1 database=oombot user=oombot"}},
		{"unreachable key/value", "host=127.0.0.1 port=1 user=bot password=" + secret + " dbname=db sslmode=disable connect_timeout=2",
			[]string{"host=127.0.0.1 port=1 database=db user=bot"}},
		{"unparsable URL", "postgres://oombot:" + secret + "@db:notaport/oombot", []string{config.EnvPostgresDSN, "not a valid"}},
		{"unparsable key/value", "host=db password=" + secret + " port=x", []string{config.EnvPostgresDSN, "not a valid"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := OpenPostgres(ctx, c.dsn, Options{Logger: logTo(&logs)})
			if err == nil {
				s.Close()
				t.Fatal("opened a database that cannot exist")
			}
			for _, text := range []string{err.Error(), logs.String()} {
				if strings.Contains(text, secret) {
					t.Errorf("password leaked: %s", text)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestOpenByDriver(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "nested", "oombot.db")
	for _, c := range []struct {
		name    string
		cfg     config.Store
		want    string // type of store, or error text
		wantErr bool
	}{
		{"memory", config.Store{Driver: config.StoreMemory}, "*store.Memory", false},
		{"sqlite", config.Store{Driver: config.StoreSQLite, Path: path}, "*sqlstore.Store", false},
		{"sqlite without path", config.Store{Driver: config.StoreSQLite}, "needs store.path", true},
		{"sqlite path with ?", config.Store{Driver: config.StoreSQLite, Path: filepath.Join(dir, "a?b")}, "must not contain", true},
		{"postgres without DSN", config.Store{Driver: config.StorePostgres}, config.EnvPostgresDSN, true},
		{"unknown", config.Store{Driver: "mysql"}, `unknown driver "mysql"`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, c.cfg, Options{})
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := fmt.Sprintf("%T", s); got != c.want {
				t.Fatalf("Open gave %s, want %s", got, c.want)
			}
		})
	}
	if _, err := OpenPersistent(ctx, config.Store{Driver: config.StoreMemory}, Options{}); !errors.Is(err, ErrMemory) {
		t.Errorf("OpenPersistent(memory) = %v, want ErrMemory", err)
	}
	// The directory was created private; the database is in WAL mode
	// behind a single connection.
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("database directory: %v %v, want 0700", fi.Mode().Perm(), err)
	}
	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	var fk int
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if n := s.db.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
	if !strings.Contains(s.String(), path) {
		t.Errorf("String() = %q", s.String())
	}
}

func TestTimeEncoding(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0),
		time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		time.Date(2026, 3, 1, 13, 0, 0, 1, time.FixedZone("CET", 3600)),
	} {
		if back := fromNS(toNS(tm)); !back.Equal(tm) || back.IsZero() != tm.IsZero() {
			t.Errorf("%v came back as %v", tm, back)
		}
	}
	if toNS(time.Time{}) >= toNS(time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("the zero time must sort before every real time")
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if toNS(far) <= toNS(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("a time past 2262 must clamp to the largest value, not wrap")
	}
}

func TestRebind(t *testing.T) {
	in := "INSERT INTO x (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = ? WHERE x.b <= ?"
	if got := sqliteDialect.q(in); got != in {
		t.Errorf("sqlite: %s", got)
	}
	if got, want := postgresDialect.q(in), "INSERT INTO x (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $3 WHERE x.b <= $4"; got != want {
		t.Errorf("postgres: %s, want %s", got, want)
	}
}
