package triage_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/triage"
)

const sourceDelay = 300 * time.Millisecond

// slowEngine has three external sources each answering after delay:
// Prometheus (every HTTP request of the real client waits), a log store and
// an event stream.
func slowEngine(t testing.TB, delay time.Duration, hang bool) (*triage.Engine, *bundle.Bundle) {
	e, b := engineFor(t, "examples/incidents/image-decode-bomb")
	prom, err := prometheus.New(prometheus.Options{Name: "prometheus", Address: "http://bundle.invalid",
		Transport: delayed{next: b.PrometheusTransport(), d: delay}, Queries: prometheus.SignalQueries(bundle.Signals)})
	if err != nil {
		t.Fatal(err)
	}
	e.Metrics = []triage.Metrics{prom}
	logs := logStore{name: "loki", text: []byte("no OOM here\n"), delay: delay}
	if hang {
		logs.delay = time.Hour
	}
	e.Logs = []triage.LogSearch{logs}
	e.Events = []triage.EventSource{eventStore{name: "datadog-events", evs: []sources.Event{{Kind: "deploy", Time: b.Manifest.FiredAt.Add(-time.Hour), Title: "deploy", Source: "datadog"}}, delay: delay}}
	return e, b
}

// TestSourcesRunConcurrently: three sources of 300 ms each cost about one
// source, not three. The bound (800 ms, under the 900 ms sum) leaves room
// for a loaded CI machine; BenchmarkSlowSources reports the real p95.
func TestSourcesRunConcurrently(t *testing.T) {
	e, b := slowEngine(t, sourceDelay, false)
	start := time.Now()
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took >= 3*sourceDelay-100*time.Millisecond {
		t.Errorf("triage took %s with three %s sources: they ran one after another", took, sourceDelay)
	}
	for _, name := range []string{"prometheus", "loki", "datadog-events"} {
		if status(rep, name) != "ok" {
			t.Errorf("%s: %s", name, status(rep, name))
		}
	}
}

// TestHangingSourceAnswersAtDeadline: one source never answers; the report
// comes at the deadline, with that source failed and the others used.
func TestHangingSourceAnswersAtDeadline(t *testing.T) {
	e, b := slowEngine(t, sourceDelay, true)
	e.Timeouts.Logs = time.Second
	start := time.Now()
	rep, err := e.Run(context.Background(), factory.BundleRequest(b))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took < time.Second || took > 2500*time.Millisecond {
		t.Errorf("report after %s, want at the 1s deadline", took)
	}
	if status(rep, "loki") != "failed" || status(rep, "prometheus") != "ok" {
		t.Errorf("statuses: %+v", rep.Sources)
	}
	if len(rep.Matches) == 0 || rep.Matches[0].ID != "image-decode-bomb" {
		t.Errorf("diagnosis lost: %q", rep.Verdict)
	}
}

// BenchmarkSlowSources reports triage latency with three 300 ms sources;
// compare p95 with one source's 300 ms (the floor) and their 900 ms sum.
func BenchmarkSlowSources(b *testing.B) {
	e, bd := slowEngine(b, sourceDelay, false)
	req := factory.BundleRequest(bd)
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := e.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	p95 := ds[min(len(ds)-1, len(ds)*95/100)]
	b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
	b.ReportMetric(float64(p95)/float64(sourceDelay), "p95/one-source")
	b.ReportMetric(float64(p95)/float64(3*sourceDelay), "p95/sum")
}
