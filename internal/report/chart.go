package report

import (
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// Chart is the data behind the memory chart posted with a report: the
// memory series of the focus container over the incident window, the
// ceilings they run into, and the moments worth marking. The engine fills it
// from the same series it analysed; it is not part of the JSON report
// because renderers that draw it (Slack's PNG) need points, not findings.
type Chart struct {
	Window evidence.Window `json:"window"`
	// Series are downsampled to at most MaxChartPoints points each.
	Series []ChartSeries `json:"series"`
	// LimitBytes is the container memory limit; 0 when unknown.
	LimitBytes float64 `json:"limitBytes"`
	// HeapMaxBytes is the JVM's max heap; 0 when unknown.
	HeapMaxBytes float64 `json:"heapMaxBytes"`
	// Kills are OOM kills and JVM OutOfMemoryErrors, oldest first.
	Kills []ChartMark `json:"kills"`
	// Deploys are rollouts inside the window, oldest first.
	Deploys []ChartMark `json:"deploys"`
}

// MaxChartPoints bounds each chart series: a 6-hour window at 15 s
// resolution is 1,440 points, more than a 900-pixel-wide chart can show.
const MaxChartPoints = 600

// ChartSeries is one signal's points.
type ChartSeries struct {
	// Signal is the canonical signal name (container_memory_working_set,
	// jvm_heap_used, jvm_old_gen_used, jvm_nonheap_used, ...).
	Signal string       `json:"signal"`
	Unit   string       `json:"unit"`
	Points []ChartPoint `json:"points"`
}

// ChartPoint is one sample.
type ChartPoint struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// ChartMark is a labelled moment.
type ChartMark struct {
	T     time.Time `json:"t"`
	Label string    `json:"label"`
}

// Empty reports whether there is nothing to draw.
func (c *Chart) Empty() bool {
	if c == nil {
		return true
	}
	for _, s := range c.Series {
		if len(s.Points) > 0 {
			return false
		}
	}
	return true
}
