package triage

import (
	"sort"
	"time"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/trend"
)

// chartSignals are the memory series a chart draws, in drawing order.
var chartSignals = []string{
	"container_memory_working_set", "jvm_heap_used", "jvm_old_gen_used",
	"jvm_nonheap_used", "jvm_metaspace_used", "jvm_direct_buffer_used",
}

// chartData keeps the focus container's memory series (whole window, both
// incarnations, unlike the trend analysis) downsampled for drawing, and marks
// OOMs and deploys.
func chartData(g *gathered, ev *evidence.Evidence, f report.Facts, focus string, w evidence.Window) *report.Chart {
	c := &report.Chart{Window: w, LimitBytes: float64(f.MemoryLimitBytes), HeapMaxBytes: float64(f.MaxHeapBytes)}
	for _, sig := range chartSignals {
		pts := pickSeries(g.series[sig], focus)
		if len(pts) == 0 {
			continue
		}
		c.Series = append(c.Series, report.ChartSeries{Signal: sig, Unit: "bytes", Points: downsample(pts, report.MaxChartPoints)})
	}
	seen := map[int64]bool{}
	mark := func(t time.Time, label string) {
		// Several records describe one kill (event, status, kernel line);
		// mark each second once.
		if t.IsZero() || seen[t.Unix()] {
			return
		}
		seen[t.Unix()] = true
		c.Kills = append(c.Kills, report.ChartMark{T: t, Label: label})
	}
	for _, c := range ev.Containers {
		if c.Name != focus {
			continue
		}
		if c.LastTermination.OOMKilled {
			mark(c.LastTermination.FinishedAt, "OOMKilled")
		}
		if c.State.OOMKilled {
			mark(c.State.FinishedAt, "OOMKilled")
		}
	}
	for _, k := range ev.KernelKills {
		mark(k.Time, "OOM kill")
	}
	for _, o := range ev.OOMErrors {
		mark(o.Time, "OutOfMemoryError")
	}
	sort.Slice(c.Kills, func(i, j int) bool { return c.Kills[i].T.Before(c.Kills[j].T) })
	for _, d := range ev.Deploys {
		if !d.Time.IsZero() && !d.Time.Before(w.Start) && !d.Time.After(w.End) {
			c.Deploys = append(c.Deploys, report.ChartMark{T: d.Time, Label: d.ID})
		}
	}
	sort.Slice(c.Deploys, func(i, j int) bool { return c.Deploys[i].T.Before(c.Deploys[j].T) })
	if c.Empty() {
		return nil
	}
	return c
}

// downsample keeps at most n points, taking each bucket's maximum: a chart
// about running out of memory must not smooth away the peaks.
func downsample(pts []trend.Point, n int) []report.ChartPoint {
	if len(pts) <= n {
		out := make([]report.ChartPoint, len(pts))
		for i, p := range pts {
			out[i] = report.ChartPoint{T: p.T, V: p.V}
		}
		return out
	}
	out := make([]report.ChartPoint, 0, n)
	for b := 0; b < n; b++ {
		lo, hi := b*len(pts)/n, (b+1)*len(pts)/n
		best := pts[lo]
		for _, p := range pts[lo:hi] {
			if p.V > best.V {
				best = p
			}
		}
		out = append(out, report.ChartPoint{T: best.T, V: best.V})
	}
	return out
}
