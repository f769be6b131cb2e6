package datadog

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/sources"
)

// scope selects one pod's series by the tags the Datadog Agent puts on
// Kubernetes metrics and (through origin detection) on the Java tracer's
// DogStatsD runtime metrics.
const scope = `kube_namespace:{{.Namespace}},pod_name:{{.Pod}}{{if .Container}},kube_container_name:{{.Container}}{{end}}`

// DefaultMetrics maps every canonical signal to a v1 query template.
//
// Metric names, checked against Datadog's documentation:
//   - kubernetes.memory.limits, kubernetes.containers.restarts: "Kubernetes
//     Data Collected" (docs.datadoghq.com/containers/kubernetes/data_collected).
//   - kubernetes.memory.working_set: not in the excerpt of that page we
//     could read; it is the kubelet check's working-set gauge used by
//     Datadog's Kubernetes dashboards and many published monitors.
//   - jvm.heap_memory, jvm.heap_memory_max, jvm.non_heap_memory,
//     jvm.gc.old_gen_size, jvm.gc.metaspace_size, jvm.buffer_pool.direct.used,
//     jvm.loaded_classes, jvm.thread_count, jvm.gc.major_collection_time: the
//     Java runtime metrics table ("OpenTelemetry Runtime Metrics", Java tab,
//     which lists the Datadog names the Java tracer reports).
//
// jvm.gc.major_collection_time is documented as "the fraction of time spent
// in major garbage collection" and needs new_gc_metrics: true. JMXFetch
// reports it as the rate of the collector's CollectionTime, i.e.
// milliseconds per second; the unit is not stated on the page, so we
// could not verify it. We divide by 1000 to get seconds per second, the
// unit of the Prometheus signal (rate of jvm_gc_pause_seconds_sum). Only
// major collections are counted: they are what a filling old generation
// drives.
//
// Memory gauges use max: when a container restarts inside the window two
// tracer runtimes can overlap for a few seconds; the larger is the truer
// reading. Everything is grouped by kube_container_name so the engine can
// pick the focus container.
func DefaultMetrics() map[string]string {
	q := func(aggr, metric, suffix string) string {
		return aggr + ":" + metric + "{" + scope + "} by {kube_container_name}" + suffix
	}
	return map[string]string{
		"container_memory_working_set": q("max", "kubernetes.memory.working_set", ""),
		"container_memory_limit":       q("max", "kubernetes.memory.limits", ""),
		"jvm_heap_used":                q("max", "jvm.heap_memory", ""),
		"jvm_heap_max":                 q("max", "jvm.heap_memory_max", ""),
		"jvm_old_gen_used":             q("max", "jvm.gc.old_gen_size", ""),
		"jvm_nonheap_used":             q("max", "jvm.non_heap_memory", ""),
		"jvm_metaspace_used":           q("max", "jvm.gc.metaspace_size", ""),
		"jvm_direct_buffer_used":       q("max", "jvm.buffer_pool.direct.used", ""),
		"jvm_classes_loaded":           q("max", "jvm.loaded_classes", ""),
		"jvm_threads_live":             q("max", "jvm.thread_count", ""),
		"jvm_gc_pause_seconds":         q("sum", "jvm.gc.major_collection_time", " / 1000"),
		"container_restarts":           q("max", "kubernetes.containers.restarts", ""),
	}
}

// Signals lists the signals this source has queries for, sorted.
func (s *Source) Signals() []string {
	out := make([]string, 0, len(s.metrics))
	for k := range s.metrics {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labelOf maps the Agent's Kubernetes tag keys to the label keys the engine
// reads (the Prometheus ones).
var labelOf = map[string]string{"kube_namespace": "namespace", "pod_name": "pod", "kube_container_name": "container"}

// Range queries one signal over [start, end] with v1 QueryMetrics.
//
// v1 rather than v2 QueryTimeseriesData: it is one GET per signal with
// the query as written in Datadog's UI, it needs only the timeseries_query
// scope, and each returned series carries its own scope and tag_set, from
// which the labels come directly; v2's formula request and its response,
// which splits times, values and group tags across parallel arrays, add
// nothing for single-metric queries. No data is not an error.
func (s *Source) Range(ctx context.Context, signal string, t sources.Target, start, end time.Time) ([]sources.Series, error) {
	tmpl, ok := s.metrics[signal]
	if !ok {
		return nil, fmt.Errorf("%s: no query configured for signal %s", s.name, signal)
	}
	q, err := render(tmpl, t)
	if err != nil {
		return nil, fmt.Errorf("%s: render query for %s: %w", s.name, signal, err)
	}
	// v1 takes whole seconds; widen to cover the window.
	from := start.Unix()
	to := end.Unix()
	if end.After(time.Unix(to, 0)) {
		to++
	}
	resp, httpResp, err := s.metricsAPI.QueryMetrics(s.ctx(ctx), from, to, q)
	if err != nil {
		return nil, s.classify(ctx, "metrics", "query "+signal, httpResp, err)
	}
	if resp.GetStatus() == "error" {
		return nil, fmt.Errorf("%s: query %s: Datadog: %s", s.name, signal, s.scrub(resp.GetError()))
	}
	out := make([]sources.Series, 0, len(resp.Series))
	for _, ds := range resp.Series {
		ser := sources.Series{Signal: signal, Query: q, Labels: map[string]string{
			"namespace": t.Namespace, "pod": t.Pod, "container": t.Container,
		}}
		// scope holds the filter and group tags, tag_set the group tags;
		// tag_set wins.
		tags := strings.Split(ds.GetScope(), ",")
		tags = append(tags, ds.TagSet...)
		for _, tag := range tags {
			k, v, ok := strings.Cut(strings.TrimSpace(tag), ":")
			if !ok || v == "n/a" {
				continue
			}
			if l, ok := labelOf[k]; ok {
				k = l
			}
			ser.Labels[k] = v
		}
		if m := ds.GetMetric(); m != "" {
			ser.Labels["__name__"] = m
		}
		for _, p := range ds.Pointlist {
			if len(p) < 2 || p[0] == nil || p[1] == nil || math.IsNaN(*p[1]) || math.IsInf(*p[1], 0) {
				continue
			}
			ser.Samples = append(ser.Samples, sources.Sample{T: time.UnixMilli(int64(*p[0])).UTC(), V: *p[1]})
		}
		sort.Slice(ser.Samples, func(i, j int) bool { return ser.Samples[i].T.Before(ser.Samples[j].T) })
		out = append(out, ser)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Labels["container"] < out[j].Labels["container"] })
	s.log.Debug("datadog metrics", "signal", signal, "series", len(out))
	return out, nil
}
