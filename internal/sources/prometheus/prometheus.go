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

// DefaultQueries are PromQL templates for cAdvisor / kube-state-metrics and
// Micrometer JVM metrics. Template fields: .Namespace, .Pod, .Container.
// They are overridable per signal.
func DefaultQueries() map[string]string {
	sel := `namespace="{{.Namespace}}",pod="{{.Pod}}"{{if .Container}},container="{{.Container}}"{{end}}`
	return map[string]string{
		"container_memory_working_set": `max by (namespace,pod,container) (container_memory_working_set_bytes{` + sel + `,image!=""})`,
		"container_memory_limit":       `max by (namespace,pod,container) (kube_pod_container_resource_limits{` + sel + `,resource="memory"})`,
		"jvm_heap_used":                `sum by (namespace,pod,container) (jvm_memory_used_bytes{` + sel + `,area="heap"})`,
		"jvm_heap_max":                 `sum by (namespace,pod,container) (jvm_memory_max_bytes{` + sel + `,area="heap"})`,
		"jvm_old_gen_used":             `sum by (namespace,pod,container) (jvm_memory_used_bytes{` + sel + `,id=~".*(Old|Tenured) Gen"})`,
		"jvm_nonheap_used":             `sum by (namespace,pod,container) (jvm_memory_used_bytes{` + sel + `,area="nonheap"})`,
		"jvm_metaspace_used":           `sum by (namespace,pod,container) (jvm_memory_used_bytes{` + sel + `,id="Metaspace"})`,
		"jvm_direct_buffer_used":       `sum by (namespace,pod,container) (jvm_buffer_memory_used_bytes{` + sel + `,id="direct"})`,
		"jvm_classes_loaded":           `sum by (namespace,pod,container) (jvm_classes_loaded_classes{` + sel + `})`,
		"jvm_threads_live":             `sum by (namespace,pod,container) (jvm_threads_live_threads{` + sel + `})`,
		"jvm_gc_pause_seconds":         `sum by (namespace,pod,container) (rate(jvm_gc_pause_seconds_sum{` + sel + `}[1m]))`,
	}
}

// SignalQueries is the query set for a bundle replay: each signal's query
// is its own name.
func SignalQueries(signals []string) map[string]string {
	m := make(map[string]string, len(signals))
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
	// Queries overrides the query templates per signal; missing signals use
	// DefaultQueries.
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
	qs := opts.Queries
	if qs == nil {
		qs = DefaultQueries()
	}
	s := &Source{name: opts.Name, api: v1.NewAPI(client), queries: map[string]*template.Template{}, maxPoints: opts.MaxPoints}
	for sig, q := range qs {
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
	if err := tmpl.Execute(&buf, t); err != nil {
		return nil, fmt.Errorf("render query for %s: %w", signal, err)
	}
	q := buf.String()
	step := end.Sub(start) / time.Duration(s.maxPoints)
	if step < time.Second {
		step = time.Second
	}
	val, _, _, err := s.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, fmt.Errorf("%s: query_range %s: %w", s.name, signal, err)
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
