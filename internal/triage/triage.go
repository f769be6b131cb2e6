package triage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
	"github.com/oombot/oombot/internal/redact"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
)

// Cluster is what the engine reads from Kubernetes.
type Cluster interface {
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Events(ctx context.Context, pod *corev1.Pod) ([]corev1.Event, error)
	Workload(ctx context.Context, pod *corev1.Pod) (*kube.Workload, error)
	Logs(ctx context.Context, namespace, pod, container string, previous bool) (io.ReadCloser, error)
}

// Metrics reads canonical signals over a time range.
type Metrics interface {
	Name() string
	Signals() []string
	Range(ctx context.Context, signal string, t prometheus.Target, start, end time.Time) ([]prometheus.Series, error)
}

// LogSearch reads logs kept outside the cluster (Datadog Logs, Loki): after
// a restart the pod's own previous log may be gone or truncated, while the
// log store still holds the OutOfMemoryError trace.
type LogSearch interface {
	Name() string
	SearchLogs(ctx context.Context, q sources.LogQuery) (sources.LogResult, error)
}

// EventSource reads events recorded outside Kubernetes: deploys announced
// by CI, monitor transitions.
type EventSource interface {
	Name() string
	Events(ctx context.Context, t sources.Target, start, end time.Time) ([]sources.Event, error)
}

// Artifacts is material only a recorded bundle can hold: class histograms
// (taking one needs exec, which the bot is not allowed), GC log files and
// the node's kernel log.
type Artifacts interface {
	HistogramFiles() []bundle.Histogram
	GCLogFile(container string) (string, bool)
	KernelLogFile() (string, bool)
	Open(path string) (io.ReadCloser, error)
}

// Matcher evaluates playbooks over evidence.
type Matcher interface {
	Evaluate(ctx context.Context, ev *evidence.Evidence) []playbooks.Result
}

// Request is one triage to run.
type Request struct {
	Cluster   string
	Namespace string
	Pod       string
	// Container focuses the triage; empty picks the OOMKilled one.
	Container string
	// FiredAt is when the alert fired; zero means now.
	FiredAt time.Time
	// Lookback is how far before FiredAt metrics are read (default 6h).
	Lookback time.Duration
	Alert    string
	// ID names the triage in logs, so an engine's lines join the bot's.
	ID string
}

// Timeouts bound each stage. Zero values take the defaults.
type Timeouts struct {
	Pod     time.Duration // default 10s
	Source  time.Duration // per source (events, workload, each metric), default 15s
	Logs    time.Duration // per log stream, default 30s
	Match   time.Duration // all playbooks, default 5s
	Overall time.Duration // the whole triage, default 60s
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Pod, 10*time.Second)
	def(&t.Source, 15*time.Second)
	def(&t.Logs, 30*time.Second)
	def(&t.Match, 5*time.Second)
	def(&t.Overall, 60*time.Second)
	return t
}

// Engine runs triages. Cluster is required; everything else is optional
// (an absent kind of source shows as skipped).
type Engine struct {
	Cluster     Cluster
	ClusterName string // how the Kubernetes source is named in reports
	// Metrics are queried concurrently, each under its own deadline; for
	// every signal the richest answer wins (see mergeSeries).
	Metrics []Metrics
	// Logs are log stores searched for the incident window besides the
	// pod's own logs.
	Logs []LogSearch
	// Events are external event streams (deploys, monitor transitions).
	Events    []EventSource
	Artifacts Artifacts
	Playbooks Matcher
	Timeouts  Timeouts
	Logger    *slog.Logger
	// Now is the clock (tests pin it).
	Now func() time.Time
	// Warnings are prepended to every evidence (e.g. a bundle's unknown files).
	Warnings []string
	// Redactor masks secrets in the evidence and alert text before anything
	// is matched, reported or sent on. Nil means redact.New(redact.Default()):
	// redaction is always on.
	Redactor *redact.Redactor
}

// PodError is returned when the target pod itself cannot be read: without
// it there is nothing to triage.
type PodError struct{ Err error }

func (e *PodError) Error() string { return e.Err.Error() }
func (e *PodError) Unwrap() error { return e.Err }

// Run triages one pod. It fails only when the pod cannot be read; every
// other failure is recorded in the report's sources and the triage goes on.
func (e *Engine) Run(ctx context.Context, req Request) (*report.Report, error) {
	if e.Cluster == nil {
		return nil, errors.New("triage: no Kubernetes source configured")
	}
	if req.Namespace == "" || req.Pod == "" {
		return nil, errors.New("triage: namespace and pod are required")
	}
	to := e.Timeouts.withDefaults()
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if req.ID != "" {
		log = log.With("triage", req.ID)
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	if req.FiredAt.IsZero() {
		req.FiredAt = now()
	}
	if req.Lookback <= 0 {
		req.Lookback = 6 * time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, to.Overall)
	defer cancel()

	g := &gathered{statuses: newStatuses()}
	kname := e.ClusterName
	if kname == "" {
		kname = "kubernetes"
	}

	start := time.Now()
	pctx, pcancel := context.WithTimeout(ctx, to.Pod)
	pod, err := e.Cluster.Pod(pctx, req.Namespace, req.Pod)
	pcancel()
	if err != nil {
		return nil, &PodError{Err: err}
	}
	g.pod = pod
	g.statuses.set(kname+"/pod", "ok", nil, time.Since(start))

	focus := focusContainer(pod, req.Container)
	window := evidence.Window{Start: req.FiredAt.Add(-req.Lookback), End: req.FiredAt.Add(5 * time.Minute)}
	log.Debug("gathering", "namespace", req.Namespace, "pod", req.Pod, "container", focus)

	var wg sync.WaitGroup
	run := func(name string, timeout time.Duration, fn func(context.Context) (partial bool, err error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			sctx, scancel := context.WithTimeout(ctx, timeout)
			defer scancel()
			partial, err := fn(sctx)
			status := "ok"
			var skip *skipped
			switch {
			case errors.As(err, &skip):
				status = "skipped"
			case err != nil && partial:
				status = "partial"
			case err != nil:
				status = "failed"
			}
			if err != nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("timed out after %s: %w", timeout, err)
			}
			g.statuses.set(name, status, err, time.Since(t0))
			if err != nil && status != "skipped" {
				log.Warn("source failed", "source", name, "status", status, "err", err)
			}
		}()
	}

	run(kname+"/events", to.Source, func(c context.Context) (bool, error) {
		evs, err := e.Cluster.Events(c, pod)
		g.mu.Lock()
		g.events = evs
		g.mu.Unlock()
		return false, err
	})
	run(kname+"/workload", to.Source, func(c context.Context) (bool, error) {
		w, err := e.Cluster.Workload(c, pod)
		g.mu.Lock()
		g.workload = w
		g.mu.Unlock()
		return false, err
	})
	run(kname+"/logs", to.Logs, func(c context.Context) (bool, error) {
		return e.gatherLogs(c, g, pod, focus)
	})
	target := sources.Target{Namespace: pod.Namespace, Pod: pod.Name, Container: focus, Workload: kube.OwnerWorkload(pod), Cluster: req.Cluster}
	if len(e.Metrics) == 0 {
		g.statuses.set("metrics", "skipped", errors.New("no metrics source configured"), 0)
	}
	for _, m := range e.Metrics {
		run(m.Name(), to.Source, func(c context.Context) (bool, error) {
			return e.gatherMetrics(c, g, m, target, window)
		})
	}
	for _, l := range e.Logs {
		run(l.Name(), to.Logs, func(c context.Context) (bool, error) {
			return e.searchLogs(c, g, l, target, window)
		})
	}
	for _, es := range e.Events {
		run(es.Name(), to.Source, func(c context.Context) (bool, error) {
			evs, err := es.Events(c, target, window.Start, window.End)
			g.mu.Lock()
			g.extEvents = append(g.extEvents, evs...)
			g.mu.Unlock()
			return len(evs) > 0, err
		})
	}
	if e.Artifacts != nil {
		run("bundle/histograms", to.Source, func(c context.Context) (bool, error) { return e.gatherHistograms(c, g) })
		run("bundle/gc", to.Logs, func(c context.Context) (bool, error) { return e.gatherGCLogs(c, g, pod) })
		run("bundle/kernel", to.Source, func(c context.Context) (bool, error) { return e.gatherKernel(c, g) })
	}
	wg.Wait()
	g.mergeSeries(focus)

	ev := assemble(g, req, focus, window)
	ev.Warnings = append(append([]string(nil), e.Warnings...), ev.Warnings...)

	// Redact once, here, on the evidence itself: every report, Slack message
	// and LLM request is built from it, so none of them can quote a secret
	// from a log line, event, env var or JVM flag.
	red := e.Redactor
	if red == nil {
		red = redact.New(redact.Default())
	}
	redacted := red.Evidence(ev)
	alert := red.String(req.Alert)
	log.Debug("redacted secrets", "evidenceReplacements", redacted, "alertRedacted", alert != req.Alert)
	req.Alert = alert

	var results []playbooks.Result
	if e.Playbooks != nil {
		t0 := time.Now()
		mctx, mcancel := context.WithTimeout(ctx, to.Match)
		results = e.Playbooks.Evaluate(mctx, ev)
		mcancel()
		g.statuses.set("playbooks", "ok", nil, time.Since(t0))
	} else {
		g.statuses.set("playbooks", "skipped", errors.New("no playbooks loaded"), 0)
	}
	rep := report.Build(ev, results, g.statuses.list())
	rep.Alert = req.Alert
	rep.Chart = chartData(g, ev, rep.Facts, focus, window)
	log.Info("triage done", "namespace", req.Namespace, "pod", req.Pod, "verdict", rep.Verdict)
	return rep, nil
}

// focusContainer picks the container a triage is about: the requested one,
// else the one whose last termination was OOMKilled, else the one with the
// most restarts, else the first.
func focusContainer(pod *corev1.Pod, want string) string {
	if want != "" {
		return want
	}
	best, bestRestarts := "", int32(-1)
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			return cs.Name
		}
		if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return cs.Name
		}
		if cs.RestartCount > bestRestarts {
			best, bestRestarts = cs.Name, cs.RestartCount
		}
	}
	if bestRestarts > 0 {
		return best
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Name
	}
	return best
}

// statuses records each source's outcome for the report.
type statuses struct {
	mu    sync.Mutex
	order []string
	m     map[string]report.SourceStatus
}

func newStatuses() *statuses { return &statuses{m: map[string]report.SourceStatus{}} }

func (s *statuses) set(name, status string, err error, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[name]; !ok {
		s.order = append(s.order, name)
	}
	st := report.SourceStatus{Name: name, Status: status, Duration: d}
	if err != nil {
		st.Error = err.Error()
	}
	s.m[name] = st
}

func (s *statuses) list() []report.SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]report.SourceStatus, 0, len(s.order))
	for _, n := range sortedStatusNames(s.order) {
		out = append(out, s.m[n])
	}
	return out
}

// skipped is returned by a gatherer that had nothing to read (a bundle
// without GC logs, say): the source is reported as skipped, not failed.
type skipped struct{ reason string }

func (s *skipped) Error() string { return s.reason }
