package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// bundleEntries are the paths the bundle format defines. Convert replaces
// exactly these, so anything else kept beside a bundle (goldens) survives.
var bundleEntries = []string{"bundle.yaml", "pod.yaml", "events.yaml", "workload.yaml", "logs", "metrics", "histograms", "gc", "node"}

// Manifest is bundle.yaml, in the field order the format documents.
type Manifest struct {
	APIVersion  string         `yaml:"apiVersion"`
	Kind        string         `yaml:"kind"`
	Target      ManifestTarget `yaml:"target"`
	FiredAt     string         `yaml:"firedAt"`
	Alert       string         `yaml:"alert,omitempty"`
	Description string         `yaml:"description,omitempty"`
}

// ManifestTarget is bundle.yaml's target.
type ManifestTarget struct {
	Cluster   string `yaml:"cluster,omitempty"`
	Namespace string `yaml:"namespace"`
	Pod       string `yaml:"pod"`
	Container string `yaml:"container,omitempty"`
}

// Convert turns the run directory runDir of scenario s into a bundle at dst.
func Convert(runDir string, s *Scenario, dst string) error {
	facts, err := readFacts(runDir)
	if err != nil {
		return err
	}
	first := facts.Runs[0]
	sh := Shifter{Offset: s.Anchor.Sub(first.StartedAt.Truncate(time.Second))}
	id := NewIdentity(s)

	runs := make([]Incarnation, len(facts.Runs))
	for i, r := range facts.Runs {
		r.StartedAt, r.FinishedAt = sh.Time(r.StartedAt), sh.Time(r.FinishedAt)
		if !r.SamplingEndedAt.IsZero() {
			r.SamplingEndedAt = sh.Time(r.SamplingEndedAt)
		}
		probes := make([]ProbeResult, len(r.Probes))
		for j, p := range r.Probes {
			p.Time = sh.Time(p.Time)
			probes[j] = p
		}
		r.Probes = probes
		runs[i] = r
	}
	delay := time.Duration(s.AlertDelaySeconds) * time.Second
	if delay == 0 {
		delay = 30 * time.Second
	}
	var firedAt time.Time
	if runs[0].SamplingEndedAt.IsZero() {
		firedAt = runs[0].FinishedAt.Add(delay).Truncate(time.Second)
	} else {
		// Nothing died: the alert fired while the JVM was running, at the end of what was sampled.
		firedAt = runs[0].SamplingEndedAt.Add(-5 * time.Second).Truncate(time.Second)
	}
	podAge := s.PodAge.Duration
	if podAge == 0 {
		podAge = 3 * time.Second
	}
	tl := Timeline{PodCreated: runs[0].StartedAt.Add(-podAge).Truncate(time.Second), Runs: runs, Captured: firedAt}

	if err := cleanBundle(dst); err != nil {
		return err
	}
	w := &writer{root: dst}
	w.yaml("pod.yaml", BuildPod(s, id, tl))
	if ev, err := BuildEvents(s, id, tl); err != nil {
		return err
	} else {
		w.yaml("events.yaml", ev)
	}
	if wl, err := BuildWorkload(s, id, tl, runs[0].StartedAt); err != nil {
		return err
	} else {
		w.yaml("workload.yaml", wl)
	}

	var real []string
	c := s.Container
	// Logs: the killed incarnation is --previous; a running one is current.
	for _, r := range facts.Runs {
		dir := filepath.Join(runDir, r.Dir)
		if r.SamplingEndedAt.IsZero() {
			// A dead incarnation is what kubectl logs --previous shows.
			w.text("logs/"+c+".previous.log", sh.Text(w.read(filepath.Join(dir, "stdout.log"))))
			real = append(real, fmt.Sprintf("logs/%s.previous.log (the JVM's stdout+stderr, run %s)", c, r.Dir))
		} else {
			w.text("logs/"+c+".log", sh.Text(w.read(filepath.Join(dir, "stdout.snapshot.log"))))
			real = append(real, fmt.Sprintf("logs/%s.log (the running JVM's stdout+stderr up to the capture, run %s)", c, r.Dir))
		}
	}
	// GC log: the first run's (the one the bundle is about), cut at the capture when it kept running.
	gcText := sh.Text(w.read(filepath.Join(runDir, first.Dir, "gc.log")))
	if !runs[0].SamplingEndedAt.IsZero() {
		gcText = CutAfter(gcText, runs[0].SamplingEndedAt)
	}
	w.text("gc/"+c+".log", gcText)
	real = append(real, fmt.Sprintf("gc/%s.log (-Xlog:gc*, run 1)", c))

	// Metrics from every run, each resampled on the grid, in one series.
	series := map[string][]Point{}
	for i, r := range facts.Runs {
		dir := filepath.Join(runDir, r.Dir)
		var jvm []JVMSample
		if err := readJSONL(filepath.Join(dir, "jvm-metrics.jsonl"), func(v JVMSample) { jvm = append(jvm, v) }); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("run %s: %w", r.Dir, err)
		}
		var cg []CgroupSample
		if err := readJSONL(filepath.Join(dir, "cgroup-metrics.jsonl"), func(v CgroupSample) { cg = append(cg, v) }); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("run %s: %w", r.Dir, err)
		}
		var until int64
		if !runs[i].SamplingEndedAt.IsZero() {
			until = runs[i].SamplingEndedAt.UnixMilli()
		}
		for name, pts := range merge(JVMSignals(jvm), CgroupSignals(cg, facts.LimitBytes)) {
			shifted := make([]Point, len(pts))
			for k, p := range pts {
				shifted[k] = Point{sh.UnixMilli(p.T), p.V}
			}
			series[name] = append(series[name], Grid(shifted, until)...)
		}
	}
	labels := Series{Namespace: s.Namespace, Pod: id.PodName, Container: c}
	names := make([]string, 0, len(series))
	for name := range series {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := QueryRangeJSON(labels, series[name])
		if err != nil {
			return err
		}
		w.bytes("metrics/"+name+".json", b)
	}
	if len(names) > 0 {
		real = append(real, fmt.Sprintf("metrics/ (%d signals: MXBean readings and the cgroup's memory.usage_in_bytes minus total_inactive_file, sampled every 250 ms, resampled on a 250 ms query_range grid; jvm_gc_pause_seconds is the increase of the collectors' CollectionTime over a trailing 5 s window per second)", len(names)))
	}

	// Histograms keep their capture time, shifted.
	for _, name := range first.Histograms {
		shifted, err := HistogramName(name, sh)
		if err != nil {
			return err
		}
		w.text("histograms/"+shifted, w.read(filepath.Join(runDir, first.Dir, "histograms", name)))
	}
	if len(first.Histograms) > 0 {
		real = append(real, fmt.Sprintf("histograms/ (%d x jcmd GC.class_histogram; each one forces a full GC)", len(first.Histograms)))
	}
	kernel := filepath.Join(runDir, first.Dir, "kernel.log")
	if _, err := os.Stat(kernel); err == nil {
		w.text("node/kernel.log", sh.Text(w.read(kernel)))
		real = append(real, "node/kernel.log (dmesg -T: the kernel's memory-cgroup OOM report for this container's cgroup)")
	}
	if w.err != nil {
		return w.err
	}

	pod := id.PodName
	alert, err := renderAlert(s, pod, runs, firedAt, facts.LimitBytes)
	if err != nil {
		return err
	}
	m := Manifest{
		APIVersion:  "oombot/v1",
		Kind:        "Bundle",
		Target:      ManifestTarget{Cluster: s.Cluster, Namespace: s.Namespace, Pod: pod, Container: c},
		FiredAt:     firedAt.Format(time.RFC3339),
		Alert:       alert,
		Description: describe(s, facts, runs, sh, real),
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("encode bundle.yaml: %w", err)
	}
	w.bytes("bundle.yaml", buf.Bytes())
	return w.err
}

// HistogramName maps the runner's histogram file name (capture time with
// milliseconds) to the bundle's: the shifted time, to the second, RFC 3339.
func HistogramName(name string, sh Shifter) (string, error) {
	at, err := time.Parse(stampMillis, strings.TrimSuffix(name, ".txt"))
	if err != nil {
		return "", fmt.Errorf("histogram %s: file name is not a time: %w", name, err)
	}
	return sh.Time(at).Truncate(time.Second).Format(time.RFC3339) + ".txt", nil
}

func readFacts(runDir string) (*RunFacts, error) {
	b, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		return nil, fmt.Errorf("read run facts: %w", err)
	}
	var f RunFacts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(runDir, "run.json"), err)
	}
	if len(f.Runs) == 0 {
		return nil, fmt.Errorf("%s: no runs recorded", filepath.Join(runDir, "run.json"))
	}
	return &f, nil
}

func cleanBundle(dst string) error {
	for _, e := range bundleEntries {
		if err := os.RemoveAll(filepath.Join(dst, e)); err != nil {
			return fmt.Errorf("clean bundle: %w", err)
		}
	}
	return nil
}

func merge(a, b map[string][]Point) map[string][]Point {
	for k, v := range b {
		a[k] = append(a[k], v...)
	}
	return a
}

// CutAfter drops the first line stamped later than t and everything after
// it; unstamped lines (stack frames, continuation lines) stay with the line before.
func CutAfter(text string, t time.Time) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		m := isoRE.FindString(l)
		if m == "" || strings.Index(l, m) > 2 {
			continue
		}
		lt, ok := parseISO(m)
		if ok && lt.After(t) {
			return strings.Join(lines[:i], "")
		}
	}
	return text
}

func parseISO(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05.000Z07:00", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// writer collects the first error so the bundle assembly reads linearly.
type writer struct {
	root string
	err  error
}

func (w *writer) read(path string) string {
	if w.err != nil {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		w.err = fmt.Errorf("read run file: %w", err)
	}
	return string(b)
}

func (w *writer) text(rel, s string) { w.bytes(rel, []byte(s)) }

func (w *writer) bytes(rel string, b []byte) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.err = fmt.Errorf("create %s: %w", filepath.Dir(p), err)
		return
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		w.err = fmt.Errorf("write %s: %w", p, err)
	}
}

func (w *writer) yaml(rel string, obj any) {
	if w.err != nil {
		return
	}
	b, err := sigsyaml.Marshal(obj)
	if err != nil {
		w.err = fmt.Errorf("encode %s: %w", rel, err)
		return
	}
	w.bytes(rel, b)
}

// alertData is what alert templates can use.
type alertData struct {
	Cluster, Namespace, Pod, Container, App, Node, Image string
	FiredAt, StartsAt                                    string
	ExitCode                                             int
	Reason                                               string
	Limit                                                string
	RestartCount                                         int
}

func renderAlert(s *Scenario, pod string, runs []Incarnation, firedAt time.Time, limit int64) (string, error) {
	if s.Alert == "" {
		return "", nil
	}
	t, err := template.New(s.Name).Option("missingkey=error").Parse(s.Alert)
	if err != nil {
		return "", fmt.Errorf("scenario %s: alert template: %w", s.Name, err)
	}
	r := runs[0]
	d := alertData{
		Cluster: s.Cluster, Namespace: s.Namespace, Pod: pod, Container: s.Container, App: s.App, Node: s.Node, Image: s.Image(),
		FiredAt: firedAt.Format(time.RFC3339), StartsAt: firedAt.Add(-time.Duration(max(s.AlertDelaySeconds, 30)) * time.Second).Format(time.RFC3339),
		ExitCode: r.ExitCode, Reason: TerminationReason(r), Limit: s.Limit,
		RestartCount: s.PriorRestarts + len(runs) - 1,
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("scenario %s: alert template: %w", s.Name, err)
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

func describe(s *Scenario, f *RunFacts, runs []Incarnation, sh Shifter, real []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Summary))
	jv := strings.SplitN(f.JavaVersion, "\n", 3)
	jdk := jv[0]
	if len(jv) > 1 {
		jdk = strings.TrimSpace(jv[1])
	}
	fmt.Fprintf(&b, "Produced on %s by `sudo testdata/jvm/generate.sh %s` (fixturegen run, then fixturegen convert): "+
		"%s on Linux %s, inside a real cgroup v1 memory cgroup (%s) limited to %s (memory.limit_in_bytes=%d, swappiness 0).\n\n",
		f.GeneratedAt.Format("2006-01-02"), s.Name, jdk, f.Kernel, runs[0].Cgroup, s.Limit, f.LimitBytes)
	b.WriteString("Real, from the run(s):\n")
	for i, r := range runs {
		how := describeEnd(r)
		fmt.Fprintf(&b, "- run %d (%s): pid %d, %s; started %s, ended %s.\n", i+1, map[bool]string{true: "the incarnation the alert is about", false: "the restarted container"}[i == 0],
			r.PID, how, r.StartedAt.Format(stampMillis), endTime(r).Format(stampMillis))
	}
	for _, x := range real {
		fmt.Fprintf(&b, "- %s\n", x)
	}
	b.WriteString("Synthesised: the Kubernetes objects (pod.yaml, events.yaml, workload.yaml: names, uids, node, IPs, image, " +
		"container ids, deploy history, probe/restart events placed at the runs' real times), the prior restart count, and the alert text. " +
		"The JVM flags in pod.yaml are the ones the run used, with in-container paths")
	if len(s.ControlProps) > 0 {
		fmt.Fprintf(&b, " and without the fixture's own control properties (%s)", strings.Join(s.ControlProps, " "))
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, "All timestamps (logs, GC log, kernel log, metrics, histogram names) are shifted by one constant offset (%s) so that the first JVM start lands at %s.\n",
		sh.Offset, s.Anchor.Format(time.RFC3339))
	return b.String()
}

const stampMillis = "2006-01-02T15:04:05.000Z07:00"

func describeEnd(r Incarnation) string {
	switch r.StoppedBy {
	case "kernel-oom-kill":
		return fmt.Sprintf("killed by the kernel's memory-cgroup OOM killer (SIGKILL, exit %d, memory.oom_control oom_kill=%d)", r.ExitCode, r.KernelOOMKills)
	case "stop-after":
		return "still running when sampling ended (stopped with SIGTERM afterwards; that part is not in the bundle)"
	case "liveness":
		return fmt.Sprintf("stopped after failing the liveness probe %d times (SIGTERM like the kubelet; exit %d)", countFails(r.Probes), r.ExitCode)
	case "timeout":
		return fmt.Sprintf("did not finish in time and was SIGKILLed by the runner (exit %d)", r.ExitCode)
	default:
		return fmt.Sprintf("exited on its own with status %d", r.ExitCode)
	}
}

func endTime(r Incarnation) time.Time {
	if !r.SamplingEndedAt.IsZero() {
		return r.SamplingEndedAt
	}
	return r.FinishedAt
}

func countFails(ps []ProbeResult) int {
	n := 0
	for _, p := range ps {
		if !p.OK {
			n++
		}
	}
	return n
}
