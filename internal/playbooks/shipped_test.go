package playbooks

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
	shipped "github.com/oombot/oombot/playbooks"
)

// shippedIDs are part of oombot's interface: reports, docs and alert
// routing refer to them.
var shippedIDs = []string{
	"classloader-leak", "heap-undersized", "image-decode-bomb",
	"lock-growth", "native-memory-over-limit", "netty-buffer-leak",
}

func loadShipped(t testing.TB) *Set {
	t.Helper()
	set, err := LoadFS(shipped.FS, ".")
	if err != nil {
		t.Fatalf("shipped playbooks do not load: %v", err)
	}
	return set
}

func TestShippedPlaybooksLoad(t *testing.T) {
	set := loadShipped(t)
	var ids []string
	for _, pb := range set.Playbooks() {
		ids = append(ids, pb.ID())
		spec := pb.Spec()
		if len(spec.References) == 0 {
			t.Errorf("%s: no references", pb.ID())
		}
		if strings.TrimSpace(spec.NextSteps) == "" {
			t.Errorf("%s: no next steps", pb.ID())
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, shippedIDs) {
		t.Fatalf("shipped ids = %v, want %v", ids, shippedIDs)
	}
}

func matchedIDs(results []Result) []string {
	var ids []string
	for _, r := range results {
		if r.Matched {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func resultFor(t testing.TB, results []Result, id string) Result {
	t.Helper()
	i := slices.IndexFunc(results, func(r Result) bool { return r.ID == id })
	if i < 0 {
		t.Fatalf("no result for %s", id)
	}
	return results[i]
}

// TestShippedScenarios checks each shipped playbook against its own failure
// pattern and every other pattern: exactly the right playbook matches, it
// ranks first, it cites what it fired on, and every template renders.
func TestShippedScenarios(t *testing.T) {
	set := loadShipped(t)
	tests := []struct {
		name  string
		ev    func(testing.TB) evidence.Evidence
		want  string // the only playbook that may match; "" for none
		fired []string
		// inNextSteps must appear in the rendered next steps of want: proof
		// the template used this evidence.
		inNextSteps string
	}{
		{"image decode bomb", imageBombEvidence, "image-decode-bomb",
			[]string{"heap-oom-in-image-decoder", "heap-spike-before-failure", "live-heap-small", "old-gen-floor-steady"},
			"java.awt.image.DataBufferByte.<init>"},
		{"lock growth", lockGrowthEvidence, "lock-growth",
			[]string{"lock-instances-accumulating", "old-gen-floor-climbing", "gc-floor-climbing", "heap-exhausted"},
			"ReentrantLock$NonfairSync"},
		{"classloader leak", classloaderLeakEvidence, "classloader-leak",
			[]string{"loaded-classes-climbing", "metaspace-climbing", "classloaders-accumulating", "class-objects-accumulating", "metaspace-oom"},
			"OutOfMemoryError: Metaspace"},
		{"netty buffer leak", nettyLeakEvidence, "netty-buffer-leak",
			[]string{"netty-leak-records", "direct-memory-oom", "direct-memory-climbing"},
			"FrameDecoder.channelRead"},
		{"heap undersized", heapUndersizedEvidence, "heap-undersized",
			[]string{"heap-oom", "full-gcs-reclaim-little", "high-flat-floor", "frequent-full-gcs"},
			"heap 64MiB"},
		{"native memory over limit", nativeOverLimitEvidence, "native-memory-over-limit",
			[]string{"container-oom-killed", "kernel-memcg-kill", "budget-over-limit", "heap-takes-most-of-limit", "container-memory-at-limit", "heap-below-max", "non-heap-climbing"},
			"MaxRAMPercentage=80"},
		{"healthy", healthyEvidence, "", nil, ""},
		{"empty", func(testing.TB) evidence.Evidence { return evidence.Evidence{} }, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev(t)
			results := set.Evaluate(context.Background(), &ev)
			if len(results) != len(shippedIDs) {
				t.Fatalf("got %d results, want %d", len(results), len(shippedIDs))
			}
			got := matchedIDs(results)
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(got, want) {
				for _, r := range results {
					t.Logf("%s: matched=%v conf=%.2f why=%s", r.ID, r.Matched, r.Confidence, r.Why)
				}
				t.Fatalf("matched %v, want %v", got, want)
			}
			for _, r := range results {
				if len(r.Errors) > 0 {
					t.Errorf("%s: errors %v", r.ID, r.Errors)
				}
				if strings.Contains(r.NextSteps, "{{") || strings.Contains(r.NextSteps, "<no value>") {
					t.Errorf("%s: next steps not rendered cleanly:\n%s", r.ID, r.NextSteps)
				}
				if r.Why == "" {
					t.Errorf("%s: empty Why", r.ID)
				}
			}
			if tt.want == "" {
				return
			}
			top := results[0]
			if top.ID != tt.want {
				t.Fatalf("top result %s, want %s", top.ID, tt.want)
			}
			var fired []string
			for _, f := range top.Fired {
				fired = append(fired, f.Name)
				for _, it := range f.Items {
					if it.ID == "" || it.Summary == "" {
						t.Errorf("signal %s cites an item without id or summary: %+v", f.Name, it)
					}
				}
			}
			if !slices.Equal(fired, tt.fired) {
				t.Errorf("fired %v, want %v", fired, tt.fired)
			}
			if top.Confidence < top.Threshold {
				t.Errorf("matched below threshold: %.2f < %.2f", top.Confidence, top.Threshold)
			}
			if !strings.Contains(top.NextSteps, tt.inNextSteps) {
				t.Errorf("next steps lack %q:\n%s", tt.inNextSteps, top.NextSteps)
			}
		})
	}
}

// TestShippedEdgeCases covers the distinctions the playbooks exist to make.
func TestShippedEdgeCases(t *testing.T) {
	set := loadShipped(t)
	tests := []struct {
		name    string
		ev      func(testing.TB) evidence.Evidence
		id      string
		matched bool
		why     string // fragment of Result.Why
	}{
		{
			name: "heap-undersized is vetoed when the old-gen floor climbs",
			ev: func(t testing.TB) evidence.Evidence {
				ev := heapUndersizedEvidence(t)
				ev.Trends = append(ev.Trends, trend("jvm_heap_used", evidence.ShapeLeak, "bytes",
					float64(20*mib), float64(58*mib), float64(61*mib), float64(61*mib)))
				return ev
			},
			id: "heap-undersized", why: "excluded: old-gen-floor-climbing",
		},
		{
			name: "heap-undersized is vetoed by a climbing GC floor alone",
			ev: func(t testing.TB) evidence.Evidence {
				ev := heapUndersizedEvidence(t)
				ev.Trends = nil
				ev.GC = []evidence.GCSummary{gcSummary(t, "session-locks-gc.log", 0, -1, 64)}
				return ev
			},
			id: "heap-undersized", why: "excluded: gc-floor-climbing",
		},
		{
			name: "heap-undersized does not match the lock leak",
			ev:   lockGrowthEvidence, id: "heap-undersized", why: "excluded:",
		},
		{
			name: "native-memory-over-limit is vetoed by any JVM OutOfMemoryError",
			ev: func(t testing.TB) evidence.Evidence {
				ev := nativeOverLimitEvidence(t)
				ev.OOMErrors = readOOMs(t, "catalog-heap-oom.log", "app")
				return ev
			},
			id: "native-memory-over-limit", why: "excluded: jvm-outofmemoryerror",
		},
		{
			name: "native-memory-over-limit needs the container to be OOMKilled",
			ev: func(t testing.TB) evidence.Evidence {
				ev := nativeOverLimitEvidence(t)
				ev.Containers[0].LastTermination = evidence.Termination{}
				return ev
			},
			id: "native-memory-over-limit", why: "required signal container-oom-killed did not fire",
		},
		{
			name: "native-memory-over-limit ignores another container's OOMKill",
			ev: func(t testing.TB) evidence.Evidence {
				ev := nativeOverLimitEvidence(t)
				ev.Target.Container = "sidecar"
				return ev
			},
			id: "native-memory-over-limit", why: "required signal container-oom-killed did not fire",
		},
		{
			name: "image bomb still matches in a gateway that also leaks",
			ev: func(t testing.TB) evidence.Evidence {
				ev := imageBombEvidence(t)
				ev.Trends = []evidence.Trend{trend("jvm_old_gen_used", evidence.ShapeLeak, "bytes",
					float64(20*mib), float64(90*mib), float64(127*mib), float64(128*mib))}
				return ev
			},
			id: "image-decode-bomb", matched: true, why: "confidence 0.70",
		},
		{
			name: "a heap OOM outside image code is not an image bomb",
			ev:   heapUndersizedEvidence, id: "image-decode-bomb", why: "no signal fired",
		},
		{
			name: "a heap spike with an OOM outside image code is not an image bomb",
			ev: func(t testing.TB) evidence.Evidence {
				ev := imageBombEvidence(t)
				ev.OOMErrors = readOOMs(t, "catalog-heap-oom.log", "app")
				return ev
			},
			id: "image-decode-bomb", why: "required signal heap-oom-in-image-decoder did not fire",
		},
		{
			name: "lock classes alone, without heap growth, are not enough",
			ev: func(t testing.TB) evidence.Evidence {
				ev := lockGrowthEvidence(t)
				ev.Trends, ev.GC, ev.OOMErrors = nil, nil, nil
				return ev
			},
			id: "lock-growth", why: "confidence 0.50 below threshold 0.60",
		},
		{
			name: "Block and Clock classes are not locks",
			ev: func(t testing.TB) evidence.Evidence {
				ev := lockGrowthEvidence(t)
				ev.ClassGrowth = []evidence.ClassGrowth{
					{ID: "c1", ClassName: "java.util.concurrent.LinkedBlockingQueue$Node", InstancesDelta: 90000, Cites: cite("h", "1", "x")},
					{ID: "c2", ClassName: "java.time.Clock$SystemClock", InstancesDelta: 5000, Cites: cite("h", "2", "x")},
					{ID: "c3", ClassName: "org.example.BlockHeader", InstancesDelta: 5000, Cites: cite("h", "3", "x")},
				}
				return ev
			},
			id: "lock-growth", why: "required signal lock-instances-accumulating did not fire",
		},
		{
			name: "Hazelcast lock resources are locks",
			ev: func(t testing.TB) evidence.Evidence {
				ev := lockGrowthEvidence(t)
				ev.ClassGrowth = []evidence.ClassGrowth{{ID: "c1", ClassName: "com.hazelcast.internal.locksupport.LockResourceImpl",
					InstancesStart: 1200, InstancesEnd: 480000, InstancesDelta: 478800, Cites: cite("h", "1", "x")}}
				return ev
			},
			id: "lock-growth", matched: true, why: "lock-instances-accumulating",
		},
		{
			name: "a metaspace OOM alone is too little for a classloader leak",
			ev: func(t testing.TB) evidence.Evidence {
				ev := classloaderLeakEvidence(t)
				ev.Trends, ev.ClassGrowth = nil, nil
				return ev
			},
			id: "classloader-leak", why: "below threshold",
		},
		{
			name: "Netty leak records plus a climbing direct pool match without an OOM",
			ev: func(t testing.TB) evidence.Evidence {
				ev := nettyLeakEvidence(t)
				ev.OOMErrors = nil
				return ev
			},
			id: "netty-buffer-leak", matched: true, why: "confidence 0.65",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev(t)
			r := resultFor(t, set.Evaluate(context.Background(), &ev), tt.id)
			if r.Matched != tt.matched || !strings.Contains(r.Why, tt.why) {
				t.Fatalf("%s: matched=%v why=%q; want matched=%v why containing %q", tt.id, r.Matched, r.Why, tt.matched, tt.why)
			}
			if len(r.Errors) > 0 {
				t.Errorf("errors: %v", r.Errors)
			}
		})
	}
}

// realisticEvidence is one busy triage: several scenarios' material at once.
func realisticEvidence(b testing.TB) evidence.Evidence {
	ev := lockGrowthEvidence(b)
	for _, other := range []evidence.Evidence{imageBombEvidence(b), classloaderLeakEvidence(b), nettyLeakEvidence(b), nativeOverLimitEvidence(b), healthyEvidence(b)} {
		ev.OOMErrors = append(ev.OOMErrors, other.OOMErrors...)
		ev.Leaks = append(ev.Leaks, other.Leaks...)
		ev.Trends = append(ev.Trends, other.Trends...)
		ev.GC = append(ev.GC, other.GC...)
		ev.ClassGrowth = append(ev.ClassGrowth, other.ClassGrowth...)
		ev.Events = append(ev.Events, other.Events...)
		ev.KernelKills = append(ev.KernelKills, other.KernelKills...)
	}
	// A class histogram diff is typically the top 50 classes.
	for i := range 50 {
		ev.ClassGrowth = append(ev.ClassGrowth, evidence.ClassGrowth{
			ID: "class/filler" + string(rune('a'+i%26)) + string(rune('a'+i/26)), ClassName: "com.example.domain.Entity" + string(rune('A'+i%26)),
			InstancesDelta: int64(10 * i), Cites: cite("histograms/b.txt", "line 9", "filler"),
		})
	}
	return ev
}

func BenchmarkEvaluate(b *testing.B) {
	set := loadShipped(b)
	ev := realisticEvidence(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if rs := set.Evaluate(ctx, &ev); len(rs) != len(shippedIDs) {
			b.Fatalf("got %d results", len(rs))
		}
	}
}

func BenchmarkLoadShipped(b *testing.B) {
	for b.Loop() {
		if _, err := LoadFS(shipped.FS, "."); err != nil {
			b.Fatal(err)
		}
	}
}
