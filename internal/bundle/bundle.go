// Package bundle reads and writes incident bundles: a directory of files in
// the formats kubectl, curl and jcmd already print, so that anyone can build
// one by hand and oombot can triage it with no cluster and no credentials.
//
// A bundle is replayed through the same source interfaces as a live
// cluster: Clientset returns a client-go fake clientset holding the bundle's
// objects (serving logs from logs/), and PrometheusTransport answers the
// Prometheus HTTP API from metrics/. Nothing downstream knows the difference.
//
// Layout:
//
//	bundle.yaml                   required: apiVersion oombot/v1, kind Bundle, target, firedAt, alert, description
//	pod.yaml                      required: kubectl get pod -o yaml
//	events.yaml                   optional: kubectl get events -o yaml --field-selector involvedObject.name=<pod>
//	workload.yaml                 optional: kubectl get deploy,rs -o yaml
//	logs/<container>.previous.log optional: kubectl logs --previous -c <container>
//	logs/<container>.log          optional: kubectl logs -c <container>
//	metrics/<signal>.json         optional: a Prometheus /api/v1/query_range response body
//	histograms/<RFC3339>.txt      optional: jcmd <pid> GC.class_histogram
//	gc/<container>.log            optional: JVM GC log
//	node/kernel.log               optional: kernel messages around the kill
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// APIVersion and Kind identify a bundle manifest.
const (
	APIVersion = "oombot/v1"
	Kind       = "Bundle"
)

// Signals is the canonical metric vocabulary every metrics source maps into.
var Signals = []string{
	"container_memory_working_set", "container_memory_limit",
	"jvm_heap_used", "jvm_heap_max", "jvm_old_gen_used", "jvm_nonheap_used",
	"jvm_metaspace_used", "jvm_direct_buffer_used", "jvm_classes_loaded",
	"jvm_threads_live", "jvm_gc_pause_seconds", "container_restarts",
}

// IsSignal reports whether name is a canonical signal.
func IsSignal(name string) bool {
	for _, s := range Signals {
		if s == name {
			return true
		}
	}
	return false
}

// Manifest is bundle.yaml.
type Manifest struct {
	APIVersion  string    `yaml:"apiVersion" json:"apiVersion"`
	Kind        string    `yaml:"kind" json:"kind"`
	Target      Target    `yaml:"target" json:"target"`
	FiredAt     time.Time `yaml:"-" json:"firedAt"`
	Alert       string    `yaml:"alert,omitempty" json:"alert,omitempty"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
}

// Target names the pod a bundle is about.
type Target struct {
	Cluster   string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Namespace string `yaml:"namespace" json:"namespace"`
	Pod       string `yaml:"pod" json:"pod"`
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
}

// Histogram is one class-histogram file and the time it was taken.
type Histogram struct {
	Time time.Time
	Path string // relative to the bundle root
}

// Bundle is a loaded bundle. Large files (logs, GC logs, histograms) are not
// read at load time; Open streams them when a source asks.
type Bundle struct {
	fsys     fs.FS
	Dir      string
	Manifest Manifest
	Pod      *corev1.Pod
	Events   []corev1.Event
	// Workload holds the Deployments, StatefulSets and ReplicaSets of workload.yaml.
	Workload []runtime.Object
	// Logs maps "<container>" and "<container>.previous" to a path.
	Logs map[string]string
	// Metrics maps a canonical signal to its query_range file.
	Metrics    map[string]string
	Histograms []Histogram
	// GCLogs maps a container to its GC log.
	GCLogs    map[string]string
	KernelLog string
	// LogStores maps a log store's name ("datadog", "loki") to the lines
	// it returned for the incident window (logstore/<name>.log).
	LogStores map[string]string
	// ExternalEvents is events/external.json: deploys and monitor
	// transitions read from outside Kubernetes.
	ExternalEvents string
	// Warnings are unknown files and malformed optional files. A bundle with
	// warnings is still usable.
	Warnings []string
}

// Load reads the bundle in dir. Only a missing or malformed bundle.yaml or
// pod.yaml is an error; problems with optional files become Warnings.
func Load(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("bundle %s: not a directory", dir)
	}
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS reads a bundle from fsys; name is used in messages.
func LoadFS(fsys fs.FS, name string) (*Bundle, error) {
	b := &Bundle{fsys: fsys, Dir: name, Logs: map[string]string{}, Metrics: map[string]string{}, GCLogs: map[string]string{}, LogStores: map[string]string{}}
	data, err := readSmall(fsys, "bundle.yaml")
	if err != nil {
		return nil, fmt.Errorf("bundle %s: bundle.yaml: %w", name, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: bundle.yaml: %w", name, err)
	}
	b.Manifest = m

	data, err = readSmall(fsys, "pod.yaml")
	if err != nil {
		return nil, fmt.Errorf("bundle %s: pod.yaml: %w", name, err)
	}
	obj, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: pod.yaml: %w", name, err)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("bundle %s: pod.yaml: want kind Pod, got %T", name, obj)
	}
	if pod.Name != m.Target.Pod || pod.Namespace != m.Target.Namespace {
		b.warnf("pod.yaml: holds pod %s/%s but bundle.yaml targets %s/%s", pod.Namespace, pod.Name, m.Target.Namespace, m.Target.Pod)
	}
	b.Pod = pod

	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			b.warnf("%s: %v", p, err)
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b.classify(p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", name, err)
	}
	sort.Slice(b.Histograms, func(i, j int) bool { return b.Histograms[i].Time.Before(b.Histograms[j].Time) })
	return b, nil
}

// ParseManifest decodes bundle.yaml strictly: unknown fields, a wrong
// apiVersion/kind and missing required fields are errors with a line number.
func ParseManifest(data []byte) (Manifest, error) {
	// firedAt is decoded as a node so a bad time can be reported with its line.
	var raw struct {
		Manifest `yaml:",inline"`
		FiredAt  yaml.Node `yaml:"firedAt"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return Manifest{}, fmt.Errorf("line 1: empty document")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return Manifest{}, errors.New(strings.Join(te.Errors, "; "))
		}
		return Manifest{}, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	m := raw.Manifest
	if raw.FiredAt.Kind == yaml.ScalarNode {
		t, err := time.Parse(time.RFC3339, raw.FiredAt.Value)
		if err != nil {
			return m, fmt.Errorf("line %d: firedAt %q is not an RFC3339 time (e.g. 2026-03-14T02:17:00Z)", raw.FiredAt.Line, raw.FiredAt.Value)
		}
		m.FiredAt = t
	}
	var problems []string
	if m.APIVersion != APIVersion {
		problems = append(problems, fmt.Sprintf("apiVersion %q, want %q", m.APIVersion, APIVersion))
	}
	if m.Kind != Kind {
		problems = append(problems, fmt.Sprintf("kind %q, want %q", m.Kind, Kind))
	}
	if m.Target.Namespace == "" {
		problems = append(problems, "target.namespace is required")
	}
	if m.Target.Pod == "" {
		problems = append(problems, "target.pod is required")
	}
	if m.FiredAt.IsZero() {
		problems = append(problems, "firedAt is required (RFC3339)")
	}
	if len(problems) > 0 {
		return m, errors.New(strings.Join(problems, "; "))
	}
	return m, nil
}

func (b *Bundle) warnf(format string, args ...any) {
	b.Warnings = append(b.Warnings, fmt.Sprintf(format, args...))
}

// classify files a path into the bundle's index, or warns that it is unknown
// or malformed. Small structured files are parsed here so that a malformed
// one is reported once, up front.
func (b *Bundle) classify(p string) {
	dir, file := path.Split(p)
	switch {
	case p == "bundle.yaml" || p == "pod.yaml" || strings.EqualFold(file, "README.md"):
	case p == "events.yaml":
		b.loadEvents(p)
	case p == "workload.yaml":
		b.loadWorkload(p)
	case dir == "logs/" && strings.HasSuffix(file, ".previous.log"):
		b.Logs[strings.TrimSuffix(file, ".log")] = p
	case dir == "logs/" && strings.HasSuffix(file, ".log"):
		b.Logs[strings.TrimSuffix(file, ".log")] = p
	case dir == "metrics/" && strings.HasSuffix(file, ".json"):
		sig := strings.TrimSuffix(file, ".json")
		if !IsSignal(sig) {
			b.warnf("%s: unknown signal %q ignored (known: %s)", p, sig, strings.Join(Signals, ", "))
			return
		}
		b.Metrics[sig] = p
	case dir == "histograms/" && strings.HasSuffix(file, ".txt"):
		t, err := time.Parse(time.RFC3339, strings.TrimSuffix(file, ".txt"))
		if err != nil {
			b.warnf("%s: histogram file name must be an RFC3339 time (e.g. 2026-03-14T02:10:00Z.txt): ignored", p)
			return
		}
		b.Histograms = append(b.Histograms, Histogram{Time: t, Path: p})
	case dir == "gc/" && strings.HasSuffix(file, ".log"):
		b.GCLogs[strings.TrimSuffix(file, ".log")] = p
	case p == "node/kernel.log":
		b.KernelLog = p
	case dir == "logstore/" && strings.HasSuffix(file, ".log"):
		b.LogStores[strings.TrimSuffix(file, ".log")] = p
	case p == "events/external.json":
		b.ExternalEvents = p
	default:
		b.warnf("%s: unknown file ignored", p)
	}
}

func (b *Bundle) loadEvents(p string) {
	objs, err := b.loadList(p)
	if err != nil {
		b.warnf("%s: %v", p, err)
		return
	}
	for i, o := range objs {
		switch ev := o.(type) {
		case *corev1.Event:
			b.Events = append(b.Events, *ev)
		default:
			b.warnf("%s: item %d: want Event, got %T: ignored", p, i, o)
		}
	}
}

func (b *Bundle) loadWorkload(p string) {
	objs, err := b.loadList(p)
	if err != nil {
		b.warnf("%s: %v", p, err)
		return
	}
	for i, o := range objs {
		switch o.(type) {
		case *appsv1.Deployment, *appsv1.ReplicaSet, *appsv1.StatefulSet:
			b.Workload = append(b.Workload, o)
		default:
			b.warnf("%s: item %d: want Deployment, ReplicaSet or StatefulSet, got %T: ignored", p, i, o)
		}
	}
}

// loadList decodes a v1 List (or a typed list such as EventList) into its
// items. An item that fails to decode is reported and skipped.
func (b *Bundle) loadList(p string) ([]runtime.Object, error) {
	data, err := readSmall(b.fsys, p)
	if err != nil {
		return nil, err
	}
	var head struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := sigsyaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: yaml: "))
	}
	if head.Kind != "List" && !strings.HasSuffix(head.Kind, "List") {
		obj, err := decodeObject(data)
		if err != nil {
			return nil, err
		}
		return []runtime.Object{obj}, nil
	}
	itemKind := strings.TrimSuffix(head.Kind, "List")
	var out []runtime.Object
	for i, raw := range head.Items {
		if itemKind != "" && !bytes.Contains(raw, []byte(`"kind"`)) {
			// Typed lists (EventList) may omit apiVersion/kind on items.
			raw = addTypeMeta(raw, itemKind)
		}
		obj, err := decodeObject(raw)
		if err != nil {
			b.warnf("%s: item %d: %v: ignored", p, i, err)
			continue
		}
		out = append(out, obj)
	}
	return out, nil
}

// MaxManifestBytes caps the structured files read whole (bundle.yaml,
// pod.yaml, events.yaml, workload.yaml); larger ones are refused rather than
// read into memory.
const MaxManifestBytes = 16 << 20

func readSmall(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxManifestBytes)
	}
	return data, nil
}

// decodeObject decodes one Kubernetes object from YAML or JSON.
func decodeObject(data []byte) (runtime.Object, error) {
	js, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(js, nil, nil)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// Open streams a file of the bundle (a path from the index).
func (b *Bundle) Open(p string) (io.ReadCloser, error) {
	f, err := b.fsys.Open(p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadFile reads a small file of the bundle whole.
func (b *Bundle) ReadFile(p string) ([]byte, error) { return readSmall(b.fsys, p) }

// addTypeMeta gives a list item the apiVersion/kind its typed list implies.
func addTypeMeta(raw json.RawMessage, kind string) json.RawMessage {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	api := "v1"
	switch kind {
	case "Deployment", "ReplicaSet", "StatefulSet":
		api = "apps/v1"
	}
	m["apiVersion"], m["kind"] = api, kind
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// MarshalYAML writes firedAt as RFC3339 in field order.
func (m Manifest) MarshalYAML() (any, error) {
	return struct {
		APIVersion  string `yaml:"apiVersion"`
		Kind        string `yaml:"kind"`
		Target      Target `yaml:"target"`
		FiredAt     string `yaml:"firedAt"`
		Alert       string `yaml:"alert,omitempty"`
		Description string `yaml:"description,omitempty"`
	}{m.APIVersion, m.Kind, m.Target, m.FiredAt.UTC().Format(time.RFC3339), m.Alert, m.Description}, nil
}
