package triage_test

import (
	"path/filepath"
	"testing"

	"github.com/oombot/oombot/internal/report"
)

// TestChartData: the chart carries the focus container's memory series
// (downsampled, peaks kept), the limit, and the kills to mark.
func TestChartData(t *testing.T) {
	rep := triageBundle(t, filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	c := rep.Chart
	if c.Empty() {
		t.Fatal("no chart data")
	}
	got := map[string]report.ChartSeries{}
	for _, s := range c.Series {
		got[s.Signal] = s
		if len(s.Points) == 0 || len(s.Points) > report.MaxChartPoints {
			t.Errorf("%s: %d points", s.Signal, len(s.Points))
		}
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].T.Before(s.Points[i-1].T) {
				t.Fatalf("%s: points out of order at %d", s.Signal, i)
			}
		}
	}
	for _, sig := range []string{"container_memory_working_set", "jvm_heap_used"} {
		if _, ok := got[sig]; !ok {
			t.Errorf("missing series %s (have %v)", sig, c.Series)
		}
	}
	if c.LimitBytes != float64(rep.Facts.MemoryLimitBytes) || c.LimitBytes == 0 {
		t.Errorf("limit %v vs facts %d", c.LimitBytes, rep.Facts.MemoryLimitBytes)
	}
	if len(c.Kills) == 0 {
		t.Fatal("no kill marked")
	}
	// The peak of the working set must survive downsampling: it is what
	// ran into the limit.
	var peak float64
	for _, tr := range rep.Evidence.Trends {
		if tr.Signal == "container_memory_working_set" {
			peak = tr.Max
		}
	}
	var drawn float64
	for _, p := range got["container_memory_working_set"].Points {
		drawn = max(drawn, p.V)
	}
	if peak == 0 || drawn < peak {
		t.Errorf("chart peak %v below the analysed peak %v", drawn, peak)
	}
}

func TestChartDataHealthyHasNoKills(t *testing.T) {
	rep := triageBundle(t, filepath.Join(repoRoot(t), "testdata/bundles/healthy"))
	if rep.Chart.Empty() {
		t.Fatal("healthy bundle has metrics: want a chart")
	}
	if len(rep.Chart.Kills) != 0 {
		t.Errorf("healthy pod with kill marks: %v", rep.Chart.Kills)
	}
}
