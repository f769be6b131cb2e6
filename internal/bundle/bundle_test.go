package bundle

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/oombot/oombot/internal/sources/prometheus"
)

// The YAML below is hand-written in the shape kubectl prints; it exercises
// the loader's structure handling. Real-JVM bundles are tested in
// internal/triage against testdata/bundles.
const manifest = `apiVersion: oombot/v1
kind: Bundle
target:
  namespace: shop
  pod: checkout-7d9f-abcde
  container: app
firedAt: 2026-03-14T02:17:00Z
alert: "[FIRING:1] KubePodOOMKilled"
`

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: checkout-7d9f-abcde
  namespace: shop
  uid: 6f1c2a9e-1111-4c59-9a5e-0d2a8c1e7b10
spec:
  containers:
  - name: app
    image: shop/checkout:1.2.3
status:
  containerStatuses:
  - name: app
    restartCount: 2
    lastState:
      terminated:
        reason: OOMKilled
        exitCode: 137
`

const eventsYAML = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Event
  metadata: {name: e1, namespace: shop}
  involvedObject: {kind: Pod, name: checkout-7d9f-abcde, namespace: shop}
  reason: BackOff
  message: Back-off restarting failed container app
  type: Warning
  count: 3
`

const metricsJSON = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"shop","pod":"checkout-7d9f-abcde","container":"app"},"values":[[1773453600,"100"],[1773453660,"200"],[1773453720,"300"]]}]}}`

func baseFS() fstest.MapFS {
	return fstest.MapFS{
		"bundle.yaml":                         {Data: []byte(manifest)},
		"pod.yaml":                            {Data: []byte(podYAML)},
		"events.yaml":                         {Data: []byte(eventsYAML)},
		"logs/app.previous.log":               {Data: []byte("line1\nline2\nline3\n")},
		"logs/app.log":                        {Data: []byte("current\n")},
		"metrics/jvm_heap_used.json":          {Data: []byte(metricsJSON)},
		"histograms/2026-03-14T02:10:00Z.txt": {Data: []byte("x")},
		"histograms/2026-03-14T02:00:00Z.txt": {Data: []byte("x")},
		"gc/app.log":                          {Data: []byte("x")},
		"node/kernel.log":                     {Data: []byte("x")},
	}
}

func TestLoadValid(t *testing.T) {
	b, err := LoadFS(baseFS(), "mem")
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Target.Pod != "checkout-7d9f-abcde" || !b.Manifest.FiredAt.Equal(time.Date(2026, 3, 14, 2, 17, 0, 0, time.UTC)) {
		t.Errorf("manifest = %+v", b.Manifest)
	}
	if b.Pod.Status.ContainerStatuses[0].LastTerminationState.Terminated.ExitCode != 137 {
		t.Errorf("pod not decoded: %+v", b.Pod.Status)
	}
	if len(b.Events) != 1 || b.Events[0].Reason != "BackOff" {
		t.Errorf("events = %+v", b.Events)
	}
	if b.Logs["app.previous"] != "logs/app.previous.log" || b.Logs["app"] != "logs/app.log" {
		t.Errorf("logs = %v", b.Logs)
	}
	if len(b.Histograms) != 2 || !b.Histograms[0].Time.Before(b.Histograms[1].Time) {
		t.Errorf("histograms not sorted by time: %+v", b.Histograms)
	}
	if b.GCLogs["app"] == "" || b.KernelLog == "" || b.Metrics["jvm_heap_used"] == "" {
		t.Errorf("index incomplete: gc=%v kernel=%q metrics=%v", b.GCLogs, b.KernelLog, b.Metrics)
	}
	if len(b.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", b.Warnings)
	}
}

func TestLoadFatal(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(fstest.MapFS)
		want   string
	}{
		{"no manifest", func(m fstest.MapFS) { delete(m, "bundle.yaml") }, "bundle.yaml"},
		{"unknown field", func(m fstest.MapFS) {
			m["bundle.yaml"] = &fstest.MapFile{Data: []byte(manifest + "colour: red\n")}
		}, "bundle.yaml: line 9: field colour not found"},
		{"wrong apiVersion", func(m fstest.MapFS) {
			m["bundle.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(manifest, "oombot/v1", "oombot/v2", 1))}
		}, `apiVersion "oombot/v2", want "oombot/v1"`},
		{"missing pod", func(m fstest.MapFS) {
			m["bundle.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(manifest, "  pod: checkout-7d9f-abcde\n", "", 1))}
		}, "target.pod is required"},
		{"bad firedAt", func(m fstest.MapFS) {
			m["bundle.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(manifest, "2026-03-14T02:17:00Z", "yesterday", 1))}
		}, "line 7"},
		{"no pod.yaml", func(m fstest.MapFS) { delete(m, "pod.yaml") }, "pod.yaml"},
		{"pod.yaml malformed", func(m fstest.MapFS) {
			m["pod.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")}
		}, "pod.yaml: line 4"},
		{"pod.yaml wrong kind", func(m fstest.MapFS) {
			m["pod.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n")}
		}, "want kind Pod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := baseFS()
			c.mutate(fsys)
			_, err := LoadFS(fsys, "mem")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// Optional files that are broken or unknown are warnings: the rest of the
// bundle is still used.
func TestLoadWarnings(t *testing.T) {
	fsys := baseFS()
	fsys["events.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: List\nitems:\n- {kind: Event\n")}
	fsys["metrics/jvm_heap_usage.json"] = &fstest.MapFile{Data: []byte("{}")}
	fsys["histograms/yesterday.txt"] = &fstest.MapFile{Data: []byte("x")}
	fsys["notes.txt"] = &fstest.MapFile{Data: []byte("x")}
	b, err := LoadFS(fsys, "mem")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"events.yaml: line 4", `metrics/jvm_heap_usage.json: unknown signal "jvm_heap_usage"`, "histograms/yesterday.txt: histogram file name must be an RFC3339 time", "notes.txt: unknown file ignored"}
	all := strings.Join(b.Warnings, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings missing %q:\n%s", w, all)
		}
	}
	if b.Pod == nil || b.Metrics["jvm_heap_used"] == "" {
		t.Error("the rest of the bundle was not loaded")
	}
}

func TestClientsetServesObjectsAndLogs(t *testing.T) {
	b, err := LoadFS(baseFS(), "mem")
	if err != nil {
		t.Fatal(err)
	}
	cs := b.Clientset()
	ctx := context.Background()
	pod, err := cs.CoreV1().Pods("shop").Get(ctx, "checkout-7d9f-abcde", metav1.GetOptions{})
	if err != nil || pod.Spec.Containers[0].Image != "shop/checkout:1.2.3" {
		t.Fatalf("pod = %v, %v", pod, err)
	}
	read := func(opts corev1.PodLogOptions) (string, error) {
		rc, err := cs.CoreV1().Pods("shop").GetLogs("checkout-7d9f-abcde", &opts).Stream(ctx)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		return string(data), err
	}
	two, one := int64(2), int64(1)
	cases := []struct {
		name string
		opts corev1.PodLogOptions
		want string
	}{
		{"previous", corev1.PodLogOptions{Container: "app", Previous: true}, "line1\nline2\nline3\n"},
		{"current", corev1.PodLogOptions{Container: "app"}, "current\n"},
		{"default container", corev1.PodLogOptions{}, "current\n"},
		{"limitBytes", corev1.PodLogOptions{Container: "app", Previous: true, LimitBytes: &two}, "li"},
		{"tailLines", corev1.PodLogOptions{Container: "app", Previous: true, TailLines: &one}, "line3\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := read(c.opts)
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := read(corev1.PodLogOptions{Container: "sidecar", Previous: true}); err == nil || !strings.Contains(err.Error(), "previous terminated container") {
		t.Errorf("missing previous log: err = %v, want the kubelet's message", err)
	}
}

// A bundle written by Writer loads back unchanged.
func TestWriteRoundTrip(t *testing.T) {
	src, err := LoadFS(baseFS(), "mem")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteManifest(src.Manifest); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteObject("pod.yaml", src.Pod); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteList("events.yaml", []runtime.Object{&src.Events[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteStream("logs/app.previous.log", strings.NewReader("boom\n")); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Manifest != src.Manifest {
		t.Errorf("manifest %+v, want %+v", got.Manifest, src.Manifest)
	}
	if got.Pod.Name != src.Pod.Name || got.Pod.Status.ContainerStatuses[0].RestartCount != 2 {
		t.Errorf("pod did not round-trip: %+v", got.Pod.Status)
	}
	if len(got.Events) != 1 || got.Events[0].Message != src.Events[0].Message {
		t.Errorf("events did not round-trip: %+v", got.Events)
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings: %v", got.Warnings)
	}
	if _, err := NewWriter(dir); err == nil {
		t.Error("NewWriter over an existing bundle should refuse")
	}
}

// The live Prometheus source reads a bundle through the replay transport:
// same client, same API, samples clipped to the asked range.
func TestPrometheusReplay(t *testing.T) {
	fsys := baseFS()
	fsys["metrics/jvm_old_gen_used.json"] = &fstest.MapFile{Data: []byte("{\"status\":\"success\",\n\"data\": [}")}
	b, err := LoadFS(fsys, "mem")
	if err != nil {
		t.Fatal(err)
	}
	src, err := prometheus.New(prometheus.Options{Address: "http://bundle.invalid", Transport: b.PrometheusTransport(), Queries: prometheus.SignalQueries(Signals)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tg := prometheus.Target{Namespace: "shop", Pod: "checkout-7d9f-abcde"}
	ser, err := src.Range(ctx, "jvm_heap_used", tg, time.Unix(1773453600, 0), time.Unix(1773453660, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(ser) != 1 || len(ser[0].Samples) != 2 || ser[0].Samples[1].V != 200 || ser[0].Labels["container"] != "app" {
		t.Errorf("series = %+v, want the 2 samples inside the range", ser)
	}
	if ser, err := src.Range(ctx, "jvm_threads_live", tg, time.Unix(0, 0), time.Unix(1, 0)); err != nil || len(ser) != 0 {
		t.Errorf("absent signal = %v, %v; want no series, no error", ser, err)
	}
	_, err = src.Range(ctx, "jvm_old_gen_used", tg, time.Unix(0, 0), time.Unix(1, 0))
	if err == nil || !strings.Contains(err.Error(), "metrics/jvm_old_gen_used.json: line 2") {
		t.Errorf("malformed recording: err = %v, want file and line", err)
	}
}
