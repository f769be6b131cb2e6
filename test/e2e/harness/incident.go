package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/sources"
	"github.com/oombot/oombot/internal/sources/prometheus"
)

// DefaultStretch is how many seconds of replayed time one recorded second
// of metrics becomes (see IncidentOptions.Stretch).
const DefaultStretch = 120

// IncidentOptions say how a recorded bundle is replayed.
type IncidentOptions struct {
	// Namespace replaces the bundle's namespace everywhere (objects,
	// events, logs, metric labels), so tests replaying the same bundle do
	// not meet. Empty keeps the bundle's.
	Namespace string
	// Now is when the replay ends: the last recorded metric sample lands
	// here (default: time.Now()).
	Now time.Time
	// Stretch slows the recorded metrics down. The JVM runs behind the
	// bundles were sampled every 250 ms and last one to two minutes; a bot
	// reading a 6 h window at 1000 points per query sees such a recording
	// as three points. With the default, 120, each recorded sample becomes
	// one 30 s scrape, and the run becomes the hours a leak of that shape
	// takes in production. Values are unchanged; only their spacing is.
	// 1 replays the recording at its own pace.
	Stretch float64
	// DecoyPods adds the events of that many sibling pods (same
	// Deployment, same reasons, messages containing DecoyMarker) and one
	// event left by an earlier pod with the target's name but another UID:
	// what a namespace holds that a triage must not cite.
	DecoyPods int
}

// DecoyMarker is in the message of every decoy event.
const DecoyMarker = "DECOY"

// Incident is a recorded incident loaded into the API server.
type Incident struct {
	Bundle *bundle.Bundle
	// Target of the triage, with the replayed namespace.
	Namespace, Pod, Container string
	// Workload is the owning Deployment (or StatefulSet) name.
	Workload string
	UID      types.UID
	Node     string
	// KilledAt is the replayed end of the last terminated incarnation
	// (FiredAt's replayed time when nothing terminated).
	KilledAt time.Time
	// Clock maps the bundle's times to the replay's.
	Clock Clock
	// Series are the bundle's metrics as exporters expose them (cAdvisor,
	// kube-state-metrics v2 and the JMX exporter), on the replayed clock,
	// for realserver.Prometheus.
	Series []sources.Series
	// Events is how many of the target's events were created; Decoys how
	// many decoy events.
	Events, Decoys int
	// Logs are the recorded logs served by the fake kubelet, by
	// "<container>" and "<container>.previous".
	Logs map[string][]byte
}

// AlertLabels are the labels of the alert the bundle describes (its
// "Labels:" block, when the alert text has one), with the replayed
// namespace; alertname defaults to KubePodOOMKilled.
func (inc *Incident) AlertLabels() map[string]string {
	l := map[string]string{}
	inBlock := false
	for _, line := range strings.Split(inc.Bundle.Manifest.Alert, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "Labels:":
			inBlock = true
		case inBlock && strings.HasPrefix(t, "- "):
			if k, v, ok := strings.Cut(strings.TrimPrefix(t, "- "), " = "); ok {
				l[k] = v
			}
		default:
			inBlock = false
		}
	}
	if l["alertname"] == "" {
		l["alertname"] = "KubePodOOMKilled"
	}
	l["namespace"], l["pod"], l["container"] = inc.Namespace, inc.Pod, inc.Container
	delete(l, "cluster")
	return l
}

// LoadIncident creates the objects of bundle dir in the API server and
// hands its logs to the control plane's kubelet:
//
//   - the Namespace and the ServiceAccounts its pod uses;
//   - the Deployment or StatefulSet, then its ReplicaSets (the rollout
//     history, deployment.kubernetes.io/revision kept), owner references
//     rewired to the new UIDs; then the Pod, on its recorded node, and its
//     status (restart count, last termination, exit code) written through
//     the status subresource, as a kubelet would;
//   - the Node, pointing at the fake kubelet;
//   - the pod's Events, involvedObject rewired to the new UID, plus
//     decoys (IncidentOptions.DecoyPods).
//
// Every recorded time (status, events, the timestamps that start log
// lines, metric samples) is moved to the replay's Clock, so the incident
// happened just before Now. creationTimestamp is the server's: rollout
// history keeps its revisions and images but not its dates.
func (cp *ControlPlane) LoadIncident(ctx context.Context, dir string, o IncidentOptions) (*Incident, error) {
	b, err := bundle.Load(dir)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Stretch <= 0 {
		o.Stretch = DefaultStretch
	}
	m := b.Manifest.Target
	inc := &Incident{Bundle: b, Namespace: m.Namespace, Pod: b.Pod.Name, Container: m.Container, Node: b.Pod.Spec.NodeName,
		Logs: map[string][]byte{}}
	if o.Namespace != "" {
		inc.Namespace = o.Namespace
	}
	if inc.Container == "" && len(b.Pod.Spec.Containers) > 0 {
		inc.Container = b.Pod.Spec.Containers[0].Name
	}
	series, err := recordedSeries(ctx, b)
	if err != nil {
		return nil, err
	}
	clock, killed := replayClock(b, inc.Container, series, o)
	inc.Clock, inc.KilledAt = clock, killed
	inc.Series = exporterSeries(series, b.Pod, inc.Namespace, inc.Container, clock.At)

	if err := cp.CreateNamespace(ctx, inc.Namespace, map[string]string{"oombot.e2e/bundle": sanitizeLabel(b.Manifest.Target.Pod)}); err != nil {
		return nil, err
	}
	if sa := b.Pod.Spec.ServiceAccountName; sa != "" {
		if err := cp.EnsureServiceAccount(ctx, inc.Namespace, sa); err != nil {
			return nil, err
		}
	}
	uids, err := cp.createWorkload(ctx, b, inc, clock.At)
	if err != nil {
		return nil, err
	}
	if err := cp.createPod(ctx, b, inc, uids, clock.At); err != nil {
		return nil, err
	}
	if inc.Node != "" {
		if err := cp.Kubelet.RegisterNode(ctx, cp.Admin, inc.Node); err != nil {
			return nil, err
		}
	}
	if err := cp.createEvents(ctx, b, inc, uids, clock.At, o.DecoyPods); err != nil {
		return nil, err
	}
	for key, path := range b.Logs {
		rc, err := b.Open(path)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", dir, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("bundle %s: read %s: %w", dir, path, err)
		}
		container, previous := strings.CutSuffix(key, ".previous")
		data = replayLog(data, clock)
		inc.Logs[key] = data
		cp.Kubelet.SetLog(inc.Namespace, inc.Pod, container, previous, data)
	}
	return inc, nil
}

// recordedSeries reads every canonical signal the bundle holds through the
// bundle's own Prometheus replay, so the values are exactly what a bundle
// triage sees.
func recordedSeries(ctx context.Context, b *bundle.Bundle) (map[string]sources.Series, error) {
	replay, err := prometheus.New(prometheus.Options{Address: "http://bundle.invalid", Transport: b.PrometheusTransport(),
		Queries: prometheus.SignalQueries(bundle.Signals)})
	if err != nil {
		return nil, err
	}
	t := b.Manifest.Target
	out := map[string]sources.Series{}
	for sig := range b.Metrics {
		// A wide window: the replay returns every recorded sample in it.
		ser, err := replay.Range(ctx, sig, sources.Target{Namespace: t.Namespace, Pod: t.Pod, Container: t.Container},
			b.Manifest.FiredAt.Add(-7*24*time.Hour), b.Manifest.FiredAt.Add(7*24*time.Hour))
		if err != nil {
			return nil, fmt.Errorf("bundle metrics %s: %w", sig, err)
		}
		if len(ser) > 0 {
			out[sig] = ser[0]
		}
	}
	return out, nil
}

// Clock maps a recorded time to its replayed time. The recorded span of
// the metrics is slowed down by the stretch; times before and after it
// keep their spacing, so the map is continuous and monotonic and every
// timestamp of the bundle (status, events, log lines, samples) lands in
// the same order, at the same place relative to the others, as recorded.
type Clock struct {
	// First and Last are the recorded span of the metrics.
	First, Last time.Time
	// Stretch is how many replayed seconds a recorded second inside the
	// span becomes.
	Stretch float64
	// Anchor is where Last lands.
	Anchor time.Time
}

// At maps t.
func (c Clock) At(t time.Time) time.Time {
	switch {
	case t.After(c.Last):
		return c.Anchor.Add(t.Sub(c.Last))
	case t.Before(c.First):
		return c.Anchor.Add(-time.Duration(float64(c.Last.Sub(c.First))*c.Stretch) - c.First.Sub(t))
	}
	return c.Anchor.Add(-time.Duration(float64(c.Last.Sub(t)) * c.Stretch)).Truncate(time.Millisecond)
}

// replayClock makes the clock of a replay ending at o.Now: the later of
// the last sample and the kill (the focus container's last termination,
// else FiredAt) lands 5 s before Now.
func replayClock(b *bundle.Bundle, container string, series map[string]sources.Series, o IncidentOptions) (Clock, time.Time) {
	kill := b.Manifest.FiredAt
	for _, cs := range b.Pod.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		if t := cs.LastTerminationState.Terminated; t != nil && !t.FinishedAt.IsZero() {
			kill = t.FinishedAt.Time
		} else if t := cs.State.Terminated; t != nil && !t.FinishedAt.IsZero() {
			kill = t.FinishedAt.Time
		}
	}
	var first, last time.Time
	for _, s := range series {
		if n := len(s.Samples); n > 0 {
			if first.IsZero() || s.Samples[0].T.Before(first) {
				first = s.Samples[0].T
			}
			if s.Samples[n-1].T.After(last) {
				last = s.Samples[n-1].T
			}
		}
	}
	if last.IsZero() {
		first, last = kill, kill
	}
	after := time.Duration(0)
	if kill.After(last) {
		after = kill.Sub(last)
	}
	c := Clock{First: first, Last: last, Stretch: o.Stretch, Anchor: o.Now.Add(-after - 5*time.Second).Truncate(time.Second)}
	return c, c.At(kill)
}

// logTime is an RFC 3339 UTC timestamp at the start of a log line, as the
// recorded JVMs' loggers print them.
var logTime = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

// replayLog moves the timestamps that start log lines to the replay's
// clock, keeping their precision; everything else is untouched.
func replayLog(data []byte, c Clock) []byte {
	return logTime.ReplaceAllFunc(data, func(m []byte) []byte {
		t, err := time.Parse(time.RFC3339Nano, string(m))
		if err != nil {
			return m
		}
		layout := "2006-01-02T15:04:05Z"
		if i := bytes.IndexByte(m, '.'); i >= 0 {
			layout = "2006-01-02T15:04:05." + strings.Repeat("0", len(m)-i-2) + "Z"
		}
		return []byte(c.At(t).UTC().Format(layout))
	})
}

// exporterSeries renames the canonical signals to what exporters expose,
// so the bot runs its default PromQL: cAdvisor's working set (with the
// image label cAdvisor sets on container series), kube-state-metrics v2's
// limits, and the JMX exporter 0.x names for the JVM (one series per
// signal: heap and non-heap totals, the old-gen and Metaspace pools, the
// direct buffer pool). GC pause time (seconds per second) becomes the
// cumulative counter the exporter publishes, integrated on the recorded
// clock.
func exporterSeries(series map[string]sources.Series, pod *corev1.Pod, ns, container string, at func(time.Time) time.Time) []sources.Series {
	image := ""
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			image = c.Image
		}
	}
	names := map[string][]string{
		"container_memory_working_set": {"container_memory_working_set_bytes", "image", image},
		"container_memory_limit":       {"kube_pod_container_resource_limits", "resource", "memory", "unit", "byte"},
		"container_restarts":           {"kube_pod_container_status_restarts_total"},
		"jvm_heap_used":                {"jvm_memory_bytes_used", "area", "heap"},
		"jvm_heap_max":                 {"jvm_memory_bytes_max", "area", "heap"},
		"jvm_nonheap_used":             {"jvm_memory_bytes_used", "area", "nonheap"},
		"jvm_old_gen_used":             {"jvm_memory_pool_bytes_used", "pool", "G1 Old Gen"},
		"jvm_metaspace_used":           {"jvm_memory_pool_bytes_used", "pool", "Metaspace"},
		"jvm_direct_buffer_used":       {"jvm_buffer_pool_used_bytes", "pool", "direct"},
		"jvm_classes_loaded":           {"jvm_classes_currently_loaded"},
		"jvm_threads_live":             {"jvm_threads_current"},
		"jvm_gc_pause_seconds":         {"jvm_gc_collection_seconds_sum", "gc", "G1 Young Generation"},
	}
	sigs := make([]string, 0, len(series))
	for s := range series {
		sigs = append(sigs, s)
	}
	sort.Strings(sigs)
	var out []sources.Series
	for _, sig := range sigs {
		spec, ok := names[sig]
		if !ok {
			continue
		}
		s := series[sig]
		labels := map[string]string{"__name__": spec[0], "namespace": ns, "pod": pod.Name, "container": container,
			"job": "kubernetes-pods", "instance": "10.0.0.1:8080"}
		for i := 1; i+1 < len(spec); i += 2 {
			labels[spec[i]] = spec[i+1]
		}
		samples := s.Samples
		if sig == "jvm_gc_pause_seconds" {
			samples = integrate(samples)
		}
		mapped := make([]sources.Sample, 0, len(samples))
		for _, p := range samples {
			if math.IsNaN(p.V) {
				continue
			}
			t := at(p.T)
			if n := len(mapped); n > 0 && !t.After(mapped[n-1].T) {
				continue
			}
			mapped = append(mapped, sources.Sample{T: t, V: p.V})
		}
		out = append(out, sources.Series{Signal: sig, Labels: labels, Samples: mapped})
	}
	return out
}

// integrate turns a per-second rate into the cumulative total a counter
// exposes.
func integrate(rate []sources.Sample) []sources.Sample {
	out := make([]sources.Sample, len(rate))
	total := 0.0
	for i, p := range rate {
		if i > 0 && !math.IsNaN(p.V) {
			total += p.V * p.T.Sub(rate[i-1].T).Seconds()
		}
		out[i] = sources.Sample{T: p.T, V: total}
	}
	return out
}

// cleanMeta keeps what a client may set on create: name, generateName,
// labels, annotations and owner references (rewired by the caller).
func cleanMeta(m metav1.ObjectMeta, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, GenerateName: m.GenerateName, Namespace: ns, Labels: m.Labels,
		Annotations: m.Annotations, OwnerReferences: append([]metav1.OwnerReference(nil), m.OwnerReferences...)}
}

// rewire points owner references at the new UIDs, by kind and name.
func rewire(refs []metav1.OwnerReference, uids map[string]types.UID) []metav1.OwnerReference {
	for i := range refs {
		if u, ok := uids[refs[i].Kind+"/"+refs[i].Name]; ok {
			refs[i].UID = u
		}
	}
	return refs
}

// at maps a Kubernetes timestamp (zero stays zero; the API keeps seconds).
func at(t metav1.Time, clock func(time.Time) time.Time) metav1.Time {
	if t.IsZero() {
		return t
	}
	return metav1.NewTime(clock(t.Time).Truncate(time.Second))
}

func atPtr(t *metav1.Time, clock func(time.Time) time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	s := at(*t, clock)
	return &s
}

func (cp *ControlPlane) createWorkload(ctx context.Context, b *bundle.Bundle, inc *Incident, clock func(time.Time) time.Time) (map[string]types.UID, error) {
	uids := map[string]types.UID{}
	apps := cp.Admin.AppsV1()
	// Owners first, so their children can point at the new UIDs.
	for _, obj := range b.Workload {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			d := o.DeepCopy()
			d.ObjectMeta = cleanMeta(d.ObjectMeta, inc.Namespace)
			d.Status = appsv1.DeploymentStatus{}
			got, err := apps.Deployments(inc.Namespace).Create(ctx, d, metav1.CreateOptions{})
			if err != nil {
				return nil, fmt.Errorf("create deployment %s: %w", d.Name, err)
			}
			uids["Deployment/"+got.Name] = got.UID
			got.Status = o.Status
			for i := range got.Status.Conditions {
				c := &got.Status.Conditions[i]
				c.LastTransitionTime, c.LastUpdateTime = at(c.LastTransitionTime, clock), at(c.LastUpdateTime, clock)
			}
			got.Status.ObservedGeneration = got.Generation
			if _, err := apps.Deployments(inc.Namespace).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				return nil, fmt.Errorf("deployment %s status: %w", d.Name, err)
			}
		case *appsv1.StatefulSet:
			s := o.DeepCopy()
			s.ObjectMeta = cleanMeta(s.ObjectMeta, inc.Namespace)
			s.Status = appsv1.StatefulSetStatus{}
			got, err := apps.StatefulSets(inc.Namespace).Create(ctx, s, metav1.CreateOptions{})
			if err != nil {
				return nil, fmt.Errorf("create statefulset %s: %w", s.Name, err)
			}
			uids["StatefulSet/"+got.Name] = got.UID
		}
	}
	for _, obj := range b.Workload {
		o, ok := obj.(*appsv1.ReplicaSet)
		if !ok {
			continue
		}
		rs := o.DeepCopy()
		rs.ObjectMeta = cleanMeta(rs.ObjectMeta, inc.Namespace)
		rs.OwnerReferences = rewire(rs.OwnerReferences, uids)
		rs.Status = appsv1.ReplicaSetStatus{}
		got, err := apps.ReplicaSets(inc.Namespace).Create(ctx, rs, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create replicaset %s: %w", rs.Name, err)
		}
		uids["ReplicaSet/"+got.Name] = got.UID
		got.Status = o.Status
		got.Status.ObservedGeneration = got.Generation
		if _, err := apps.ReplicaSets(inc.Namespace).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("replicaset %s status: %w", rs.Name, err)
		}
	}
	return uids, nil
}

func (cp *ControlPlane) createPod(ctx context.Context, b *bundle.Bundle, inc *Incident, uids map[string]types.UID, clock func(time.Time) time.Time) error {
	p := b.Pod.DeepCopy()
	p.ObjectMeta = cleanMeta(p.ObjectMeta, inc.Namespace)
	p.OwnerReferences = rewire(p.OwnerReferences, uids)
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == "ReplicaSet" {
			if i := strings.LastIndexByte(o.Name, '-'); i > 0 {
				inc.Workload = o.Name[:i]
			}
		} else if o.Controller != nil && *o.Controller {
			inc.Workload = o.Name
		}
	}
	p.Status = corev1.PodStatus{}
	pods := cp.Admin.CoreV1().Pods(inc.Namespace)
	got, err := pods.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s: %w", p.Name, err)
	}
	inc.UID = got.UID
	st := b.Pod.Status.DeepCopy()
	st.StartTime = atPtr(st.StartTime, clock)
	for i := range st.Conditions {
		st.Conditions[i].LastTransitionTime = at(st.Conditions[i].LastTransitionTime, clock)
		st.Conditions[i].LastProbeTime = at(st.Conditions[i].LastProbeTime, clock)
	}
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses, st.EphemeralContainerStatuses} {
		for i := range list {
			replayState(&list[i].State, clock)
			replayState(&list[i].LastTerminationState, clock)
		}
	}
	got.Status = *st
	if _, err := pods.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("pod %s status: %w", p.Name, err)
	}
	return nil
}

func replayState(s *corev1.ContainerState, clock func(time.Time) time.Time) {
	if s.Running != nil {
		s.Running.StartedAt = at(s.Running.StartedAt, clock)
	}
	if s.Terminated != nil {
		s.Terminated.StartedAt = at(s.Terminated.StartedAt, clock)
		s.Terminated.FinishedAt = at(s.Terminated.FinishedAt, clock)
	}
}

func (cp *ControlPlane) createEvents(ctx context.Context, b *bundle.Bundle, inc *Incident, uids map[string]types.UID, clock func(time.Time) time.Time, decoys int) error {
	events := cp.Admin.CoreV1().Events(inc.Namespace)
	oldUID := b.Pod.UID
	for _, e := range b.Events {
		ev := e.DeepCopy()
		ev.ObjectMeta = metav1.ObjectMeta{Name: e.Name, Namespace: inc.Namespace}
		ev.InvolvedObject.Namespace = inc.Namespace
		ev.InvolvedObject.ResourceVersion = ""
		switch {
		case ev.InvolvedObject.Kind == "Pod" && ev.InvolvedObject.Name == b.Pod.Name && (ev.InvolvedObject.UID == oldUID || ev.InvolvedObject.UID == ""):
			ev.InvolvedObject.UID = inc.UID
		default:
			if u, ok := uids[ev.InvolvedObject.Kind+"/"+ev.InvolvedObject.Name]; ok {
				ev.InvolvedObject.UID = u
			}
		}
		ev.FirstTimestamp, ev.LastTimestamp = at(ev.FirstTimestamp, clock), at(ev.LastTimestamp, clock)
		if !ev.EventTime.IsZero() {
			ev.EventTime = metav1.NewMicroTime(clock(ev.EventTime.Time))
		}
		if _, err := events.Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create event %s: %w", ev.Name, err)
		}
		if ev.InvolvedObject.UID == inc.UID {
			inc.Events++
		}
	}
	if decoys <= 0 {
		return nil
	}
	at := metav1.NewTime(inc.KilledAt)
	prefix := b.Pod.GenerateName
	if prefix == "" {
		prefix = b.Pod.Name + "-"
	}
	mk := func(name string, uid types.UID, i int, reason, typ, msg string) *corev1.Event {
		return &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.decoy%04d", name, i), Namespace: inc.Namespace},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: inc.Namespace, Name: name, UID: uid,
				FieldPath: "spec.containers{" + inc.Container + "}"},
			Reason: reason, Type: typ, Message: msg, Count: 1, FirstTimestamp: at, LastTimestamp: at,
			Source: corev1.EventSource{Component: "kubelet", Host: inc.Node},
		}
	}
	reasons := [][2]string{{"BackOff", "Warning"}, {"Killing", "Normal"}, {"Unhealthy", "Warning"}, {"Started", "Normal"}}
	for i := 0; i < decoys; i++ {
		name := fmt.Sprintf("%sd%04d", prefix, i)
		r := reasons[i%len(reasons)]
		ev := mk(name, uuid.NewUUID(), i, r[0], r[1], fmt.Sprintf("%s event of sibling pod %s: container %s OOMKilled (exit code 137)", DecoyMarker, name, inc.Container))
		if _, err := events.Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create decoy event: %w", err)
		}
		inc.Decoys++
	}
	// An earlier pod with the same name (a StatefulSet's, or a recreated
	// bare pod) left an event: same involvedObject.name, another UID.
	ev := mk(inc.Pod, uuid.NewUUID(), decoys, "OOMKilling", "Warning", DecoyMarker+" event of an earlier pod with this name: Memory cgroup out of memory")
	if _, err := events.Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create decoy event: %w", err)
	}
	inc.Decoys++
	return nil
}

// sanitizeLabel makes s a valid label value (63 chars, alphanumerics, '-',
// '_', '.').
func sanitizeLabel(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return strings.Trim(out, "-_.")
}
