package datadog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/ddserver"
	"github.com/oombot/oombot/internal/logscan"
	"github.com/oombot/oombot/internal/sources"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const apiKey, appKey = "dd-api-0123456789abcdef", "dd-app-fedcba9876543210"

const bundleDir = "../../../examples/incidents/image-decode-bomb"

// newPair starts a server and a source pointed at it; logs go to buf.
func newPair(t *testing.T, mod func(*Options)) (*ddserver.Server, *Source, *bytes.Buffer) {
	t.Helper()
	srv := ddserver.New(apiKey, appKey)
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	o := Options{APIKey: apiKey, AppKey: appKey, URL: srv.URL, HTTPClient: srv.Client(),
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&o)
	}
	src, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(buf.String(), apiKey) || strings.Contains(buf.String(), appKey) {
			t.Errorf("a key was logged:\n%s", buf.String())
		}
	})
	return srv, src, &buf
}

func loadBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Load(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var metricRE = regexp.MustCompile(`^(?:avg|sum|min|max):([a-z0-9_.]+)\{`)

// TestMetricsRoundTripFromBundle loads every signal of a recorded incident
// into the server under the metric name its default query reads (gc time
// in ms/s, as the tracer reports it), together with decoys for another pod
// and a sidecar, and expects each signal back exactly as recorded.
func TestMetricsRoundTripFromBundle(t *testing.T) {
	b := loadBundle(t)
	srv, src, _ := newPair(t, nil)
	target := sources.Target{Namespace: b.Manifest.Target.Namespace, Pod: b.Manifest.Target.Pod}
	want := map[string][]sources.Series{}
	defaults := DefaultMetrics()
	var start, end time.Time
	for _, sig := range bundle.Signals {
		p, ok := b.Metrics[sig]
		if !ok {
			continue // a bundle records what its sources had
		}
		data, err := b.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		series, err := ddserver.ParsePromMatrix(data)
		if err != nil {
			t.Fatal(err)
		}
		metric := metricRE.FindStringSubmatch(defaults[sig])[1]
		scale := 1.0
		if sig == "jvm_gc_pause_seconds" {
			scale = 1000
		}
		for _, s := range series {
			loaded := make([]sources.Sample, len(s.Samples))
			for i, p := range s.Samples {
				loaded[i] = sources.Sample{T: p.T, V: p.V * scale}
				if start.IsZero() || p.T.Before(start) {
					start = p.T
				}
				if p.T.After(end) {
					end = p.T
				}
			}
			srv.AddSeries(metric, ddserver.TagsFromLabels(s.Labels), loaded)
			decoy := map[string]string{"namespace": s.Labels["namespace"], "pod": "other-pod", "container": s.Labels["container"]}
			srv.AddSeries(metric, ddserver.TagsFromLabels(decoy), []sources.Sample{{T: s.Samples[0].T, V: 1e12}})
			side := map[string]string{"namespace": s.Labels["namespace"], "pod": s.Labels["pod"], "container": "istio-proxy"}
			srv.AddSeries(metric, ddserver.TagsFromLabels(side), []sources.Sample{{T: s.Samples[0].T, V: 7}})
			want[sig] = append(want[sig], s)
		}
	}
	if got := src.Signals(); !reflect.DeepEqual(got, sortedSignals()) {
		t.Fatalf("Signals() = %v", got)
	}
	if len(want) < 11 {
		t.Fatalf("only %d signals loaded from the bundle", len(want))
	}
	for sig := range want {
		got, err := src.Range(context.Background(), sig, target, start, end)
		if err != nil {
			t.Fatalf("%s: %v", sig, err)
		}
		var focus []sources.Series
		for _, g := range got {
			if g.Labels["namespace"] != target.Namespace || g.Labels["pod"] != target.Pod {
				t.Errorf("%s: series for %v", sig, g.Labels)
			}
			if g.Labels["container"] == "istio-proxy" {
				continue
			}
			focus = append(focus, g)
		}
		if len(focus) != len(want[sig]) || len(got) != len(want[sig])+1 {
			t.Fatalf("%s: %d series (%d for the focus), want %d + sidecar", sig, len(got), len(focus), len(want[sig]))
		}
		for i, w := range want[sig] {
			g := focus[i]
			if g.Signal != sig || g.Query == "" || g.Labels["container"] != w.Labels["container"] {
				t.Errorf("%s: series %+v", sig, g.Labels)
			}
			if len(g.Samples) != len(w.Samples) {
				t.Fatalf("%s: %d samples, want %d", sig, len(g.Samples), len(w.Samples))
			}
			for j := range w.Samples {
				gv, wv := g.Samples[j], w.Samples[j]
				if !gv.T.Equal(wv.T) || math.Abs(gv.V-wv.V) > 1e-12*math.Max(1, math.Abs(wv.V)) {
					t.Fatalf("%s sample %d: got %v %v, want %v %v", sig, j, gv.T, gv.V, wv.T, wv.V)
				}
			}
		}
	}
	// The query names the pod's namespace, pod and grouping.
	q := srv.Requests()[0].Query
	for _, frag := range []string{"kube_namespace%3Aedge", "pod_name%3A" + target.Pod, "by+%7Bkube_container_name%7D"} {
		if !strings.Contains(q, frag) {
			t.Errorf("query %s lacks %s", q, frag)
		}
	}
}

func sortedSignals() []string {
	s := append([]string(nil), bundle.Signals...)
	sortStrings(s)
	return s
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestMetricsNullsSkippedAndSorted(t *testing.T) {
	srv, src, _ := newPair(t, func(o *Options) {
		o.Metrics = map[string]string{"jvm_heap_used": `avg:jvm.heap_memory{kube_namespace:{{.Namespace}},pod_name:{{.Pod}}} by {kube_container_name}`}
	})
	t0 := time.Date(2026, 1, 17, 3, 0, 0, 0, time.UTC)
	srv.AddSeries("jvm.heap_memory", []string{"kube_namespace:ns", "pod_name:p", "kube_container_name:app"},
		[]sources.Sample{{T: t0.Add(2 * time.Second), V: 3}, {T: t0, V: 1}, {T: t0.Add(time.Second), V: math.NaN()}})
	// A series without the container tag lands in Datadog's n/a group:
	// its container label stays the target's (empty).
	srv.AddSeries("jvm.heap_memory", []string{"kube_namespace:ns", "pod_name:p"}, []sources.Sample{{T: t0, V: 5}})
	got, err := src.Range(context.Background(), "jvm_heap_used", sources.Target{Namespace: "ns", Pod: "p"}, t0.Add(-time.Minute), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Labels["container"] != "app" || got[0].Labels["container"] != "" {
		t.Fatalf("series %+v", got)
	}
	want := []sources.Sample{{T: t0, V: 1}, {T: t0.Add(2 * time.Second), V: 3}}
	if !reflect.DeepEqual(got[1].Samples, want) {
		t.Errorf("samples %v, want %v", got[1].Samples, want)
	}
	if _, err := src.Range(context.Background(), "nope", sources.Target{}, t0, t0); err == nil {
		t.Error("unknown signal accepted")
	}
}

// pipelineEvents turns a container log into Datadog log events the way
// the Agent and a Java log pipeline would: a line starting with a
// timestamp starts an event (the Agent's multi-line rule), the lines
// after it belong to it. With split, the pipeline keeps the logger line in
// message and moves the exception into error.stack; without, the whole
// record stays in message.
func pipelineEvents(t *testing.T, data []byte, split bool) []ddserver.LogEvent {
	t.Helper()
	tags := []string{"kube_namespace:edge", "pod_name:api-gateway-6bqn5pfqmq-br6bl", "kube_container_name:gateway", "kube_deployment:api-gateway"}
	var out []ddserver.LogEvent
	var cur *ddserver.LogEvent
	var rest []string
	flush := func() {
		if cur == nil {
			return
		}
		if len(rest) > 0 {
			if split {
				cur.Attributes = map[string]any{"error": map[string]any{"stack": strings.Join(rest, "\n"),
					"kind": strings.SplitN(rest[0], ":", 2)[0]}}
			} else {
				cur.Message += "\n" + strings.Join(rest, "\n")
			}
		}
		out = append(out, *cur)
		cur, rest = nil, nil
	}
	var last time.Time
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		ts, ok := logscan.ParseTimestamp([]byte(line))
		if ok || cur == nil {
			flush()
			if !ok {
				ts = last
			}
			last = ts
			status := "info"
			if strings.Contains(line, " ERROR ") {
				status = "error"
			}
			cur = &ddserver.LogEvent{Timestamp: ts, Message: line, Status: status, Service: "api-gateway", Tags: tags}
			continue
		}
		rest = append(rest, line)
	}
	flush()
	// The first line ("Picked up JAVA_TOOL_OPTIONS") has no timestamp:
	// Datadog stamps it with its intake time, just before the next line.
	if out[0].Timestamp.IsZero() {
		out[0].Timestamp = out[1].Timestamp.Add(-time.Millisecond)
	}
	return out
}

func scanTraces(t *testing.T, data []byte) []logscan.Trace {
	t.Helper()
	res, err := logscan.Scan(context.Background(), bytes.NewReader(data), logscan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Traces
}

func TestLogsReassembleTraceAcrossPages(t *testing.T) {
	b := loadBundle(t)
	orig, err := b.ReadFile(b.Logs["gateway.previous"])
	if err != nil {
		t.Fatal(err)
	}
	want := scanTraces(t, orig)
	if len(want) == 0 || len(want[0].Frames) < 5 {
		t.Fatalf("the original log has no OOM trace to compare: %+v", want)
	}
	for _, split := range []bool{true, false} {
		srv, src, _ := newPair(t, func(o *Options) { o.LogPageSize = 40 })
		events := pipelineEvents(t, orig, split)
		// Another pod's OOM must not leak in.
		srv.AddLogs(ddserver.LogEvent{Timestamp: events[10].Timestamp, Message: "java.lang.OutOfMemoryError: Metaspace\n\tat x.Y.z(Y.java:1)",
			Tags: []string{"kube_namespace:edge", "pod_name:api-gateway-other", "kube_container_name:gateway"}})
		srv.AddLogs(events...)
		q := sources.LogQuery{Target: sources.Target{Namespace: "edge", Pod: "api-gateway-6bqn5pfqmq-br6bl", Container: "gateway"},
			Start: events[0].Timestamp.Add(-time.Minute), End: events[len(events)-1].Timestamp.Add(time.Minute)}
		res, err := src.SearchLogs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if res.Truncated || res.Lines != len(events) || !strings.Contains(res.Query, "pod_name:api-gateway-6bqn5pfqmq-br6bl") {
			t.Errorf("split=%v: truncated %v, %d records of %d, query %q", split, res.Truncated, res.Lines, len(events), res.Query)
		}
		if pages := len(srv.Requests()); pages < 3 {
			t.Errorf("split=%v: %d requests, want several cursor pages", split, pages)
		}
		got := scanTraces(t, res.Text)
		if len(got) != len(want) {
			t.Fatalf("split=%v: %d traces, want %d\n%s", split, len(got), len(want), res.Text)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Kind != w.Kind || g.Exception != w.Exception || g.Message != w.Message ||
				!reflect.DeepEqual(g.Frames, w.Frames) || !reflect.DeepEqual(g.Chain, w.Chain) || !g.Time.Equal(w.Time) {
				t.Errorf("split=%v trace %d:\n got %s %q %v %v\nwant %s %q %v %v", split, i, g.Kind, g.Message, g.Time, g.Frames, w.Kind, w.Message, w.Time, w.Frames)
			}
		}
	}
}

func TestLogsCaps(t *testing.T) {
	t0 := time.Date(2026, 1, 17, 3, 0, 0, 0, time.UTC)
	var events []ddserver.LogEvent
	for i := range 100 {
		events = append(events, ddserver.LogEvent{Timestamp: t0.Add(time.Duration(i) * time.Second), Message: strings.Repeat("x", 50),
			Tags: []string{"kube_namespace:ns", "kube_deployment:w"}})
	}
	events[99].Message = "java.lang.OutOfMemoryError: Java heap space"
	q := sources.LogQuery{Target: sources.Target{Namespace: "ns", Workload: "w"}, Start: t0, End: t0.Add(time.Hour)}
	cases := []struct {
		name      string
		opt       func(*Options)
		maxBytes  int64
		truncated bool
		lines     int
	}{
		{"bytes", func(o *Options) { o.LogPageSize = 10 }, 1000, true, 12},
		{"smaller option wins", func(o *Options) { o.LogPageSize = 10; o.MaxLogBytes = 500 }, 1000, true, 6},
		{"pages", func(o *Options) { o.LogPageSize = 10; o.MaxLogPages = 3 }, 0, true, 30},
		{"all", func(o *Options) { o.LogPageSize = 10 }, 0, false, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, src, _ := newPair(t, c.opt)
			srv.AddLogs(events...)
			q.MaxBytes = c.maxBytes
			res, err := src.SearchLogs(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Truncated != c.truncated || res.Lines != c.lines {
				t.Errorf("truncated %v, %d lines; want %v, %d", res.Truncated, res.Lines, c.truncated, c.lines)
			}
			if max := c.maxBytes; max > 0 && int64(len(res.Text)) > max {
				t.Errorf("%d bytes over the %d cap", len(res.Text), max)
			}
			// The newest events are kept: the OOM just before the kill.
			if !strings.HasSuffix(string(res.Text), "java.lang.OutOfMemoryError: Java heap space\n") {
				t.Errorf("text does not end with the newest event:\n%s", res.Text)
			}
			if !strings.Contains(res.Query, "kube_deployment:w") {
				t.Errorf("query %q", res.Query)
			}
		})
	}
	_, src, _ := newPair(t, nil)
	if _, err := src.SearchLogs(context.Background(), sources.LogQuery{Target: sources.Target{Namespace: "ns"}}); err == nil {
		t.Error("search without pod or workload accepted")
	}
}

func TestEvents(t *testing.T) {
	srv, src, _ := newPair(t, nil)
	t0 := time.Date(2026, 1, 17, 1, 0, 0, 0, time.UTC)
	k8s := []string{"kube_namespace:edge", "kube_deployment:api-gateway"}
	srv.AddEvents(
		ddserver.Event{Time: t0, Title: "Events from the Deployment edge/api-gateway", Message: "ScalingReplicaSet: Scaled up replica set api-gateway-6bqn5pfqmq to 2", Source: "kubernetes", Tags: k8s, EvtType: "kubernetes_apiserver"},
		ddserver.Event{Time: t0.Add(time.Minute), Title: "api-gateway 2.14.0 deployed to prod", Source: "github", Tags: k8s},
		ddserver.Event{Time: t0.Add(2 * time.Minute), Title: "[Triggered] Heap above 90% on api-gateway", Source: "alert", MonitorID: 4242, Tags: k8s},
		ddserver.Event{Time: t0.Add(3 * time.Minute), Title: "Events from the Pod edge/api-gateway-6bqn5pfqmq-br6bl", Message: "BackOff: Back-off restarting failed container", Source: "kubernetes", Tags: []string{"kube_namespace:edge", "pod_name:api-gateway-6bqn5pfqmq-br6bl"}},
		ddserver.Event{Time: t0, Title: "other namespace deploy", Source: "github", Tags: []string{"kube_namespace:other", "kube_deployment:api-gateway"}},
	)
	for i := range 150 { // force a second page
		srv.AddEvents(ddserver.Event{Time: t0.Add(time.Hour + time.Duration(i)*time.Second), Title: "noise", Source: "kubernetes", Tags: k8s})
	}
	got, err := src.Events(context.Background(), sources.Target{Namespace: "edge", Pod: "api-gateway-6bqn5pfqmq-br6bl", Workload: "api-gateway"}, t0.Add(-time.Hour), t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 154 {
		t.Fatalf("%d events, want 154", len(got))
	}
	wantKinds := []string{"deploy", "deploy", "alert", "other"}
	for i, k := range wantKinds {
		if got[i].Kind != k || got[i].Source != "datadog" || got[i].ID == "" || got[i].Time.IsZero() || got[i].Title == "" {
			t.Errorf("event %d: %+v, want kind %s", i, got[i], k)
		}
	}
	if !got[0].Time.Equal(t0) || !strings.Contains(got[0].Text, "ScalingReplicaSet") {
		t.Errorf("first event %+v", got[0])
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 pages", n)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	t0 := time.Date(2026, 1, 17, 3, 0, 0, 0, time.UTC)
	target := sources.Target{Namespace: "ns", Pod: "p", Workload: "w"}
	type call func(ctx context.Context, s *Source) error
	metrics := func(ctx context.Context, s *Source) error {
		_, err := s.Range(ctx, "jvm_heap_used", target, t0, t0.Add(time.Hour))
		return err
	}
	logs := func(ctx context.Context, s *Source) error {
		_, err := s.SearchLogs(ctx, sources.LogQuery{Target: target, Start: t0, End: t0.Add(time.Hour)})
		return err
	}
	events := func(ctx context.Context, s *Source) error {
		_, err := s.Events(ctx, target, t0, t0.Add(time.Hour))
		return err
	}
	cases := []struct {
		name    string
		call    call
		path    string
		status  int
		appKey  string
		latency time.Duration
		want    []string
		code    int
	}{
		{"wrong app key", metrics, "", 0, "wrong-app-key", 0, []string{"refused the application key", "timeseries_query", "Forbidden"}, 403},
		{"wrong app key logs", logs, "", 0, "wrong-app-key", 0, []string{"logs_read_data"}, 403},
		{"rate limited", logs, ddserver.PathLogsSearch, 429, "", 0, []string{"rate limited", "resets in 17s", "Rate limit of 300"}, 429},
		{"server error", events, ddserver.PathEvents, 500, "", 0, []string{"server error", "500"}, 500},
		{"malformed", metrics, ddserver.PathQuery, 200, "", 0, []string{"malformed response"}, 200},
		{"timeout", metrics, ddserver.PathQuery, 0, "", 5 * time.Second, []string{"deadline"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, src, buf := newPair(t, func(o *Options) {
				if c.appKey != "" {
					o.AppKey = c.appKey
				}
			})
			if c.status != 0 {
				srv.FailNext(c.path, 1, c.status)
			}
			if c.latency > 0 {
				srv.Latency(c.path, c.latency)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := c.call(ctx, src)
			if err == nil {
				t.Fatal("no error")
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != c.code {
				t.Errorf("error %#v, want *APIError with status %d", err, c.code)
			}
			if c.latency > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout error %v does not wrap context.DeadlineExceeded", err)
			}
			if c.status == 429 && ae.RateLimitReset != "17" {
				t.Errorf("RateLimitReset %q", ae.RateLimitReset)
			}
			for _, k := range []string{apiKey, appKey, "wrong-app-key"} {
				if strings.Contains(err.Error(), k) || strings.Contains(buf.String(), k) {
					t.Errorf("key %q in error or log: %v", k, err)
				}
			}
			// The keys travel only in the headers Datadog expects.
			if r := srv.Requests(); len(r) == 0 || r[0].Header.Get("DD-API-KEY") != apiKey || r[0].Header.Get("Authorization") != "" {
				t.Errorf("request headers %v", r)
			}
		})
	}
}

// recorder answers every request with an empty v1 query result and keeps
// the URLs, so site selection is tested without any network.
type recorder struct{ urls []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"status":"ok","series":[]}`)), Request: req}, nil
}

func TestSiteSelection(t *testing.T) {
	cases := []struct{ site, url, wantHost string }{
		{"", "", "https://api.datadoghq.com/api/v1/query"},
		{"datadoghq.eu", "", "https://api.datadoghq.eu/api/v1/query"},
		{"us3.datadoghq.com", "", "https://api.us3.datadoghq.com/api/v1/query"},
		{"us5.datadoghq.com", "", "https://api.us5.datadoghq.com/api/v1/query"},
		{"ap1.datadoghq.com", "", "https://api.ap1.datadoghq.com/api/v1/query"},
		{"ddog-gov.com", "", "https://api.ddog-gov.com/api/v1/query"},
		{"datadoghq.eu", "http://127.0.0.1:9/dd/", "http://127.0.0.1:9/dd/api/v1/query"},
	}
	for _, c := range cases {
		rec := &recorder{}
		src, err := New(Options{APIKey: "a", AppKey: "b", Site: c.site, URL: c.url, HTTPClient: &http.Client{Transport: rec}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Range(context.Background(), "jvm_heap_used", sources.Target{Namespace: "n", Pod: "p"}, time.Unix(100, 0), time.Unix(200, 0)); err != nil {
			t.Fatal(err)
		}
		if len(rec.urls) != 1 || !strings.HasPrefix(rec.urls[0], c.wantHost+"?") {
			t.Errorf("site %q url %q: requested %v, want %s", c.site, c.url, rec.urls, c.wantHost)
		}
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		o    Options
		want []string
	}{
		{Options{AppKey: "b"}, []string{"DD_API_KEY"}},
		{Options{APIKey: "a"}, []string{"DD_APP_KEY"}},
		{Options{}, []string{"DD_API_KEY", "DD_APP_KEY"}},
		{Options{APIKey: "a", AppKey: "b", Site: "datadoghq.org"}, []string{"datadoghq.org", "datadoghq.eu", "us5.datadoghq.com", "ddog-gov.com"}},
		{Options{APIKey: "a", AppKey: "b", URL: "ftp://x"}, []string{"ftp://x"}},
		{Options{APIKey: "a", AppKey: "b", Metrics: map[string]string{"jvm_heap_used": "avg:x{pod_name:{{.Podd}}}"}}, []string{"jvm_heap_used"}},
		{Options{APIKey: "a", AppKey: "b", Metrics: map[string]string{"jvm_threads_live": "avg:x{{{.Pod}"}}, []string{"jvm_threads_live"}},
		{Options{APIKey: "a", AppKey: "b", LogQuery: "{{.Nope}}"}, []string{"log query"}},
	}
	for _, c := range cases {
		_, err := New(c.o)
		if err == nil {
			t.Errorf("%+v accepted", c.o)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	}
}

func TestEventText(t *testing.T) {
	ts := time.Date(2026, 1, 17, 3, 12, 31, 860000000, time.UTC)
	stack := "java.lang.OutOfMemoryError: Java heap space\r\n\tat a.B.c(B.java:1)\n"
	cases := []struct {
		name  string
		msg   string
		attrs map[string]any
		want  string
	}{
		{"plain", "hello", nil, "2026-01-17T03:12:31.860000000Z hello\n"},
		{"nested error.stack appended", "Servlet failed", map[string]any{"error": map[string]any{"stack": stack}},
			"2026-01-17T03:12:31.860000000Z Servlet failed\njava.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)\n"},
		{"message quoting the exception still gets the stack", "failed; nested exception is E: m", map[string]any{"error": map[string]any{"stack": "E: m\n\tat f"}},
			"2026-01-17T03:12:31.860000000Z failed; nested exception is E: m\nE: m\n\tat f\n"},
		{"flat error.stack appended", "x", map[string]any{"error.stack": "E: m\n\tat f"}, "2026-01-17T03:12:31.860000000Z x\nE: m\n\tat f\n"},
		{"stack already in message", "java.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)\n",
			map[string]any{"error": map[string]any{"stack": stack}},
			"2026-01-17T03:12:31.860000000Z java.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)\n"},
	}
	for _, c := range cases {
		a := datadogV2.NewLogAttributes()
		a.SetMessage(c.msg)
		a.SetTimestamp(ts)
		a.Attributes = c.attrs
		if got := eventText(a); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if eventText(nil) != "" {
		t.Error("nil attributes rendered")
	}
}

// TestDefaultMetricNames pins the Datadog metric behind each signal (see
// DefaultMetrics for which names the docs confirm) and the scoping.
func TestDefaultMetricNames(t *testing.T) {
	want := map[string]string{
		"container_memory_working_set": "kubernetes.memory.working_set",
		"container_memory_limit":       "kubernetes.memory.limits",
		"container_restarts":           "kubernetes.containers.restarts",
		"jvm_heap_used":                "jvm.heap_memory",
		"jvm_heap_max":                 "jvm.heap_memory_max",
		"jvm_old_gen_used":             "jvm.gc.old_gen_size",
		"jvm_nonheap_used":             "jvm.non_heap_memory",
		"jvm_metaspace_used":           "jvm.gc.metaspace_size",
		"jvm_direct_buffer_used":       "jvm.buffer_pool.direct.used",
		"jvm_classes_loaded":           "jvm.loaded_classes",
		"jvm_threads_live":             "jvm.thread_count",
		"jvm_gc_pause_seconds":         "jvm.gc.major_collection_time",
	}
	got := DefaultMetrics()
	for _, sig := range bundle.Signals {
		if _, ok := got[sig]; !ok {
			t.Errorf("no default query for canonical signal %s", sig)
		}
	}
	for sig, metric := range want {
		m := metricRE.FindStringSubmatch(got[sig])
		if m == nil || m[1] != metric {
			t.Errorf("%s reads %q, want %s", sig, got[sig], metric)
		}
		tmpl, err := parseTemplate(sig, got[sig])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			t    sources.Target
			want string
		}{
			{sources.Target{Namespace: "ns", Pod: "p"}, "{kube_namespace:ns,pod_name:p} by {kube_container_name}"},
			{sources.Target{Namespace: "ns", Pod: "p", Container: "c"}, "{kube_namespace:ns,pod_name:p,kube_container_name:c} by {kube_container_name}"},
		} {
			if q, _ := render(tmpl, c.t); !strings.Contains(q, c.want) {
				t.Errorf("%s for %+v: %q lacks %q", sig, c.t, q, c.want)
			}
		}
	}
}
