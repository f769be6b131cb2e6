package triage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/goldentest"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// repoRoot finds the module root from this package directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func triageBundle(t testing.TB, dir string) *report.Report {
	t.Helper()
	return bundletest.Triage(t, dir)
}

// Each real-JVM bundle must produce its own diagnosis, who-killed-it must be
// right, and nothing else may match (a healthy pod matches nothing).
func TestBundlesDiagnosis(t *testing.T) {
	root := repoRoot(t)
	cases := []struct {
		dir    string
		match  string // "" = no playbook may match
		killer string
		others []string // other playbooks allowed to match as well
	}{
		{"testdata/bundles/image-decode-bomb", "image-decode-bomb", evidence.KillBoth, nil},
		{"testdata/bundles/lock-growth", "lock-growth", "", nil},
		{"testdata/bundles/classloader-leak", "classloader-leak", "", nil},
		{"testdata/bundles/netty-buffer-leak", "netty-buffer-leak", "", nil},
		{"testdata/bundles/heap-undersized", "heap-undersized", "", nil},
		{"testdata/bundles/native-memory-over-limit", "native-memory-over-limit", evidence.KillContainerOOM, nil},
		{"testdata/bundles/healthy", "", evidence.KillNone, nil},
		{"examples/incidents/image-decode-bomb", "image-decode-bomb", evidence.KillBoth, nil},
		{"examples/incidents/order-lock-leak", "lock-growth", "", nil},
		{"examples/incidents/apm-classloader-leak", "classloader-leak", "", nil},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join(root, c.dir)
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("bundle missing: %v", err)
			}
			rep := triageBundle(t, dir)
			if c.killer != "" && rep.Termination.Killer != c.killer {
				t.Errorf("killer = %s (%s), want %s", rep.Termination.Killer, rep.Termination.Explanation, c.killer)
			}
			var ids []string
			for _, m := range rep.Matches {
				ids = append(ids, m.ID)
			}
			if c.match == "" {
				if len(ids) > 0 {
					t.Errorf("matches = %v, want none; verdict %q", ids, rep.Verdict)
				}
				if !strings.Contains(rep.Verdict, "no playbook matched") {
					t.Errorf("verdict %q does not say nothing matched", rep.Verdict)
				}
				return
			}
			if len(ids) == 0 || ids[0] != c.match {
				t.Fatalf("matches = %v, want %s first; verdict %q; considered %+v", ids, c.match, rep.Verdict, rep.Considered)
			}
			for _, id := range ids[1:] {
				allowed := false
				for _, o := range c.others {
					allowed = allowed || o == id
				}
				if !allowed {
					t.Errorf("unexpected extra match %s (false positive)", id)
				}
			}
			// Every fired signal cites evidence with raw lines.
			for _, s := range rep.Matches[0].Signals {
				if len(s.Evidence) == 0 {
					t.Errorf("signal %s fired without evidence", s.Name)
				}
				for _, it := range s.Evidence {
					if len(it.Cites) == 0 {
						t.Errorf("signal %s item %s has no citation", s.Name, it.ID)
					}
				}
			}
			if !strings.Contains(rep.Verdict, "likely cause: "+c.match) {
				t.Errorf("verdict %q does not name %s", rep.Verdict, c.match)
			}
			for _, s := range rep.Sources {
				if s.Status == "failed" {
					t.Errorf("source %s failed: %s", s.Name, s.Error)
				}
			}
		})
	}
}

// Golden files pin the rendered text and JSON of the shipped examples.
func TestGolden(t *testing.T) {
	root := repoRoot(t)
	for _, name := range []string{"image-decode-bomb", "order-lock-leak"} {
		t.Run(name, func(t *testing.T) {
			rep := triageBundle(t, filepath.Join(root, "examples/incidents", name))
			var txt, js bytes.Buffer
			if err := render.Text(&txt, rep, render.TextOptions{HideDurations: true}); err != nil {
				t.Fatal(err)
			}
			if err := render.JSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			goldentest.Bytes(t, filepath.Join("testdata/golden", name+".txt"), txt.Bytes(), *update)
			goldentest.Bytes(t, filepath.Join("testdata/golden", name+".json"), js.Bytes(), *update)

			var decoded map[string]any
			if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"target", "termination", "matches", "facts", "sources"} {
				if _, ok := decoded[k]; !ok {
					t.Errorf("json lacks %q", k)
				}
			}
		})
	}
}

// hangingMetrics is a metrics source that never answers until cancelled.
type hangingMetrics struct{}

func (hangingMetrics) Name() string      { return "slow-metrics" }
func (hangingMetrics) Signals() []string { return []string{"jvm_heap_used", "jvm_old_gen_used"} }
func (hangingMetrics) Range(ctx context.Context, _ string, _ prometheus.Target, _, _ time.Time) ([]prometheus.Series, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A source that times out is named in the report; everything else still
// arrives, and no goroutine is left behind (TestMain checks).
func TestSourceTimeoutGivesPartialReport(t *testing.T) {
	e, b := engineFor(t, "testdata/bundles/image-decode-bomb")
	e.Metrics = []triage.Metrics{hangingMetrics{}}
	e.Timeouts.Source = 150 * time.Millisecond
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	var st *report.SourceStatus
	for i := range rep.Sources {
		if rep.Sources[i].Name == "slow-metrics" {
			st = &rep.Sources[i]
		}
	}
	if st == nil || st.Status != "failed" || !strings.Contains(st.Error, "timed out after 150ms") {
		t.Fatalf("slow source status = %+v", st)
	}
	if len(rep.Evidence.OOMErrors) == 0 || rep.Termination.Reason == "" {
		t.Error("the rest of the evidence was lost")
	}
	if len(rep.Matches) == 0 || rep.Matches[0].ID != "image-decode-bomb" {
		t.Errorf("without metrics the stack trace should still diagnose: %q", rep.Verdict)
	}
}

func TestUnknownPodIsAClearError(t *testing.T) {
	b, err := bundle.Load(filepath.Join(repoRoot(t), "testdata/bundles/healthy"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := factory.BundleEngine(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Run(context.Background(), triage.Request{Namespace: b.Manifest.Target.Namespace, Pod: "nope-123"})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

// copyDir copies a bundle so a test can damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Damaged optional files are named with their line, and the triage still
// answers with everything else.
func TestDamagedBundleStillAnswers(t *testing.T) {
	dir := copyDir(t, filepath.Join(repoRoot(t), "testdata/bundles/lock-growth"))
	hs, _ := filepath.Glob(filepath.Join(dir, "histograms", "*.txt"))
	if len(hs) < 3 {
		t.Fatalf("want ≥3 histograms, got %d", len(hs))
	}
	os.WriteFile(hs[1], []byte("num #instances #bytes class name\n   1:  notanumber  12 [B\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "metrics", "jvm_threads_live.json"), []byte("{\"status\":\"success\",\n\"data\": oops}"), 0o644)
	os.WriteFile(filepath.Join(dir, "events.yaml"), []byte("apiVersion: v1\nkind: List\nitems: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.md"), []byte("hello"), 0o644)

	rep := triageBundle(t, dir)
	status := map[string]report.SourceStatus{}
	for _, s := range rep.Sources {
		status[s.Name] = s
	}
	if s := status["bundle/histograms"]; s.Status != "partial" || !strings.Contains(s.Error, filepath.Base(hs[1])) || !strings.Contains(s.Error, "line 2") {
		t.Errorf("histograms status = %+v, want partial naming the file and line", s)
	}
	if s := status["bundle/metrics"]; s.Status != "partial" || !strings.Contains(s.Error, "metrics/jvm_threads_live.json: line 2") {
		t.Errorf("metrics status = %+v, want partial naming the file and line", s)
	}
	warnings := strings.Join(rep.Warnings, "\n")
	for _, w := range []string{"events.yaml: line 3: did not find expected node content", "notes.md: unknown file ignored"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
	if len(rep.Matches) == 0 || rep.Matches[0].ID != "lock-growth" {
		t.Errorf("the rest of the bundle should still diagnose lock-growth: %q", rep.Verdict)
	}
}
