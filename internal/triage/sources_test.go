package triage_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

// engineFor builds the bundle engine with the shipped playbooks.
func engineFor(t testing.TB, dir string) (*triage.Engine, *bundle.Bundle) {
	t.Helper()
	return bundletest.Engine(t, filepath.Join(repoRoot(t), dir))
}

// logStore serves a recorded log file as a log store's search result.
type logStore struct {
	name  string
	text  []byte
	delay time.Duration
}

func (l logStore) Name() string { return l.name }
func (l logStore) SearchLogs(ctx context.Context, q sources.LogQuery) (sources.LogResult, error) {
	if err := sleep(ctx, l.delay); err != nil {
		return sources.LogResult{}, err
	}
	return sources.LogResult{Text: l.text, Lines: strings.Count(string(l.text), "\n")}, nil
}

type eventStore struct {
	name  string
	evs   []sources.Event
	delay time.Duration
}

func (s eventStore) Name() string { return s.name }
func (s eventStore) Events(ctx context.Context, _ sources.Target, _, _ time.Time) ([]sources.Event, error) {
	return s.evs, sleep(ctx, s.delay)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noPodLogs is the cluster after the pod's logs are gone (node replaced,
// log rotated): the log store is the only copy of the trace.
type noPodLogs struct{ triage.Cluster }

func (noPodLogs) Logs(context.Context, string, string, string, bool) (io.ReadCloser, error) {
	return nil, os.ErrNotExist
}

func previousLog(t *testing.T, b *bundle.Bundle) []byte {
	t.Helper()
	for name, p := range b.Logs {
		if strings.HasSuffix(name, ".previous") || strings.HasSuffix(p, ".previous.log") {
			data, err := b.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("no previous log in bundle (%v)", b.Logs)
	return nil
}

// TestLogStoreFindsTraceWhenPodLogsAreGone: with the pod's logs gone, the
// OutOfMemoryError trace comes from the log store, cited as such, and still
// diagnoses; with both, the store's copy is not counted twice.
func TestLogStoreFindsTraceWhenPodLogsAreGone(t *testing.T) {
	e, b := engineFor(t, "examples/incidents/image-decode-bomb")
	store := logStore{name: "loki", text: previousLog(t, b)}
	e.Logs = []triage.LogSearch{store}
	both, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}

	e2, _ := engineFor(t, "examples/incidents/image-decode-bomb")
	e2.Cluster = noPodLogs{e2.Cluster}
	e2.Logs = []triage.LogSearch{store}
	storeOnly, err := e2.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(storeOnly.Evidence.OOMErrors) == 0 || storeOnly.Evidence.OOMErrors[0].Source != "loki/logs" {
		t.Fatalf("trace not found in the log store: %+v", storeOnly.Evidence.OOMErrors)
	}
	if len(storeOnly.Matches) == 0 || storeOnly.Matches[0].ID != "image-decode-bomb" {
		t.Errorf("diagnosis from the log store: %q", storeOnly.Verdict)
	}
	if status(storeOnly, "bundle/kubernetes/logs") != "failed" || status(storeOnly, "loki") != "ok" {
		t.Errorf("statuses: %+v", storeOnly.Sources)
	}
	if len(both.Evidence.OOMErrors) != len(storeOnly.Evidence.OOMErrors) {
		t.Fatalf("distinct traces: pod+store %d, store only %d", len(both.Evidence.OOMErrors), len(storeOnly.Evidence.OOMErrors))
	}
	for i := range both.Evidence.OOMErrors {
		if b, s := both.Evidence.OOMErrors[i], storeOnly.Evidence.OOMErrors[i]; b.Count != s.Count || !strings.HasPrefix(b.Source, "logs/") {
			t.Errorf("trace %d counted %d times with the store's copy (source %s), %d from the store alone", i, b.Count, b.Source, s.Count)
		}
	}
}

func status(r *report.Report, name string) string {
	for _, s := range r.Sources {
		if s.Name == name {
			return s.Status
		}
	}
	return "absent"
}

// thinMetrics answers one signal with every other sample of the bundle's
// series: a coarser source that must lose the merge.
type thinMetrics struct {
	triage.Metrics
	name string
	keep int
}

func (m thinMetrics) Name() string { return m.name }
func (m thinMetrics) Range(ctx context.Context, sig string, t prometheus.Target, start, end time.Time) ([]prometheus.Series, error) {
	ss, err := m.Metrics.Range(ctx, sig, t, start, end)
	for i := range ss {
		var kept []prometheus.Sample
		for j, s := range ss[i].Samples {
			if j%m.keep == 0 {
				kept = append(kept, s)
			}
		}
		ss[i].Samples = kept
	}
	return ss, err
}

// TestRicherSourceWins: two metrics sources answer every signal; the one
// with more samples is analysed and named.
func TestRicherSourceWins(t *testing.T) {
	e, b := engineFor(t, "examples/incidents/image-decode-bomb")
	full := e.Metrics[0]
	e.Metrics = []triage.Metrics{thinMetrics{Metrics: full, name: "a-coarse", keep: 3}, full}
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Evidence.Trends) == 0 {
		t.Fatal("no trends")
	}
	for _, tr := range rep.Evidence.Trends {
		if tr.From != "bundle/metrics" {
			t.Errorf("%s analysed from %q, want the richer bundle/metrics", tr.Signal, tr.From)
		}
	}
	if status(rep, "a-coarse") != "ok" || status(rep, "bundle/metrics") != "ok" {
		t.Errorf("both sources should be reported: %+v", rep.Sources)
	}
}

// TestExternalDeployEventAndRestartCounter: a CI deploy event becomes a
// deploy the report can cite; a restart counter adds restarts whose events
// expired.
func TestExternalDeployEventAndRestartCounter(t *testing.T) {
	e, b := engineFor(t, "examples/incidents/image-decode-bomb")
	fired := b.Manifest.FiredAt
	deployAt := fired.Add(-2 * time.Hour)
	e.Events = []triage.EventSource{eventStore{name: "datadog", evs: []sources.Event{
		{Time: deployAt, Kind: "deploy", Title: "Deployed api-gateway 2.14.0 (config only)", Source: "datadog", ID: "7712"},
		{Time: fired.Add(-time.Hour), Kind: "alert", Title: "Monitor triggered", Source: "datadog", ID: "7713"},
	}}}
	restartsAt := []time.Time{fired.Add(-5 * time.Hour), fired.Add(-3 * time.Hour)}
	e.Metrics = append(e.Metrics, counter{at: restartsAt})
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range rep.Evidence.Deploys {
		if d.ID == "event/datadog/7712" {
			found = true
			if d.Kind != "event" || !d.Time.Equal(deployAt) || d.HoursBeforeKill <= 0 || len(d.Cites) == 0 || d.Cites[0].Source != "datadog/events" {
				t.Errorf("deploy from event: %+v", d)
			}
		}
		if strings.Contains(d.ID, "7713") {
			t.Error("a monitor transition is not a deploy")
		}
	}
	if !found {
		t.Fatalf("deploy event missing: %+v", rep.Evidence.Deploys)
	}
	times := rep.Evidence.Restarts.Times
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, want := range restartsAt {
		ok := false
		for _, got := range times {
			// Dated by the first sample that shows it: one step late at most.
			if d := got.Sub(want); d >= 0 && d <= time.Minute {
				ok = true
			}
		}
		if !ok {
			t.Errorf("restart at %s (from the counter) missing: %v", want, times)
		}
	}
}

// counter is a kube-state-metrics restart counter rising at the given times.
type counter struct{ at []time.Time }

func (counter) Name() string      { return "ksm" }
func (counter) Signals() []string { return []string{"container_restarts"} }
func (c counter) Range(_ context.Context, _ string, t prometheus.Target, start, end time.Time) ([]prometheus.Series, error) {
	s := prometheus.Series{Signal: "container_restarts", Labels: map[string]string{"container": t.Container, "pod": t.Pod}}
	v := 0.0
	for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
		for _, a := range c.at {
			if !a.Before(ts) && a.Before(ts.Add(time.Minute)) {
				v++
			}
		}
		s.Samples = append(s.Samples, prometheus.Sample{T: ts.Add(time.Minute), V: v})
	}
	return []prometheus.Series{s}, nil
}

// delayed makes every request of the bundle's Prometheus replay take d.
type delayed struct {
	next http.RoundTripper
	d    time.Duration
}

func (t delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := sleep(r.Context(), t.d); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(r)
}
