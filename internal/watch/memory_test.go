package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

// examplePods loads the recorded pods of the example incidents (real
// kubectl output: spec, status, owners; no managedFields, so the ratio
// below is conservative: an API server's list adds them).
func examplePods(t testing.TB) []*corev1.Pod {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "examples", "incidents", "*", "pod.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("example pods: %v (%d found)", err, len(paths))
	}
	var pods []*corev1.Pod
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var pod corev1.Pod
		if err := yaml.Unmarshal(data, &pod); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// Recent, so the stripped pod keeps its termination.
		for i := range pod.Status.ContainerStatuses {
			if t := pod.Status.ContainerStatuses[i].LastTerminationState.Terminated; t != nil {
				t.FinishedAt = metav1.NewTime(time.Now())
			}
		}
		pods = append(pods, &pod)
	}
	return pods
}

// retained fills an informer-style indexer with n pods (copies of the
// examples with distinct names), passed through transform, and returns the
// heap bytes the indexer keeps per pod.
func retained(t testing.TB, examples []*corev1.Pod, n int, transform cache.TransformFunc) float64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for i := range n {
		p := examples[i%len(examples)].DeepCopy()
		p.Name = fmt.Sprintf("%s-%d", p.Name, i)
		p.UID = types.UID(fmt.Sprintf("uid-%08d", i))
		obj, err := transform(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(idx)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

func identity(obj any) (any, error) { return obj, nil }

// TestStrippedPodsRetainLittle: the watcher's cache keeps a small fraction
// of what caching whole pods would.
func TestStrippedPodsRetainLittle(t *testing.T) {
	ex := examplePods(t)
	const n = 3000
	full := retained(t, ex, n, identity)
	stripped := retained(t, ex, n, Strip)
	ratio := stripped / full
	t.Logf("retained per pod: full %.0f B, stripped %.0f B (ratio %.2f)", full, stripped, ratio)
	if full <= 0 || ratio > 0.10 {
		t.Errorf("stripped pods keep %.0f%% of full pods' memory; want ≤ 10%%", ratio*100)
	}
}

// BenchmarkRetainedPodCache reports bytes kept per cached pod, whole and
// stripped, and their ratio, in the same run.
func BenchmarkRetainedPodCache(b *testing.B) {
	ex := examplePods(b)
	var full, stripped float64
	for b.Loop() {
		full = retained(b, ex, 2000, identity)
		stripped = retained(b, ex, 2000, Strip)
	}
	b.ReportMetric(full, "B/pod-full")
	b.ReportMetric(stripped, "B/pod-stripped")
	b.ReportMetric(stripped/full, "ratio")
}
