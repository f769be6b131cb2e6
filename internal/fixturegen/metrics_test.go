package main

import (
	"math"
	"testing"
)

func TestGrid(t *testing.T) {
	tests := []struct {
		name  string
		in    []Point
		until int64
		want  []Point
	}{
		{"jittered samples snap to the newest at or before each step",
			[]Point{{1010, 1}, {1262, 2}, {1499, 3}, {1760, 4}},
			0, []Point{{1250, 1}, {1500, 3}, {1750, 3}}},
		{"gap longer than the lookback leaves holes",
			[]Point{{1000, 1}, {3500, 2}},
			0, []Point{{1000, 1}, {1250, 1}, {1500, 1}, {1750, 1}, {2000, 1}, {3500, 2}}},
		{"until drops later points",
			[]Point{{1000, 1}, {1250, 2}, {1500, 3}},
			1300, []Point{{1000, 1}, {1250, 2}}},
		{"empty", nil, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Grid(tc.in, tc.until)
			if len(got) != len(tc.want) {
				t.Fatalf("Grid = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("Grid = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestJVMSignalsGCRateAndNetty(t *testing.T) {
	samples := []JVMSample{
		{T: 0, GCTimeMs: 0, OldGenUsed: -1, NettyDirectUsed: -1, DirectUsed: 10},
		{T: 1000, GCTimeMs: 100, OldGenUsed: -1, NettyDirectUsed: -1, DirectUsed: 10},
		{T: 2000, GCTimeMs: 600, OldGenUsed: -1, NettyDirectUsed: 4096, DirectUsed: 10},
	}
	got := JVMSignals(samples)
	if _, ok := got["jvm_old_gen_used"]; ok {
		t.Error("a pool the collector lacks (-1) produced a series")
	}
	gc := got["jvm_gc_pause_seconds"]
	if len(gc) != 2 || math.Abs(gc[0].V-0.1) > 1e-9 || math.Abs(gc[1].V-0.3) > 1e-9 {
		t.Errorf("gc pause rate = %v, want 0.1 then 0.3 (600 ms over 2 s)", gc)
	}
	d := got["jvm_direct_buffer_used"]
	if d[0].V != 10 || d[2].V != 4096 {
		t.Errorf("direct = %v, want the JDK pool until Netty's counter is available", d)
	}
}

func TestFormatValue(t *testing.T) {
	for in, want := range map[float64]string{805306368: "805306368", 0.1234567: "0.123457", 0: "0", 2.5: "2.5"} {
		if got := formatValue(in); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", in, got, want)
		}
	}
}
