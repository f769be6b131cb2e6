package chart

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oombot/oombot/internal/report"
)

// xy is one sample in plot coordinates: Unix seconds and bytes.
type xy struct{ x, y float64 }

// line is one series ready to draw: its look and its runs of samples, split
// where the samples are too far apart to join.
type line struct {
	look look
	segs [][]xy
}

// mark is a labelled vertical line.
type mark struct {
	x     float64
	label string
	kill  bool
}

// prepared is a chart cleaned of values that cannot be drawn, with the
// ranges the axes must cover.
type prepared struct {
	lines            []line
	limit, heapMax   float64
	marks            []mark
	xmin, xmax       float64
	ymin, ymax       float64
	step             time.Duration // major time tick spacing
	hasKill, hasDepl bool
}

// prepare turns a report chart into drawable data. cols is the width of the
// drawing in pixels: series with far more points than that are thinned to
// their per-column extremes, which draws the same picture for less work.
func prepare(c *report.Chart, cols, maxTimeTicks int) (*prepared, bool) {
	if c == nil {
		return nil, false
	}
	p := &prepared{xmin: math.Inf(1), xmax: math.Inf(-1), ymin: 0, ymax: 0}
	for _, s := range c.Series {
		// The Y axis is bytes; a series in another unit would be drawn
		// against the wrong scale, so it is left out rather than misread.
		if s.Unit != "" && s.Unit != "bytes" {
			continue
		}
		pts := make([]xy, 0, len(s.Points))
		for _, pt := range s.Points {
			if pt.T.IsZero() || !drawable(pt.V) {
				continue
			}
			pts = append(pts, xy{x: unixSeconds(pt.T), y: pt.V})
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortStableFunc(pts, func(a, b xy) int { return cmp.Compare(a.x, b.x) })
		for _, pt := range pts {
			p.xmin, p.xmax = math.Min(p.xmin, pt.x), math.Max(p.xmax, pt.x)
			p.ymin, p.ymax = math.Min(p.ymin, pt.y), math.Max(p.ymax, pt.y)
		}
		segs := splitGaps(pts)
		for i, seg := range segs {
			segs[i] = thin(seg, cols)
		}
		p.lines = append(p.lines, line{look: lookFor(s.Signal, len(p.lines)), segs: segs})
	}
	if len(p.lines) == 0 {
		return nil, false
	}
	if drawable(c.LimitBytes) && c.LimitBytes > 0 {
		p.limit = c.LimitBytes
		p.ymax = math.Max(p.ymax, p.limit)
	}
	if drawable(c.HeapMaxBytes) && c.HeapMaxBytes > 0 {
		p.heapMax = c.HeapMaxBytes
		p.ymax = math.Max(p.ymax, p.heapMax)
	}
	// Marks widen the time range: a kill just after the last scrape must
	// still be visible, it is the point of the chart.
	for _, k := range c.Kills {
		if k.T.IsZero() {
			continue
		}
		x := unixSeconds(k.T)
		p.marks = append(p.marks, mark{x: x, label: k.Label, kill: true})
		p.xmin, p.xmax = math.Min(p.xmin, x), math.Max(p.xmax, x)
		p.hasKill = true
	}
	for _, d := range c.Deploys {
		if d.T.IsZero() {
			continue
		}
		x := unixSeconds(d.T)
		p.marks = append(p.marks, mark{x: x, label: d.Label})
		p.xmin, p.xmax = math.Min(p.xmin, x), math.Max(p.xmax, x)
		p.hasDepl = true
	}
	span := p.xmax - p.xmin
	if span <= 0 {
		// A single instant still gets a readable axis around it.
		p.xmin, p.xmax = p.xmin-30, p.xmax+30
	} else {
		p.xmin, p.xmax = p.xmin-span*0.02, p.xmax+span*0.02
	}
	if p.ymax <= 0 {
		p.ymax = 1 << 20
	}
	p.step = timeStep(p.xmax-p.xmin, maxTimeTicks)
	for i := range p.marks {
		m := &p.marks[i]
		t := fromUnixSeconds(m.x).Format(timeLayout(p.step))
		switch {
		case m.kill:
			m.label = strings.TrimSpace(clean(m.label, 32) + " " + t)
		case m.label != "":
			m.label = "deploy " + clean(m.label, 32)
		default:
			m.label = "deploy " + t
		}
	}
	// Kills first: when labels compete for room, the kill keeps its label.
	slices.SortStableFunc(p.marks, func(a, b mark) int {
		if a.kill != b.kill {
			if a.kill {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.x, b.x)
	})
	return p, true
}

// splitGaps cuts a time-sorted series wherever two samples are more than
// five typical intervals apart: a scrape outage or a restart is not a
// straight line between the last value before and the first value after.
func splitGaps(pts []xy) [][]xy {
	if len(pts) < 3 {
		return [][]xy{pts}
	}
	dts := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		if dt := pts[i].x - pts[i-1].x; dt > 0 {
			dts = append(dts, dt)
		}
	}
	if len(dts) == 0 {
		return [][]xy{pts}
	}
	slices.Sort(dts)
	limit := 5 * dts[len(dts)/2]
	var segs [][]xy
	start := 0
	for i := 1; i < len(pts); i++ {
		if pts[i].x-pts[i-1].x > limit {
			segs = append(segs, pts[start:i])
			start = i
		}
	}
	return append(segs, pts[start:])
}

// thin keeps, for each of cols time buckets, the lowest and highest sample
// in time order, so a series denser than the pixels that show it keeps its
// envelope (peaks matter most on a memory chart) at bounded drawing cost.
func thin(seg []xy, cols int) []xy {
	if cols < 1 || len(seg) <= 4*cols {
		return seg
	}
	x0, x1 := seg[0].x, seg[len(seg)-1].x
	if x1 <= x0 {
		return seg[:1]
	}
	out := make([]xy, 0, 2*cols+2)
	flush := func(lo, hi xy) {
		if lo.x > hi.x {
			lo, hi = hi, lo
		}
		out = append(out, lo)
		if hi != lo {
			out = append(out, hi)
		}
	}
	bucket := -1
	var lo, hi xy
	for _, pt := range seg {
		b := min(int((pt.x-x0)/(x1-x0)*float64(cols)), cols-1)
		if b != bucket {
			if bucket >= 0 {
				flush(lo, hi)
			}
			bucket, lo, hi = b, pt, pt
			continue
		}
		if pt.y < lo.y {
			lo = pt
		}
		if pt.y > hi.y {
			hi = pt
		}
	}
	flush(lo, hi)
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// maxBytes bounds believable memory values (4 EiB); anything larger is a
// broken sample, and would overflow the axis arithmetic if drawn.
const maxBytes = 1 << 62

// drawable reports whether v is a memory value worth plotting.
func drawable(v float64) bool { return finite(v) && math.Abs(v) < maxBytes }

func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

func fromUnixSeconds(x float64) time.Time {
	sec, frac := math.Modf(x)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// clean makes text from a report safe to draw: control characters become
// spaces and long labels are cut, so a hostile or odd deploy id cannot
// break the layout.
func clean(s string, maxRunes int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxRunes {
		r := []rune(s)
		s = string(r[:maxRunes-1]) + "…"
	}
	return s
}
