package trend

import (
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

const mib = 1 << 20

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// gen builds a series of n samples every step, with value f(hours since t0)
// plus Gaussian noise of the given relative size (seeded, so reproducible).
func gen(n int, step time.Duration, noise float64, seed uint64, f func(k int, h float64) float64) []Point {
	r := rand.New(rand.NewPCG(seed, 7))
	ps := make([]Point, n)
	for k := range ps {
		t := t0.Add(time.Duration(k) * step)
		v := f(k, t.Sub(t0).Hours())
		ps[k] = Point{T: t, V: v * (1 + noise*r.NormFloat64())}
	}
	return ps
}

// sawtooth is a heap that fills from floor(h) by amp over period samples
// and is collected back to the floor.
func sawtooth(period int, amp float64, floor func(h float64) float64) func(int, float64) float64 {
	return func(k int, h float64) float64 {
		return floor(h) + amp*float64(k%period)/float64(period-1)
	}
}

func flat(v float64) func(float64) float64 { return func(float64) float64 { return v } }

func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestAnalyze(t *testing.T) {
	const growth = 150 * mib // per hour, for the rising floors below
	risingFloor := func(h float64) float64 { return 200*mib + growth*h }

	withNaN := gen(240, 30*time.Second, 0.01, 4, sawtooth(12, 300*mib, risingFloor))
	for k := 3; k < len(withNaN); k += 7 {
		withNaN[k].V = math.NaN()
	}

	// A leaking incarnation killed at 900MiB, a 3-minute gap, then a fresh
	// container with a healthy sawtooth.
	reset := gen(120, 30*time.Second, 0.01, 5, sawtooth(12, 300*mib, risingFloor))
	second := gen(120, 30*time.Second, 0.01, 6, sawtooth(12, 300*mib, flat(150*mib)))
	for k := range second {
		second[k].T = second[k].T.Add(63 * time.Minute)
	}
	reset = append(reset, second...)

	// Classes loaded: climbs, the JVM restarts with no scrape gap, climbs again.
	classes := gen(200, time.Minute, 0.002, 8, func(k int, h float64) float64 {
		if k < 80 {
			return 12000 + 9000*h
		}
		return 10 + 6000*(h-80.0/60)
	})

	// The same leak killed and followed by three samples of a new container.
	shortTail := gen(123, 30*time.Second, 0.01, 9, func(k int, h float64) float64 {
		if k >= 120 {
			return 20 * mib
		}
		return sawtooth(12, 300*mib, risingFloor)(k, h)
	})
	for k := 120; k < len(shortTail); k++ {
		shortTail[k].T = shortTail[k].T.Add(5 * time.Minute)
	}

	shuffled := gen(240, 30*time.Second, 0.01, 10, sawtooth(12, 300*mib, risingFloor))
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	sameTime := make([]Point, 12)
	for k := range sameTime {
		sameTime[k] = Point{T: t0, V: float64(k)}
	}

	deploy := t0.Add(55 * time.Minute)
	stepAt := t0.Add(time.Hour)
	stepFn := func(lo, hi float64) func(int, float64) float64 {
		return func(k int, h float64) float64 {
			if h >= 1 {
				return hi
			}
			return lo
		}
	}

	tests := []struct {
		name   string
		points []Point
		opt    Options
		shape  string
		// growth, when non-zero, is the true floor growth per hour (±15%).
		growth float64
		// exhaust, when non-zero, is the true hours to exhaustion (±15%).
		exhaust float64
		// stepAt, when non-zero, is the true step time, ±stepTol (default
		// one minute).
		stepAt    time.Time
		stepTol   time.Duration
		stepEvent int
		samples   int
		start     time.Time
		reason    string // substring the Reason must contain
	}{
		{
			name:   "sawtooth with flat floor",
			points: gen(240, 30*time.Second, 0.01, 1, sawtooth(12, 400*mib, flat(300*mib))),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "drop",
		},
		{
			name:   "undersized heap: sawtooth with a high flat floor",
			points: gen(240, 30*time.Second, 0.005, 2, sawtooth(8, 120*mib, flat(850*mib))),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeSawtooth, stepEvent: -1, samples: 240,
		},
		{
			name:   "sawtooth with rising floor",
			points: gen(240, 30*time.Second, 0.01, 3, sawtooth(12, 300*mib, risingFloor)),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: growth,
			// The floor reaches 200+150*2=500MiB at the end: (1024-500)/150.
			exhaust: (1024 - 500) / 150.0, stepEvent: -1, samples: 240, reason: "post-GC floor rose",
		},
		{
			name:   "monotonic climb (metaspace)",
			points: gen(180, time.Minute, 0.002, 11, func(k int, h float64) float64 { return 60*mib + 20*mib*h }),
			opt:    Options{Ceiling: 256 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: 20 * mib,
			exhaust: (256 - 60 - 20*3) / 20.0, stepEvent: -1, samples: 180, reason: "without any collection drop",
		},
		{
			name:   "step after a deploy",
			points: gen(120, time.Minute, 0.01, 12, stepFn(300*mib, 600*mib)),
			opt:    Options{Unit: "bytes", Events: []time.Time{t0.Add(-3 * time.Hour), deploy, t0.Add(90 * time.Minute)}},
			shape:  evidence.ShapeStep, stepAt: stepAt, stepEvent: 1, samples: 120, reason: "after the deploy",
		},
		{
			name:   "step with no deploy near it",
			points: gen(120, time.Minute, 0.01, 13, stepFn(300*mib, 600*mib)),
			opt:    Options{Unit: "bytes", Events: []time.Time{t0.Add(20 * time.Minute), t0.Add(61 * time.Minute)}},
			shape:  evidence.ShapeStep, stepAt: stepAt, stepEvent: -1, samples: 120, reason: "no deploy",
		},
		{
			name: "sawtooth whose floor steps after a deploy",
			points: gen(240, 30*time.Second, 0.01, 14, sawtooth(10, 300*mib, func(h float64) float64 {
				if h >= 1 {
					return 500 * mib
				}
				return 200 * mib
			})),
			opt: Options{Ceiling: 2048 * mib, Unit: "bytes", Events: []time.Time{deploy}},
			// The floor's shift is only visible at a collection, so it is
			// placed to within one GC cycle (5 min).
			shape: evidence.ShapeStep, stepAt: stepAt, stepTol: 5 * time.Minute, stepEvent: 0, samples: 240, reason: "post-GC floor shifted",
		},
		{
			name: "spike at the end",
			points: gen(200, 15*time.Second, 0.02, 15, func(k int, h float64) float64 {
				if k >= 197 {
					return 1500 * mib
				}
				return 400 * mib
			}),
			opt:   Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape: evidence.ShapeSpike, stepEvent: -1, samples: 200, reason: "lasted 3 sample(s)",
		},
		{
			name:   "flat",
			points: gen(60, time.Minute, 0, 16, func(int, float64) float64 { return 123 * mib }),
			opt:    Options{Unit: "bytes"},
			shape:  evidence.ShapeStable, stepEvent: -1, samples: 60,
		},
		{
			name:   "noisy flat",
			points: gen(500, 10*time.Second, 0.03, 17, func(int, float64) float64 { return 400 * mib }),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeStable, stepEvent: -1, samples: 500,
		},
		{
			name:   "too short",
			points: gen(5, time.Minute, 0, 18, func(k int, h float64) float64 { return float64(k) }),
			shape:  evidence.ShapeInsufficient, stepEvent: -1, samples: 5, reason: "only 5 samples",
		},
		{
			name:   "zero span",
			points: sameTime,
			shape:  evidence.ShapeInsufficient, stepEvent: -1, samples: 12, reason: "one timestamp",
		},
		{
			name:   "empty",
			points: nil,
			shape:  evidence.ShapeInsufficient, stepEvent: -1, samples: 0, reason: "no samples",
		},
		{
			name:   "NaNs are skipped",
			points: withNaN,
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: growth, exhaust: (1024 - 500) / 150.0,
			stepEvent: -1, samples: 240 - 34, reason: "34 NaN/Inf samples skipped",
		},
		{
			name:   "restart after a gap: the fresh container is analysed",
			points: reset,
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeSawtooth, stepEvent: -1, samples: 120, start: second[0].T, reason: "1 restart(s) in the window",
		},
		{
			name:   "counter reset without a gap",
			points: classes,
			opt:    Options{Unit: "count"},
			shape:  evidence.ShapeLeak, growth: 6000, stepEvent: -1, samples: 120, start: classes[80].T,
		},
		{
			name:   "newest incarnation too short: the killed one is analysed",
			points: shortTail,
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			// The killed incarnation's floor ended at 200+150*1=350MiB.
			shape: evidence.ShapeLeak, growth: growth, exhaust: (1024 - 350) / 150.0,
			stepEvent: -1, samples: 120, start: t0,
			reason: "newest incarnation has only 3 samples",
		},
		{
			name:   "unsorted input",
			points: shuffled,
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: growth, exhaust: (1024 - 500) / 150.0, stepEvent: -1, samples: 240,
		},
		{
			name:   "noisy leak",
			points: gen(300, 20*time.Second, 0.03, 21, func(k int, h float64) float64 { return 500*mib + 100*mib*h }),
			opt:    Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: 100 * mib,
			// The trend line ends at 500+100*300*20s/1h ≈ 666MiB; the
			// window minima sit ~2 SDs (6%) below it.
			exhaust: (2048 - 666*0.94) / 100, stepEvent: -1, samples: 300,
		},
		{
			name: "irregular sawtooth with a rising floor",
			points: gen(400, 15*time.Second, 0.01, 22, func(k int, h float64) float64 {
				// Cycles of 7 to 19 samples, as allocation rate varies.
				pos := k % 37
				if pos >= 19 {
					pos -= 19
				}
				return 300*mib + 200*mib*h + 15*mib*float64(pos)
			}),
			opt:   Options{Ceiling: 4096 * mib, Unit: "bytes"},
			shape: evidence.ShapeLeak, growth: 200 * mib, stepEvent: -1, samples: 400,
			// Floor at the end ≈ 300+200*400*15s/1h ≈ 633MiB.
			exhaust: (4096 - 633) / 200.0,
		},
		{
			name:   "floor creeping by an immaterial 5%",
			points: gen(240, 30*time.Second, 0.005, 23, sawtooth(12, 300*mib, func(h float64) float64 { return 400*mib + 10*mib*h })),
			opt:    Options{Ceiling: 4096 * mib, Unit: "bytes"},
			shape:  evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "did not rise materially",
		},
		{
			name:   "slow decline",
			points: gen(120, time.Minute, 0.001, 24, func(k int, h float64) float64 { return 800*mib - 200*mib*h }),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape:  evidence.ShapeStable, stepEvent: -1, samples: 120,
		},
		{
			name:   "classes loaded in bursts",
			points: gen(120, time.Minute, 0, 25, func(k int, h float64) float64 { return 8000 + 500*float64(k/10) }),
			opt:    Options{Unit: "count"},
			shape:  evidence.ShapeLeak, growth: 3000, stepEvent: -1, samples: 120,
		},
		{
			// Old gen with a full GC every 20 minutes: only 5 drops, so the
			// floor is read from 4 windows of at least one cycle each.
			name:   "old gen leaking across few full GCs",
			points: gen(240, 30*time.Second, 0.01, 26, sawtooth(40, 400*mib, func(h float64) float64 { return 300*mib + 100*mib*h })),
			opt:    Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape:  evidence.ShapeLeak, growth: 100 * mib, stepEvent: -1, samples: 240,
			// The last full GC (at 1h40) left 300+100*5/3 ≈ 467MiB.
			exhaust: (2048 - 467) / 100.0,
		},
		{
			name:   "step down after a deploy",
			points: gen(120, time.Minute, 0.01, 27, stepFn(800*mib, 500*mib)),
			opt:    Options{Ceiling: 1024 * mib, Unit: "bytes", Events: []time.Time{deploy}},
			shape:  evidence.ShapeStep, stepAt: stepAt, stepEvent: 0, samples: 120, reason: "shifted from 79",
		},
		{
			// G1 lets old-gen garbage pile up until a mixed collection
			// reclaims it near the end: a rising floor that comes back.
			name: "floor reclaimed by a late mixed collection",
			points: gen(240, 30*time.Second, 0.01, 28, sawtooth(12, 300*mib, func(h float64) float64 {
				if h >= 1.85 {
					return 250 * mib
				}
				return 200*mib + 200*mib*h
			})),
			opt:   Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape: evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "came back down",
		},
		{
			// A bounded cache filling up: fast rise that flattens out.
			name: "floor levelling off",
			points: gen(240, 30*time.Second, 0.005, 29, sawtooth(12, 300*mib, func(h float64) float64 {
				return 200*mib + 300*mib*(1-math.Exp(-2.5*h))
			})),
			opt:   Options{Ceiling: 1024 * mib, Unit: "bytes"},
			shape: evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "levelled off",
		},
		{
			// Floor windows alternate up and down: rising overall, but
			// not in most windows.
			name: "floor zigzagging upwards",
			points: gen(240, 30*time.Second, 0.002, 30, func(k int, h float64) float64 {
				w := k / 24
				return 200*mib + 25*mib*float64(w) + 40*mib*float64(w%2) + 300*mib*float64(k%12)/11
			}),
			opt:   Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape: evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "fell in 4 of 9",
		},
		{
			// Flat for most of the window, then a sharp climb in the last
			// quarter: no straight line fits, so no forecast is made.
			name: "floor accelerating at the end",
			points: gen(240, 30*time.Second, 0.002, 31, sawtooth(12, 300*mib, func(h float64) float64 {
				return 200*mib + 400*mib*math.Pow(max(0, h-1.5), 2)*4
			})),
			opt:   Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape: evidence.ShapeSawtooth, stepEvent: -1, samples: 240, reason: "R²=",
		},
		{
			// A bump within the noise is not a spike.
			name: "noisy flat with a small bump",
			points: gen(200, 15*time.Second, 0.08, 32, func(k int, h float64) float64 {
				if k == 120 || k == 121 {
					return 520 * mib
				}
				return 400 * mib
			}),
			opt:   Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape: evidence.ShapeStable, stepEvent: -1, samples: 200,
		},
		{
			// A shift that holds for the last fifth is a step, not a spike.
			name: "late level shift",
			points: gen(200, 15*time.Second, 0.01, 33, func(k int, h float64) float64 {
				if k >= 160 {
					return 1500 * mib
				}
				return 400 * mib
			}),
			opt:   Options{Ceiling: 2048 * mib, Unit: "bytes"},
			shape: evidence.ShapeStep, stepAt: t0.Add(160 * 15 * time.Second), stepEvent: -1, samples: 200,
		},
		{
			// Eden empties at every young GC: drops to zero are its rhythm,
			// not restarts.
			name:   "series that empties itself every cycle",
			points: gen(200, 10*time.Second, 0, 19, func(k int, h float64) float64 { return float64(k%20) * 10 * mib }),
			opt:    Options{Unit: "bytes"},
			shape:  evidence.ShapeSawtooth, stepEvent: -1, samples: 200,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(tc.points, tc.opt)
			t.Logf("%s: %s", a.Shape, a.Reason)
			if a.Shape != tc.shape {
				t.Fatalf("shape = %s, want %s (reason: %s)", a.Shape, tc.shape, a.Reason)
			}
			if a.Samples != tc.samples {
				t.Errorf("samples = %d, want %d", a.Samples, tc.samples)
			}
			if !tc.start.IsZero() && !a.Start.Equal(tc.start) {
				t.Errorf("start = %v, want %v", a.Start, tc.start)
			}
			if tc.growth != 0 && !within(a.GrowthPerHour, tc.growth, 0.15) {
				t.Errorf("growth = %.4g/h, want %.4g/h ±15%%", a.GrowthPerHour, tc.growth)
			}
			if tc.exhaust != 0 && !within(a.HoursToExhaustion, tc.exhaust, 0.15) {
				t.Errorf("hours to exhaustion = %.3g, want %.3g ±15%%", a.HoursToExhaustion, tc.exhaust)
			}
			if tc.exhaust == 0 && a.HoursToExhaustion != 0 {
				t.Errorf("hours to exhaustion = %.3g, want none", a.HoursToExhaustion)
			}
			if a.Shape == evidence.ShapeLeak && tc.opt.Ceiling > 0 {
				want := (tc.opt.Ceiling - a.FloorEnd) / a.GrowthPerHour
				if !within(a.HoursToExhaustion, want, 1e-9) {
					t.Errorf("hours to exhaustion = %g, not (ceiling-floorEnd)/growth = %g", a.HoursToExhaustion, want)
				}
			}
			if !tc.stepAt.IsZero() {
				tol := cmp.Or(tc.stepTol, time.Minute)
				if d := a.StepAt.Sub(tc.stepAt); d < -tol || d > tol {
					t.Errorf("stepAt = %v, want %v ±%v", a.StepAt, tc.stepAt, tol)
				}
			} else if !a.StepAt.IsZero() {
				t.Errorf("stepAt = %v, want none", a.StepAt)
			}
			if a.StepEvent != tc.stepEvent {
				t.Errorf("stepEvent = %d, want %d", a.StepEvent, tc.stepEvent)
			}
			if !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", a.Reason, tc.reason)
			}
			checkInvariants(t, tc.points, tc.opt, a)
		})
	}
}

// checkInvariants asserts what must hold for every analysis: indexes cite
// the input samples they describe and derived fields agree.
func checkInvariants(t *testing.T, ps []Point, opt Options, a Analysis) {
	t.Helper()
	if a.Reason == "" {
		t.Error("empty reason")
	}
	if a.Samples == 0 {
		if a.PeakIndex != -1 || a.FloorStartIndex != -1 || a.FloorEndIndex != -1 {
			t.Errorf("indexes %d/%d/%d without samples", a.PeakIndex, a.FloorStartIndex, a.FloorEndIndex)
		}
		return
	}
	if ps[a.PeakIndex].V != a.Max {
		t.Errorf("points[PeakIndex=%d] = %g, Max = %g", a.PeakIndex, ps[a.PeakIndex].V, a.Max)
	}
	if a.Min > a.Max || a.Start.After(a.End) {
		t.Errorf("min %g > max %g or start after end", a.Min, a.Max)
	}
	if a.Shape == evidence.ShapeInsufficient {
		return
	}
	if ps[a.FloorStartIndex].V != a.FloorStart || ps[a.FloorEndIndex].V != a.FloorEnd {
		t.Errorf("floor indexes cite %g/%g, floors are %g/%g",
			ps[a.FloorStartIndex].V, ps[a.FloorEndIndex].V, a.FloorStart, a.FloorEnd)
	}
	if len(a.Floors) < 2 || a.Floors[0].V != a.FloorStart || a.Floors[len(a.Floors)-1].V != a.FloorEnd {
		t.Errorf("floors %v do not start at %g and end at %g", a.Floors, a.FloorStart, a.FloorEnd)
	}
	for _, f := range a.Floors {
		if f.V < a.Min || f.V > a.Max || f.T.Before(a.Start) || f.T.After(a.End) {
			t.Errorf("floor %v outside the analysed samples", f)
		}
	}
	if opt.Ceiling > 0 {
		if !within(a.PeakFractionOfCeiling, a.Max/opt.Ceiling, 1e-12) ||
			!within(a.FloorFractionOfCeiling, a.FloorEnd/opt.Ceiling, 1e-12) {
			t.Errorf("fractions %g/%g do not match max/floorEnd over ceiling", a.PeakFractionOfCeiling, a.FloorFractionOfCeiling)
		}
	} else if a.PeakFractionOfCeiling != 0 || a.HoursToExhaustion != 0 {
		t.Errorf("ceiling-derived fields set without a ceiling")
	}
}

func TestMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 2, 3, 4, 5, 10, 11, 100, 101, 1000} {
		for _, kind := range []string{"random", "sorted", "reversed", "constant", "two-valued"} {
			a := make([]float64, n)
			for i := range a {
				switch kind {
				case "random":
					a[i] = r.NormFloat64()
				case "sorted":
					a[i] = float64(i)
				case "reversed":
					a[i] = float64(n - i)
				case "constant":
					a[i] = 4
				case "two-valued":
					a[i] = float64(r.IntN(2))
				}
			}
			// Reference: count-based definition, independent of selectK.
			want := refMedian(a)
			if got := median(append([]float64(nil), a...)); got != want {
				t.Errorf("%s n=%d: median = %g, want %g", kind, n, got, want)
			}
		}
	}
}

// refMedian is an O(n²) median by rank counting, to check the quickselect.
func refMedian(a []float64) float64 {
	n := len(a)
	rank := func(k int) float64 {
		for _, x := range a {
			less, eq := 0, 0
			for _, y := range a {
				if y < x {
					less++
				} else if y == x {
					eq++
				}
			}
			if less <= k && k < less+eq {
				return x
			}
		}
		return math.NaN()
	}
	if n%2 == 1 {
		return rank(n / 2)
	}
	return (rank(n/2-1) + rank(n/2)) / 2
}

func TestLinearFit(t *testing.T) {
	tests := []struct {
		name      string
		x, y      []float64
		slope, r2 float64
	}{
		{"exact line", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2, 1},
		{"constant", []float64{0, 1, 2}, []float64{5, 5, 5}, 0, 0},
		{"one point", []float64{1}, []float64{1}, 0, 0},
		{"same x", []float64{2, 2, 2}, []float64{1, 2, 3}, 0, 0},
		// Symmetric V: no linear trend at all.
		{"no trend", []float64{0, 1, 2, 3, 4}, []float64{2, 1, 0, 1, 2}, 0, 0},
	}
	for _, tc := range tests {
		s, r2 := linearFit(tc.x, tc.y)
		if math.Abs(s-tc.slope) > 1e-12 || math.Abs(r2-tc.r2) > 1e-12 {
			t.Errorf("%s: slope, r2 = %g, %g; want %g, %g", tc.name, s, r2, tc.slope, tc.r2)
		}
	}
}

func TestChangePoint(t *testing.T) {
	v := []float64{1, 1.1, 0.9, 1, 5, 5.1, 4.9, 5}
	k, l, r, sd, ok := changePoint(v, 2, 3)
	if !ok || k != 4 || math.Abs(l-1) > 1e-9 || math.Abs(r-5) > 1e-9 || sd > 0.1 {
		t.Errorf("changePoint = %d, %g, %g, %g, %v; want split at 4 between 1 and 5", k, l, r, sd, ok)
	}
	if _, _, _, _, ok := changePoint(v[:3], 2, 0); ok {
		t.Error("changePoint accepted a series shorter than two segments")
	}
	// A straight ramp splits in the middle with a jump of about 3.5 pooled
	// SDs, which is why stepSDs sits well above that.
	ramp := make([]float64, 100)
	for i := range ramp {
		ramp[i] = float64(i)
	}
	_, l, r, sd, _ = changePoint(ramp, 10, 50)
	if ratio := (r - l) / sd; ratio >= stepSDs || ratio < 3 {
		t.Errorf("ramp jump/sd = %.2f, want in [3, %d)", ratio, stepSDs)
	}
}

// BenchmarkAnalyze measures a 10,000-sample noisy sawtooth with a rising
// floor, the most work Analyze does (no early exit).
func BenchmarkAnalyze(b *testing.B) {
	ps := gen(10000, 15*time.Second, 0.01, 20, sawtooth(40, 300*mib, func(h float64) float64 { return 200*mib + 5*mib*h }))
	opt := Options{Ceiling: 2048 * mib, Unit: "bytes"}
	b.ReportAllocs()
	for b.Loop() {
		Analyze(ps, opt)
	}
}

// FuzzAnalyze feeds arbitrary series (unsorted, duplicate times, NaN, Inf,
// negative values, resets) and checks Analyze never panics and keeps its
// invariants.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{1, 10, 1, 20, 1, 30, 1, 40, 1, 50, 1, 60, 1, 70, 1, 80, 1, 90}, 100.0)
	f.Add([]byte{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 0.0)
	f.Add([]byte{5, 255, 5, 254, 200, 3, 5, 0, 5, 250, 5, 1, 5, 2, 5, 3, 5, 4, 5, 250}, 64.0)
	shapes := map[string]bool{
		evidence.ShapeStable: true, evidence.ShapeSawtooth: true, evidence.ShapeLeak: true,
		evidence.ShapeStep: true, evidence.ShapeSpike: true, evidence.ShapeInsufficient: true,
	}
	f.Fuzz(func(t *testing.T, data []byte, ceiling float64) {
		var ps []Point
		at := t0
		for i := 0; i+1 < len(data); i += 2 {
			// The time byte is signed so series can run backwards.
			at = at.Add(time.Duration(int8(data[i])) * time.Second)
			v := float64(data[i+1])
			switch data[i+1] {
			case 253:
				v = math.NaN()
			case 254:
				v = math.Inf(1)
			case 255:
				v = -v
			}
			ps = append(ps, Point{T: at, V: v})
		}
		opt := Options{Ceiling: ceiling, Events: []time.Time{t0, t0.Add(time.Minute)}}
		a := Analyze(ps, opt)
		if !shapes[a.Shape] {
			t.Fatalf("unknown shape %q", a.Shape)
		}
		if a.StepEvent < -1 || a.StepEvent >= len(opt.Events) {
			t.Fatalf("stepEvent %d out of range", a.StepEvent)
		}
		for _, i := range []int{a.PeakIndex, a.FloorStartIndex, a.FloorEndIndex} {
			if i < -1 || i >= len(ps) {
				t.Fatalf("index %d out of range [-1, %d)", i, len(ps))
			}
		}
		if math.IsNaN(a.GrowthPerHour) || math.IsNaN(a.HoursToExhaustion) || a.HoursToExhaustion < 0 {
			t.Fatalf("bad growth %g or forecast %g", a.GrowthPerHour, a.HoursToExhaustion)
		}
		if ceiling > 0 && !math.IsInf(ceiling, 0) {
			checkInvariants(t, ps, opt, a)
		}
	})
}
