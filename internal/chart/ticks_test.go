package chart

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{512, "512B"},
		{1024, "1KiB"},
		{768 << 20, "768MiB"},
		{1 << 30, "1GiB"},
		{1.25 * (1 << 30), "1.25GiB"},
		{1.5 * (1 << 30), "1.5GiB"},
		{-(256 << 20), "-256MiB"},
		{3 << 40, "3TiB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.v); got != tt.want {
			t.Errorf("formatBytes(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestByteTicks(t *testing.T) {
	tests := []struct {
		hi       float64
		maxTicks int
		want     []string
	}{
		{1.06 * (1 << 30), 6, []string{"0", "256MiB", "512MiB", "768MiB", "1GiB"}},
		{850 << 20, 6, []string{"0", "256MiB", "512MiB", "768MiB"}},
		{5 << 30, 6, []string{"0", "1GiB", "2GiB", "3GiB", "4GiB", "5GiB"}},
		{3 << 20, 4, []string{"0", "1MiB", "2MiB", "3MiB"}},
		{5e20, 6, nil}, // beyond PiB: powers of ten, still bounded
	}
	for _, tt := range tests {
		ticks := byteTicks(tt.maxTicks)(0, tt.hi)
		if len(ticks) > tt.maxTicks || len(ticks) < 2 {
			t.Errorf("hi %v: %d ticks, want 2..%d", tt.hi, len(ticks), tt.maxTicks)
		}
		if tt.want == nil {
			continue
		}
		var got []string
		for _, tk := range ticks {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("hi %v: ticks %v, want %v", tt.hi, got, tt.want)
		}
	}
	if got := byteTicks(6)(1, 1); got != nil {
		t.Errorf("empty range gave ticks %v", got)
	}
}

func TestTimeTicks(t *testing.T) {
	base := time.Date(2026, 1, 17, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		span      time.Duration
		wantStep  time.Duration
		wantFirst string
	}{
		{70 * time.Second, 10 * time.Second, "14:00:00"},
		{6 * time.Hour, time.Hour, "14:00"},
		{40 * time.Minute, 10 * time.Minute, "14:00"},
		{10 * 24 * time.Hour, 48 * time.Hour, "Jan 19"},
	}
	for _, tt := range tests {
		step := timeStep(tt.span.Seconds(), 8)
		if step != tt.wantStep {
			t.Errorf("span %v: step %v, want %v", tt.span, step, tt.wantStep)
		}
		ticks := timeTicks(step)(unixSeconds(base), unixSeconds(base.Add(tt.span)))
		if len(ticks) == 0 || len(ticks) > 8 {
			t.Fatalf("span %v: %d ticks", tt.span, len(ticks))
		}
		if ticks[0].Label != tt.wantFirst {
			t.Errorf("span %v: first tick %q, want %q", tt.span, ticks[0].Label, tt.wantFirst)
		}
	}
}

func TestTimeAxisLabel(t *testing.T) {
	a := time.Date(2026, 1, 16, 23, 0, 0, 0, time.UTC)
	if got := timeAxisLabel(unixSeconds(a), unixSeconds(a.Add(30*time.Minute))); got != "time (UTC, 2026-01-16)" {
		t.Errorf("same day: %q", got)
	}
	if got := timeAxisLabel(unixSeconds(a), unixSeconds(a.Add(2*time.Hour))); got != "time (UTC, 2026-01-16 – 2026-01-17)" {
		t.Errorf("across midnight: %q", got)
	}
}

func TestSplitGaps(t *testing.T) {
	pts := func(xs ...float64) []xy {
		out := make([]xy, len(xs))
		for i, x := range xs {
			out[i] = xy{x: x}
		}
		return out
	}
	tests := []struct {
		name string
		in   []xy
		want []int // run lengths
	}{
		{"regular", pts(0, 15, 30, 45, 60), []int{5}},
		{"one hole", pts(0, 15, 30, 45, 600, 615, 630), []int{4, 3}},
		{"jitter is not a gap", pts(0, 14, 31, 45, 61, 74), []int{6}},
		{"two points", pts(0, 1000), []int{2}},
		{"duplicate times", pts(5, 5, 5), []int{3}},
	}
	for _, tt := range tests {
		var got []int
		for _, s := range splitGaps(tt.in) {
			got = append(got, len(s))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: runs %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestThinKeepsEnvelope(t *testing.T) {
	var seg []xy
	for i := range 10_000 {
		y := float64(i % 100)
		if i == 4321 {
			y = 1e6 // a one-sample spike must survive
		}
		seg = append(seg, xy{x: float64(i), y: y})
	}
	out := thin(seg, 100)
	if len(out) > 2*100+2 {
		t.Fatalf("thinned to %d points, want at most %d", len(out), 202)
	}
	hi := slices.MaxFunc(out, func(a, b xy) int { return int(a.y - b.y) })
	if hi.y != 1e6 || hi.x != 4321 {
		t.Errorf("peak lost: max is %v", hi)
	}
	if !slices.IsSortedFunc(out, func(a, b xy) int { return int(a.x - b.x) }) {
		t.Error("thinned points out of time order")
	}
	if short := seg[:50]; len(thin(short, 100)) != 50 {
		t.Error("a short series must be kept whole")
	}
}

func TestClean(t *testing.T) {
	if got := clean("a\nb\x00c\x1b[0m  d", 40); got != "a b c [0m d" {
		t.Errorf("clean = %q", got)
	}
	long := clean(strings.Repeat("é", 100), 10)
	if utf8.RuneCountInString(long) != 10 || !strings.HasSuffix(long, "…") {
		t.Errorf("truncation = %q", long)
	}
	if got := clean("\xff\xfeok", 10); got != "ok" {
		t.Errorf("invalid UTF-8 = %q", got)
	}
}
