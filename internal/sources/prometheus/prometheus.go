// Package prometheus reads memory trends for the canonical signals through
// the Prometheus HTTP API (range queries), using client_golang's API client.
//
// Each canonical signal maps to a PromQL template rendered with the target's
// namespace, pod and container. The same code replays a bundle: the bundle
// supplies an HTTP transport answering from metrics/<signal>.json and the
// query set SignalQueries, where each query is the signal name itself.
package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/oombot/oombot/internal/sources"
)

// DefaultQueries are PromQL templates for cAdvisor, kube-state-metrics and
// the two common ways a JVM exports its metrics. Template fields:
// .Namespace, .Pod, .Container (values are escaped for PromQL strings).
// Every query aggregates by namespace, pod and container, so series from
// several scrape targets or memory pools of one container add up to one.
//
// JVM signals accept either naming; each is "micrometer or jmx", and PromQL's
// `or` keeps the right side's series only where the left side has none for
// the same (namespace, pod, container), so a container exporting both is
// not counted twice:
//
//   - Micrometer (Spring Boot Actuator's /actuator/prometheus):
//     jvm_memory_used_bytes{area,id}, jvm_memory_max_bytes,
//     jvm_buffer_memory_used_bytes{id="direct"}, jvm_classes_loaded_classes,
//     jvm_threads_live_threads, jvm_gc_pause_seconds_sum. Prometheus'
//     client_java 1.x (JMX exporter 1.x) also names used/max heap
//     jvm_memory_used_bytes / jvm_memory_max_bytes{area}, so those match it.
//   - JMX exporter 0.x / simpleclient_hotspot: jvm_memory_bytes_used{area},
//     jvm_memory_bytes_max, jvm_memory_pool_bytes_used{pool} (client_java
//     1.x: jvm_memory_pool_used_bytes), jvm_buffer_pool_used_bytes{pool},
//     jvm_classes_currently_loaded (jvm_classes_loaded before 0.10),
//     jvm_threads_current, jvm_gc_collection_seconds_sum.
//
// Old generation pools are matched by name: "G1 Old Gen", "PS Old Gen",
// "Tenured Gen" (Serial) and "CMS Old Gen". Micrometer reports a max of -1
// for pools without one (G1 Eden and Survivor), so heap max sums only the
// pools that have one. container_memory_limit reads kube-state-metrics v2
// (kube_pod_container_resource_limits{resource="memory"}) or v1
// (kube_pod_container_resource_limits_memory_bytes). container_restarts is
// kube-state-metrics' restart counter; the engine turns its increments into
// restart times.
//
// Options.Queries overrides them per signal.
func DefaultQueries() map[string]string {
	sel := `namespace="{{.Namespace}}",pod="{{.Pod}}"{{if .Container}},container="{{.Container}}"{{end}}`
	by := func(agg, inner string) string { return agg + " by (namespace,pod,container) (" + inner + ")" }
	sum := func(inner string) string { return by("sum", inner) }
	or := func(qs ...string) string { return strings.Join(qs, " or ") }
	const oldGen = `".*(Old|Tenured) Gen"`
	return map[string]string{
		"container_memory_working_set": by("max", `container_memory_working_set_bytes{`+sel+`,image!=""}`),
		"container_memory_limit": or(
			by("max", `kube_pod_container_resource_limits{`+sel+`,resource="memory"}`),
			by("max", `kube_pod_container_resource_limits_memory_bytes{`+sel+`}`)),
		"container_restarts": by("max", `kube_pod_container_status_restarts_total{`+sel+`}`),
		"jvm_heap_used": or(
			sum(`jvm_memory_used_bytes{`+sel+`,area="heap"}`),
			sum(`jvm_memory_bytes_used{`+sel+`,area="heap"}`)),
		"jvm_heap_max": or(
			sum(`jvm_memory_max_bytes{`+sel+`,area="heap"} >= 0`),
			sum(`jvm_memory_bytes_max{`+sel+`,area="heap"} >= 0`)),
		"jvm_old_gen_used": or(
			sum(`jvm_memory_used_bytes{`+sel+`,id=~`+oldGen+`}`),
			sum(`jvm_memory_pool_bytes_used{`+sel+`,pool=~`+oldGen+`}`),
			sum(`jvm_memory_pool_used_bytes{`+sel+`,pool=~`+oldGen+`}`)),
		"jvm_nonheap_used": or(
			sum(`jvm_memory_used_bytes{`+sel+`,area="nonheap"}`),
			sum(`jvm_memory_bytes_used{`+sel+`,area="nonheap"}`)),
		"jvm_metaspace_used": or(
			sum(`jvm_memory_used_bytes{`+sel+`,id="Metaspace"}`),
			sum(`jvm_memory_pool_bytes_used{`+sel+`,pool="Metaspace"}`),
			sum(`jvm_memory_pool_used_bytes{`+sel+`,pool="Metaspace"}`)),
		"jvm_direct_buffer_used": or(
			sum(`jvm_buffer_memory_used_bytes{`+sel+`,id="direct"}`),
			sum(`jvm_buffer_pool_used_bytes{`+sel+`,pool="direct"}`)),
		"jvm_classes_loaded": or(
			sum(`jvm_classes_loaded_classes{`+sel+`}`),
			sum(`jvm_classes_currently_loaded{`+sel+`}`),
			sum(`jvm_classes_loaded{`+sel+`}`)),
		"jvm_threads_live": or(
			sum(`jvm_threads_live_threads{`+sel+`}`),
			sum(`jvm_threads_current{`+sel+`}`)),
		// Seconds of pause per second. Micrometer's timer covers every
		// collector's pauses; JMX exporter's summary is the collectors'
		// CollectionTime, which is what the JVM itself reports as GC time.
		"jvm_gc_pause_seconds": or(
			sum(`rate(jvm_gc_pause_seconds_sum{`+sel+`}[1m])`),
			sum(`rate(jvm_gc_collection_seconds_sum{`+sel+`}[1m])`)),
	}
}

// SignalQueries is the query set for a bundle replay: each signal's query
// is its own name, and every default signal not listed is switched off
// (an empty query), so the replay is asked exactly for what it holds.
func SignalQueries(signals []string) map[string]string {
	m := make(map[string]string, len(signals))
	for s := range DefaultQueries() {
		m[s] = ""
	}
	for _, s := range signals {
		m[s] = s
	}
	return m
}

// Sample, Series and Target are the shared source types (aliases keep the
// package's API as it was).
type (
	Sample = sources.Sample
	Series = sources.Series
	Target = sources.Target
)

// Source runs range queries for canonical signals.
type Source struct {
	name    string
	address string
	api     v1.API
	queries map[string]*template.Template
	// MaxPoints bounds the resolution asked for (step = window / MaxPoints).
	maxPoints int
}

// Options configure a Source.
type Options struct {
	// Name is how the source appears in reports ("prometheus", "bundle metrics").
	Name string
	// Address is the Prometheus base URL.
	Address string
	// Transport replaces the HTTP transport (a bundle replay, auth).
	Transport http.RoundTripper
	// Queries overrides the query templates per signal: signals it does not
	// name keep their DefaultQueries template, a signal mapped to "" is not
	// queried, and a signal DefaultQueries lacks is added.
	Queries   map[string]string
	MaxPoints int
}

// New builds a Source; a query template that does not parse is an error
// naming the signal.
func New(opts Options) (*Source, error) {
	if opts.Name == "" {
		opts.Name = "prometheus"
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 1000
	}
	client, err := api.NewClient(api.Config{Address: opts.Address, RoundTripper: opts.Transport})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", opts.Address, err)
	}
	qs := DefaultQueries()
	for sig, q := range opts.Queries {
		qs[sig] = q
	}
	s := &Source{name: opts.Name, address: opts.Address, api: v1.NewAPI(client), queries: map[string]*template.Template{}, maxPoints: opts.MaxPoints}
	for sig, q := range qs {
		if strings.TrimSpace(q) == "" {
			continue
		}
		t, err := template.New(sig).Option("missingkey=error").Parse(q)
		if err != nil {
			return nil, fmt.Errorf("query for signal %s: %w", sig, err)
		}
		s.queries[sig] = t
	}
	return s, nil
}

// Name is the source's name in reports.
func (s *Source) Name() string { return s.name }

// Signals lists the signals this source has queries for, sorted.
func (s *Source) Signals() []string {
	out := make([]string, 0, len(s.queries))
	for k := range s.queries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Range queries one signal over [start, end]. No data is not an error: it
// returns no series.
func (s *Source) Range(ctx context.Context, signal string, t Target, start, end time.Time) ([]Series, error) {
	tmpl, ok := s.queries[signal]
	if !ok {
		return nil, fmt.Errorf("no query configured for signal %s", signal)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, escapeTarget(t)); err != nil {
		return nil, fmt.Errorf("render query for %s: %w", signal, err)
	}
	q := buf.String()
	step := end.Sub(start) / time.Duration(s.maxPoints)
	if step < time.Second {
		step = time.Second
	}
	val, _, _, err := s.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		// The address matters most when nothing answers (a wrong URL, a
		// port-forward that died); the client's own error may not say it.
		return nil, fmt.Errorf("%s at %s: query_range %s: %w", s.name, s.address, signal, err)
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("%s: query_range %s: got %s, want matrix", s.name, signal, val.Type())
	}
	out := make([]Series, 0, len(matrix))
	for _, ss := range matrix {
		ser := Series{Signal: signal, Query: q, Labels: map[string]string{}}
		for k, v := range ss.Metric {
			ser.Labels[string(k)] = string(v)
		}
		for _, p := range ss.Values {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			ser.Samples = append(ser.Samples, Sample{T: p.Timestamp.Time(), V: v})
		}
		out = append(out, ser)
	}
	sort.Slice(out, func(i, j int) bool { return labelKey(out[i].Labels) < labelKey(out[j].Labels) })
	return out, nil
}

// escapeTarget makes the target's values safe inside PromQL double-quoted
// strings: names come from alerts, which are input.
func escapeTarget(t Target) Target {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	t.Namespace, t.Pod, t.Container = r.Replace(t.Namespace), r.Replace(t.Pod), r.Replace(t.Container)
	t.Workload, t.Cluster = r.Replace(t.Workload), r.Replace(t.Cluster)
	return t
}

func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + l[k] + ",")
	}
	return b.String()
}

// EncodeMatrix renders series as a Prometheus /api/v1/query_range response
// body (resultType matrix): the format bundles store under metrics/.
func EncodeMatrix(series []Series) ([]byte, error) {
	type result struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	var body struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []result `json:"result"`
		} `json:"data"`
	}
	body.Status = "success"
	body.Data.ResultType = "matrix"
	body.Data.Result = []result{}
	for _, s := range series {
		r := result{Metric: s.Labels, Values: make([][2]any, 0, len(s.Samples))}
		for _, p := range s.Samples {
			r.Values = append(r.Values, [2]any{float64(p.T.UnixMilli()) / 1000, strconv.FormatFloat(p.V, 'f', -1, 64)})
		}
		body.Data.Result = append(body.Data.Result, r)
	}
	return json.Marshal(body)
}
