package chart

import (
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
)

// timeSteps are the tick spacings a reader expects on a clock axis.
var timeSteps = [...]time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
	5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour,
}

// timeStep picks the smallest clock-friendly spacing that gives at most
// maxTicks labelled ticks over span seconds.
func timeStep(span float64, maxTicks int) time.Duration {
	maxTicks = max(maxTicks, 2)
	for _, s := range timeSteps {
		if span/s.Seconds() <= float64(maxTicks-1) {
			return s
		}
	}
	days := math.Ceil(span / (24 * time.Hour).Seconds() / float64(maxTicks-1))
	return time.Duration(days) * 24 * time.Hour
}

// timeLayout is the tick label format for a spacing: seconds only when the
// ticks are less than a minute apart, the day only when they are days apart.
func timeLayout(step time.Duration) string {
	switch {
	case step < time.Minute:
		return "15:04:05"
	case step < 24*time.Hour:
		return "15:04"
	default:
		return "Jan 2"
	}
}

// timeTicks marks multiples of step (UTC, so hour ticks fall on the hour).
func timeTicks(step time.Duration) plot.TickerFunc {
	return func(lo, hi float64) []plot.Tick {
		s := step.Seconds()
		if s <= 0 || !finite(lo) || !finite(hi) || hi < lo {
			return nil
		}
		layout := timeLayout(step)
		var ticks []plot.Tick
		first := math.Ceil(lo/s) * s
		for i := 0; i < 64; i++ {
			v := first + float64(i)*s
			if v > hi {
				break
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: fromUnixSeconds(v).Format(layout)})
		}
		return ticks
	}
}

// timeAxisLabel names the axis with the date(s) it covers, since the ticks
// show only the clock.
func timeAxisLabel(lo, hi float64) string {
	a, b := fromUnixSeconds(lo).Format("2006-01-02"), fromUnixSeconds(hi).Format("2006-01-02")
	if a == b {
		return "time (UTC, " + a + ")"
	}
	return "time (UTC, " + a + " – " + b + ")"
}

// byteUnits are binary units, as Kubernetes limits and JVM sizes are.
var byteUnits = [...]struct {
	size float64
	name string
}{
	{1 << 50, "PiB"}, {1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}, {1, "B"},
}

// byteMultipliers are powers of two, so steps divide the next unit and
// ticks read 256MiB, 512MiB, 768MiB, 1GiB, never 1000MiB or 1.17GiB.
var byteMultipliers = [...]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}

// byteStep picks the smallest step giving at most maxTicks ticks over span.
func byteStep(span float64, maxTicks int) float64 {
	maxTicks = max(maxTicks, 2)
	for i := len(byteUnits) - 1; i >= 0; i-- {
		for _, m := range byteMultipliers {
			if s := m * byteUnits[i].size; span/s <= float64(maxTicks-1) {
				return s
			}
		}
	}
	// Beyond PiB nothing is a memory size; fall back to powers of ten so
	// odd input still gets a bounded axis.
	return math.Pow(10, math.Ceil(math.Log10(span/float64(maxTicks-1))))
}

// byteTicks marks multiples of a binary-friendly step.
func byteTicks(maxTicks int) plot.TickerFunc {
	return func(lo, hi float64) []plot.Tick {
		if !finite(lo) || !finite(hi) || hi <= lo {
			return nil
		}
		s := byteStep(hi-lo, maxTicks)
		var ticks []plot.Tick
		first := math.Ceil(lo/s) * s
		for i := 0; i < 64; i++ {
			v := first + float64(i)*s
			if v > hi {
				break
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: formatBytes(v)})
		}
		return ticks
	}
}

// formatBytes writes a size in the largest binary unit it reaches, with up
// to two decimals: 768MiB, 1.25GiB. The style matches evidence.Bytes, which
// the report's text uses, but keeps the second decimal a tick may need.
func formatBytes(v float64) string {
	if v == 0 || !finite(v) {
		return "0"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	for _, u := range byteUnits {
		if v >= u.size || u.size == 1 {
			n := math.Round(v/u.size*100) / 100
			return sign + strconv.FormatFloat(n, 'f', -1, 64) + u.name
		}
	}
	return sign + strconv.FormatFloat(v, 'g', 3, 64) + "B"
}
