package triage

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/jvm"
	"github.com/oombot/oombot/internal/kernlog"
	"github.com/oombot/oombot/internal/logscan"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/sources/prometheus"
	"github.com/oombot/oombot/internal/trend"
)

// maxCiteText bounds a citation's text so reports stay small.
const maxCiteText = 300

func clip(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) <= maxCiteText {
		return s
	}
	return s[:maxCiteText] + "…"
}

// assemble turns raw material into evidence. It never fails: what is
// missing is simply absent.
func assemble(g *gathered, req Request, focus string, w evidence.Window) *evidence.Evidence {
	pod := g.pod
	ev := &evidence.Evidence{
		Target: evidence.Target{
			Cluster:   req.Cluster,
			Namespace: pod.Namespace,
			Pod:       pod.Name,
			Container: focus,
		},
		FiredAt:  req.FiredAt,
		Window:   w,
		Warnings: append([]string(nil), g.warnings...),
	}
	if g.workload != nil {
		ev.Target.WorkloadKind, ev.Target.WorkloadName = g.workload.Kind, g.workload.Name
	}
	for _, l := range g.logs {
		if l.Result.Dropped > 0 {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("%s: %d further stack traces not kept", l.Source, l.Result.Dropped))
		}
		if l.Result.TruncatedLines > 0 {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("%s: %d over-long lines truncated", l.Source, l.Result.TruncatedLines))
		}
	}

	ev.OOMErrors, ev.Leaks = foldTraces(g.logs)
	ev.Events = events(g.events)
	ev.KernelKills = kernelKills(g.kernel)
	ev.Containers = containers(pod, seriesPeaks(g, focus))
	ev.Restarts = restarts(pod, ev, req.FiredAt, pickSeries(g.series["container_restarts"], focus), g.seriesFrom["container_restarts"])
	ev.Kill = classifyKill(ev, focus)
	ev.Deploys = deploys(g.workload, g.extEvents, ev)
	ev.Trends = trends(g, ev, focus)
	ev.GC = gcSummaries(g, focus)
	ev.ClassGrowth = classGrowth(beforeFailure(g.histograms, ev))
	ev.Normalize()
	return ev
}

// --- containers, JVM flags and budget ---

type peaks struct {
	threads, metaspace, direct float64
	directSeen                 bool
}

func seriesPeaks(g *gathered, focus string) peaks {
	max := func(sig string) float64 {
		m := 0.0
		for _, p := range pickSeries(g.series[sig], focus) {
			if p.V > m {
				m = p.V
			}
		}
		return m
	}
	return peaks{threads: max("jvm_threads_live"), metaspace: max("jvm_metaspace_used"), direct: max("jvm_direct_buffer_used"),
		directSeen: len(pickSeries(g.series["jvm_direct_buffer_used"], focus)) > 0}
}

func containers(pod *corev1.Pod, pk peaks) []evidence.Container {
	status := map[string]corev1.ContainerStatus{}
	for _, cs := range pod.Status.ContainerStatuses {
		status[cs.Name] = cs
	}
	var out []evidence.Container
	for i, c := range pod.Spec.Containers {
		cs := status[c.Name]
		ec := evidence.Container{
			ID:              "container/" + c.Name,
			Name:            c.Name,
			Image:           c.Image,
			Ready:           cs.Ready,
			RestartCount:    int(cs.RestartCount),
			State:           state(cs.State),
			LastTermination: state(corev1.ContainerState{Terminated: cs.LastTerminationState.Terminated}),
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			ec.MemoryLimitBytes = q.Value()
		}
		if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
			ec.MemoryRequestBytes = q.Value()
		}
		ref := fmt.Sprintf("status.containerStatuses[%s]", c.Name)
		if t := cs.LastTerminationState.Terminated; t != nil {
			ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: ref + ".lastState.terminated", Time: t.FinishedAt.Time,
				Text: fmt.Sprintf("lastState.terminated: reason=%s exitCode=%d startedAt=%s finishedAt=%s", t.Reason, t.ExitCode, rfc(t.StartedAt.Time), rfc(t.FinishedAt.Time))})
		}
		if t := cs.State.Terminated; t != nil {
			ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: ref + ".state.terminated", Time: t.FinishedAt.Time,
				Text: fmt.Sprintf("state.terminated: reason=%s exitCode=%d finishedAt=%s", t.Reason, t.ExitCode, rfc(t.FinishedAt.Time))})
		}
		if wt := cs.State.Waiting; wt != nil {
			ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: ref + ".state.waiting", Text: "state.waiting: reason=" + wt.Reason + " " + wt.Message})
		}
		if ec.MemoryLimitBytes > 0 {
			ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: fmt.Sprintf("spec.containers[%d].resources.limits.memory", i),
				Text: "limits.memory: " + c.Resources.Limits.Memory().String()})
		}

		env := map[string]string{}
		var srcs []jvm.OptionSource
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil {
				v = "$(" + e.Name + ")"
			}
			env[e.Name] = v
		}
		for _, name := range []string{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS"} {
			if v, ok := env[name]; ok {
				srcs = append(srcs, jvm.OptionSource{Name: "env " + name, Text: v})
				ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: fmt.Sprintf("spec.containers[%d].env[%s]", i, name), Text: clip(name + "=" + v)})
			}
		}
		if len(c.Command) > 0 {
			srcs = append(srcs, jvm.OptionSource{Name: "command", Text: shellJoin(c.Command)})
		}
		if len(c.Args) > 0 {
			srcs = append(srcs, jvm.OptionSource{Name: "args", Text: shellJoin(c.Args)})
		}
		if len(c.Command)+len(c.Args) > 0 {
			ec.Cites = append(ec.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: fmt.Sprintf("spec.containers[%d].command/args", i), Text: clip(shellJoin(append(append([]string{}, c.Command...), c.Args...)))})
		}
		ec.IsJVM = jvm.LooksLikeJVM(c.Image, c.Command, c.Args, env)
		if ec.IsJVM {
			ec.JVM = jvm.ParseFlags(srcs...)
			ec.Budget = jvm.Budget(ec.JVM, ec.MemoryLimitBytes, jvm.Observed{
				Threads:        int(pk.threads),
				MetaspaceBytes: int64(pk.metaspace),
				DirectBytes:    int64(pk.direct),
				DirectObserved: pk.directSeen,
			})
		}
		out = append(out, ec)
	}
	return out
}

func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t\"'") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func state(s corev1.ContainerState) evidence.Termination {
	switch {
	case s.Terminated != nil:
		t := s.Terminated
		return evidence.Termination{
			State: "terminated", Reason: t.Reason, ExitCode: int(t.ExitCode), ExitMeaning: ExitMeaning(int(t.ExitCode), t.Reason),
			Signal: int(t.Signal), Message: t.Message, StartedAt: t.StartedAt.Time, FinishedAt: t.FinishedAt.Time,
			OOMKilled: t.Reason == "OOMKilled",
		}
	case s.Waiting != nil:
		return evidence.Termination{State: "waiting", Reason: s.Waiting.Reason, Message: s.Waiting.Message}
	case s.Running != nil:
		return evidence.Termination{State: "running", StartedAt: s.Running.StartedAt.Time}
	}
	return evidence.Termination{}
}

// --- stack traces ---

func foldTraces(logs []scannedLog) ([]evidence.OOMError, []evidence.LeakRecord) {
	var ooms []evidence.OOMError
	var leaks []evidence.LeakRecord
	oomIdx := map[string]int{}
	leakIdx := map[string]int{}
	seen := map[string][]time.Time{}
	// Previous logs first: they hold the incarnation that died. Log stores
	// (Datadog, Loki) come last: they mostly repeat what the pod's own logs
	// said, and a repeat of the same record is not a second occurrence.
	sorted := append([]scannedLog(nil), logs...)
	rank := func(l scannedLog) int {
		switch {
		case l.External:
			return 2
		case l.Previous:
			return 0
		}
		return 1
	}
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	for _, l := range sorted {
		for _, t := range l.Result.Traces {
			key := l.Container + "\x00" + t.Signature()
			if l.External && sameOccurrence(seen[key], t.Time) {
				continue
			}
			seen[key] = append(seen[key], t.Time)
			cite := traceCites(l.Source, t)
			if t.Kind == logscan.KindLeak {
				if i, ok := leakIdx[key]; ok {
					leaks[i].Count++
					continue
				}
				leakIdx[key] = len(leaks)
				leaks = append(leaks, evidence.LeakRecord{
					ID: fmt.Sprintf("leak/%s/%d", l.Container, len(leaks)+1), Container: l.Container, Source: l.Source,
					Time: t.Time, Message: t.Message, Frames: t.Frames, Count: 1, Cites: cite,
				})
				continue
			}
			if i, ok := oomIdx[key]; ok {
				ooms[i].Count++
				if len(ooms[i].Cites) < 6 {
					ooms[i].Cites = append(ooms[i].Cites, cite[0])
				}
				continue
			}
			oomIdx[key] = len(ooms)
			ooms = append(ooms, evidence.OOMError{
				ID: fmt.Sprintf("oom/%s/%d", l.Container, len(ooms)+1), Container: l.Container, Source: l.Source,
				Kind: t.Kind, Exception: t.Exception, Message: t.Message, Thread: t.Thread, Time: t.Time,
				Frames: t.Frames, Chain: t.Chain, Count: 1, Cites: cite,
			})
		}
	}
	return ooms, leaks
}

// sameOccurrence reports whether t is one of the times already seen (a log
// store's copy of a line the pod log had; clocks differ by a little).
func sameOccurrence(times []time.Time, t time.Time) bool {
	for _, s := range times {
		if d := s.Sub(t); d < 2*time.Second && d > -2*time.Second {
			return true
		}
	}
	return false
}

// traceCites cites a trace's header line and its first frames (where the
// diagnosis usually is), not the whole trace.
func traceCites(source string, t logscan.Trace) []evidence.Citation {
	var out []evidence.Citation
	header := -1
	for i, l := range t.Lines {
		if strings.Contains(l.Text, t.Message) || (t.Message == "" && i == 0) {
			header = i
			break
		}
	}
	if header < 0 {
		header = 0
	}
	for i := header; i < len(t.Lines) && i < header+6; i++ {
		l := t.Lines[i]
		c := evidence.Citation{Source: source, Ref: fmt.Sprintf("line %d", l.No), Text: clip(l.Text)}
		if i == header {
			c.Time = t.Time
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		out = append(out, evidence.Citation{Source: source, Time: t.Time, Text: clip(t.Message)})
	}
	return out
}

// --- events, kernel, restarts, kill ---

func events(evs []corev1.Event) []evidence.Event {
	out := make([]evidence.Event, 0, len(evs))
	for i, e := range evs {
		first, last := e.FirstTimestamp.Time, e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if first.IsZero() {
			first = last
		}
		count := int(e.Count)
		if count == 0 {
			count = 1
		}
		out = append(out, evidence.Event{
			ID: fmt.Sprintf("event/%d", i+1), Type: e.Type, Reason: e.Reason, Message: e.Message, Count: count,
			FirstTime: first, LastTime: last,
			Cites: []evidence.Citation{{Source: "kubernetes/events", Ref: e.Name, Time: last,
				Text: clip(fmt.Sprintf("%s %s %s (x%d): %s", rfc(last), e.Type, e.Reason, count, e.Message))}},
		})
	}
	return out
}

func kernelKills(kills []kernlog.Kill) []evidence.KernelKill {
	out := make([]evidence.KernelKill, 0, len(kills))
	for i, k := range kills {
		out = append(out, evidence.KernelKill{
			ID: fmt.Sprintf("kernel/%d", i+1), Time: k.Time, PID: k.PID, Process: k.Process,
			AnonRSSBytes: k.AnonRSSBytes, FileRSSBytes: k.FileRSSBytes, MemcgLimitBytes: k.MemcgLimitBytes,
			Cites: []evidence.Citation{{Source: "node/kernel.log", Ref: fmt.Sprintf("line %d", k.LineNo), Time: k.Time, Text: clip(k.Line)}},
		})
	}
	return out
}

func restarts(pod *corev1.Pod, ev *evidence.Evidence, firedAt time.Time, counter []trend.Point, counterFrom string) evidence.Restarts {
	r := evidence.Restarts{}
	// The same kill shows up as a termination, an event and a kernel record
	// with slightly different clocks: times within a minute are one restart.
	add := func(t time.Time) {
		if t.IsZero() {
			return
		}
		for _, s := range r.Times {
			if d := s.Sub(t); d < time.Minute && d > -time.Minute {
				return
			}
		}
		r.Times = append(r.Times, t.UTC())
	}
	for _, c := range ev.Containers {
		r.Total += c.RestartCount
		if c.RestartCount > 0 {
			r.Cites = append(r.Cites, evidence.Citation{Source: "kubernetes/pod", Ref: fmt.Sprintf("status.containerStatuses[%s].restartCount", c.Name),
				Text: fmt.Sprintf("restartCount: %d", c.RestartCount)})
		}
		if c.LastTermination.State == "terminated" {
			add(c.LastTermination.FinishedAt)
		}
		if c.State.State == "waiting" && c.State.Reason == "CrashLoopBackOff" {
			r.CrashLoopBackOff = true
		}
	}
	for _, e := range ev.Events {
		switch e.Reason {
		case "BackOff":
			if strings.Contains(e.Message, "restarting failed container") {
				r.CrashLoopBackOff = r.CrashLoopBackOff || e.LastTime.After(firedAt.Add(-30*time.Minute))
				r.Cites = append(r.Cites, e.Cites...)
			}
		case "OOMKilling", "Killing":
			add(e.LastTime)
			r.Cites = append(r.Cites, e.Cites...)
		}
	}
	for _, k := range ev.KernelKills {
		add(k.Time)
	}
	// A restart counter from metrics (kube-state-metrics) remembers restarts
	// whose events have expired: each increase is a restart, dated by the
	// sample that first shows it.
	for i := 1; i < len(counter); i++ {
		if counter[i].V > counter[i-1].V {
			before := len(r.Times)
			add(counter[i].T)
			if len(r.Times) > before {
				r.Cites = append(r.Cites, evidence.Citation{Source: "metrics/container_restarts", Ref: counterFrom, Time: counter[i].T,
					Text: fmt.Sprintf("%s restarts %g → %g", counter[i].T.UTC().Format(time.RFC3339), counter[i-1].V, counter[i].V)})
			}
		}
	}
	sort.Slice(r.Times, func(i, j int) bool { return r.Times[i].Before(r.Times[j]) })
	for _, t := range r.Times {
		if !t.After(firedAt) && firedAt.Sub(t) <= 24*time.Hour {
			r.Last24h++
		}
	}
	if r.Total > 0 && r.Last24h > r.Total {
		r.Last24h = r.Total
	}
	if age := firedAt.Sub(pod.CreationTimestamp.Time); !pod.CreationTimestamp.IsZero() && age > 0 {
		if age <= 24*time.Hour && r.Total > r.Last24h {
			r.Last24h = r.Total
		}
		r.PerHour = round2(float64(r.Total) / age.Hours())
	}
	return r
}

// classifyKill answers the question that took a seasoned engineer days: was
// it the kernel's cgroup OOM killer, the JVM's own OutOfMemoryError, or both?
func classifyKill(ev *evidence.Evidence, focus string) evidence.Kill {
	k := evidence.Kill{}
	var fc *evidence.Container
	for i := range ev.Containers {
		if ev.Containers[i].Name == focus {
			fc = &ev.Containers[i]
		}
	}
	var term evidence.Termination
	if fc != nil {
		term = fc.LastTermination
		if fc.State.State == "terminated" {
			term = fc.State
		}
		if term.OOMKilled {
			k.ContainerOOMKilled = true
			k.Cites = append(k.Cites, fc.Cites[0])
		}
	}
	for _, kk := range ev.KernelKills {
		k.ContainerOOMKilled = true
		k.Cites = append(k.Cites, kk.Cites...)
		break
	}
	for _, e := range ev.Events {
		if e.Reason == "OOMKilling" {
			k.ContainerOOMKilled = true
			k.Cites = append(k.Cites, e.Cites...)
			break
		}
	}
	var first *evidence.OOMError
	for i := range ev.OOMErrors {
		o := &ev.OOMErrors[i]
		if o.Container != focus {
			continue
		}
		k.JVMOutOfMemory = true
		if first == nil || (!o.Time.IsZero() && o.Time.Before(first.Time)) {
			first = o
		}
	}
	if first != nil {
		k.Cites = append(k.Cites, first.Cites[0])
	}
	limit := ""
	if fc != nil && fc.MemoryLimitBytes > 0 {
		limit = " of " + evidence.Bytes(fc.MemoryLimitBytes)
	}
	switch {
	case k.ContainerOOMKilled && k.JVMOutOfMemory:
		k.Kind = evidence.KillBoth
		k.Explanation = fmt.Sprintf("Both: the JVM threw %s, and the kernel's memory-cgroup OOM killer then killed the container (exit %d): the process's total memory — heap plus native — reached the container limit%s.",
			first.Message, term.ExitCode, limit)
	case k.ContainerOOMKilled:
		k.Kind = evidence.KillContainerOOM
		k.Explanation = fmt.Sprintf("The kernel's memory-cgroup OOM killer killed the container (exit %d, SIGKILL): the process's total memory reached the container limit%s. The JVM logged no OutOfMemoryError, so its own limits (heap, metaspace, direct) were not what ran out.",
			exitOr137(term.ExitCode), limit)
	case k.JVMOutOfMemory:
		k.Kind = evidence.KillJVMOOM
		k.Explanation = fmt.Sprintf("The JVM threw %s: one of its own limits (-Xmx, metaspace, direct memory, threads) ran out; the container limit was not hit.", first.Message)
		if term.State == "terminated" {
			k.Explanation += fmt.Sprintf(" The container then exited with %d (%s).", term.ExitCode, term.ExitMeaning)
		}
	case term.State == "terminated" && term.Reason != "Completed":
		k.Kind = evidence.KillOther
		k.Explanation = fmt.Sprintf("The container terminated with %s, exit %d (%s); no OOM kill and no OutOfMemoryError was found.", term.Reason, term.ExitCode, term.ExitMeaning)
		if fc != nil && len(fc.Cites) > 0 {
			k.Cites = append(k.Cites, fc.Cites[0])
		}
	default:
		k.Kind = evidence.KillNone
		k.Explanation = "No OOM kill, no OutOfMemoryError and no abnormal termination was found."
	}
	return k
}

func exitOr137(c int) int {
	if c == 0 {
		return 137
	}
	return c
}

// --- deploys ---

func deploys(w *kube.Workload, ext []sources.Event, ev *evidence.Evidence) []evidence.Deploy {
	if (w == nil || len(w.ReplicaSets) == 0) && len(ext) == 0 {
		return nil
	}
	if w == nil {
		w = &kube.Workload{}
	}
	firstOOM, lastKill := oomTimes(ev)
	var out []evidence.Deploy
	var prevImages []string
	for i := range w.ReplicaSets {
		rs := &w.ReplicaSets[i]
		var images []string
		for _, c := range rs.Spec.Template.Spec.Containers {
			images = append(images, c.Image)
		}
		rev := kube.Revision(rs)
		d := evidence.Deploy{
			ID: fmt.Sprintf("deploy/%d", rev), Kind: w.Kind, Name: w.Name, Revision: rev,
			Time: rs.CreationTimestamp.Time, Images: images,
			ImageChanged: i > 0 && strings.Join(images, ",") != strings.Join(prevImages, ","),
			Cites: []evidence.Citation{{Source: "kubernetes/workload", Ref: "replicaset/" + rs.Name, Time: rs.CreationTimestamp.Time,
				Text: fmt.Sprintf("ReplicaSet %s revision %d created %s image %s", rs.Name, rev, rfc(rs.CreationTimestamp.Time), strings.Join(images, ","))}},
		}
		if !lastKill.IsZero() && !d.Time.IsZero() && d.Time.Before(lastKill) {
			d.HoursBeforeKill = round2(lastKill.Sub(d.Time).Hours())
		}
		prevImages = images
		out = append(out, d)
	}
	// Deploys announced outside Kubernetes (CI, Datadog events) count too:
	// they are often the only record of a config-only rollout.
	for i, e := range ext {
		if e.Kind != "deploy" || e.Time.IsZero() {
			continue
		}
		id := e.ID
		if id == "" {
			id = fmt.Sprint(i + 1)
		}
		d := evidence.Deploy{ID: "event/" + e.Source + "/" + id, Kind: "event", Name: e.Title, Time: e.Time,
			Cites: []evidence.Citation{{Source: e.Source + "/events", Ref: id, Time: e.Time, Text: clip(strings.TrimSpace(e.Title + " " + strings.Join(e.Tags, ",")))}}}
		if !lastKill.IsZero() && d.Time.Before(lastKill) {
			d.HoursBeforeKill = round2(lastKill.Sub(d.Time).Hours())
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if !firstOOM.IsZero() {
		last := -1
		for i, d := range out {
			if !d.Time.IsZero() && d.Time.Before(firstOOM) {
				last = i
			}
		}
		if last >= 0 {
			out[last].BeforeFirstOOM = true
		}
	}
	return out
}

// oomTimes returns the earliest and latest OOM moments known: OutOfMemoryError
// times, OOMKilled terminations, kernel kills.
func oomTimes(ev *evidence.Evidence) (first, last time.Time) {
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, o := range ev.OOMErrors {
		see(o.Time)
	}
	for _, c := range ev.Containers {
		if c.LastTermination.OOMKilled {
			see(c.LastTermination.FinishedAt)
		}
		if c.State.OOMKilled {
			see(c.State.FinishedAt)
		}
	}
	for _, k := range ev.KernelKills {
		see(k.Time)
	}
	return first, last
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5*sign(f))) / 100
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// --- GC and histograms ---

func gcSummaries(g *gathered, focus string) []evidence.GCSummary {
	var out []evidence.GCSummary
	add := func(container, source string, colls []jvm.Collection) {
		if len(colls) == 0 {
			return
		}
		s := jvm.SummarizeGC(colls)
		s.ID = fmt.Sprintf("gc/%s/%d", container, len(out)+1)
		s.Container = container
		s.Source = source
		for i := range s.Cites {
			s.Cites[i].Source = source
		}
		out = append(out, s)
	}
	for _, l := range g.gcLogs {
		add(l.Container, l.Source, l.Colls)
	}
	if len(out) == 0 {
		// No GC log file: use GC lines found in the container logs, the
		// dead incarnation's first.
		for _, l := range g.logs {
			if l.Previous && l.Container == focus {
				add(l.Container, l.Source, l.GC)
			}
		}
		if len(out) == 0 {
			for _, l := range g.logs {
				if l.Container == focus {
					add(l.Container, l.Source, l.GC)
				}
			}
		}
	}
	return out
}

// beforeFailure keeps the histograms taken up to the first OOM (or, if too
// few, up to the last kill): a histogram taken after an OutOfMemoryError
// shows the heap after the failing work was dropped, and diffing against it
// would hide the growth that caused the failure.
func beforeFailure(hs []parsedHistogram, ev *evidence.Evidence) []parsedHistogram {
	first, last := oomTimes(ev)
	for _, cut := range []time.Time{first, last} {
		if cut.IsZero() {
			continue
		}
		var kept []parsedHistogram
		for _, h := range hs {
			if !h.Time.After(cut.Add(time.Second)) {
				kept = append(kept, h)
			}
		}
		if len(kept) >= 2 {
			return kept
		}
	}
	return hs
}

// maxClassGrowth bounds how many growing classes are reported.
const maxClassGrowth = 15

func classGrowth(hs []parsedHistogram) []evidence.ClassGrowth {
	if len(hs) < 2 {
		return nil
	}
	first, last := hs[0], hs[len(hs)-1]
	deltas := jvm.DiffHistograms(first.H, last.H, 1)
	var out []evidence.ClassGrowth
	for _, d := range deltas {
		if len(out) == maxClassGrowth {
			break
		}
		cg := evidence.ClassGrowth{
			ID: "histogram/" + d.Class, ClassName: d.Class,
			InstancesStart: d.InstancesStart, InstancesEnd: d.InstancesEnd, InstancesDelta: d.InstancesEnd - d.InstancesStart,
			BytesStart: d.BytesStart, BytesEnd: d.BytesEnd, BytesDelta: d.BytesEnd - d.BytesStart,
			From: first.Time, To: last.Time,
		}
		if d.StartLine > 0 {
			cg.Cites = append(cg.Cites, evidence.Citation{Source: first.Path, Ref: fmt.Sprintf("line %d", d.StartLine), Time: first.Time,
				Text: fmt.Sprintf("%s: %d instances, %d bytes", d.Class, d.InstancesStart, d.BytesStart)})
		}
		cg.Cites = append(cg.Cites, evidence.Citation{Source: last.Path, Ref: fmt.Sprintf("line %d", d.EndLine), Time: last.Time,
			Text: fmt.Sprintf("%s: %d instances, %d bytes", d.Class, d.InstancesEnd, d.BytesEnd)})
		out = append(out, cg)
	}
	return out
}

// --- trends ---

// ceilings says what each signal runs into, so trends can forecast exhaustion.
func ceiling(signal string, c *evidence.Container, g *gathered, focus string) float64 {
	lastOf := func(sig string) float64 {
		pts := pickSeries(g.series[sig], focus)
		if len(pts) == 0 {
			return 0
		}
		return pts[len(pts)-1].V
	}
	switch signal {
	case "jvm_heap_used", "jvm_old_gen_used":
		if v := lastOf("jvm_heap_max"); v > 0 {
			return v
		}
		if c != nil && c.Budget.HeapBytes > 0 {
			return float64(c.Budget.HeapBytes)
		}
	case "container_memory_working_set":
		if c != nil && c.MemoryLimitBytes > 0 {
			return float64(c.MemoryLimitBytes)
		}
		return lastOf("container_memory_limit")
	case "jvm_metaspace_used":
		if c != nil && c.JVM.MaxMetaspaceBytes > 0 {
			return float64(c.JVM.MaxMetaspaceBytes)
		}
	case "jvm_direct_buffer_used":
		if c != nil && c.JVM.MaxDirectMemoryBytes > 0 {
			return float64(c.JVM.MaxDirectMemoryBytes)
		}
		if c != nil && c.Budget.DirectBytes > 0 && c.JVM.MaxDirectMemoryBytes == 0 && c.JVM.MaxHeapBytes > 0 {
			return float64(c.JVM.MaxHeapBytes)
		}
	}
	return 0
}

var signalUnits = map[string]string{
	"jvm_classes_loaded": "count", "jvm_threads_live": "count", "jvm_gc_pause_seconds": "seconds",
}

// trendSkip are ceilings, not trends.
var trendSkip = map[string]bool{"container_memory_limit": true, "jvm_heap_max": true, "container_restarts": true}

func trends(g *gathered, ev *evidence.Evidence, focus string) []evidence.Trend {
	var fc *evidence.Container
	for i := range ev.Containers {
		if ev.Containers[i].Name == focus {
			fc = &ev.Containers[i]
		}
	}
	var deployTimes []time.Time
	for _, d := range ev.Deploys {
		deployTimes = append(deployTimes, d.Time)
	}
	var names []string
	for sig := range g.series {
		if !trendSkip[sig] {
			names = append(names, sig)
		}
	}
	sort.Strings(names)
	// Analyse the incarnation that died: samples after the last kill belong
	// to the restarted container, whose start-up ramp says nothing about
	// why its predecessor was killed.
	_, lastKill := oomTimes(ev)
	var out []evidence.Trend
	for _, sig := range names {
		pts := pickSeries(g.series[sig], focus)
		if !lastKill.IsZero() {
			pts = until(pts, lastKill.Add(time.Second))
		}
		if len(pts) == 0 {
			continue
		}
		unit := signalUnits[sig]
		if unit == "" {
			unit = "bytes"
		}
		a := trend.Analyze(pts, trend.Options{Ceiling: ceiling(sig, fc, g, focus), Events: deployTimes, Unit: unit})
		t := evidence.Trend{
			ID: "trend/" + sig, Signal: sig, Container: focus, From: g.seriesFrom[sig], Unit: unit, Shape: a.Shape, Samples: a.Samples,
			Start: a.Start, End: a.End, Min: a.Min, Max: a.Max, Last: a.Last,
			FloorStart: a.FloorStart, FloorEnd: a.FloorEnd, GrowthPerHour: a.GrowthPerHour,
			Ceiling: ceiling(sig, fc, g, focus), PeakFractionOfCeiling: a.PeakFractionOfCeiling,
			FloorFractionOfCeiling: a.FloorFractionOfCeiling, HoursToExhaustion: a.HoursToExhaustion, StepAt: a.StepAt,
		}
		if a.StepEvent >= 0 && a.StepEvent < len(ev.Deploys) {
			t.StepDeployID = ev.Deploys[a.StepEvent].ID
		}
		src := "metrics/" + sig
		fmtV := func(v float64) string {
			if unit == "bytes" {
				return evidence.Bytes(int64(v))
			}
			return fmt.Sprintf("%.4g", v)
		}
		cite := func(label string, i int) {
			if i < 0 || i >= len(pts) {
				return
			}
			t.Cites = append(t.Cites, evidence.Citation{Source: src, Ref: label, Time: pts[i].T,
				Text: fmt.Sprintf("%s %s = %s", pts[i].T.UTC().Format("15:04:05"), sig, fmtV(pts[i].V))})
		}
		cite("floor start", a.FloorStartIndex)
		cite("floor end", a.FloorEndIndex)
		cite("peak", a.PeakIndex)
		if a.Reason != "" {
			t.Cites = append(t.Cites, evidence.Citation{Source: src, Ref: "analysis", Text: a.Reason})
		}
		out = append(out, t)
	}
	return out
}

// pickSeries chooses the focus container's series, or the only one.
func pickSeries(ss []prometheus.Series, focus string) []trend.Point {
	var chosen *prometheus.Series
	for i := range ss {
		if c, ok := ss[i].Labels["container"]; ok && c == focus {
			if chosen == nil || len(ss[i].Samples) > len(chosen.Samples) {
				chosen = &ss[i]
			}
		}
	}
	if chosen == nil && len(ss) == 1 {
		chosen = &ss[0]
	}
	if chosen == nil {
		return nil
	}
	pts := make([]trend.Point, len(chosen.Samples))
	for i, s := range chosen.Samples {
		pts[i] = trend.Point{T: s.T, V: s.V}
	}
	return pts
}

// until keeps the points at or before t.
func until(pts []trend.Point, t time.Time) []trend.Point {
	n := len(pts)
	for n > 0 && pts[n-1].T.After(t) {
		n--
	}
	return pts[:n]
}
