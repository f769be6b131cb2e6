package history

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/goldentest"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// now is the clock every case runs at.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func rep(workload, verdict, playbook string, conf float64) *report.Report {
	r := &report.Report{Target: evidence.Target{Cluster: "prod", Namespace: "shop", WorkloadKind: "Deployment", WorkloadName: workload}, Verdict: verdict}
	if playbook != "" {
		r.Matches = []report.Match{{ID: playbook, Confidence: conf}}
	}
	return r
}

// seed fills s with the triages and feedback the golden files show.
func seed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, tr := range []store.Triage{
		{ID: "t-decode", Cluster: "prod", Namespace: "shop", Pod: "checkout-7d9f8-x2x4q", Container: "app",
			Thread: chat.Ref{Channel: "C0ALERTS01", TS: "1772362800.000100", Permalink: "https://acme.slack.com/archives/C0ALERTS01/p1772362800000100"},
			Report: rep("checkout", "OOMKilled by the container limit (exit 137) after a JVM OutOfMemoryError (Java heap space) — likely cause: image-decode-bomb (confidence 0.80)", "image-decode-bomb", 0.8),
			At:     now.Add(-time.Hour)},
		{ID: "t-unmatched", Cluster: "prod", Namespace: "shop", Pod: "checkout-5f6c9-abcde", Workload: "checkout",
			Thread: chat.Ref{Channel: "C0ALERTS01", TS: "1772272800.000200"},
			Report: rep("checkout", "OOMKilled by the container limit (exit 137); no playbook matched", "", 0), At: now.Add(-26 * time.Hour)},
		{ID: "t-stage", Cluster: "stage", Namespace: "shop", Pod: "checkout-1a2b3-zzzzz",
			Thread: chat.Ref{Channel: "C0STAGE01", TS: "1772352000.000300"},
			Report: rep("checkout", "Heap grew steadily until the JVM ran out", "heap-leak", 0.55), At: now.Add(-4 * time.Hour)},
		{ID: "t-old", Cluster: "prod", Namespace: "shop", Pod: "checkout", At: now.Add(-10 * 24 * time.Hour)},
		{ID: "t-cart", Cluster: "prod", Namespace: "shop", Pod: "cart-9c8d7-qqqqq",
			Report: rep("cart", "Heap grew steadily until the JVM ran out", "heap-leak", 0.7), At: now.Add(-2 * time.Hour)},
	} {
		if err := s.PutTriage(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []store.Feedback{
		{TriageID: "t-decode", User: "U1", Judgement: store.Helpful},
		{TriageID: "t-decode", User: "U2", Judgement: store.Wrong},
		{TriageID: "t-decode", User: "U2", Judgement: store.Helpful}, // changed their mind
		{TriageID: "t-decode", User: "U3", Judgement: store.Wrong},
		{TriageID: "t-stage", User: "U1", Judgement: store.Wrong},
		{TriageID: "t-cart", User: "U4", Judgement: store.Helpful},
	} {
		f.At = now
		if err := s.PutFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
}

// writeConfig writes a minimal valid bot config using storeYAML.
func writeConfig(t *testing.T, storeYAML string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := "clusters: [{name: prod}]\nchannels: [{id: C0ALERTS01, namespaces: [shop]}]\nstore: " + storeYAML + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sqliteConfig seeds an SQLite store and returns a config naming it.
func sqliteConfig(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "state", "oombot.db")
	s, err := sqlstore.OpenSQLite(context.Background(), db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, "{driver: sqlite, path: '"+db+"'}")
}

// goldenCases run against every persistent store and print the same.
var goldenCases = []struct {
	golden string
	args   []string
}{
	{"history.txt", []string{"checkout"}},
	{"history-prod-shop.txt", []string{"--cluster", "prod", "-n", "shop", "checkout"}},
	{"history-all.txt", []string{"--since", "0", "checkout"}},
	{"history-limit.txt", []string{"--limit", "1", "checkout"}},
	{"history.json", []string{"--json", "checkout"}},
	{"history-none.txt", []string{"payments"}},
	{"history-none.json", []string{"--json", "payments"}},
	{"stats.txt", []string{"--stats"}},
	{"stats-3h.txt", []string{"--stats", "--since", "3h"}},
	{"stats.json", []string{"--stats", "--json"}},
}

func runGolden(t *testing.T, cfg string, getenv func(string) string) {
	for _, c := range goldenCases {
		t.Run(c.golden, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--config", cfg}, c.args...)
			if err := run(context.Background(), factory.IOStreams{Out: &out, Err: &errOut}, args, getenv, now); err != nil {
				t.Fatalf("bot history %s: %v", strings.Join(c.args, " "), err)
			}
			goldentest.Bytes(t, filepath.Join("testdata", c.golden), out.Bytes(), *update)
		})
	}
}

func TestSQLite(t *testing.T) {
	runGolden(t, sqliteConfig(t), func(string) string { return "" })
}

// The same store on PostgreSQL prints exactly the same.
func TestPostgres(t *testing.T) {
	if *update {
		t.Skip("golden files are written from SQLite")
	}
	pg := realserver.Postgres(t)
	s, err := sqlstore.OpenPostgres(context.Background(), pg.DSN, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "{driver: postgres}")
	runGolden(t, cfg, func(k string) string {
		if k == config.EnvPostgresDSN {
			return pg.DSN
		}
		return ""
	})
}

func TestErrors(t *testing.T) {
	sqlite := sqliteConfig(t)
	memory := writeConfig(t, "{driver: memory}")
	missingDir := filepath.Join(t.TempDir(), "none")
	missing := writeConfig(t, "{driver: sqlite, path: '"+filepath.Join(missingDir, "oombot.db")+"'}")
	for _, c := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no config", []string{"checkout"}, true, "--config FILE is required"},
		{"no workload", []string{"--config", sqlite}, true, "need one workload name"},
		{"two workloads", []string{"--config", sqlite, "a", "b"}, true, "need one workload name"},
		{"stats with workload", []string{"--config", sqlite, "--stats", "checkout"}, true, "--stats covers every workload"},
		{"stats with namespace", []string{"--config", sqlite, "--stats", "-n", "shop"}, true, "drop --cluster and -n"},
		{"negative since", []string{"--config", sqlite, "--since", "-1h", "checkout"}, true, "must not be negative"},
		{"zero limit", []string{"--config", sqlite, "--limit", "0", "checkout"}, true, "--limit must be positive"},
		{"unknown flag", []string{"--config", sqlite, "--output", "x", "checkout"}, true, "unknown flag"},
		{"memory driver", []string{"--config", memory, "checkout"}, false, "store.driver memory keeps nothing to show"},
		{"no database yet", []string{"--config", missing, "checkout"}, false, "the bot creates it when it first starts"},
		{"bad config", []string{"--config", filepath.Join(t.TempDir(), "nope.yaml"), "checkout"}, false, "config:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), factory.IOStreams{Out: &out, Err: &out}, c.args, func(string) string { return "" }, now)
			var ue *UsageError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &ue) != c.usage {
				t.Fatalf("err = %v (usage error: %v), want %q (usage error: %v)", err, errors.As(err, &ue), c.want, c.usage)
			}
			if out.Len() != 0 {
				t.Errorf("printed on error: %q", out.String())
			}
		})
	}
	if _, err := os.Stat(missingDir); !os.IsNotExist(err) {
		t.Errorf("bot history created the missing database's directory: %v", err)
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"a verdict that is long", 10, "a verdict…"},
		{"ünïcödé ünïcödé", 8, "ünïcödé…"},
	} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
