package bundle

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/oombot/oombot/internal/sources/prometheus"
)

// FuzzLoad feeds arbitrary bytes as each of the bundle's structured files.
// Loading must never panic: it either fails with an error naming the file or
// succeeds with warnings, and replaying the metrics never panics either.
func FuzzLoad(f *testing.F) {
	f.Add(0, []byte(manifest))
	f.Add(1, []byte(podYAML))
	f.Add(2, []byte(eventsYAML))
	f.Add(3, []byte(metricsJSON))
	f.Add(2, []byte("kind: EventList\nitems:\n- {reason: x}\n"))
	f.Add(3, []byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}`))
	f.Add(0, []byte("apiVersion: oombot/v1\nkind: Bundle\nfiredAt: [1]\n"))
	files := []string{"bundle.yaml", "pod.yaml", "events.yaml", "metrics/jvm_heap_used.json", "workload.yaml"}
	f.Fuzz(func(t *testing.T, which int, data []byte) {
		if which < 0 {
			which = -which
		}
		name := files[which%len(files)]
		fsys := baseFS()
		fsys[name] = &fstest.MapFile{Data: data}
		b, err := LoadFS(fsys, "fuzz")
		if err != nil {
			if !strings.Contains(err.Error(), "bundle fuzz: ") {
				t.Fatalf("error does not name the bundle: %v", err)
			}
			return
		}
		src, err := prometheus.New(prometheus.Options{Address: "http://x", Transport: b.PrometheusTransport(), Queries: prometheus.SignalQueries(Signals)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = src.Range(ctx, "jvm_heap_used", prometheus.Target{}, time.Unix(0, 0), time.Unix(1<<40, 0))
		_ = b.Clientset()
	})
}
