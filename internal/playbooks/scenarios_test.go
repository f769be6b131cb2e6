package playbooks

import (
	"fmt"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// Scenarios are hand-assembled evidence values, one per failure pattern the
// shipped playbooks diagnose, plus a healthy workload. OutOfMemoryErrors,
// class growth and GC summaries are read from the real JVM output in
// testdata/jvm; trends, containers and Kubernetes records are written here
// with citations shaped like the real sources.

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

var firedAt = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

func cite(source, ref, text string) []evidence.Citation {
	return []evidence.Citation{{Source: source, Ref: ref, Text: text, Time: firedAt}}
}

// trend builds a metric trend with consistent derived fields.
func trend(signal, shape, unit string, floorStart, floorEnd, peak, ceiling float64) evidence.Trend {
	t := evidence.Trend{
		ID: "trend/" + signal, Signal: signal, Container: "app", Unit: unit, Shape: shape,
		Samples: 240, Start: firedAt.Add(-4 * time.Hour), End: firedAt,
		Min: floorStart, Max: peak, Last: floorEnd, FloorStart: floorStart, FloorEnd: floorEnd,
		GrowthPerHour: (floorEnd - floorStart) / 4, Ceiling: ceiling,
		Cites: cite("metrics/"+signal, "4h range, 1m step", fmt.Sprintf("%s %s: floor %.0f → %.0f, max %.0f", signal, shape, floorStart, floorEnd, peak)),
	}
	if ceiling > 0 {
		t.PeakFractionOfCeiling = peak / ceiling
		t.FloorFractionOfCeiling = floorEnd / ceiling
		if shape == evidence.ShapeLeak && t.GrowthPerHour > 0 {
			t.HoursToExhaustion = (ceiling - floorEnd) / t.GrowthPerHour
		}
	}
	return t
}

func jvmContainer(name string, limit, heap int64, running bool) evidence.Container {
	c := evidence.Container{
		ID: "container/" + name, Name: name, Image: "registry.example/shop/" + name + ":1.42.0",
		Ready: running, RestartCount: 3, MemoryRequestBytes: limit, MemoryLimitBytes: limit, IsJVM: true,
		JVM: evidence.JVMFlags{MaxHeapBytes: heap, Options: []string{fmt.Sprintf("-Xmx%dm", heap/mib), "-XX:+ExitOnOutOfMemoryError"}},
		Budget: evidence.JVMBudget{
			HeapBytes: heap, MetaspaceBytes: 128 * mib, Threads: 200, ThreadStacksBytes: 200 * mib,
			CodeCacheBytes: 240 * mib, OtherBytes: 100 * mib, LimitBytes: limit,
		},
		Cites: cite("kubernetes/pod", "spec.containers[0]", "name: "+name),
	}
	b := &c.Budget
	b.TotalBytes = b.HeapBytes + b.MetaspaceBytes + b.ThreadStacksBytes + b.CodeCacheBytes + b.OtherBytes
	b.HeadroomBytes = b.LimitBytes - b.TotalBytes
	b.OverLimit = b.HeadroomBytes < 0
	b.HeapFractionOfLimit = float64(heap) / float64(limit)
	c.State = evidence.Termination{State: "running"}
	if !running {
		c.State = evidence.Termination{State: "waiting", Reason: "CrashLoopBackOff"}
	}
	return c
}

// exitedJVM marks the container's last termination as the JVM exiting on
// OutOfMemoryError (-XX:+ExitOnOutOfMemoryError exits with code 3).
func exitedJVM(c evidence.Container) evidence.Container {
	c.LastTermination = evidence.Termination{State: "terminated", Reason: "Error", ExitCode: 3, ExitMeaning: "exit 3"}
	return c
}

func oomKilled(c evidence.Container) evidence.Container {
	c.LastTermination = evidence.Termination{
		State: "terminated", Reason: "OOMKilled", ExitCode: 137, Signal: 9, OOMKilled: true,
		ExitMeaning: "SIGKILL (128+9): killed, usually by the OOM killer",
	}
	c.Cites = append(c.Cites, cite("kubernetes/pod", "status.containerStatuses[0].lastState", "terminated: reason: OOMKilled exitCode: 137")...)
	return c
}

func base(containers ...evidence.Container) evidence.Evidence {
	return evidence.Evidence{
		Target:     evidence.Target{Cluster: "prod-eu", Namespace: "shop", Pod: "app-7d9f8b6c4-x2x9k", Container: "app", WorkloadKind: "Deployment", WorkloadName: "app"},
		FiredAt:    firedAt,
		Window:     evidence.Window{Start: firedAt.Add(-4 * time.Hour), End: firedAt},
		Containers: containers,
		Restarts:   evidence.Restarts{Total: 3, Last24h: 3, PerHour: 0.75, Cites: cite("kubernetes/pod", "status.containerStatuses[0].restartCount", "restartCount: 3")},
	}
}

func jvmOOMKill(ev *evidence.Evidence) {
	ev.Kill = evidence.Kill{Kind: evidence.KillJVMOOM, JVMOutOfMemory: true,
		Explanation: "The JVM threw OutOfMemoryError and exited", Cites: ev.OOMErrors[0].Cites}
}

// imageBombEvidence: a thumbnail service decodes a PNG declaring 20000x20000.
func imageBombEvidence(t testing.TB) evidence.Evidence {
	ev := base(exitedJVM(jvmContainer("app", 512*mib, 128*mib, false)))
	ev.OOMErrors = readOOMs(t, "image-decode-oom.log", "app")
	jvmOOMKill(&ev)
	ev.GC = []evidence.GCSummary{gcSummary(t, "image-decode-gc.log", 0, -1, 128)}
	ev.Trends = []evidence.Trend{
		trend("jvm_heap_used", evidence.ShapeSpike, "bytes", float64(30*mib), float64(31*mib), float64(127*mib), float64(128*mib)),
		trend("jvm_old_gen_used", evidence.ShapeSawtooth, "bytes", float64(20*mib), float64(21*mib), float64(60*mib), float64(100*mib)),
	}
	return ev
}

// lockGrowthEvidence: a lock per session key, never removed.
func lockGrowthEvidence(t testing.TB) evidence.Evidence {
	ev := base(exitedJVM(jvmContainer("app", 512*mib, 64*mib, false)))
	ev.OOMErrors = readOOMs(t, "session-locks-oom.log", "app")
	jvmOOMKill(&ev)
	ev.ClassGrowth = []evidence.ClassGrowth{
		classGrowth(t, "lock-histo-1.txt", "lock-histo-2.txt", "java.util.concurrent.locks.ReentrantLock$NonfairSync"),
		classGrowth(t, "lock-histo-1.txt", "lock-histo-2.txt", "java.util.concurrent.locks.ReentrantLock"),
		classGrowth(t, "lock-histo-1.txt", "lock-histo-2.txt", "java.util.concurrent.ConcurrentHashMap$Node"),
	}
	ev.GC = []evidence.GCSummary{gcSummary(t, "session-locks-gc.log", 0, -1, 64)}
	ev.Trends = []evidence.Trend{
		trend("jvm_old_gen_used", evidence.ShapeLeak, "bytes", float64(8*mib), float64(58*mib), float64(63*mib), float64(64*mib)),
	}
	return ev
}

// classloaderLeakEvidence: a plugin host leaking a classloader per reload.
func classloaderLeakEvidence(t testing.TB) evidence.Evidence {
	ev := base(exitedJVM(jvmContainer("app", 1*gib, 512*mib, false)))
	ev.OOMErrors = readOOMs(t, "metaspace-oom.log", "app")
	jvmOOMKill(&ev)
	ev.ClassGrowth = []evidence.ClassGrowth{
		classGrowth(t, "meta-histo-1.txt", "meta-histo-2.txt", "java.net.URLClassLoader"),
		classGrowth(t, "meta-histo-1.txt", "meta-histo-2.txt", "java.lang.Class"),
	}
	ev.Trends = []evidence.Trend{
		trend("jvm_classes_loaded", evidence.ShapeLeak, "count", 14000, 52000, 52100, 0),
		trend("jvm_metaspace_used", evidence.ShapeLeak, "bytes", float64(90*mib), float64(250*mib), float64(256*mib), float64(256*mib)),
		trend("jvm_old_gen_used", evidence.ShapeSawtooth, "bytes", float64(150*mib), float64(160*mib), float64(300*mib), float64(400*mib)),
	}
	return ev
}

// nettyLeakEvidence: a handler drops pooled direct ByteBufs.
func nettyLeakEvidence(t testing.TB) evidence.Evidence {
	ev := base(exitedJVM(jvmContainer("app", 2*gib, 1*gib, false)))
	ev.OOMErrors = readOOMs(t, "direct-buffer-oom.log", "app")
	jvmOOMKill(&ev)
	// Hand-written in the format of Netty 4.1's ResourceLeakDetector (Netty
	// is not available offline to produce a real one).
	leakLine := "LEAK: ByteBuf.release() was not called before it's garbage-collected. See https://netty.io/wiki/reference-counted-objects.html for more information."
	ev.Leaks = []evidence.LeakRecord{{
		ID: "leak/app/1", Container: "app", Source: "logs/app.log", Time: firedAt.Add(-time.Hour),
		Message: leakLine,
		Frames: []string{
			"io.netty.buffer.AdvancedLeakAwareByteBuf.readBytes(AdvancedLeakAwareByteBuf.java:502)",
			"com.example.gateway.FrameDecoder.channelRead(FrameDecoder.java:88)",
		},
		Count: 14,
		Cites: cite("logs/app.log", "line 20311", "ERROR io.netty.util.ResourceLeakDetector - "+leakLine),
	}}
	ev.Trends = []evidence.Trend{
		trend("jvm_direct_buffer_used", evidence.ShapeLeak, "bytes", float64(64*mib), float64(900*mib), float64(1*gib), float64(1*gib)),
		trend("jvm_old_gen_used", evidence.ShapeSawtooth, "bytes", float64(200*mib), float64(210*mib), float64(500*mib), float64(800*mib)),
	}
	return ev
}

// heapUndersizedEvidence: live data bigger than -Xmx, no leak.
func heapUndersizedEvidence(t testing.TB) evidence.Evidence {
	ev := base(exitedJVM(jvmContainer("app", 1*gib, 64*mib, false)))
	ev.OOMErrors = readOOMs(t, "catalog-heap-oom.log", "app")
	jvmOOMKill(&ev)
	// From GC(3) on: the catalog is loaded; GC(10) is logged after the
	// error and is left out (see testdata/jvm/README.md).
	g := gcSummary(t, "catalog-gc.log", 4, 11, 61)
	ev.GC = []evidence.GCSummary{g}
	ev.Trends = []evidence.Trend{
		trend("jvm_old_gen_used", evidence.ShapeSawtooth, "bytes", float64(57*mib), float64(58*mib), float64(60*mib), float64(61*mib)),
	}
	return ev
}

// nativeOverLimitEvidence: the kernel kills the container; no JVM error.
func nativeOverLimitEvidence(t testing.TB) evidence.Evidence {
	c := oomKilled(jvmContainer("app", 1*gib, 820*mib, false))
	c.JVM.Options = []string{"-XX:MaxRAMPercentage=80"}
	c.JVM.MaxRAMPercentage = 80
	ev := base(c)
	ev.Kill = evidence.Kill{Kind: evidence.KillContainerOOM, ContainerOOMKilled: true,
		Explanation: "The kernel OOM killer ended the container at its 1GiB limit", Cites: c.Cites[1:]}
	ev.KernelKills = []evidence.KernelKill{{
		ID: "kernel/1", Time: firedAt.Add(-2 * time.Minute), PID: 4121, Process: "java",
		AnonRSSBytes: 1040 * mib, MemcgLimitBytes: 1 * gib,
		Cites: cite("node/dmesg", "line 88", "Memory cgroup out of memory: Killed process 4121 (java) total-vm:5031245kB, anon-rss:1064960kB, file-rss:21340kB, shmem-rss:0kB, UID:1000 pgtables:2516kB oom_score_adj:985"),
	}}
	ev.Events = []evidence.Event{{ID: "event/1", Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container app", Count: 3,
		Cites: cite("kubernetes/events", "BackOff", "Warning BackOff Back-off restarting failed container app")}}
	ev.Trends = []evidence.Trend{
		trend("container_memory_working_set", evidence.ShapeStep, "bytes", float64(700*mib), float64(1010*mib), float64(1020*mib), float64(1*gib)),
		trend("jvm_heap_used", evidence.ShapeSawtooth, "bytes", float64(200*mib), float64(210*mib), float64(450*mib), float64(820*mib)),
		trend("jvm_threads_live", evidence.ShapeStep, "count", 180, 420, 430, 0),
	}
	return ev
}

// healthyEvidence: running, no error, a sawtooth with a moderate floor.
func healthyEvidence(t testing.TB) evidence.Evidence {
	ev := base(jvmContainer("app", 2*gib, 1*gib, true))
	ev.Restarts = evidence.Restarts{}
	ev.Kill = evidence.Kill{Kind: evidence.KillNone, Explanation: "No kill found"}
	ev.Trends = []evidence.Trend{
		trend("jvm_old_gen_used", evidence.ShapeSawtooth, "bytes", float64(300*mib), float64(310*mib), float64(700*mib), float64(900*mib)),
		trend("jvm_heap_used", evidence.ShapeSawtooth, "bytes", float64(350*mib), float64(360*mib), float64(900*mib), float64(1*gib)),
		trend("jvm_classes_loaded", evidence.ShapeStable, "count", 21000, 21010, 21010, 0),
		trend("jvm_metaspace_used", evidence.ShapeStable, "bytes", float64(120*mib), float64(121*mib), float64(121*mib), 0),
		trend("jvm_direct_buffer_used", evidence.ShapeSawtooth, "bytes", float64(16*mib), float64(16*mib), float64(64*mib), 0),
		trend("container_memory_working_set", evidence.ShapeStable, "bytes", float64(1400*mib), float64(1410*mib), float64(1450*mib), float64(2*gib)),
	}
	ev.GC = []evidence.GCSummary{{
		ID: "gc/app", Container: "app", Source: "gc/app.log", Collector: "G1", Collections: 480, FullGCs: 0,
		FloorStartBytes: 300 * mib, FloorEndBytes: 310 * mib, HeapCapacityBytes: 1 * gib, FloorFractionOfCapacity: 0.3,
		Cites: cite("gc/app.log", "line 1", "[0.006s][info][gc] Using G1"),
	}}
	ev.ClassGrowth = []evidence.ClassGrowth{{
		ID: "class/[B", ClassName: "[B", InstancesStart: 200000, InstancesEnd: 201000, InstancesDelta: 1000,
		Cites: cite("histograms/b.txt", "line 4", "   1:        201000      90000000  [B (java.base@17.0.15)"),
	}}
	return ev
}
