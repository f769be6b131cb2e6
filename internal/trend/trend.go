// Package trend classifies the shape of one memory series (heap used, old
// gen, metaspace, container working set, classes loaded, ...) the way a JVM
// SRE reads a graph: a healthy sawtooth, a leak whose post-GC floor keeps
// climbing, a one-off step (often a deploy), a short spike, or a flat line.
// For growing series it estimates the growth per hour and the time left
// until the series meets its ceiling.
//
// The package is pure computation: no I/O, no global state, no allocation
// proportional to anything but the input length.
package trend

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// Point is one sample of a series.
type Point struct {
	T time.Time
	V float64
}

// Options tell Analyze what the series runs into and what happened around it.
type Options struct {
	// Ceiling is what the series runs into (heap max, container limit,
	// MaxMetaspaceSize); 0 means unknown.
	Ceiling float64
	// Events are deploy times: a step within 15 minutes after one of them is
	// attributed to it.
	Events []time.Time
	// Unit is "bytes", "count" or "seconds"; it only affects messages.
	Unit string
}

// Analysis is what Analyze found. Values are in the series' own unit.
type Analysis struct {
	// Shape is one of the evidence.Shape* constants.
	Shape string
	// Samples is the number of valid (non-NaN) samples analysed; after a
	// container restart only the analysed incarnation counts.
	Samples int
	// Start and End bound the analysed samples.
	Start, End time.Time
	// Min, Max and Last describe the analysed samples.
	Min, Max, Last float64
	// FloorStart and FloorEnd are the post-GC floor (the minimum of the
	// first and of the last window) early and late in the analysed range.
	FloorStart, FloorEnd float64
	// GrowthPerHour is the least-squares slope of the floor, per hour.
	GrowthPerHour float64
	// PeakFractionOfCeiling is Max/Ceiling and FloorFractionOfCeiling is
	// FloorEnd/Ceiling; both are 0 without a ceiling.
	PeakFractionOfCeiling, FloorFractionOfCeiling float64
	// HoursToExhaustion is (Ceiling-FloorEnd)/GrowthPerHour when the shape
	// is a leak and a ceiling is known; 0 otherwise, and also 0 when the
	// floor has already reached the ceiling (FloorFractionOfCeiling says so).
	HoursToExhaustion float64
	// StepAt is when a step happened (zero unless Shape is step).
	StepAt time.Time
	// StepEvent is the index into Options.Events of the deploy the step
	// followed within 15 minutes, -1 if none.
	StepEvent int
	// Floors are the per-window minima the floor statistics were read from,
	// for charts and citations.
	Floors []Point
	// Reason is one sentence saying why this shape was chosen.
	Reason string
	// PeakIndex, FloorStartIndex and FloorEndIndex index the input slice so
	// the caller can cite the raw samples; -1 when there is none.
	PeakIndex, FloorStartIndex, FloorEndIndex int
}

// Tuning. Each threshold is a judgement about what an SRE would call
// material on a memory graph; they are constants so tests pin them.
const (
	// minSamples is the fewest samples a shape is read from.
	minSamples = 8
	// maxWindows is how many windows the floor is read from at most.
	maxWindows = 10
	// eventWindow is how long after a deploy a step is attributed to it.
	eventWindow = 15 * time.Minute
	// madScale turns a median absolute deviation into a standard deviation
	// for normally distributed noise.
	madScale = 1.4826
	// spikeSDs is how many robust standard deviations above the median a
	// peak must reach to be a spike.
	spikeSDs = 5
	// spikeMaxFraction is the longest a spike may last, as a fraction of
	// the samples and of the time span.
	spikeMaxFraction = 0.10
	// stepSDs is how many pooled within-segment standard deviations a level
	// shift must span; a straight ramp scores about 3.5, so 6 keeps ramps out.
	stepSDs = 6
	// leakMinR2 is the least goodness of fit of the floor's linear trend.
	leakMinR2 = 0.7
	// leakMinMonotone is the share of consecutive windows whose floor must
	// not decrease.
	leakMinMonotone = 0.7
	// leakMaxGiveBack is how much of its rise the floor may lose by the end
	// and still count as a leak: a floor that comes back down was garbage
	// that a later (mixed/full) collection reclaimed.
	leakMaxGiveBack = 0.25
	// leakMinLateSlope is the least slope of the later half of the floor,
	// relative to the whole window's, for the climb to still be a leak.
	leakMinLateSlope = 0.3
	// resetNearZero is how low (relative to the incarnation's maximum) a
	// value must fall to count as a restart without a gap.
	resetNearZero = 0.05
	// resetGapFactor is how many median sampling intervals make a gap.
	resetGapFactor = 3
	// maxGaplessResets is how many near-zero drops without a gap are still
	// read as restarts; more are the series' own rhythm (e.g. eden emptied
	// at every young GC), not restarts.
	maxGaplessResets = 2
)

// Analyze classifies the series and measures its floor, growth and
// forecast. Points may be unsorted and may contain NaN or infinite values
// (skipped). It never panics and never fails: with too little data the shape
// is evidence.ShapeInsufficient and Reason says why.
func Analyze(points []Point, opt Options) Analysis {
	a := Analysis{
		Shape:           evidence.ShapeInsufficient,
		StepEvent:       -1,
		PeakIndex:       -1,
		FloorStartIndex: -1,
		FloorEndIndex:   -1,
	}
	c := classifier{opt: opt, points: points}
	if !(opt.Ceiling > 0) || math.IsInf(opt.Ceiling, 0) {
		c.opt.Ceiling = 0
	}
	c.prepare()
	c.splitIncarnations()

	n := len(c.v)
	if n == 0 {
		a.Reason = "no samples" + c.note()
		return a
	}
	c.describe(&a)
	if n < minSamples {
		a.Reason = fmt.Sprintf("only %d samples (need %d)%s", n, minSamples, c.note())
		return a
	}
	if c.t[n-1] <= 0 {
		a.Reason = fmt.Sprintf("all %d samples share one timestamp%s", n, c.note())
		return a
	}
	c.measure(&a)
	c.classify(&a)
	a.Reason += c.note()
	return a
}

// classifier holds the working state of one Analyze call.
type classifier struct {
	opt    Options
	points []Point

	// idx, t and v are the analysed samples in time order: the input index,
	// seconds since the first analysed sample, and the value.
	idx []int
	t   []float64
	v   []float64
	// buf is scratch space of the same length, for medians.
	buf []float64

	skipped int // NaN/Inf samples dropped
	peak    int // position of the maximum in v
	// resets counts restarts found; resetAt is when the analysed
	// incarnation began after one; shortLast is set when the latest
	// incarnation was too short and an earlier one was analysed.
	resets    int
	resetAt   time.Time
	shortLast int

	// Robust statistics of the analysed samples.
	median, sd float64 // sd is madScale*MAD of the values
	// Sawtooth statistics: significant drops and their median size.
	drops     int
	dropSize  float64
	floorPos  [maxWindows]int // positions (into v) of the floors
	nFloors   int
	slopeHour float64
	r2        float64
	// notLeak says why the floor did not qualify as a leak.
	notLeak string
}

// prepare drops invalid values and orders the rest by time.
func (c *classifier) prepare() {
	n := 0
	for _, p := range c.points {
		if valid(p.V) {
			n++
		}
	}
	c.skipped = len(c.points) - n
	if n == 0 {
		return
	}
	c.idx = make([]int, 0, n)
	sorted := true
	for i, p := range c.points {
		if !valid(p.V) {
			continue
		}
		if k := len(c.idx); k > 0 && p.T.Before(c.points[c.idx[k-1]].T) {
			sorted = false
		}
		c.idx = append(c.idx, i)
	}
	if !sorted {
		// Stable so duplicates keep their input order.
		slices.SortStableFunc(c.idx, func(x, y int) int { return c.points[x].T.Compare(c.points[y].T) })
	}
	// One backing array for values, times and scratch keeps allocations flat.
	f := make([]float64, 3*n)
	c.v, c.t, c.buf = f[:n:n], f[n:2*n:2*n], f[2*n:]
	t0 := c.points[c.idx[0]].T
	for k, i := range c.idx {
		c.v[k] = c.points[i].V
		c.t[k] = c.points[i].T.Sub(t0).Seconds()
	}
}

func valid(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// splitIncarnations narrows the samples to the last container incarnation.
// A restart shows as a gap followed by a drop, or as a drop to near zero
// right after a high value. The latest incarnation with enough samples is
// analysed: a kill is usually followed by a few samples of the fresh
// container, and the story is in the one that was killed.
func (c *classifier) splitIncarnations() {
	n := len(c.v)
	if n < 2 {
		return
	}
	// Median sampling interval, to recognise gaps.
	m := 0
	for k := 1; k < n; k++ {
		if dt := c.t[k] - c.t[k-1]; dt > 0 {
			c.buf[m] = dt
			m++
		}
	}
	gap := math.Inf(1)
	if m > 0 {
		gap = resetGapFactor * median(c.buf[:m])
	}

	// First pass counts near-zero drops without a gap, to tell restarts
	// from a series that empties itself regularly.
	gapless := 0
	c.scanResets(gap, func(k int, withGap bool) {
		if !withGap {
			gapless++
		}
	})
	// Starts of incarnations, newest last. A small fixed array covers the
	// usual case; crash loops with more restarts spill to the heap.
	var startsArr [8]int
	starts := append(startsArr[:0], 0)
	c.scanResets(gap, func(k int, withGap bool) {
		if withGap || gapless <= maxGaplessResets {
			starts = append(starts, k)
		}
	})
	c.resets = len(starts) - 1
	if c.resets == 0 {
		return
	}
	end := n
	lo := starts[len(starts)-1]
	for s := len(starts) - 1; s >= 0; s-- {
		if end-starts[s] >= minSamples {
			lo = starts[s]
			break
		}
		if s == len(starts)-1 {
			c.shortLast = end - starts[s]
		}
		end = starts[s]
	}
	if end-lo < minSamples { // no incarnation is long enough: report the last
		lo, end, c.shortLast = starts[len(starts)-1], n, 0
	}
	if lo > 0 {
		c.resetAt = c.points[c.idx[lo]].T
	}
	c.idx, c.v, c.t, c.buf = c.idx[lo:end], c.v[lo:end], c.t[lo:end], c.buf[:end-lo]
	t0 := c.t[0]
	for k := range c.t {
		c.t[k] -= t0
	}
}

// scanResets calls found for every position k that starts a new incarnation
// candidate.
func (c *classifier) scanResets(gap float64, found func(k int, withGap bool)) {
	hi := c.v[0]
	for k := 1; k < len(c.v); k++ {
		prev, cur := c.v[k-1], c.v[k]
		withGap := c.t[k]-c.t[k-1] > gap
		switch {
		case hi > 0 && withGap && cur < 0.5*prev && cur <= 0.5*hi:
			found(k, true)
			hi = cur
			continue
		case hi > 0 && prev >= 0.5*hi && cur <= resetNearZero*hi:
			found(k, false)
			hi = cur
			continue
		}
		if cur > hi {
			hi = cur
		}
	}
}

// note is the trailing remark about skipped samples and restarts.
func (c *classifier) note() string {
	var parts []string
	if c.skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d NaN/Inf samples skipped", c.skipped))
	}
	if c.resets > 0 && !c.resetAt.IsZero() {
		parts = append(parts, fmt.Sprintf("analysed the incarnation starting %s; %d restart(s) in the window", stamp(c.resetAt), c.resets))
	}
	if c.shortLast > 0 {
		parts = append(parts, fmt.Sprintf("the newest incarnation has only %d samples", c.shortLast))
	}
	if c.resets > 0 && c.resetAt.IsZero() {
		parts = append(parts, fmt.Sprintf("analysed the first incarnation of %d", c.resets+1))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// describe fills the plain descriptive statistics.
func (c *classifier) describe(a *Analysis) {
	n := len(c.v)
	a.Samples = n
	a.Start = c.points[c.idx[0]].T
	a.End = c.points[c.idx[n-1]].T
	a.Min, a.Max, a.Last = c.v[0], c.v[0], c.v[n-1]
	peak := 0
	for k, x := range c.v {
		if x > a.Max {
			a.Max, peak = x, k
		}
		if x < a.Min {
			a.Min = x
		}
	}
	c.peak = peak
	a.PeakIndex = c.idx[peak]
	if c.opt.Ceiling > 0 {
		a.PeakFractionOfCeiling = a.Max / c.opt.Ceiling
	}
}

// measure computes the robust statistics, the drops and the floor.
func (c *classifier) measure(a *Analysis) {
	n := len(c.v)
	copy(c.buf, c.v)
	c.median = median(c.buf)
	for k, x := range c.v {
		c.buf[k] = math.Abs(x - c.median)
	}
	c.sd = madScale * median(c.buf)

	// Noise of the first differences: drops must stand out of it.
	d := c.buf[:n-1]
	for k := range d {
		d[k] = c.v[k+1] - c.v[k]
	}
	md := median(d)
	for k := range d {
		d[k] = math.Abs(c.v[k+1] - c.v[k] - md)
	}
	diffSD := madScale * median(d)
	thresh := math.Max(0.15*(a.Max-a.Min), 4*diffSD)

	// A drop is a run of falling samples whose total fall beats the
	// threshold, so a GC straddling two scrapes counts once.
	// A slow decline is not a collection, so the run must also be short.
	maxRun := max(3, n/20)
	sizes := c.buf[:0]
	run, runLen := 0.0, 0
	for k := 1; k <= n; k++ {
		if k < n && c.v[k] < c.v[k-1] {
			run += c.v[k-1] - c.v[k]
			runLen++
			continue
		}
		if run > thresh && run > 0 && runLen <= maxRun {
			sizes = append(sizes, run)
		}
		run, runLen = 0, 0
	}
	c.drops = len(sizes)
	if c.drops > 0 {
		c.dropSize = median(sizes)
	}

	// Windows long enough to hold a collection each: with D drops the
	// cycle is about n/(D+1) samples; windows of 1.5 cycles hold a trough.
	w := min(maxWindows, n/4)
	if c.drops > 0 {
		w = min(w, max(3, int(float64(c.drops+1)/1.5)))
	}
	w = max(w, 2)
	c.nFloors = w
	a.Floors = make([]Point, w)
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		best := lo
		for k := lo + 1; k < hi; k++ {
			if c.v[k] < c.v[best] {
				best = k
			}
		}
		c.floorPos[i] = best
		a.Floors[i] = Point{T: c.points[c.idx[best]].T, V: c.v[best]}
	}
	first, last := c.floorPos[0], c.floorPos[w-1]
	a.FloorStart, a.FloorEnd = c.v[first], c.v[last]
	a.FloorStartIndex, a.FloorEndIndex = c.idx[first], c.idx[last]
	if c.opt.Ceiling > 0 {
		a.FloorFractionOfCeiling = a.FloorEnd / c.opt.Ceiling
	}

	var xs, ys [maxWindows]float64
	for i := 0; i < w; i++ {
		xs[i] = c.t[c.floorPos[i]] / 3600
		ys[i] = c.v[c.floorPos[i]]
	}
	c.slopeHour, c.r2 = linearFit(xs[:w], ys[:w])
	a.GrowthPerHour = c.slopeHour
}

// material reports whether a change of size d matters for a series at
// level: at least fracLevel of the level or, with a known ceiling,
// fracCeil of the ceiling.
func (c *classifier) material(d, level, fracLevel, fracCeil float64) bool {
	if d <= 0 {
		return false
	}
	if c.opt.Ceiling > 0 && d >= fracCeil*c.opt.Ceiling {
		return true
	}
	return d >= fracLevel*math.Abs(level)
}

// classify picks the shape. Order matters: a spike or a step would also
// move the floor, so they are ruled out before the floor is read as a leak.
func (c *classifier) classify(a *Analysis) {
	if c.spike(a) || c.step(a) || c.leak(a) || c.sawtooth(a) {
		return
	}
	a.Shape = evidence.ShapeStable
	a.Reason = fmt.Sprintf("values stayed between %s and %s around a median of %s, with no material growth, step or spike; floor %s/h",
		c.val(a.Min), c.val(a.Max), c.val(c.median), c.signed(c.slopeHour))
}

// spike: the peak stands far above the median and the excursion is short.
func (c *classifier) spike(a *Analysis) bool {
	n := len(c.v)
	height := a.Max - c.median
	if height <= spikeSDs*c.sd || !c.material(height, c.median, 0.2, 0.1) {
		return false
	}
	// The excursion is what stays above half the peak's height.
	half := c.median + height/2
	above := 0
	for _, x := range c.v {
		if x > half {
			above++
		}
	}
	lo, hi := c.peak, c.peak
	for lo > 0 && c.v[lo-1] > half {
		lo--
	}
	for hi < n-1 && c.v[hi+1] > half {
		hi++
	}
	span := c.t[n-1]
	dur := c.t[hi] - c.t[lo]
	if float64(above) >= spikeMaxFraction*float64(n) || dur >= spikeMaxFraction*span {
		return false
	}
	a.Shape = evidence.ShapeSpike
	sds := "∞"
	if c.sd > 0 {
		sds = fmt.Sprintf("%.1f", height/c.sd)
	}
	a.Reason = fmt.Sprintf("peak %s at %s stood %s robust SDs above the %s median and lasted %d sample(s) (%s, %.0f%% of the window)",
		c.val(a.Max), stamp(c.points[a.PeakIndex].T), sds, c.val(c.median), hi-lo+1,
		seconds(dur), 100*dur/span)
	return true
}

// step: one change point splits the samples (or, for a sawtooth, its
// floors) into two flat levels far apart.
func (c *classifier) step(a *Analysis) bool {
	n := len(c.v)
	if k, l, r, sd, ok := changePoint(c.v, max(2, n/10), c.median); ok &&
		math.Abs(r-l) >= stepSDs*sd && c.material(math.Abs(r-l), l, 0.2, 0.1) {
		c.setStep(a, k, l, r, fmt.Sprintf("level shifted from %s to %s", c.val(l), c.val(r)))
		return true
	}
	// A sawtooth whose floor jumps once: compare the window minima.
	w := c.nFloors
	if w < 4 {
		return false
	}
	var fs [maxWindows]float64
	for i := 0; i < w; i++ {
		fs[i] = c.v[c.floorPos[i]]
	}
	k, l, r, sd, ok := changePoint(fs[:w], 2, fs[0])
	if !ok || math.Abs(r-l) < stepSDs*sd || !c.material(math.Abs(r-l), l, 0.2, 0.1) {
		return false
	}
	// The windows only bracket the shift; it happened after the last time
	// the series touched the old floor level.
	mid := (l + r) / 2
	from, to := (k-1)*n/w, (k+1)*n/w
	at := from
	for j := from; j < to; j++ {
		if (r > l) == (c.v[j] <= mid) {
			at = j + 1
		}
	}
	at = min(at, n-1)
	c.setStep(a, at, l, r, fmt.Sprintf("post-GC floor shifted from %s to %s", c.val(l), c.val(r)))
	return true
}

// setStep records a step at position k and attributes it to a deploy.
func (c *classifier) setStep(a *Analysis, k int, l, r float64, what string) {
	a.Shape = evidence.ShapeStep
	a.StepAt = c.points[c.idx[k]].T
	best := time.Duration(-1)
	for i, e := range c.opt.Events {
		if d := a.StepAt.Sub(e); d >= 0 && d <= eventWindow && (best < 0 || d < best) {
			best, a.StepEvent = d, i
		}
	}
	deploy := "no deploy in the 15 min before"
	if a.StepEvent >= 0 {
		deploy = fmt.Sprintf("%s after the deploy at %s", best.Round(time.Second), stamp(c.opt.Events[a.StepEvent]))
	}
	a.Reason = fmt.Sprintf("%s at %s and stayed there; %s", what, stamp(a.StepAt), deploy)
}

// leak: the floor climbs steadily, materially and does not come back.
func (c *classifier) leak(a *Analysis) bool {
	w := c.nFloors
	if w < 3 || c.slopeHour <= 0 {
		c.notLeak = "the floor does not rise"
		return false
	}
	fs := a.Floors
	rise := a.FloorEnd - a.FloorStart
	top, low := fs[0].V, fs[0].V
	for _, f := range fs {
		top, low = math.Max(top, f.V), math.Min(low, f.V)
	}
	tol := 0.02 * (top - low)
	up := 0
	for i := 1; i < w; i++ {
		if fs[i].V >= fs[i-1].V-tol {
			up++
		}
	}
	switch {
	case !c.material(rise, a.FloorStart, 0.2, 0.1):
		c.notLeak = "the floor did not rise materially"
	case float64(up) < leakMinMonotone*float64(w-1):
		c.notLeak = fmt.Sprintf("the floor fell in %d of %d steps between windows", w-1-up, w-1)
	case a.FloorEnd < top-leakMaxGiveBack*(top-a.FloorStart):
		c.notLeak = fmt.Sprintf("the floor came back down from %s, so a later collection reclaimed it", c.val(top))
	case c.r2 < leakMinR2:
		c.notLeak = fmt.Sprintf("the floor's linear fit is weak (R²=%.2f)", c.r2)
	case c.levelling(a.Floors):
		c.notLeak = "the floor's growth levelled off (a cache or pool filling up, not a leak)"
	}
	if c.notLeak != "" {
		return false
	}
	a.Shape = evidence.ShapeLeak
	if c.opt.Ceiling > 0 && a.FloorEnd < c.opt.Ceiling {
		a.HoursToExhaustion = (c.opt.Ceiling - a.FloorEnd) / c.slopeHour
	}
	what := "post-GC floor rose"
	if c.drops == 0 {
		what = "series climbed without any collection drop"
	}
	a.Reason = fmt.Sprintf("%s in %d of %d steps between %d windows from %s to %s, %s/h, R²=%.2f",
		what, up, w-1, w, c.val(a.FloorStart), c.val(a.FloorEnd), c.signed(c.slopeHour), c.r2)
	if a.HoursToExhaustion > 0 {
		a.Reason += fmt.Sprintf(", reaching the %s ceiling in ~%s", c.val(c.opt.Ceiling), hours(a.HoursToExhaustion))
	} else if c.opt.Ceiling > 0 {
		a.Reason += fmt.Sprintf(", already at the %s ceiling", c.val(c.opt.Ceiling))
	}
	return true
}

// levelling reports whether the floor's growth over its later half has
// slowed to a fraction of the whole window's: a bounded cache warming up
// rises fast and flattens, a leak keeps its pace.
func (c *classifier) levelling(fs []Point) bool {
	w := len(fs)
	if w < 4 {
		return false
	}
	var xs, ys [maxWindows]float64
	h := w / 2
	for i, f := range fs[h:] {
		xs[i] = f.T.Sub(fs[0].T).Hours()
		ys[i] = f.V
	}
	late, _ := linearFit(xs[:w-h], ys[:w-h])
	return late < leakMinLateSlope*c.slopeHour
}

// sawtooth: repeated material drops (collections) around a floor that
// does not qualify as a leak.
func (c *classifier) sawtooth(a *Analysis) bool {
	if c.drops == 0 || !c.material(c.dropSize, c.median, 0.1, 0.05) {
		return false
	}
	a.Shape = evidence.ShapeSawtooth
	a.Reason = fmt.Sprintf("%d allocate/collect drop(s) of ~%s each around a floor going %s → %s (%s/h), not a leak because %s",
		c.drops, c.val(c.dropSize), c.val(a.FloorStart), c.val(a.FloorEnd), c.signed(c.slopeHour), c.notLeak)
	return true
}

// val formats a value in the series' unit.
func (c *classifier) val(v float64) string {
	switch c.opt.Unit {
	case "bytes":
		return evidence.Bytes(int64(math.Round(v)))
	case "seconds":
		return fmt.Sprintf("%.3gs", v)
	default:
		if math.Abs(v) >= 100 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.3g", v)
	}
}

// signed formats a rate with its sign.
func (c *classifier) signed(v float64) string {
	if v >= 0 {
		return "+" + c.val(v)
	}
	return c.val(v)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// seconds formats a duration for a sentence, to the second unless shorter.
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// hours formats a forecast: hours, or minutes/seconds when under an hour.
func hours(h float64) string {
	if h < 1 {
		return seconds(h * 3600)
	}
	return fmt.Sprintf("%.1fh", h)
}
