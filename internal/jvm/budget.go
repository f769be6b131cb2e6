package jvm

import (
	"fmt"

	"github.com/oombot/oombot/internal/evidence"
)

// Observed holds peaks seen in metrics for the JVM's non-heap pools; 0 means
// unknown.
type Observed struct {
	Threads        int
	MetaspaceBytes int64
	DirectBytes    int64
	// DirectObserved says a direct-buffer series was read, so DirectBytes is
	// a real peak even when it is 0 (most services allocate no direct memory).
	DirectObserved bool
	CodeCacheBytes int64
}

// JDK 17 defaults the budget falls back on. Each was checked on the JDK 17
// at hand with `java -XX:+PrintFlagsFinal -version` (and -XX:MaxRAM=N to play
// a container of N bytes); see testdata/README.md.
const (
	// MaxRAMPercentage = 25.0: without -Xmx the heap is a quarter of the
	// container limit (JDK 10+ reads the cgroup limit as physical memory).
	defaultMaxRAMPercentage = 25.0
	// MinRAMPercentage = 50.0 replaces MaxRAMPercentage when memory is
	// "small": HotSpot compares RAM*MinRAMPercentage with the built-in
	// MaxHeapSize of 128 MiB, so below 256 MiB of RAM the heap is half of it,
	// and above, never less than ~128 MiB (MaxRAM=200m gives 100 MiB,
	// MaxRAM=300m gives 126 MiB, even with MaxRAMPercentage=10).
	defaultMinRAMPercentage = 50.0
	smallMemoryBytes        = 256 << 20
	builtinMaxHeapBytes     = 128 << 20
	// ThreadStackSize = 1024 (KiB) on linux-x64.
	defaultThreadStackBytes = 1 << 20
	// ReservedCodeCacheSize = 240 MiB with tiered compilation (the default);
	// 48 MiB with -XX:-TieredCompilation.
	defaultCodeCacheBytes    = 240 << 20
	defaultCodeCacheNoTiered = 48 << 20
	// The code cache is reserved at 240 MiB but committed as the JIT fills
	// it; a mid-sized service commits 40-80 MiB. The budget is a resident
	// footprint, so an unobserved, unconfigured code cache counts as 64 MiB.
	typicalCodeCacheBytes        = 64 << 20
	assumedMetaspaceBytes        = 128 << 20
	assumedThreads               = 50
	serverClassMemoryBytes       = 1792 << 20
	otherBaseBytes         int64 = 32 << 20
)

// otherPercentOfHeap is the GC's own native memory as a share of the max
// heap. Measured with -XX:NativeMemoryTracking=summary on a 512 MiB heap full
// of small HashMap entries (testdata/nmt/*.txt, "GC" committed): G1 52.5 MiB
// (10%, remembered sets and mark bitmaps), Parallel 28 MiB (5.5%, card table
// and mark bitmap), Serial 1.3 MiB (0.25%). ZGC and Shenandoah keep mark
// bitmaps and forwarding tables of the G1 order, so they reuse its figure.
var otherPercentOfHeap = map[string]float64{
	GCG1: 10, GCParallel: 6, GCSerial: 1, GCCMS: 6, GCZ: 10, GCShenandoah: 10, GCEpsilon: 0,
}

// Budget estimates the JVM's worst-case resident footprint from its flags
// and compares it with the container memory limit (0 = no limit). Observed
// peaks replace assumptions for the pools the flags leave uncapped. Every
// term that is not configured is named in Assumptions.
//
// The terms:
//   - heap: -Xmx / MaxHeapSize, else MaxRAMPercentage (25%) of the limit,
//     with HotSpot's small-memory rules; unknown without a limit.
//   - metaspace: MaxMetaspaceSize, else the observed peak, else 128 MiB
//     (JDK 17 leaves metaspace uncapped; a mid-sized Spring service uses
//     80-150 MiB).
//   - direct: MaxDirectMemorySize, else the observed peak (the realistic
//     figure), else the max heap, which is the JDK's own cap for
//     java.nio direct buffers when the flag is unset.
//   - thread stacks: threads × stack size (Xss, default 1 MiB); threads
//     observed, else 50 (the JVM's own ~20 threads plus a small pool).
//     Stacks are committed as touched, so this is an upper bound.
//   - code cache: ReservedCodeCacheSize, else the observed peak, else
//     64 MiB committed (the 240 MiB default is only reserved; 48 MiB
//     without tiered compilation).
//   - other: GC data structures as a share of the heap (see
//     otherPercentOfHeap) + 32 MiB for symbols, the CDS archive (12 MiB
//     on JDK 17), class space headers, arenas and malloc slack.
func Budget(f evidence.JVMFlags, limitBytes int64, obs Observed) evidence.JVMBudget {
	b := evidence.JVMBudget{LimitBytes: limitBytes}
	note := func(format string, args ...any) {
		b.Assumptions = append(b.Assumptions, fmt.Sprintf(format, args...))
	}

	// Heap.
	switch {
	case f.MaxHeapBytes > 0:
		b.HeapBytes = f.MaxHeapBytes
	case limitBytes > 0:
		pct, set := f.MaxRAMPercentage, f.MaxRAMPercentage > 0
		if !set {
			pct = defaultMaxRAMPercentage
		}
		b.HeapBytes = heapFromLimit(limitBytes, pct)
		switch {
		case limitBytes < smallMemoryBytes:
			note("max heap %s: limit below 256MiB, so the JVM uses MinRAMPercentage=50%% of it", evidence.Bytes(b.HeapBytes))
		case !set:
			note("max heap %s: no -Xmx, default MaxRAMPercentage=25%% of the limit", evidence.Bytes(b.HeapBytes))
		case float64(b.HeapBytes) > float64(limitBytes)*pct/100:
			note("max heap %s: %.0f%% of the limit is below the JVM's 128MiB minimum", evidence.Bytes(b.HeapBytes), pct)
		}
	default:
		note("max heap unknown: no -Xmx and no container limit (the JVM takes 25%% of node memory)")
	}

	gc := f.GC
	if gc == "" {
		// JDK 17 picks G1 only on a "server class machine" (>= 2 CPUs and
		// >= 1792 MiB); in a smaller container it falls back to Serial.
		gc = GCG1
		if limitBytes > 0 && limitBytes < serverClassMemoryBytes {
			gc = GCSerial
		}
		note("collector %s assumed (JDK 17 ergonomics for this limit, 2+ CPUs)", gc)
	}

	// Metaspace.
	switch {
	case f.MaxMetaspaceBytes > 0:
		b.MetaspaceBytes = f.MaxMetaspaceBytes
		if obs.MetaspaceBytes > 0 && obs.MetaspaceBytes < f.MaxMetaspaceBytes {
			// The cap is the worst case; note the gap for the reader.
			note("metaspace capped at %s, observed peak %s", evidence.Bytes(f.MaxMetaspaceBytes), evidence.Bytes(obs.MetaspaceBytes))
		}
	case obs.MetaspaceBytes > 0:
		b.MetaspaceBytes = obs.MetaspaceBytes
		note("metaspace uncapped (no MaxMetaspaceSize); using observed peak %s", evidence.Bytes(obs.MetaspaceBytes))
	default:
		b.MetaspaceBytes = assumedMetaspaceBytes
		note("metaspace uncapped and not observed; assumed %s", evidence.Bytes(assumedMetaspaceBytes))
	}

	// Direct buffers.
	switch {
	case f.MaxDirectMemoryBytes > 0:
		b.DirectBytes = f.MaxDirectMemoryBytes
	case obs.DirectBytes > 0 || obs.DirectObserved:
		b.DirectBytes = obs.DirectBytes
		note("direct memory uncapped (defaults to max heap %s); using observed peak %s", evidence.Bytes(b.HeapBytes), evidence.Bytes(obs.DirectBytes))
	default:
		b.DirectBytes = b.HeapBytes
		note("direct memory uncapped and not observed; worst case = max heap %s (JDK default for MaxDirectMemorySize)", evidence.Bytes(b.HeapBytes))
	}

	// Thread stacks.
	stack := f.ThreadStackBytes
	if stack <= 0 {
		stack = defaultThreadStackBytes
		note("thread stack 1MiB (default Xss on linux-x64)")
	}
	b.Threads = obs.Threads
	if b.Threads <= 0 {
		b.Threads = assumedThreads
		note("%d threads assumed (thread count not observed)", assumedThreads)
	}
	b.ThreadStacksBytes = int64(b.Threads) * stack

	// Code cache.
	switch {
	case f.ReservedCodeCacheBytes > 0:
		b.CodeCacheBytes = f.ReservedCodeCacheBytes
	default:
		b.CodeCacheBytes = defaultCodeCacheBytes
		for _, o := range f.Options {
			if o == "-XX:-TieredCompilation" {
				b.CodeCacheBytes = defaultCodeCacheNoTiered
			}
		}
		switch {
		case obs.CodeCacheBytes > 0 && obs.CodeCacheBytes < b.CodeCacheBytes:
			b.CodeCacheBytes = obs.CodeCacheBytes
			note("code cache: observed peak %s (reserved default not reached)", evidence.Bytes(obs.CodeCacheBytes))
		case b.CodeCacheBytes > typicalCodeCacheBytes:
			note("code cache %s committed assumed (reserved %s by default, committed as the JIT fills it)", evidence.Bytes(typicalCodeCacheBytes), evidence.Bytes(b.CodeCacheBytes))
			b.CodeCacheBytes = typicalCodeCacheBytes
		default:
			note("code cache %s (default ReservedCodeCacheSize)", evidence.Bytes(b.CodeCacheBytes))
		}
	}

	// Other native memory.
	pct := otherPercentOfHeap[gc]
	b.OtherBytes = int64(float64(b.HeapBytes)*pct/100) + otherBaseBytes
	note("other native memory %s = %.0f%% of heap for %s GC structures + 32MiB (symbols, CDS, arenas)", evidence.Bytes(b.OtherBytes), pct, gc)

	b.TotalBytes = b.HeapBytes + b.MetaspaceBytes + b.DirectBytes + b.ThreadStacksBytes + b.CodeCacheBytes + b.OtherBytes
	if limitBytes > 0 {
		b.HeadroomBytes = limitBytes - b.TotalBytes
		b.OverLimit = b.TotalBytes > limitBytes
		b.HeapFractionOfLimit = float64(b.HeapBytes) / float64(limitBytes)
	}
	return b
}

// heapFromLimit mirrors HotSpot's Arguments::set_heap_size for a JVM whose
// physical memory is the container limit and whose -Xmx is unset. The JVM
// then aligns the result down to the heap alignment (1-2 MiB typically), which
// this ignores.
func heapFromLimit(limit int64, pct float64) int64 {
	if limit < smallMemoryBytes {
		return int64(float64(limit) * defaultMinRAMPercentage / 100)
	}
	h := int64(float64(limit) * pct / 100)
	if h < builtinMaxHeapBytes {
		h = builtinMaxHeapBytes
	}
	return h
}
