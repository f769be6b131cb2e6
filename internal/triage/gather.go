package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/jvm"
	"github.com/oombot/oombot/internal/kernlog"
	"github.com/oombot/oombot/internal/logscan"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
)

// gathered is the raw material of one triage. Goroutines write disjoint
// fields under mu.
type gathered struct {
	mu       sync.Mutex
	statuses *statuses

	pod      *corev1.Pod
	events   []corev1.Event
	workload *kube.Workload
	logs     []scannedLog
	// seriesBy holds each metrics source's answer; mergeSeries picks, per
	// signal, the one used (series) and records which (seriesFrom).
	seriesBy   map[string]map[string][]prometheus.Series
	series     map[string][]prometheus.Series
	seriesFrom map[string]string
	extEvents  []sources.Event
	// histograms are parsed class histograms, oldest first.
	histograms []parsedHistogram
	gcLogs     []gcLog
	kernel     []kernlog.Kill
	warnings   []string
}

func (g *gathered) warnf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.warnings = append(g.warnings, fmt.Sprintf(format, args...))
}

// scannedLog is what one container log yielded.
type scannedLog struct {
	Container string
	Previous  bool
	Source    string // "logs/<container>[.previous].log", "datadog/logs"
	// External is true for logs read from a log store, not the pod.
	External bool
	Result   logscan.Result
	GC       []jvm.Collection
}

// scan reads a log once for stack traces and, in the same pass, for GC
// lines (when -Xlog:gc goes to stdout), whether it came from the pod or a
// log store.
func (l *scannedLog) scan(ctx context.Context, r io.Reader) error {
	gp := jvm.NewGCParser()
	res, err := logscan.Scan(ctx, r, logscan.Options{ExtraNeedles: gcNeedles, OnLine: gp.Line})
	l.Result, l.GC = res, gp.Collections()
	return err
}

type parsedHistogram struct {
	Path string
	Time time.Time
	H    jvm.Histogram
}

type gcLog struct {
	Container string
	Source    string
	Colls     []jvm.Collection
}

// gcNeedles find unified (GC(12) Pause ...) and legacy ([GC (, [Full GC)
// GC lines inside container logs, when -Xlog:gc goes to stdout.
var gcNeedles = [][]byte{[]byte("GC("), []byte("[GC ("), []byte("[Full GC")}

// LogSource names a container log the way bundles store it, so citations
// read the same in live and bundle mode.
func LogSource(container string, previous bool) string {
	if previous {
		return "logs/" + container + ".previous.log"
	}
	return "logs/" + container + ".log"
}

// gatherLogs streams the focus container's previous and current logs, and
// the previous log of any other container that was OOMKilled.
func (e *Engine) gatherLogs(ctx context.Context, g *gathered, pod *corev1.Pod, focus string) (bool, error) {
	type want struct {
		container string
		previous  bool
	}
	var wants []want
	for _, cs := range pod.Status.ContainerStatuses {
		hasPrev := cs.RestartCount > 0 || cs.LastTerminationState.Terminated != nil
		oom := cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Reason == "OOMKilled"
		switch {
		case cs.Name == focus:
			if hasPrev {
				wants = append(wants, want{cs.Name, true})
			}
			wants = append(wants, want{cs.Name, false})
		case oom:
			wants = append(wants, want{cs.Name, true})
		}
	}
	if len(wants) == 0 {
		wants = append(wants, want{focus, false})
	}
	var errs []error
	ok := 0
	for _, w := range wants {
		rc, err := e.Cluster.Logs(ctx, pod.Namespace, pod.Name, w.container, w.previous)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", LogSource(w.container, w.previous), err))
			continue
		}
		sl := scannedLog{Container: w.container, Previous: w.previous, Source: LogSource(w.container, w.previous)}
		err = sl.scan(ctx, rc)
		rc.Close()
		g.mu.Lock()
		g.logs = append(g.logs, sl)
		g.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sl.Source, err))
			continue
		}
		ok++
	}
	return ok > 0, errors.Join(errs...)
}

// maxConcurrentQueries bounds one metrics source's queries in flight: all
// canonical signals at once, so a source costs one round trip, not three.
const maxConcurrentQueries = 16

// gatherMetrics queries every signal source m knows, concurrently.
func (e *Engine) gatherMetrics(ctx context.Context, g *gathered, m Metrics, t sources.Target, w evidence.Window) (bool, error) {
	signals := m.Signals()
	var (
		mu   sync.Mutex
		errs []error
		got  = map[string][]prometheus.Series{}
		wg   sync.WaitGroup
		sem  = make(chan struct{}, maxConcurrentQueries)
	)
	for _, sig := range signals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", sig, ctx.Err()))
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			ser, err := m.Range(ctx, sig, t, w.Start, w.End)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if len(ser) > 0 {
				got[sig] = ser
			}
		}()
	}
	wg.Wait()
	g.mu.Lock()
	if g.seriesBy == nil {
		g.seriesBy = map[string]map[string][]prometheus.Series{}
	}
	g.seriesBy[m.Name()] = got
	g.mu.Unlock()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return len(errs) < len(signals), errors.Join(errs...)
}

// mergeSeries picks, for every signal, the source whose series for the
// focus container has the most samples: two sources rarely disagree on a
// value, but one often has a coarser step, a shorter retention or a gap.
// Ties go to the source listed first (sorted by name for determinism).
func (g *gathered) mergeSeries(focus string) {
	g.series, g.seriesFrom = map[string][]prometheus.Series{}, map[string]string{}
	names := make([]string, 0, len(g.seriesBy))
	for n := range g.seriesBy {
		names = append(names, n)
	}
	sort.Strings(names)
	best := map[string]int{}
	for _, n := range names {
		for sig, ss := range g.seriesBy[n] {
			c := FocusSamples(ss, focus)
			if prev, ok := best[sig]; ok && c <= prev {
				continue
			}
			best[sig] = c
			g.series[sig], g.seriesFrom[sig] = ss, n
		}
	}
}

// FocusSamples counts the samples of the series the engine would analyse
// for container focus; the richer of two answers for a signal is the one
// with more. collect uses it to record what a triage would use.
func FocusSamples(ss []prometheus.Series, focus string) int {
	return len(pickSeries(ss, focus))
}

// searchLogs reads a log store's lines for the incident window and scans
// them like a container log.
func (e *Engine) searchLogs(ctx context.Context, g *gathered, l LogSearch, t sources.Target, w evidence.Window) (bool, error) {
	res, err := l.SearchLogs(ctx, sources.LogQuery{Target: t, Start: w.Start, End: w.End, MaxBytes: maxSearchBytes})
	if len(res.Text) > 0 {
		sl := scannedLog{Container: t.Container, Source: l.Name() + "/logs", External: true}
		serr := sl.scan(ctx, bytes.NewReader(res.Text))
		g.mu.Lock()
		g.logs = append(g.logs, sl)
		g.mu.Unlock()
		if err == nil {
			err = serr
		}
	}
	if err == nil && res.Truncated {
		return true, fmt.Errorf("log search stopped at %d bytes / %d lines (truncated)", len(res.Text), res.Lines)
	}
	return len(res.Text) > 0, err
}

// maxSearchBytes caps what one log search may return.
const maxSearchBytes = 8 << 20

func (e *Engine) gatherHistograms(ctx context.Context, g *gathered) (bool, error) {
	files := e.Artifacts.HistogramFiles()
	if len(files) == 0 {
		return false, &skipped{"no class histograms recorded"}
	}
	var errs []error
	var out []parsedHistogram
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		h, err := parseArtifact(e.Artifacts, f.Path, jvm.ParseHistogram)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Path, err))
			continue
		}
		if h.Time.IsZero() {
			h.Time = f.Time
		}
		out = append(out, parsedHistogram{Path: f.Path, Time: f.Time, H: h})
	}
	g.mu.Lock()
	g.histograms = out
	g.mu.Unlock()
	return len(out) > 0, errors.Join(errs...)
}

func parseArtifact[T any](a Artifacts, path string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	rc, err := a.Open(path)
	if err != nil {
		return zero, err
	}
	defer rc.Close()
	return parse(rc)
}

func (e *Engine) gatherGCLogs(ctx context.Context, g *gathered, pod *corev1.Pod) (bool, error) {
	var errs []error
	found := 0
	for _, c := range pod.Spec.Containers {
		p, ok := e.Artifacts.GCLogFile(c.Name)
		if !ok {
			continue
		}
		found++
		colls, err := parseArtifact(e.Artifacts, p, func(r io.Reader) ([]jvm.Collection, error) { return jvm.ParseGCLog(ctx, r) })
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
		g.mu.Lock()
		g.gcLogs = append(g.gcLogs, gcLog{Container: c.Name, Source: p, Colls: colls})
		g.mu.Unlock()
	}
	if found == 0 {
		return false, &skipped{"no GC log recorded"}
	}
	return found > len(errs), errors.Join(errs...)
}

func (e *Engine) gatherKernel(ctx context.Context, g *gathered) (bool, error) {
	p, ok := e.Artifacts.KernelLogFile()
	if !ok {
		return false, &skipped{"no kernel log recorded"}
	}
	rc, err := e.Artifacts.Open(p)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p, err)
	}
	defer rc.Close()
	kills, perrs := kernlog.Parse(ctx, rc, time.Time{})
	g.mu.Lock()
	g.kernel = kills
	g.mu.Unlock()
	for _, pe := range perrs {
		g.warnf("%s: %v", p, pe)
	}
	return false, nil
}

// sortedStatusNames orders source statuses for stable reports.
func sortedStatusNames(names []string) []string {
	out := append([]string(nil), names...)
	sort.Slice(out, func(i, j int) bool {
		pi, pj := strings.Count(out[i], "/") == 0, strings.Count(out[j], "/") == 0
		if pi != pj {
			return !pi
		}
		return out[i] < out[j]
	})
	return out
}

// bundleArtifacts adapts a bundle to Artifacts.
type bundleArtifacts struct{ b *bundle.Bundle }

// BundleArtifacts exposes a bundle's histograms, GC logs and kernel log.
func BundleArtifacts(b *bundle.Bundle) Artifacts { return bundleArtifacts{b} }

func (a bundleArtifacts) HistogramFiles() []bundle.Histogram { return a.b.Histograms }
func (a bundleArtifacts) GCLogFile(c string) (string, bool) {
	p, ok := a.b.GCLogs[c]
	return p, ok
}
func (a bundleArtifacts) KernelLogFile() (string, bool)        { return a.b.KernelLog, a.b.KernelLog != "" }
func (a bundleArtifacts) Open(p string) (io.ReadCloser, error) { return a.b.Open(p) }
