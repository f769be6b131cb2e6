package prometheus_test

// These tests run the Source against a real Prometheus (Debian's package,
// started by internal/realserver) holding a recorded incident. The bundle's
// metrics/<signal>.json files are what a query for each canonical signal
// should return; they are turned back into the raw series exporters really
// expose (cAdvisor, kube-state-metrics, and either Micrometer or the JMX
// exporter, with extra pools and unrelated series the default queries must
// leave out), backfilled with promtool, and queried through the default
// PromQL. The answer must equal the bundle's series.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/prometheus"
)

func TestMain(m *testing.M) {
	// The API client keeps idle keep-alive connections; their goroutines
	// are the client's, not leaks. realserver's process waiters must be
	// gone, and are checked.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

const bundleDir = "../../../examples/incidents/image-decode-bomb"

// incident is the recorded bundle's answer per signal, read through the
// bundle replay.
type incident struct {
	target     sources.Target
	start, end time.Time
	want       map[string]sources.Series
	// restartAt is when the second JVM run started (the container restart).
	restartAt time.Time
}

func loadIncident(t *testing.T) incident {
	t.Helper()
	b, err := bundle.Load(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := prometheus.New(prometheus.Options{Address: "http://bundle.invalid", Transport: b.PrometheusTransport(),
		Queries: prometheus.SignalQueries(bundle.Signals)})
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest.Target
	inc := incident{target: sources.Target{Namespace: m.Namespace, Pod: m.Pod, Container: m.Container, Cluster: m.Cluster},
		want: map[string]sources.Series{}}
	for _, sig := range replay.Signals() {
		ser, err := replay.Range(context.Background(), sig, inc.target, b.Manifest.FiredAt.Add(-6*time.Hour), b.Manifest.FiredAt)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser) == 0 && sig == "container_restarts" {
			continue // not recorded: restarts() synthesises it from pod.yaml
		}
		if len(ser) != 1 || len(ser[0].Samples) < 100 {
			t.Fatalf("bundle %s: want one long series, got %d", sig, len(ser))
		}
		s := ser[0]
		inc.want[sig] = s
		if inc.start.IsZero() || s.Samples[0].T.Before(inc.start) {
			inc.start = s.Samples[0].T
		}
		if last := s.Samples[len(s.Samples)-1].T; last.After(inc.end) {
			inc.end = last
		}
	}
	if len(inc.want) != 11 {
		t.Fatalf("bundle has %d signals, want 11", len(inc.want))
	}
	// Whole seconds: the Source asks for steps of at least a second, and a
	// grid on whole seconds lands on recorded samples.
	inc.start, inc.end = inc.start.Truncate(time.Second), inc.end.Truncate(time.Second)
	for _, c := range b.Pod.Status.ContainerStatuses {
		if c.Name == m.Container && c.State.Running != nil {
			inc.restartAt = c.State.Running.StartedAt.Time
		}
	}
	if inc.restartAt.IsZero() {
		t.Fatal("pod.yaml: no running container to date the restart")
	}
	return inc
}

// restarts is kube-state-metrics' counter for the incident: 14 restarts
// before the recorded one, 15 after it.
func (inc incident) restarts() sources.Series {
	s := sources.Series{Labels: copyLabels(inc.want["container_memory_working_set"].Labels)}
	for _, p := range inc.want["container_memory_working_set"].Samples {
		v := 14.0
		if !p.T.Before(inc.restartAt) {
			v = 15
		}
		s.Samples = append(s.Samples, sources.Sample{T: p.T, V: v})
	}
	return s
}

// naming is one way a JVM's metrics reach Prometheus.
type naming struct {
	name string
	// series builds what the exporters expose for the incident.
	series func(t *testing.T, inc incident) []sources.Series
}

// raw builds a series named name with the bundle series' labels plus
// extra, and the given samples.
func raw(name string, base map[string]string, samples []sources.Sample, extra ...string) sources.Series {
	l := copyLabels(base)
	l["__name__"] = name
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return sources.Series{Labels: l, Samples: samples}
}

func copyLabels(l map[string]string) map[string]string {
	out := map[string]string{"job": "kubernetes-pods", "instance": "10.42.3.17:8080"}
	for k, v := range l {
		out[k] = v
	}
	return out
}

// minus is a - b at a's timestamps (b must have them all): the part of a
// total that is not the pool the bundle records separately.
func minus(t *testing.T, what string, a, b []sources.Sample) []sources.Sample {
	t.Helper()
	at := map[int64]float64{}
	for _, p := range b {
		at[p.T.UnixMilli()] = p.V
	}
	out := make([]sources.Sample, 0, len(a))
	for _, p := range a {
		v, ok := at[p.T.UnixMilli()]
		if !ok {
			t.Fatalf("%s: no sample at %s to subtract", what, p.T)
		}
		out = append(out, sources.Sample{T: p.T, V: p.V - v})
	}
	return out
}

func constant(samples []sources.Sample, v float64) []sources.Sample {
	out := make([]sources.Sample, len(samples))
	for i, p := range samples {
		out[i] = sources.Sample{T: p.T, V: v}
	}
	return out
}

// counter integrates a per-second rate into the cumulative seconds a
// Micrometer timer's _sum or the JMX exporter's summary exposes.
func counter(rate []sources.Sample) []sources.Sample {
	out := make([]sources.Sample, len(rate))
	total := 0.0
	for i, p := range rate {
		if i > 0 {
			total += p.V * p.T.Sub(rate[i-1].T).Seconds()
		}
		out[i] = sources.Sample{T: p.T, V: total}
	}
	return out
}

// containerSeries are cAdvisor's and kube-state-metrics' series, the same
// under either JVM naming, plus an unrelated pod that must never show up.
func containerSeries(inc incident, ksmV1 bool) []sources.Series {
	w := inc.want
	ws := w["container_memory_working_set"]
	other := copyLabels(ws.Labels)
	other["pod"] = "api-gateway-6bqn5pfqmq-zz9xk"
	out := []sources.Series{
		raw("container_memory_working_set_bytes", ws.Labels, ws.Samples, "image", "registry.example.com/edge/api-gateway:2.14.0",
			"id", "/kubepods/burstable/podd8afb987/c215b7fc43b6", "name", "c215b7fc43b6"),
		raw("container_memory_working_set_bytes", other, constant(ws.Samples, 1), "image", "registry.example.com/edge/api-gateway:2.14.0"),
		raw("kube_pod_container_status_restarts_total", inc.restarts().Labels, inc.restarts().Samples, "uid", "d8afb987"),
	}
	lim := w["container_memory_limit"]
	if ksmV1 {
		out = append(out, raw("kube_pod_container_resource_limits_memory_bytes", lim.Labels, lim.Samples, "node", "node-7"))
	} else {
		out = append(out,
			raw("kube_pod_container_resource_limits", lim.Labels, lim.Samples, "resource", "memory", "unit", "byte", "node", "node-7"),
			raw("kube_pod_container_resource_limits", lim.Labels, constant(lim.Samples, 2), "resource", "cpu", "unit", "core", "node", "node-7"))
	}
	return out
}

var namings = []naming{
	{"micrometer", func(t *testing.T, inc incident) []sources.Series {
		w := inc.want
		l := w["jvm_heap_used"].Labels
		heap, old := w["jvm_heap_used"].Samples, w["jvm_old_gen_used"].Samples
		nonheap, meta := w["jvm_nonheap_used"].Samples, w["jvm_metaspace_used"].Samples
		maxHeap := w["jvm_heap_max"].Samples
		return append(containerSeries(inc, false),
			raw("jvm_memory_used_bytes", l, old, "area", "heap", "id", "G1 Old Gen"),
			raw("jvm_memory_used_bytes", l, minus(t, "heap - old gen", heap, old), "area", "heap", "id", "G1 Eden Space"),
			raw("jvm_memory_used_bytes", l, meta, "area", "nonheap", "id", "Metaspace"),
			raw("jvm_memory_used_bytes", l, minus(t, "nonheap - metaspace", nonheap, meta), "area", "nonheap", "id", "CodeHeap 'non-profiled nmethods'"),
			// G1's young pools have no maximum: Micrometer reports -1.
			raw("jvm_memory_max_bytes", l, maxHeap, "area", "heap", "id", "G1 Old Gen"),
			raw("jvm_memory_max_bytes", l, constant(maxHeap, -1), "area", "heap", "id", "G1 Eden Space"),
			raw("jvm_memory_max_bytes", l, constant(maxHeap, -1), "area", "heap", "id", "G1 Survivor Space"),
			raw("jvm_buffer_memory_used_bytes", l, w["jvm_direct_buffer_used"].Samples, "id", "direct"),
			raw("jvm_buffer_memory_used_bytes", l, constant(maxHeap, 4096), "id", "mapped"),
			raw("jvm_classes_loaded_classes", l, w["jvm_classes_loaded"].Samples),
			raw("jvm_threads_live_threads", l, w["jvm_threads_live"].Samples),
			raw("jvm_gc_pause_seconds_sum", l, counter(w["jvm_gc_pause_seconds"].Samples),
				"action", "end of minor GC", "cause", "G1 Evacuation Pause", "gc", "G1 Young Generation"),
		)
	}},
	{"jmx-exporter", func(t *testing.T, inc incident) []sources.Series {
		w := inc.want
		l := w["jvm_heap_used"].Labels
		heap, old := w["jvm_heap_used"].Samples, w["jvm_old_gen_used"].Samples
		return append(containerSeries(inc, true),
			raw("jvm_memory_bytes_used", l, heap, "area", "heap"),
			raw("jvm_memory_bytes_used", l, w["jvm_nonheap_used"].Samples, "area", "nonheap"),
			raw("jvm_memory_bytes_max", l, w["jvm_heap_max"].Samples, "area", "heap"),
			raw("jvm_memory_pool_bytes_used", l, old, "pool", "G1 Old Gen"),
			raw("jvm_memory_pool_bytes_used", l, minus(t, "heap - old gen", heap, old), "pool", "G1 Eden Space"),
			raw("jvm_memory_pool_bytes_used", l, w["jvm_metaspace_used"].Samples, "pool", "Metaspace"),
			raw("jvm_buffer_pool_used_bytes", l, w["jvm_direct_buffer_used"].Samples, "pool", "direct"),
			raw("jvm_buffer_pool_used_bytes", l, constant(heap, 4096), "pool", "mapped"),
			raw("jvm_classes_currently_loaded", l, w["jvm_classes_loaded"].Samples),
			raw("jvm_threads_current", l, w["jvm_threads_live"].Samples),
			raw("jvm_gc_collection_seconds_sum", l, counter(w["jvm_gc_pause_seconds"].Samples), "gc", "G1 Young Generation"),
		)
	}},
}

// expected is what Prometheus answers for a range query over recorded
// samples: at each step, the latest sample at or before it (within the
// 5-minute lookback).
func expected(samples []sources.Sample, start, end time.Time, step time.Duration) []sources.Sample {
	var out []sources.Sample
	i := -1
	for ts := start; !ts.After(end); ts = ts.Add(step) {
		for i+1 < len(samples) && !samples[i+1].T.After(ts) {
			i++
		}
		if i >= 0 && ts.Sub(samples[i].T) <= 5*time.Minute {
			out = append(out, sources.Sample{T: ts, V: samples[i].V})
		}
	}
	return out
}

func sameSamples(t *testing.T, what string, got, want []sources.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d samples, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if !got[i].T.Equal(want[i].T) || !near(got[i].V, want[i].V) {
			t.Errorf("%s: sample %d = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestDefaultQueriesAgainstRealPrometheus(t *testing.T) {
	inc := loadIncident(t)
	for _, n := range namings {
		t.Run(n.name, func(t *testing.T) {
			prom := realserver.Prometheus(t, realserver.PromOptions{Series: n.series(t, inc)})
			src, err := prometheus.New(prometheus.Options{Address: prom.URL})
			if err != nil {
				t.Fatal(err)
			}
			// The window is the recording's span: with the default 1000
			// points the Source asks for its minimum step, one second.
			step := time.Second
			wantLabels := fmt.Sprint(map[string]string{"namespace": inc.target.Namespace, "pod": inc.target.Pod, "container": inc.target.Container})
			want := map[string]sources.Series{"container_restarts": inc.restarts()}
			for sig, s := range inc.want {
				want[sig] = s
			}
			for _, sig := range src.Signals() {
				got, err := src.Range(context.Background(), sig, inc.target, inc.start, inc.end)
				if err != nil {
					t.Fatalf("%s: %v", sig, err)
				}
				if len(got) != 1 {
					t.Errorf("%s: %d series, want 1: %+v", sig, len(got), got)
					continue
				}
				if l := fmt.Sprint(got[0].Labels); l != wantLabels {
					t.Errorf("%s: labels %s, want %s", sig, l, wantLabels)
				}
				if got[0].Signal != sig || !strings.Contains(got[0].Query, `pod="`+inc.target.Pod+`"`) {
					t.Errorf("%s: series says signal %q, query %q", sig, got[0].Signal, got[0].Query)
				}
				if sig == "jvm_gc_pause_seconds" {
					checkRate(t, got[0].Samples, counter(want[sig].Samples), inc.end)
					continue
				}
				sameSamples(t, sig, got[0].Samples, expected(want[sig].Samples, inc.start, inc.end, step))
			}
			if len(src.Signals()) != 12 {
				t.Errorf("signals = %v, want the 11 bundle signals and container_restarts", src.Signals())
			}
		})
	}
}

// checkRate checks rate(counter[1m]) where the minute is fully recorded:
// Prometheus extrapolates the first-to-last increase in the window to the
// window's edges, which for evenly spaced samples is the slope between
// them. Prometheus 2 includes a sample exactly a minute old, 3 does not;
// either is accepted.
func checkRate(t *testing.T, got, ctr []sources.Sample, end time.Time) {
	t.Helper()
	at := map[int64]float64{}
	for _, p := range ctr {
		at[p.T.UnixMilli()] = p.V
	}
	slope := func(from, to time.Time) (float64, bool) {
		a, ok1 := at[from.UnixMilli()]
		b, ok2 := at[to.UnixMilli()]
		return (b - a) / to.Sub(from).Seconds(), ok1 && ok2
	}
	checked := 0
	for _, p := range got {
		if p.T.Add(-time.Minute).Before(ctr[0].T) || p.T.After(end) {
			continue
		}
		closed, ok1 := slope(p.T.Add(-time.Minute), p.T)
		open, ok2 := slope(p.T.Add(-time.Minute+250*time.Millisecond), p.T)
		if !ok1 || !ok2 {
			continue
		}
		checked++
		if !near(p.V, closed) && !near(p.V, open) {
			t.Errorf("gc pause rate at %s = %g, want %g (or %g)", p.T, p.V, closed, open)
		}
	}
	if checked < 5 {
		t.Errorf("gc pause: only %d full-minute points checked in %v", checked, got)
	}
}

func TestQueryOverridesAgainstRealPrometheus(t *testing.T) {
	inc := loadIncident(t)
	series := namings[0].series(t, inc)
	heap := inc.want["jvm_heap_used"]
	// A team whose heap gauge has another name overrides that one signal.
	series = append(series, raw("app_heap_bytes", heap.Labels, constant(heap.Samples, 123)))
	prom := realserver.Prometheus(t, realserver.PromOptions{Series: series})
	src, err := prometheus.New(prometheus.Options{Address: prom.URL, Queries: map[string]string{
		"jvm_heap_used":        `max by (namespace,pod,container) (app_heap_bytes{namespace="{{.Namespace}}",pod="{{.Pod}}"})`,
		"jvm_gc_pause_seconds": "",
	}})
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Join(src.Signals(), ",")
	if strings.Contains(sigs, "jvm_gc_pause_seconds") || !strings.Contains(sigs, "jvm_threads_live") {
		t.Errorf("signals = %s: the disabled one must go, the others stay", sigs)
	}
	cases := []struct {
		signal string
		want   []sources.Sample
	}{
		{"jvm_heap_used", expected(constant(heap.Samples, 123), inc.start, inc.end, time.Second)},
		{"jvm_threads_live", expected(inc.want["jvm_threads_live"].Samples, inc.start, inc.end, time.Second)},
	}
	for _, c := range cases {
		got, err := src.Range(context.Background(), c.signal, inc.target, inc.start, inc.end)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d series", c.signal, len(got))
		}
		sameSamples(t, c.signal, got[0].Samples, c.want)
	}
	if _, err := src.Range(context.Background(), "jvm_gc_pause_seconds", inc.target, inc.start, inc.end); err == nil ||
		!strings.Contains(err.Error(), "no query configured for signal jvm_gc_pause_seconds") {
		t.Errorf("disabled signal: err = %v", err)
	}

	prom.Stop()
	_, err = src.Range(context.Background(), "jvm_threads_live", inc.target, inc.start, inc.end)
	if err == nil || !strings.Contains(err.Error(), "prometheus at "+prom.URL) || !strings.Contains(err.Error(), "query_range jvm_threads_live") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Errorf("stopped Prometheus: err = %v, want the address, the signal and the cause", err)
	}
}
