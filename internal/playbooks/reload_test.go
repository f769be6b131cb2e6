package playbooks_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
	"github.com/oombot/oombot/internal/triage"
)

// A Reloader is what the triage engine takes when playbooks come from a
// directory that may change.
var _ triage.Matcher = (*playbooks.Reloader)(nil)

// reloadPlaybook is a minimal valid playbook with the given id and title.
func reloadPlaybook(id, title string) string {
	return fmt.Sprintf(`apiVersion: oombot/v1
kind: Playbook
id: %s
title: %s
summary: A playbook written by the reloader tests.
threshold: 0.5
signals:
  - name: heap-oom
    description: A heap OutOfMemoryError
    weight: 1
    expr: ev.oomErrors.filter(e, e.kind == 'heap')
`, id, title)
}

// brokenPlaybook has a misspelt field on line 6, column 1.
const brokenPlaybook = `apiVersion: oombot/v1
kind: Playbook
id: broken
title: Broken
summary: A playbook with one mistake.
treshold: 0.5
signals:
  - name: heap-oom
    description: A heap OutOfMemoryError
    weight: 1
    expr: ev.oomErrors.filter(e, e.kind == 'heap')
`

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink safe for the Run goroutine and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type reloadHarness struct {
	dir string
	reg *prometheus.Registry
	log *syncBuffer
}

func newHarness(t testing.TB) *reloadHarness {
	return &reloadHarness{dir: t.TempDir(), reg: prometheus.NewPedanticRegistry(), log: &syncBuffer{}}
}

func (h *reloadHarness) options(interval time.Duration) playbooks.ReloaderOptions {
	return playbooks.ReloaderOptions{
		Interval:   interval,
		Logger:     slog.New(slog.NewTextHandler(h.log, nil)),
		Registerer: h.reg,
	}
}

// metric reads one series from the registry: name, plus the value of its
// only label for labelled metrics.
func (h *reloadHarness) metric(t testing.TB, name, label string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not registered", name, label)
	return 0
}

type reloadState struct {
	ids                     []string
	reloadsOK, reloadsError float64
	configError             float64
}

func (h *reloadHarness) check(t testing.TB, r *playbooks.Reloader, want reloadState) {
	t.Helper()
	var got []string
	for _, pb := range r.Current().Playbooks() {
		got = append(got, pb.ID()+"="+pb.Title())
	}
	slices.Sort(got)
	if !slices.Equal(got, want.ids) {
		t.Errorf("active playbooks = %v, want %v", got, want.ids)
	}
	if v := h.metric(t, "oombot_playbooks_loaded", ""); v != float64(len(want.ids)) {
		t.Errorf("oombot_playbooks_loaded = %v, want %d", v, len(want.ids))
	}
	if v := h.metric(t, "oombot_playbooks_reloads_total", "success"); v != want.reloadsOK {
		t.Errorf("reloads_total{result=success} = %v, want %v", v, want.reloadsOK)
	}
	if v := h.metric(t, "oombot_playbooks_reloads_total", "error"); v != want.reloadsError {
		t.Errorf("reloads_total{result=error} = %v, want %v", v, want.reloadsError)
	}
	if v := h.metric(t, "oombot_playbooks_config_error", ""); v != want.configError {
		t.Errorf("oombot_playbooks_config_error = %v, want %v", v, want.configError)
	}
	if (r.LastError() != nil) != (want.configError == 1) {
		t.Errorf("LastError() = %v with config_error %v", r.LastError(), want.configError)
	}
}

func TestNewReloader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		wantErr string
		want    reloadState
		wantLog string
	}{
		{
			name:  "valid directory",
			files: map[string]string{"a.yaml": reloadPlaybook("a", "A"), "b.yml": reloadPlaybook("b", "B"), "notes.txt": "ignored"},
			want:  reloadState{ids: []string{"a=A", "b=B"}},
		},
		{
			name:    "an invalid file is skipped at start, and reported",
			files:   map[string]string{"a.yaml": reloadPlaybook("a", "A"), "broken.yaml": brokenPlaybook},
			want:    reloadState{ids: []string{"a=A"}, configError: 1},
			wantLog: `level=ERROR msg="some playbook files are invalid; serving the valid playbooks"`,
		},
		{
			name:    "only invalid files",
			files:   map[string]string{"broken.yaml": brokenPlaybook},
			wantErr: `broken.yaml:6:1: playbook: unknown field "treshold"`,
		},
		{
			name:    "no playbook files",
			files:   map[string]string{"README.md": "# nothing"},
			wantErr: "no *.yaml or *.yml playbook files",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for name, content := range tc.files {
				writeFile(t, filepath.Join(h.dir, name), content)
			}
			r, err := playbooks.NewReloader(h.dir, h.options(0))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				// A failed start registers nothing, so a retry can.
				if mfs, _ := h.reg.Gather(); len(mfs) != 0 {
					t.Errorf("a failed NewReloader left %d metric families registered", len(mfs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h.check(t, r, tc.want)
			if !strings.Contains(h.log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, h.log)
			}
			ts := h.metric(t, "oombot_playbooks_last_reload_success_timestamp_seconds", "")
			if clean := tc.want.configError == 0; clean != (ts > 0) {
				t.Errorf("last success timestamp = %v after a load with config_error %v", ts, tc.want.configError)
			}
		})
	}
}

func TestNewReloaderMissingDirectory(t *testing.T) {
	_, err := playbooks.NewReloader(filepath.Join(t.TempDir(), "absent"), playbooks.ReloaderOptions{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("err = %v, want one naming the directory", err)
	}
}

func TestReloaderMetricsExposition(t *testing.T) {
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "a.yaml"), reloadPlaybook("a", "A"))
	if _, err := playbooks.NewReloader(h.dir, h.options(0)); err != nil {
		t.Fatal(err)
	}
	const want = `
# HELP oombot_playbooks_config_error 1 while the playbook files on disk are invalid (the active set is an older or partial one), else 0.
# TYPE oombot_playbooks_config_error gauge
oombot_playbooks_config_error 0
# HELP oombot_playbooks_loaded Number of playbooks in the active set.
# TYPE oombot_playbooks_loaded gauge
oombot_playbooks_loaded 1
# HELP oombot_playbooks_reloads_total Playbook reloads after a change on disk, by result (success, or error: the previous set was kept). The initial load is not counted.
# TYPE oombot_playbooks_reloads_total counter
oombot_playbooks_reloads_total{result="error"} 0
oombot_playbooks_reloads_total{result="success"} 0
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want),
		"oombot_playbooks_config_error", "oombot_playbooks_loaded", "oombot_playbooks_reloads_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(h.reg, "oombot_playbooks_last_reload_success_timestamp_seconds"); err != nil || n != 1 {
		t.Errorf("last success timestamp: %d series, %v", n, err)
	}
	// A second reloader on the same registry would double-count: refused.
	if _, err := playbooks.NewReloader(h.dir, h.options(0)); err == nil {
		t.Error("a second reloader registered the same metrics")
	}
}

// TestReloaderFollowsEdits walks one directory through the life of a
// playbook change: a valid edit, a broken one, and the fix.
func TestReloaderFollowsEdits(t *testing.T) {
	h := newHarness(t)
	a := filepath.Join(h.dir, "a.yaml")
	writeFile(t, a, reloadPlaybook("a", "A"))
	r, err := playbooks.NewReloader(h.dir, h.options(0))
	if err != nil {
		t.Fatal(err)
	}
	poll := func(wantReloaded, wantErr bool) {
		t.Helper()
		reloaded, err := r.Poll()
		if reloaded != wantReloaded || (err != nil) != wantErr {
			t.Fatalf("Poll() = %v, %v; want reloaded %v, error %v", reloaded, err, wantReloaded, wantErr)
		}
	}

	poll(false, false)
	h.check(t, r, reloadState{ids: []string{"a=A"}})
	initialTS := h.metric(t, "oombot_playbooks_last_reload_success_timestamp_seconds", "")

	// A valid edit and a new file are picked up together.
	writeFile(t, a, reloadPlaybook("a", "A2"))
	writeFile(t, filepath.Join(h.dir, "b.yaml"), reloadPlaybook("b", "B"))
	poll(true, false)
	h.check(t, r, reloadState{ids: []string{"a=A2", "b=B"}, reloadsOK: 1})
	if ts := h.metric(t, "oombot_playbooks_last_reload_success_timestamp_seconds", ""); ts < initialTS {
		t.Errorf("success timestamp went back: %v < %v", ts, initialTS)
	}
	good := r.Current()

	// One broken file among valid edits: nothing of the change applies.
	writeFile(t, a, reloadPlaybook("a", "A3"))
	writeFile(t, filepath.Join(h.dir, "c.yaml"), brokenPlaybook)
	beforeTS := h.metric(t, "oombot_playbooks_last_reload_success_timestamp_seconds", "")
	poll(false, true)
	if r.Current() != good {
		t.Error("a failed reload replaced the active set")
	}
	h.check(t, r, reloadState{ids: []string{"a=A2", "b=B"}, reloadsOK: 1, reloadsError: 1, configError: 1})
	if err := r.LastError(); err == nil || !strings.Contains(err.Error(), `c.yaml:6:1: playbook: unknown field "treshold"`) {
		t.Errorf("LastError() = %v", err)
	}
	wantLog := `level=ERROR msg="playbook reload failed; keeping the previous playbooks" dir=` + h.dir +
		` error="` + filepath.Join(h.dir, "c.yaml") + `:6:1: playbook: unknown field \"treshold\"`
	if !strings.Contains(h.log.String(), wantLog) {
		t.Errorf("log lacks %s:\n%s", wantLog, h.log)
	}
	if ts := h.metric(t, "oombot_playbooks_last_reload_success_timestamp_seconds", ""); ts != beforeTS {
		t.Errorf("a failed reload moved the success timestamp")
	}

	// Nothing changed since: no new attempt, no new error counted.
	poll(false, false)
	h.check(t, r, reloadState{ids: []string{"a=A2", "b=B"}, reloadsOK: 1, reloadsError: 1, configError: 1})

	// The fix recovers, with the edits made meanwhile.
	writeFile(t, filepath.Join(h.dir, "c.yaml"), reloadPlaybook("c", "C"))
	poll(true, false)
	h.check(t, r, reloadState{ids: []string{"a=A3", "b=B", "c=C"}, reloadsOK: 2, reloadsError: 1})

	// Deleting every file is an error too: an empty set would match nothing.
	for _, f := range []string{"a.yaml", "b.yaml", "c.yaml"} {
		if err := os.Remove(filepath.Join(h.dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	poll(false, true)
	h.check(t, r, reloadState{ids: []string{"a=A3", "b=B", "c=C"}, reloadsOK: 2, reloadsError: 2, configError: 1})
}

// configMapVolume lays out dir the way the kubelet projects a ConfigMap:
// the data in a timestamped hidden directory, a ..data symlink to it, and
// one top-level symlink per key through ..data. Each call is one atomic
// update: the new data directory is written first, then ..data is swapped
// by renaming a fresh symlink over it, then stale keys and data go.
func configMapVolume(t testing.TB, dir, version string, files map[string]string) {
	t.Helper()
	data := "..2026_01_01_00_00_00." + version
	for name, content := range files {
		writeFile(t, filepath.Join(dir, data, name), content)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(data, tmp); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, kept := files[e.Name()]; !kept && !strings.HasPrefix(e.Name(), "..") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReloaderConfigMapVolume(t *testing.T) {
	h := newHarness(t)
	configMapVolume(t, h.dir, "1", map[string]string{"a.yaml": reloadPlaybook("a", "A"), "b.yaml": reloadPlaybook("b", "B")})
	r, err := playbooks.NewReloader(h.dir, h.options(0))
	if err != nil {
		t.Fatal(err)
	}
	// The hidden data directory holds the same files: they must not load
	// a second time (which would also fail as duplicate ids).
	h.check(t, r, reloadState{ids: []string{"a=A", "b=B"}})

	// kubectl apply of the ConfigMap: a changed, b deleted, c added.
	configMapVolume(t, h.dir, "2", map[string]string{"a.yaml": reloadPlaybook("a", "A2"), "c.yaml": reloadPlaybook("c", "C")})
	if reloaded, err := r.Poll(); !reloaded || err != nil {
		t.Fatalf("Poll() after the ..data swap = %v, %v", reloaded, err)
	}
	h.check(t, r, reloadState{ids: []string{"a=A2", "c=C"}, reloadsOK: 1})

	// A broken ConfigMap keeps the last good set.
	configMapVolume(t, h.dir, "3", map[string]string{"a.yaml": brokenPlaybook, "c.yaml": reloadPlaybook("c", "C3")})
	if _, err := r.Poll(); err == nil {
		t.Fatal("Poll() accepted a broken ConfigMap")
	}
	h.check(t, r, reloadState{ids: []string{"a=A2", "c=C"}, reloadsOK: 1, reloadsError: 1, configError: 1})
}

// TestReloaderRun drives the polling loop itself: an edit is picked up
// without calling Poll, and cancelling stops Run with nothing left behind.
func TestReloaderRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newHarness(t)
	a := filepath.Join(h.dir, "a.yaml")
	writeFile(t, a, reloadPlaybook("a", "A"))
	r, err := playbooks.NewReloader(h.dir, h.options(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	writeFile(t, a, reloadPlaybook("a", "A2"))
	deadline := time.Now().Add(10 * time.Second)
	for r.Current().Playbooks()[0].Title() != "A2" {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the edit within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v on cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestReloaderConcurrentEvaluate evaluates from several goroutines while
// the directory flips between two sets. Every evaluation must see one whole
// set, never a mix; run with -race to check the swap itself.
func TestReloaderConcurrentEvaluate(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newHarness(t)
	sets := [2]map[string]string{
		{"x.yaml": reloadPlaybook("a1", "A"), "y.yaml": reloadPlaybook("a2", "A")},
		{"x.yaml": reloadPlaybook("b1", "B"), "y.yaml": reloadPlaybook("b2", "B")},
	}
	write := func(i int) {
		for name, content := range sets[i] {
			writeFile(t, filepath.Join(h.dir, name), content)
		}
	}
	write(0)
	r, err := playbooks.NewReloader(h.dir, h.options(0))
	if err != nil {
		t.Fatal(err)
	}
	ev := &evidence.Evidence{OOMErrors: []evidence.OOMError{{ID: "oom-1", Kind: evidence.OOMHeap,
		Cites: []evidence.Citation{{Source: "logs/app.log", Ref: "line 1", Text: "java.lang.OutOfMemoryError: Java heap space"}}}}}

	// ctx only stops the loops: evaluations get their own context, so
	// stopping cannot fail one half-way.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	seen := make([]map[string]bool, 4)
	for g := range seen {
		seen[g] = map[string]bool{}
		wg.Go(func() {
			for ctx.Err() == nil {
				var got []string
				for _, res := range r.Evaluate(context.Background(), ev) {
					if !res.Matched {
						errs <- fmt.Sprintf("%s did not match: %s", res.ID, res.Why)
						return
					}
					got = append(got, res.ID)
				}
				slices.Sort(got)
				key := strings.Join(got, ",")
				if key != "a1,a2" && key != "b1,b2" {
					errs <- "an evaluation saw a mixed set: " + key
					return
				}
				seen[g][key] = true
			}
		})
	}
	for i := range 20 {
		// Both files are rewritten before the poll, so each poll sees one
		// whole set; the writes themselves race only with Evaluate, which
		// never reads the files.
		write((i + 1) % 2)
		if _, err := r.Poll(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := map[string]bool{}
	for _, s := range seen {
		for k := range s {
			total[k] = true
		}
	}
	if len(total) != 2 {
		t.Errorf("evaluations saw %v; want both sets while reloading", total)
	}
}
