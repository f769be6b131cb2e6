package loki

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"sigs.k8s.io/yaml"

	"github.com/oombot/oombot/internal/logscan"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/loki/lokitest"
)

// TestMain checks for leaked goroutines after every test and its cleanups
// have run (the Loki process's waiter ends only in t.Cleanup).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bundleDir is the example incident the real-Loki test replays.
const bundleDir = "../../../examples/incidents/image-decode-bomb"

// recordedLog is a container log of the bundle, as the entries a log
// shipper would have pushed.
type recordedLog struct {
	target  sources.Target
	app     string
	firedAt time.Time
	text    []byte
	entries []lokitest.Entry
}

// loadBundleLog reads the bundle's target, the pod's app label and
// logs/<container>.previous.log. Each line becomes one entry. Lines the
// JVM stamped (logscan.ParseTimestamp) carry that time; unstamped lines —
// stack frames, "Caused by:", the JVM's banner — get the preceding stamp
// plus one microsecond per line, as a container runtime would stamp lines
// written in one burst, so their order is kept. Times never go backwards.
func loadBundleLog(t *testing.T) recordedLog {
	t.Helper()
	var b struct {
		Target struct {
			Namespace, Pod, Container string
		}
		FiredAt time.Time `json:"firedAt"`
	}
	var pod struct {
		Metadata struct {
			Labels map[string]string
		}
	}
	readYAML(t, filepath.Join(bundleDir, "bundle.yaml"), &b)
	readYAML(t, filepath.Join(bundleDir, "pod.yaml"), &pod)
	path := filepath.Join(bundleDir, "logs", b.Target.Container+".previous.log")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	// The first stamped line anchors any unstamped lines before it.
	var anchor time.Time
	lead := 0
	for i, l := range lines {
		if ts, ok := logscan.ParseTimestamp([]byte(l)); ok {
			anchor, lead = ts, i
			break
		}
	}
	if anchor.IsZero() {
		t.Fatalf("%s has no timestamped line", path)
	}
	cur := anchor.Add(-time.Duration(lead+1) * time.Microsecond)
	entries := make([]lokitest.Entry, 0, len(lines))
	for _, l := range lines {
		next := cur.Add(time.Microsecond)
		if ts, ok := logscan.ParseTimestamp([]byte(l)); ok && ts.After(cur) {
			next = ts
		}
		cur = next
		entries = append(entries, lokitest.Entry{Time: cur, Line: l})
	}
	return recordedLog{
		target: sources.Target{Namespace: b.Target.Namespace, Pod: b.Target.Pod, Container: b.Target.Container},
		app:    pod.Metadata.Labels["app"], firedAt: b.FiredAt, text: text, entries: entries,
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func scan(t *testing.T, text []byte) logscan.Result {
	t.Helper()
	r, err := logscan.Scan(context.Background(), bytes.NewReader(text), logscan.Options{})
	if err != nil {
		t.Fatalf("logscan: %v", err)
	}
	return r
}

// TestRealLoki pushes recorded logs into a real Loki and reads them back
// through the source. The subtests share one Loki (starting one takes
// seconds); the last one stops it.
func TestRealLoki(t *testing.T) {
	srv := lokitest.Start(t)
	rec := loadBundleLog(t)
	labels := map[string]string{
		"namespace": rec.target.Namespace, "pod": rec.target.Pod,
		"container": rec.target.Container, "app": rec.app,
	}
	// A sibling pod of the same app in the same window: the selector must
	// keep its lines out.
	sibling := map[string]string{
		"namespace": rec.target.Namespace, "pod": rec.target.Pod + "x",
		"container": rec.target.Container, "app": rec.app,
	}
	srv.Push(t,
		lokitest.Stream{Labels: labels, Entries: rec.entries},
		lokitest.Stream{Labels: sibling, Entries: []lokitest.Entry{
			{Time: rec.entries[10].Time, Line: "java.lang.OutOfMemoryError: Metaspace"},
			{Time: rec.entries[10].Time.Add(time.Microsecond), Line: "\tat sibling.Pod.frame(Pod.java:1)"},
		}},
	)
	// The alert fires shortly after the kill; the engine's window reaches
	// back well before it.
	start, end := rec.firedAt.Add(-time.Hour), rec.firedAt

	t.Run("bundle trace read back through paging", func(t *testing.T) {
		s := newSource(t, srv.URL, Options{PageLimit: 50})
		res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target, Start: start, End: end})
		if err != nil {
			t.Fatalf("SearchLogs: %v", err)
		}
		if res.Truncated || res.Lines != len(rec.entries) {
			t.Errorf("Lines=%d Truncated=%v, want %d false", res.Lines, res.Truncated, len(rec.entries))
		}
		// Loki returns the log exactly as the container wrote it.
		if !bytes.Equal(res.Text, rec.text) {
			t.Errorf("text differs from %s.previous.log:\n%s", rec.target.Container, firstDiff(res.Text, rec.text))
		}
		got, want := scan(t, res.Text), scan(t, rec.text)
		if len(want.Traces) == 0 {
			t.Fatal("the recorded log has no trace: fixture changed?")
		}
		if len(got.Traces) != len(want.Traces) {
			t.Fatalf("%d traces, want %d", len(got.Traces), len(want.Traces))
		}
		for i := range want.Traces {
			g, w := got.Traces[i], want.Traces[i]
			if g.Kind != w.Kind || g.Exception != w.Exception || g.Message != w.Message ||
				!g.Time.Equal(w.Time) || !reflect.DeepEqual(g.Frames, w.Frames) || !reflect.DeepEqual(g.Chain, w.Chain) {
				t.Errorf("trace %d:\n got %s %q %v frames=%d %v\nwant %s %q %v frames=%d %v", i,
					g.Kind, g.Message, g.Time, len(g.Frames), g.Chain, w.Kind, w.Message, w.Time, len(w.Frames), w.Chain)
			}
		}
		if w := want.Traces[0]; w.Message != "java.lang.OutOfMemoryError: Java heap space" || len(w.Frames) < 10 {
			t.Errorf("recorded trace is %q with %d frames; fixture changed?", w.Message, len(w.Frames))
		}
	})

	t.Run("streams split by level are merged in time order", func(t *testing.T) {
		// One pod's lines in three streams: a level stream label on two,
		// and structured metadata (detected_level) that makes Loki answer
		// the third as several streams again. The trace alternates
		// between them line by line.
		base := map[string]string{"namespace": "split", "pod": "p-1", "container": "app", "app": "p"}
		withLevel := func(level string) map[string]string {
			m := map[string]string{"level": level}
			for k, v := range base {
				m[k] = v
			}
			return m
		}
		trace := []string{
			"2026-02-03T10:00:00.000Z ERROR [worker-1] c.e.Job - job failed",
			"java.lang.OutOfMemoryError: Java heap space",
			"\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
			"\tat java.base/java.io.ByteArrayOutputStream.ensureCapacity(ByteArrayOutputStream.java:100)",
			"\tat com.example.Job.read(Job.java:42)",
			"\tat com.example.Job.run(Job.java:17)",
			"2026-02-03T10:00:00.010Z INFO [main] c.e.App - still alive",
		}
		t0 := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
		streams := []lokitest.Stream{{Labels: withLevel("error")}, {Labels: withLevel("info")}, {Labels: base}}
		for i, l := range trace {
			e := lokitest.Entry{Time: t0.Add(time.Duration(i) * time.Millisecond), Line: l}
			if i%3 == 2 {
				e.Metadata = map[string]string{"detected_level": []string{"warn", "debug"}[i%2]}
			}
			streams[i%3].Entries = append(streams[i%3].Entries, e)
		}
		srv.Push(t, streams...)
		// One page holding every stream, and pages of two.
		for _, limit := range []int{100, 2} {
			s := newSource(t, srv.URL, Options{PageLimit: limit})
			res, err := s.SearchLogs(context.Background(), sources.LogQuery{
				Target: sources.Target{Namespace: "split", Pod: "p-1"}, Start: t0, End: t0.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(trace, "\n") + "\n"; string(res.Text) != want {
				t.Errorf("page limit %d: merged text:\n%s\nwant:\n%s", limit, res.Text, want)
			}
			tr := scan(t, res.Text).Traces
			if len(tr) != 1 || len(tr[0].Frames) != 4 || tr[0].Frames[2] != "com.example.Job.read(Job.java:42)" {
				t.Errorf("page limit %d: traces = %+v, want one with the 4 frames", limit, tr)
			}
		}
	})

	t.Run("byte cap truncates", func(t *testing.T) {
		s := newSource(t, srv.URL, Options{PageLimit: 20})
		res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target, Start: start, End: end, MaxBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Truncated || len(res.Text) > 4096 || len(res.Text) < 3000 || !bytes.HasSuffix(rec.text, res.Text) {
			t.Errorf("Truncated=%v len=%d suffix=%v; want a truncated suffix (the newest lines) of at most 4096 bytes",
				res.Truncated, len(res.Text), bytes.HasSuffix(rec.text, res.Text))
		}
	})

	t.Run("Loki's own 400 message", func(t *testing.T) {
		s := newSource(t, srv.URL, Options{Selector: `{namespace="{{.Namespace}}"`})
		_, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target, Start: start, End: end})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Message, "parse error") {
			t.Errorf("err = %v, want a 400 with Loki's parse error", err)
		}
	})

	t.Run("window bounds are inclusive", func(t *testing.T) {
		s := newSource(t, srv.URL, Options{PageLimit: 2})
		res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target,
			Start: rec.entries[5].Time, End: rec.entries[9].Time})
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for _, e := range rec.entries[5:10] {
			want.WriteString(e.Line + "\n")
		}
		if string(res.Text) != want.String() {
			t.Errorf("text:\n%s\nwant entries 5..9:\n%s", res.Text, want.String())
		}
	})

	t.Run("window before the logs is empty", func(t *testing.T) {
		s := newSource(t, srv.URL, Options{})
		res, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target, Start: start.Add(-time.Hour), End: start})
		if err != nil || res.Lines != 0 || len(res.Text) != 0 {
			t.Errorf("res=%+v err=%v, want nothing", res, err)
		}
	})

	t.Run("stopped Loki", func(t *testing.T) {
		srv.Stop()
		s := newSource(t, srv.URL, Options{})
		_, err := s.SearchLogs(context.Background(), sources.LogQuery{Target: rec.target, Start: start, End: end})
		if err == nil || !strings.Contains(err.Error(), "cannot reach "+srv.URL) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("err = %v, want cannot reach %s ... connection refused", err, srv.URL)
		}
	})
}

// firstDiff shows where two texts part.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got " + gl + "\nwant " + wl
		}
	}
	return "(same lines)"
}
