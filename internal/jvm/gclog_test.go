package jvm

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	kiB = int64(1) << 10
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func parseFile(t testing.TB, name string) []Collection {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "gc", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	colls, err := ParseGCLog(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return colls
}

// The expected counts below were read off the fixtures with grep/awk
// (e.g. grep -cE 'GC\([0-9]+\) Pause .*ms$'), independently of the parser.
func TestParseGCLogFixtures(t *testing.T) {
	tests := []struct {
		file      string
		n         int
		kinds     map[string]int
		collector string
		totalMs   float64
		maxMs     float64
		first     Collection
		lastLine  int64
	}{{
		file: "g1-gc.log", n: 159, collector: GCG1, totalMs: 1869.54, maxMs: 139.282,
		kinds: map[string]int{KindYoung: 81, KindMixed: 2, KindFull: 24, KindRemark: 26, KindCleanup: 26},
		first: Collection{LineNo: 2, Line: "[0.320s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->1M(64M) 5.449ms",
			Uptime: ms(320), Kind: KindYoung, Cause: "G1 Evacuation Pause", BeforeBytes: 6 * miB, AfterBytes: miB,
			CapacityBytes: 64 * miB, Pause: ms(5.449), Collector: GCG1},
		lastLine: 248,
	}, {
		// -Xlog:gc* adds start, phase, heap and metaspace lines: all ignored.
		file: "g1-gcstar.log", n: 11, collector: GCG1, totalMs: 198.653, maxMs: 49.806,
		kinds: map[string]int{KindYoung: 8, KindFull: 3},
		first: Collection{LineNo: 33, Line: "[2026-11-23T11:04:25.560+0000][0.329s][info][gc          ] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->2M(64M) 4.627ms",
			Time: time.Date(2026, 11, 23, 11, 4, 25, 560e6, time.UTC), Uptime: ms(329), Kind: KindYoung, Cause: "G1 Evacuation Pause",
			BeforeBytes: 6 * miB, AfterBytes: 2 * miB, CapacityBytes: 64 * miB, Pause: ms(4.627), Collector: GCG1},
		lastLine: 210,
	}, {
		file: "parallel-gcstar.log", n: 16, collector: GCParallel, totalMs: 523.281, maxMs: 84.430,
		kinds: map[string]int{KindYoung: 9, KindFull: 7},
		first: Collection{LineNo: 21, Line: "[2026-11-23T11:04:42.793+0000][0.731s][info][gc          ] GC(0) Pause Young (Allocation Failure) 16M->3M(61M) 9.396ms",
			Time: time.Date(2026, 11, 23, 11, 4, 42, 793e6, time.UTC), Uptime: ms(731), Kind: KindYoung, Cause: "Allocation Failure",
			BeforeBytes: 16 * miB, AfterBytes: 3 * miB, CapacityBytes: 61 * miB, Pause: ms(9.396), Collector: GCParallel},
		lastLine: 181,
	}, {
		file: "serial-gc.log", n: 98, collector: GCSerial, totalMs: 3782.17, maxMs: 54.530,
		kinds: map[string]int{KindYoung: 15, KindFull: 83},
		first: Collection{LineNo: 2, Line: "[2026-11-23T11:04:59.384+0000][0.770s][info][gc] GC(0) Pause Young (Allocation Failure) 17M->3M(61M) 14.680ms",
			Time: time.Date(2026, 11, 23, 11, 4, 59, 384e6, time.UTC), Uptime: ms(770), Kind: KindYoung, Cause: "Allocation Failure",
			BeforeBytes: 17 * miB, AfterBytes: 3 * miB, CapacityBytes: 61 * miB, Pause: ms(14.680), Collector: GCSerial},
		lastLine: 99,
	}, {
		// 6 cycles × 4 pauses, plus one "Concurrent cleanup" per cycle (the
		// mid-cycle one is replaced by the final one).
		file: "shenandoah-gc.log", n: 30, collector: GCShenandoah, totalMs: 0.922, maxMs: 0.194,
		kinds: map[string]int{KindConcurrent: 30},
		first: Collection{LineNo: 7, Line: "[0.962s][info][gc] GC(0) Pause Init Mark (unload classes) 0.029ms",
			Uptime: ms(962), Kind: KindConcurrent, Cause: "Init Mark (unload classes)", Pause: ms(0.029), Collector: GCShenandoah},
		lastLine: 112,
	}, {
		// ZGC at -Xlog:gc logs cycles, no pauses; capacity is estimated from
		// the 91% lines (58M/0.91 = 63.7M, rounded to 64M).
		file: "zgc-gc.log", n: 5, collector: GCZ, totalMs: 0, maxMs: 0,
		kinds: map[string]int{KindConcurrent: 5},
		first: Collection{LineNo: 2, Line: "[0.432s][info][gc] GC(0) Garbage Collection (Warmup) 8M(12%)->4M(6%)",
			Uptime: ms(432), Kind: KindConcurrent, Cause: "Warmup", BeforeBytes: 8 * miB, AfterBytes: 4 * miB,
			CapacityBytes: 64 * miB, Collector: GCZ},
		lastLine: 6,
	}, {
		file: "jdk8-parallel.log", n: 7, collector: GCParallel, totalMs: 1887.3456, maxMs: 700,
		kinds: map[string]int{KindYoung: 4, KindFull: 3},
		first: Collection{LineNo: 2, Line: "2026-03-14T02:11:05.123+0000: 1.234: [GC (Allocation Failure) [PSYoungGen: 65536K->10720K(76288K)] 65536K->10736K(251392K), 0.0123456 secs] [Times: user=0.03 sys=0.01, real=0.01 secs] ",
			Time: time.Date(2026, 3, 14, 2, 11, 5, 123e6, time.UTC), Uptime: ms(1234), Kind: KindYoung, Cause: "Allocation Failure",
			BeforeBytes: 65536 * kiB, AfterBytes: 10736 * kiB, CapacityBytes: 251392 * kiB, Pause: ms(12.3456), Collector: GCParallel},
		lastLine: 8,
	}, {
		// The pause line has no sizes; they come from the "Heap:" line.
		file: "jdk8-g1.log", n: 6, collector: GCG1, totalMs: 938.2, maxMs: 900,
		kinds: map[string]int{KindYoung: 2, KindRemark: 1, KindCleanup: 1, KindMixed: 1, KindFull: 1},
		first: Collection{LineNo: 2, Line: "2026-03-14T02:11:05.123+0000: 1.234: [GC pause (G1 Evacuation Pause) (young), 0.0047000 secs]",
			Time: time.Date(2026, 3, 14, 2, 11, 5, 123e6, time.UTC), Uptime: ms(1234), Kind: KindYoung, Cause: "G1 Evacuation Pause",
			BeforeBytes: 24 * miB, AfterBytes: 3584 * kiB, CapacityBytes: 256 * miB, Pause: ms(4.7), Collector: GCG1},
		lastLine: 31,
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			colls := parseFile(t, tc.file)
			if len(colls) != tc.n {
				t.Fatalf("%d collections, want %d", len(colls), tc.n)
			}
			kinds := map[string]int{}
			var total, maxPause time.Duration
			for _, c := range colls {
				kinds[c.Kind]++
				total += c.Pause
				maxPause = max(maxPause, c.Pause)
				if c.Collector != tc.collector {
					t.Errorf("line %d: collector %q, want %q", c.LineNo, c.Collector, tc.collector)
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tc.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tc.kinds)
			}
			if d := total.Seconds()*1000 - tc.totalMs; math.Abs(d) > 0.01 {
				t.Errorf("total pause %v, want %vms", total, tc.totalMs)
			}
			if d := maxPause.Seconds()*1000 - tc.maxMs; math.Abs(d) > 0.001 {
				t.Errorf("max pause %v, want %vms", maxPause, tc.maxMs)
			}
			if got := colls[0]; !sameCollection(got, tc.first) {
				t.Errorf("first:\n got %+v\nwant %+v", got, tc.first)
			}
			if got := colls[len(colls)-1].LineNo; got != tc.lastLine {
				t.Errorf("last collection on line %d, want %d", got, tc.lastLine)
			}
		})
	}
}

// sameCollection compares the exported fields (durations to the nanosecond
// after float parsing, so within 1ns).
func sameCollection(a, b Collection) bool {
	d := a.Pause - b.Pause
	return a.LineNo == b.LineNo && a.Line == b.Line && a.Time.Equal(b.Time) && a.Uptime == b.Uptime &&
		a.Kind == b.Kind && a.Cause == b.Cause && a.BeforeBytes == b.BeforeBytes && a.AfterBytes == b.AfterBytes &&
		a.CapacityBytes == b.CapacityBytes && d <= 1 && d >= -1 && a.Collector == b.Collector
}

func TestGCParserLines(t *testing.T) {
	type want struct {
		kind, cause        string
		before, after, cap int64
		pause              time.Duration
		time               string // RFC 3339, "" for none
		uptime             time.Duration
		collector          string
	}
	tests := []struct {
		name  string
		lines []string
		want  []want
	}{{
		name:  "utctime and uptimemillis decorations, pid and tid",
		lines: []string{"[2026-03-14T02:11:05.123+0000][1234ms][4242][4243][info][gc] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 24M->3M(256M) 2.345ms"},
		want:  []want{{KindYoung, "G1 Evacuation Pause", 24 * miB, 3 * miB, 256 * miB, ms(2.345), "2026-03-14T02:11:05.123Z", ms(1234), GCG1}},
	}, {
		name:  "timemillis is wall clock, uptimenanos is uptime",
		lines: []string{"[1773454265123ms][1234000000ns] GC(40) Pause Full (G1 Compaction Pause) 250M->249M(256M) 45.678ms"},
		want:  []want{{KindFull, "G1 Compaction Pause", 250 * miB, 249 * miB, 256 * miB, ms(45.678), "2026-03-14T02:11:05.123Z", time.Second + 234*time.Millisecond, GCG1}},
	}, {
		name: "container runtime prefix before the decorations, zone offset",
		lines: []string{"2026-03-14T02:11:05.999Z stdout F [2026-03-14T03:11:05.123+0100][1.234s][info][gc] GC(7) Pause Young (Allocation Failure) 1G->512M(2G) 1.5s",
			"2026-03-14T02:11:05.999Z stdout F [2026-03-14T03:11:05.123+0100][1.234s][info][gc] Using Parallel"},
		want: []want{{KindYoung, "Allocation Failure", 1 << 30, 512 * miB, 2 << 30, 1500 * time.Millisecond, "2026-03-14T02:11:05.123Z", ms(1234), GCParallel}},
	}, {
		name:  "no decorations at all (-Xlog:gc::none), nested cause, mixed",
		lines: []string{"GC(3) Pause Full (System.gc()) 10M->2M(64M) 12.000ms", "GC(4) Pause Young (Mixed) (G1 Evacuation Pause) 41M->40M(64M) 3.083ms"},
		want: []want{{KindFull, "System.gc()", 10 * miB, 2 * miB, 64 * miB, ms(12), "", 0, GCG1},
			{KindMixed, "G1 Evacuation Pause", 41 * miB, 40 * miB, 64 * miB, ms(3.083), "", 0, GCG1}},
	}, {
		name: "JDK 11 G1 names",
		lines: []string{"[5.0s][info][gc] GC(5) Pause Initial Mark (G1 Humongous Allocation) 50M->40M(64M) 3.000ms",
			"[6.0s][info][gc] GC(6) Pause Mixed (G1 Evacuation Pause) 45M->30M(64M) 4.000ms"},
		want: []want{{KindYoung, "G1 Humongous Allocation", 50 * miB, 40 * miB, 64 * miB, ms(3), "", 5 * time.Second, GCG1},
			{KindMixed, "G1 Evacuation Pause", 45 * miB, 30 * miB, 64 * miB, ms(4), "", 6 * time.Second, GCG1}},
	}, {
		name: "gc* start, phase, heap, metaspace and cpu lines are ignored",
		lines: []string{
			"[0.548s][info][gc,start    ] GC(0) Pause Young (Normal) (G1 Evacuation Pause)",
			"[0.603s][info][gc,phases   ] GC(0)   Evacuate Collection Set: 14.7ms",
			"[0.603s][info][gc,heap     ] GC(0) Eden regions: 6->0(7)",
			"[0.603s][info][gc,metaspace] GC(0) Metaspace: 183K(384K)->183K(384K) NonClass: 176K(256K)->176K(256K) Class: 6K(128K)->6K(128K)",
			"[0.603s][info][gc,cpu      ] GC(0) User=0.00s Sys=0.01s Real=0.05s",
			"[14.632s][info][gc,phases      ] GC(26) Marking Phase 107.855ms",
			"[9.079s][info][gc] GC(10) Concurrent Mark Cycle 60.319ms",
			"[19.509s][info][gc] GC(102) To-space exhausted",
			"[0.587s][info][gc,task     ] GC(0) Using 2 workers of 2 for evacuation",
		},
		want: nil,
	}, {
		name:  "Shenandoah degenerated GC counts as full",
		lines: []string{"[9.1s][info][gc] GC(9) Pause Degenerated GC (Mark) 63M->60M(64M) 25.000ms"},
		want:  []want{{KindFull, "Degenerated GC", 63 * miB, 60 * miB, 64 * miB, ms(25), "", 9100 * time.Millisecond, GCShenandoah}},
	}, {
		name:  "JDK 8 Serial with DefNew and Tenured",
		lines: []string{"3.500: [Full GC (Allocation Failure) 3.500: [Tenured: 174784K->174783K(174784K), 0.2000000 secs] 253439K->253439K(253440K), [Metaspace: 2500K->2500K(1056768K)], 0.2000100 secs] [Times: user=0.20 sys=0.00, real=0.20 secs]"},
		want:  []want{{KindFull, "Allocation Failure", 253439 * kiB, 253439 * kiB, 253440 * kiB, ms(200.01), "", 3500 * time.Millisecond, GCSerial}},
	}, {
		name: "JDK 8 CMS: ParNew young, initial mark without sizes, remark",
		lines: []string{
			"2026-03-14T02:11:05.123+0000: 1.234: [GC (Allocation Failure) 2026-03-14T02:11:05.123+0000: 1.234: [ParNew: 1000K->100K(2000K), 0.0100000 secs] 5000K->4100K(10000K), 0.0110000 secs] [Times: user=0.01 sys=0.00, real=0.01 secs]",
			"2026-03-14T02:11:06.000+0000: 2.111: [GC (CMS Initial Mark) [1 CMS-initial-mark: 4000K(8000K)] 4200K(10000K), 0.0010000 secs] [Times: user=0.00 sys=0.00, real=0.00 secs]",
			"2026-03-14T02:11:06.100+0000: 2.211: [CMS-concurrent-mark-start]",
			"2026-03-14T02:11:07.000+0000: 3.111: [GC (CMS Final Remark) [YG occupancy: 500 K (2000 K)]2026-03-14T02:11:07.000+0000: 3.111: [Rescan (parallel) , 0.0020000 secs][1 CMS-remark: 4000K(8000K)] 4500K(10000K), 0.0030000 secs] [Times: user=0.00 sys=0.00, real=0.00 secs]",
		},
		want: []want{
			{KindYoung, "Allocation Failure", 5000 * kiB, 4100 * kiB, 10000 * kiB, ms(11), "2026-03-14T02:11:05.123Z", ms(1234), GCCMS},
			{KindConcurrent, "CMS Initial Mark", 0, 0, 0, ms(1), "2026-03-14T02:11:06Z", ms(2111), GCCMS},
			{KindRemark, "CMS Final Remark", 0, 0, 0, ms(3), "2026-03-14T02:11:07Z", ms(3111), GCCMS},
		},
	}, {
		name:  "JDK 8 PrintGC without details, uptime only",
		lines: []string{"0.345: [GC (Allocation Failure)  33280K->1234K(125952K), 0.0012345 secs]"},
		want:  []want{{KindYoung, "Allocation Failure", 33280 * kiB, 1234 * kiB, 125952 * kiB, ms(1.2345), "", ms(345), ""}},
	}, {
		name:  "application lines mentioning GC are ignored",
		lines: []string{"INFO GCS upload finished [GC tuning guide]", "[GC worker] started", "Heap: nothing", "Using GCC 12"},
		want:  nil,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewGCParser()
			for i, l := range tc.lines {
				p.Line(int64(i+1), []byte(l))
			}
			got := p.Collections()
			if len(got) != len(tc.want) {
				t.Fatalf("%d collections, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				var wt time.Time
				if w.time != "" {
					wt = mustTime(t, w.time)
				}
				if g.Kind != w.kind || g.Cause != w.cause || g.BeforeBytes != w.before || g.AfterBytes != w.after ||
					g.CapacityBytes != w.cap || (g.Pause-w.pause).Abs() > 1 || !g.Time.Equal(wt) || g.Uptime != w.uptime ||
					g.Collector != w.collector {
					t.Errorf("collection %d:\n got %+v\nwant %+v", i, g, w)
				}
				if g.Line != tc.lines[g.LineNo-1] {
					t.Errorf("collection %d: Line %q is not line %d", i, g.Line, g.LineNo)
				}
			}
		})
	}
}

func TestGCParserDoesNotRetainLine(t *testing.T) {
	p := NewGCParser()
	buf := []byte("[1.0s][info][gc] GC(1) Pause Young (Normal) (G1 Evacuation Pause) 24M->3M(256M) 2.345ms")
	want := string(buf)
	p.Line(1, buf)
	for i := range buf {
		buf[i] = 'x'
	}
	if got := p.Collections(); len(got) != 1 || got[0].Line != want {
		t.Fatalf("after reusing the buffer: %+v", got)
	}
}

func TestParseGCLogLongLineAndCancel(t *testing.T) {
	event := "[2.0s][info][gc] GC(2) Pause Full (Allocation Failure) 61M->61M(61M) 75.201ms\n"
	in := strings.Repeat("y", 5*maxGCLine) + "\n" + event
	colls, err := ParseGCLog(context.Background(), strings.NewReader(in))
	if err != nil || len(colls) != 1 || colls[0].LineNo != 2 || colls[0].Kind != KindFull {
		t.Fatalf("got %+v, %v", colls, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ParseGCLog(ctx, strings.NewReader(event)); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled context: err = %v", err)
	}
}

func TestSummarizeGCFixtures(t *testing.T) {
	tests := []struct {
		file                        string
		collections, fulls          int
		floorStart, floorEnd, capac int64
		growing                     bool
		citeLines                   []string
		minReclaimed, maxReclaimed  float64
		fullsPerHour                float64
	}{
		// 24 fulls, all in the last part of the run (the heap was already
		// full), so the floor comes from all 107 sized pauses: the minimum
		// of the first 26 is 1M, of the last 26 61M (checked with a regexp
		// over the file, remarks and cleanups excluded).
		{"g1-gc.log", 159, 24, 1 * miB, 61 * miB, 64 * miB, true, []string{"line 2", "line 223", "line 248"}, 0.005, 0.03, 24 / (17.176 / 3600)},
		// 83 fulls, first one after the midpoint: minima of the first and
		// last 24 of 98 pauses are 3M and 61M.
		{"serial-gc.log", 98, 83, 3 * miB, 61 * miB, 61 * miB, true, []string{"line 2", "line 99"}, 0.01, 0.05, 83 / (18.718 / 3600)},
		// Seven late fulls: minima of the first and last 4 of 16 pauses.
		{"parallel-gcstar.log", 16, 7, 3 * miB, 46 * miB, 61 * miB, true, []string{"line 21", "line 88", "line 181"}, 0.05, 0.15, 7 / (15.786 / 3600)},
		// No fulls: the floor is read from every post-GC value.
		{"zgc-gc.log", 5, 0, 4 * miB, 14 * miB, 64 * miB, true, []string{"line 2", "line 6"}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s := SummarizeGC(parseFile(t, tc.file))
			if s.Collections != tc.collections || s.FullGCs != tc.fulls {
				t.Errorf("collections %d full %d, want %d and %d", s.Collections, s.FullGCs, tc.collections, tc.fulls)
			}
			if s.FloorStartBytes != tc.floorStart || s.FloorEndBytes != tc.floorEnd || s.HeapCapacityBytes != tc.capac {
				t.Errorf("floor %d → %d of %d, want %d → %d of %d", s.FloorStartBytes, s.FloorEndBytes, s.HeapCapacityBytes,
					tc.floorStart, tc.floorEnd, tc.capac)
			}
			if want := float64(tc.floorEnd) / float64(tc.capac); math.Abs(s.FloorFractionOfCapacity-want) > 1e-9 {
				t.Errorf("floor fraction %v, want %v", s.FloorFractionOfCapacity, want)
			}
			if (s.FloorGrowthBytesPerHour > 0) != tc.growing {
				t.Errorf("floor growth %v/h, want growing=%v", s.FloorGrowthBytesPerHour, tc.growing)
			}
			if s.AvgFullGCReclaimedFraction < tc.minReclaimed || s.AvgFullGCReclaimedFraction > tc.maxReclaimed {
				t.Errorf("avg reclaimed %v, want in [%v, %v]", s.AvgFullGCReclaimedFraction, tc.minReclaimed, tc.maxReclaimed)
			}
			if math.Abs(s.FullGCsPerHour-tc.fullsPerHour) > 0.01*tc.fullsPerHour+1e-9 {
				t.Errorf("full GCs per hour %v, want %v", s.FullGCsPerHour, tc.fullsPerHour)
			}
			var refs []string
			for _, c := range s.Cites {
				refs = append(refs, c.Ref)
				if c.Source != "gc" || c.Text == "" {
					t.Errorf("citation %+v lacks source or text", c)
				}
			}
			if fmt.Sprint(refs) != fmt.Sprint(tc.citeLines) {
				t.Errorf("cites %v, want %v", refs, tc.citeLines)
			}
		})
	}
}

// TestSummarizeGCSynthetic checks the arithmetic on collections built by
// hand, where every expected value follows from the inputs.
func TestSummarizeGCSynthetic(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	// A full GC every 6 minutes for 2 hours, floor rising exactly 10 MiB/h
	// from 100 MiB, each reclaiming 20% of what it found.
	var leak []Collection
	for i := 0; i <= 20; i++ {
		at := time.Duration(i) * 6 * time.Minute
		after := 100*miB + int64(at.Hours()*float64(10*miB))
		leak = append(leak,
			Collection{LineNo: int64(2*i + 1), Line: "young", Time: t0.Add(at - time.Minute), Uptime: at, Kind: KindYoung,
				BeforeBytes: after + 50*miB, AfterBytes: after + 5*miB, CapacityBytes: 512 * miB, Pause: 10 * time.Millisecond},
			Collection{LineNo: int64(2*i + 2), Line: "full", Time: t0.Add(at), Uptime: at, Kind: KindFull,
				BeforeBytes: after * 5 / 4, AfterBytes: after, CapacityBytes: 512 * miB, Pause: time.Duration(i+1) * 100 * time.Millisecond},
		)
	}
	s := SummarizeGC(leak)
	if s.Collections != 42 || s.FullGCs != 21 {
		t.Errorf("collections %d, fulls %d", s.Collections, s.FullGCs)
	}
	if math.Abs(s.FloorGrowthBytesPerHour-float64(10*miB)) > 1 {
		t.Errorf("growth %v/h, want %d", s.FloorGrowthBytesPerHour, 10*miB)
	}
	// 21 fulls → k=5: medians of points 0-4 and 16-20 are points 2 and 18.
	if s.FloorStartBytes != 100*miB+2*miB || s.FloorEndBytes != 100*miB+18*miB {
		t.Errorf("floor %s → %s", fmtMiB(s.FloorStartBytes), fmtMiB(s.FloorEndBytes))
	}
	if math.Abs(s.AvgFullGCReclaimedFraction-0.2) > 1e-6 {
		t.Errorf("reclaimed %v, want 0.2", s.AvgFullGCReclaimedFraction)
	}
	// Wall clock spans 2h01m (the first young is a minute before the first full).
	if want := 21 / (121.0 / 60); math.Abs(s.FullGCsPerHour-want) > 1e-9 {
		t.Errorf("fulls/h %v, want %v", s.FullGCsPerHour, want)
	}
	if s.MaxPauseSeconds != 2.1 || math.Abs(s.TotalPauseSeconds-(21*0.01+0.1*21*22/2)) > 1e-9 {
		t.Errorf("pauses max %v total %v", s.MaxPauseSeconds, s.TotalPauseSeconds)
	}
	if len(s.Cites) != 2 || s.Cites[0].Ref != "line 1" || s.Cites[1].Ref != "line 42" || !s.Cites[1].Time.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("cites %+v (the longest full GC is the last line)", s.Cites)
	}

	// Without wall-clock times, a restart (uptime going back) makes rates
	// unknowable: they stay 0 rather than mix two JVMs' clocks.
	restarted := []Collection{
		{LineNo: 1, Uptime: time.Hour, Kind: KindFull, BeforeBytes: 2 * miB, AfterBytes: miB, CapacityBytes: 4 * miB},
		{LineNo: 2, Uptime: time.Minute, Kind: KindFull, BeforeBytes: 4 * miB, AfterBytes: 3 * miB, CapacityBytes: 4 * miB},
	}
	s = SummarizeGC(restarted)
	if s.FullGCsPerHour != 0 || s.FloorGrowthBytesPerHour != 0 || s.FloorStartBytes != miB || s.FloorEndBytes != 3*miB {
		t.Errorf("restarted: %+v", s)
	}

	// Remarks and cleanups do not make the floor; an unknown collector is said so.
	noFull := []Collection{
		{LineNo: 1, Uptime: 0, Kind: KindYoung, AfterBytes: 10 * miB, CapacityBytes: 64 * miB, Pause: time.Millisecond},
		{LineNo: 2, Uptime: time.Hour / 2, Kind: KindRemark, AfterBytes: 60 * miB, CapacityBytes: 64 * miB, Pause: time.Millisecond},
		{LineNo: 3, Uptime: time.Hour, Kind: KindYoung, AfterBytes: 20 * miB, CapacityBytes: 64 * miB, Pause: time.Millisecond},
	}
	s = SummarizeGC(noFull)
	if s.Collector != GCG1 || s.FloorStartBytes != 10*miB || s.FloorEndBytes != 20*miB || math.Abs(s.FloorGrowthBytesPerHour-float64(10*miB)) > 1 {
		t.Errorf("no full GCs: %+v", s)
	}
	if s := SummarizeGC(noFull[:1]); s.Collector != "unknown" {
		t.Errorf("collector %q, want unknown", s.Collector)
	}
	if s := SummarizeGC(nil); s.Collections != 0 || s.Cites != nil {
		t.Errorf("empty: %+v", s)
	}
}

func fmtMiB(n int64) string { return fmt.Sprintf("%.2fMiB", float64(n)/float64(miB)) }

func FuzzGCParser(f *testing.F) {
	for _, name := range []string{"g1-gcstar.log", "jdk8-g1.log", "jdk8-parallel.log", "zgc-gc.log", "shenandoah-gc.log"} {
		data, err := os.ReadFile(filepath.Join("testdata", "gc", name))
		if err != nil {
			f.Fatal(err)
		}
		lines := bytes.Split(data, []byte("\n"))
		for i := 0; i < len(lines); i += 17 {
			f.Add(bytes.Join(lines[i:min(i+3, len(lines))], []byte("\n")))
		}
	}
	f.Add([]byte("[GC[GC[GC[Full GC (x) 1K->2K(3K), 1e309 secs]"))
	f.Add([]byte("GC(1) Garbage Collection (x) 9999999999999T(0%)->1M(0%)"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewGCParser()
		for i, l := range bytes.Split(data, []byte("\n")) {
			p.Line(int64(i+1), l)
		}
		colls := p.Collections()
		for _, c := range colls {
			if c.Pause < 0 || c.BeforeBytes < 0 || c.AfterBytes < 0 || c.CapacityBytes < 0 {
				t.Fatalf("negative value from %q: %+v", c.Line, c)
			}
		}
		s := SummarizeGC(colls)
		if math.IsNaN(s.FloorGrowthBytesPerHour) || math.IsNaN(s.FullGCsPerHour) || math.IsNaN(s.AvgFullGCReclaimedFraction) {
			t.Fatalf("NaN in summary %+v", s)
		}
	})
}

// BenchmarkParseGCLog parses a generated -Xlog:gc* log: the G1 fixture's
// event and detail lines repeated to ~100k lines.
func BenchmarkParseGCLog(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "gc", "g1-gcstar.log"))
	if err != nil {
		b.Fatal(err)
	}
	var big bytes.Buffer
	for big.Len() < 10<<20 {
		big.Write(data)
	}
	lines := bytes.Count(big.Bytes(), []byte("\n"))
	b.SetBytes(int64(big.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		colls, err := ParseGCLog(context.Background(), bytes.NewReader(big.Bytes()))
		if err != nil || len(colls) == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines), "lines/op")
}

// Full GCs spread over the window are the truest floor: when they are, the
// floor comes from them alone, not from young collections' garbage-laden
// post-GC values.
func TestSummarizeGCFloorFromSpreadFullGCs(t *testing.T) {
	at := func(sec int) time.Duration { return time.Duration(sec) * time.Second }
	var colls []Collection
	for i := 0; i < 40; i++ {
		c := Collection{Uptime: at(i), Kind: KindYoung, BeforeBytes: 90 * miB, AfterBytes: int64(40+i%10) * miB, CapacityBytes: 100 * miB}
		if i%10 == 0 {
			c.Kind, c.AfterBytes = KindFull, 30*miB
		}
		colls = append(colls, c)
	}
	s := SummarizeGC(colls)
	if s.FloorStartBytes != 30*miB || s.FloorEndBytes != 30*miB || s.FloorGrowthBytesPerHour != 0 {
		t.Errorf("floor %d → %d (%v/h), want the full GCs' flat 30MiB", s.FloorStartBytes, s.FloorEndBytes, s.FloorGrowthBytesPerHour)
	}
	// The same run with its full GCs only at the end: the young pauses' floor
	// is used and the flat minima show no growth either.
	late := append([]Collection(nil), colls...)
	for i := range late {
		if late[i].Kind == KindFull {
			late[i].Kind, late[i].AfterBytes = KindYoung, 40*miB
		}
	}
	late = append(late, Collection{Uptime: at(40), Kind: KindFull, BeforeBytes: 90 * miB, AfterBytes: 39 * miB, CapacityBytes: 100 * miB})
	s = SummarizeGC(late)
	if s.FloorStartBytes != 40*miB || s.FloorEndBytes != 39*miB {
		t.Errorf("late-full floor %d → %d, want minima 40MiB → 39MiB", s.FloorStartBytes, s.FloorEndBytes)
	}
}
