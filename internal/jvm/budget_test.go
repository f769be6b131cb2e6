package jvm

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
)

const (
	miB = int64(1) << 20
	giB = int64(1) << 30
)

func TestBudget(t *testing.T) {
	tests := []struct {
		name  string
		flags evidence.JVMFlags
		limit int64
		obs   Observed
		// want holds the terms; totals, headroom and fractions are derived
		// from them by the test.
		want evidence.JVMBudget
		// wantAssumed lists substrings that must each appear in one
		// assumption; wantAssumptions is how many there must be.
		wantAssumed     []string
		wantAssumptions int
	}{{
		name: "everything configured",
		flags: evidence.JVMFlags{MaxHeapBytes: giB, MaxMetaspaceBytes: 256 * miB, MaxDirectMemoryBytes: 128 * miB,
			ThreadStackBytes: 512 << 10, ReservedCodeCacheBytes: 128 * miB, GC: GCG1},
		limit: 2 * giB, obs: Observed{Threads: 200},
		want: evidence.JVMBudget{HeapBytes: giB, MetaspaceBytes: 256 * miB, DirectBytes: 128 * miB, Threads: 200,
			ThreadStacksBytes: 100 * miB, CodeCacheBytes: 128 * miB, OtherBytes: giB/10 + 32*miB},
		wantAssumed:     []string{"10% of heap for G1"},
		wantAssumptions: 1,
	}, {
		name:  "nothing configured, 1GiB limit: JDK 17 defaults",
		limit: giB,
		want: evidence.JVMBudget{HeapBytes: 256 * miB, MetaspaceBytes: 128 * miB, DirectBytes: 256 * miB, Threads: 50,
			ThreadStacksBytes: 50 * miB, CodeCacheBytes: 64 * miB, OtherBytes: 256*miB/100 + 32*miB},
		wantAssumed: []string{"MaxRAMPercentage=25%", "collector Serial", "metaspace uncapped and not observed",
			"worst case = max heap", "50 threads", "1MiB", "code cache 64MiB committed assumed (reserved 240MiB", "1% of heap for Serial"},
		wantAssumptions: 8,
	}, {
		name:  "MaxRAMPercentage=75 on 1GiB goes over the limit",
		flags: evidence.JVMFlags{MaxRAMPercentage: 75, GC: GCParallel},
		limit: giB, obs: Observed{Threads: 40, MetaspaceBytes: 90 * miB, DirectBytes: 20 * miB, CodeCacheBytes: 60 * miB},
		want: evidence.JVMBudget{HeapBytes: 768 * miB, MetaspaceBytes: 90 * miB, DirectBytes: 20 * miB, Threads: 40,
			ThreadStacksBytes: 40 * miB, CodeCacheBytes: 60 * miB, OtherBytes: 768*miB*6/100 + 32*miB},
		wantAssumed: []string{"using observed peak 90MiB", "using observed peak 20MiB", "observed peak 60MiB"},
		// metaspace, direct, stack size, code cache, other
		wantAssumptions: 5,
	}, {
		name:  "small container: MinRAMPercentage applies even with MaxRAMPercentage set",
		flags: evidence.JVMFlags{MaxRAMPercentage: 75, GC: GCSerial},
		limit: 200 * miB,
		want: evidence.JVMBudget{HeapBytes: 100 * miB, MetaspaceBytes: 128 * miB, DirectBytes: 100 * miB, Threads: 50,
			ThreadStacksBytes: 50 * miB, CodeCacheBytes: 64 * miB, OtherBytes: 100*miB/100 + 32*miB},
		wantAssumed:     []string{"MinRAMPercentage=50%"},
		wantAssumptions: 7,
	}, {
		name:  "low percentage is floored at the JVM's 128MiB",
		flags: evidence.JVMFlags{MaxRAMPercentage: 10, GC: GCG1, ThreadStackBytes: miB, MaxDirectMemoryBytes: 10 * miB, MaxMetaspaceBytes: 64 * miB},
		limit: giB, obs: Observed{Threads: 10, MetaspaceBytes: 50 * miB},
		want: evidence.JVMBudget{HeapBytes: 128 * miB, MetaspaceBytes: 64 * miB, DirectBytes: 10 * miB, Threads: 10,
			ThreadStacksBytes: 10 * miB, CodeCacheBytes: 64 * miB, OtherBytes: 128*miB/10 + 32*miB},
		wantAssumed:     []string{"below the JVM's 128MiB minimum", "capped at 64MiB, observed peak 50MiB"},
		wantAssumptions: 4,
	}, {
		name:  "no limit and no Xmx: heap unknown, no headroom",
		flags: evidence.JVMFlags{Options: []string{"-XX:-TieredCompilation"}},
		want: evidence.JVMBudget{MetaspaceBytes: 128 * miB, Threads: 50, ThreadStacksBytes: 50 * miB,
			CodeCacheBytes: 48 * miB, OtherBytes: 32 * miB},
		wantAssumed:     []string{"max heap unknown", "collector G1", "code cache 48MiB"},
		wantAssumptions: 8,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Budget(tc.flags, tc.limit, tc.obs)
			w := tc.want
			w.LimitBytes = tc.limit
			w.TotalBytes = w.HeapBytes + w.MetaspaceBytes + w.DirectBytes + w.ThreadStacksBytes + w.CodeCacheBytes + w.OtherBytes
			if tc.limit > 0 {
				w.HeadroomBytes = tc.limit - w.TotalBytes
				w.OverLimit = w.TotalBytes > tc.limit
				w.HeapFractionOfLimit = float64(w.HeapBytes) / float64(tc.limit)
			}
			w.Assumptions = got.Assumptions
			if !equalBudget(got, w) {
				t.Errorf("Budget:\n got %+v\nwant %+v", got, w)
			}
			if len(got.Assumptions) != tc.wantAssumptions {
				t.Errorf("%d assumptions, want %d: %q", len(got.Assumptions), tc.wantAssumptions, got.Assumptions)
			}
			for _, sub := range tc.wantAssumed {
				found := false
				for _, a := range got.Assumptions {
					found = found || strings.Contains(a, sub)
				}
				if !found {
					t.Errorf("no assumption mentions %q: %q", sub, got.Assumptions)
				}
			}
		})
	}
}

func equalBudget(a, b evidence.JVMBudget) bool {
	a.Assumptions, b.Assumptions = nil, nil
	return a.HeapBytes == b.HeapBytes && a.MetaspaceBytes == b.MetaspaceBytes && a.DirectBytes == b.DirectBytes &&
		a.Threads == b.Threads && a.ThreadStacksBytes == b.ThreadStacksBytes && a.CodeCacheBytes == b.CodeCacheBytes &&
		a.OtherBytes == b.OtherBytes && a.TotalBytes == b.TotalBytes && a.LimitBytes == b.LimitBytes &&
		a.HeadroomBytes == b.HeadroomBytes && a.OverLimit == b.OverLimit && a.HeapFractionOfLimit == b.HeapFractionOfLimit
}

func TestBudgetOverLimitCase(t *testing.T) {
	// The 75% case above must really be over: 768 heap + 90 + 20 + 40 + 60 + 78 > 1024.
	b := Budget(evidence.JVMFlags{MaxRAMPercentage: 75, GC: GCParallel}, giB,
		Observed{Threads: 40, MetaspaceBytes: 90 * miB, DirectBytes: 20 * miB, CodeCacheBytes: 60 * miB})
	if !b.OverLimit || b.HeadroomBytes >= 0 || b.HeapFractionOfLimit != 0.75 {
		t.Fatalf("want over limit with negative headroom and 0.75 heap fraction, got %+v", b)
	}
}

// TestDefaultsMatchJDK17 checks the constants and the heap-from-limit rule
// against what the real JDK 17 printed (testdata/jdk17-defaults.txt).
func TestDefaultsMatchJDK17(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "jdk17-defaults.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flagRe := regexp.MustCompile(`^\s*\S+\s+(\w+)\s+=\s+(\S+)`)
	heapRe := regexp.MustCompile(`^(?:-XX:MaxRAMPercentage=(\d+) )?-XX:MaxRAM=(\d+)([mg]) MaxHeapSize=(\d+)$`)
	flags := map[string]string{}
	var heapChecks int
	sc := bufio.NewScanner(f)
	tiered := true
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "-TieredCompilation") {
			tiered = false
			continue
		}
		if m := flagRe.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "#") {
			key := m[1]
			if !tiered {
				key += "/notiered"
			}
			flags[key] = m[2]
			continue
		}
		if m := heapRe.FindStringSubmatch(line); m != nil {
			pct := defaultMaxRAMPercentage
			if m[1] != "" {
				pct, _ = strconv.ParseFloat(m[1], 64)
			}
			n, _ := strconv.ParseInt(m[2], 10, 64)
			limit := n * miB
			if m[3] == "g" {
				limit = n * giB
			}
			real, _ := strconv.ParseInt(m[4], 10, 64)
			got := heapFromLimit(limit, pct)
			// HotSpot then aligns the heap to its alignment (up to 2 MiB here).
			if d := got - real; d > 2*miB || d < -2*miB {
				t.Errorf("%s: heapFromLimit = %s, JDK 17 chose %s", line, evidence.Bytes(got), evidence.Bytes(real))
			}
			heapChecks++
		}
	}
	if heapChecks < 8 {
		t.Fatalf("only %d MaxHeapSize lines read from the fixture", heapChecks)
	}
	checks := []struct {
		flag string
		want float64
	}{
		{"MaxRAMPercentage", defaultMaxRAMPercentage},
		{"MinRAMPercentage", defaultMinRAMPercentage},
		{"ThreadStackSize", defaultThreadStackBytes / 1024},
		{"ReservedCodeCacheSize", defaultCodeCacheBytes},
		{"ReservedCodeCacheSize/notiered", defaultCodeCacheNoTiered},
		{"MaxDirectMemorySize", 0}, // 0 = "as large as the heap"
	}
	for _, c := range checks {
		v, err := strconv.ParseFloat(flags[c.flag], 64)
		if err != nil || v != c.want {
			t.Errorf("%s: JDK 17 says %q, budget assumes %v", c.flag, flags[c.flag], c.want)
		}
	}
}

// TestOtherCoversMeasuredNMT checks that the "other" term is at least what
// Native Memory Tracking measured outside heap, metaspace/class space, thread
// stacks and code cache, for each collector (testdata/nmt, 512 MiB heap).
func TestOtherCoversMeasuredNMT(t *testing.T) {
	catRe := regexp.MustCompile(`^-\s+(.+?) \(reserved=\d+KB, committed=(\d+)KB\)`)
	counted := map[string]bool{"Java Heap": true, "Class": true, "Metaspace": true, "Thread": true, "Code": true}
	for _, gc := range []string{GCG1, GCParallel, GCSerial} {
		t.Run(gc, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "nmt", gc+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			var otherKB, gcKB int64
			for _, line := range strings.Split(string(data), "\n") {
				m := catRe.FindStringSubmatch(strings.TrimSpace(line))
				if m == nil || counted[m[1]] {
					continue
				}
				kb, _ := strconv.ParseInt(m[2], 10, 64)
				otherKB += kb
				if m[1] == "GC" {
					gcKB = kb
				}
			}
			if gcKB == 0 {
				t.Fatal("no GC category in the NMT summary")
			}
			b := Budget(evidence.JVMFlags{MaxHeapBytes: 512 * miB, GC: gc}, 0, Observed{})
			if b.OtherBytes < otherKB*1024 {
				t.Errorf("other estimate %s < measured %s (GC %s)", evidence.Bytes(b.OtherBytes),
					evidence.Bytes(otherKB*1024), evidence.Bytes(gcKB*1024))
			}
			// And not wildly above it: within 2x + the 32 MiB base.
			if b.OtherBytes > 2*otherKB*1024+32*miB {
				t.Errorf("other estimate %s far above measured %s", evidence.Bytes(b.OtherBytes), evidence.Bytes(otherKB*1024))
			}
		})
	}
}

// A direct-buffer series that stayed at 0 is a measurement, not an unknown:
// the budget must not charge the JDK's worst case (max heap) for it.
func TestBudgetObservedZeroDirect(t *testing.T) {
	f := ParseFlags(OptionSource{Name: "args", Text: "-Xmx512m"})
	unknown := Budget(f, 1<<30, Observed{})
	seen := Budget(f, 1<<30, Observed{DirectObserved: true})
	if unknown.DirectBytes != 512<<20 {
		t.Errorf("unobserved direct = %d, want the max heap", unknown.DirectBytes)
	}
	if seen.DirectBytes != 0 || seen.TotalBytes != unknown.TotalBytes-512<<20 {
		t.Errorf("observed-zero direct = %d (total %d), want 0", seen.DirectBytes, seen.TotalBytes)
	}
}
