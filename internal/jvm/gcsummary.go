package jvm

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/oombot/oombot/internal/evidence"
)

// maxCiteText keeps cited GC lines short enough for a report.
const maxCiteText = 200

// SummarizeGC condenses collections into what a diagnosis needs. It fills
// every numeric field and Collector; ID, Container and Source are left to the
// caller, and Cites holds up to three representative lines (first, last and
// the longest full GC) with Source "gc" and Ref "line N" for the caller to
// rewrite.
//
// The post-GC floor is read from full GCs when at least two of them are
// spread over the window (the first in its first half; a full GC leaves only
// live data) and otherwise from every collection's post-GC occupancy
// (remarks and cleanups excluded: they do not evacuate). Floor
// start and end are medians of the first and last quarter of those points (1
// to 5 points), so one odd collection does not decide them once there are a
// few; the growth rate is the least-squares slope over all of them.
func SummarizeGC(colls []Collection) evidence.GCSummary {
	var s evidence.GCSummary
	if len(colls) == 0 {
		return s
	}
	s.Collector = dominantCollector(colls)

	var (
		pauses, sized  int
		fulls          []Collection
		reclaimedSum   float64
		reclaimedCount int
	)
	for _, c := range colls {
		if c.isPause() {
			pauses++
		}
		if c.sized() {
			sized++
			if c.CapacityBytes > s.HeapCapacityBytes {
				s.HeapCapacityBytes = c.CapacityBytes
			}
		}
		if sec := c.Pause.Seconds(); sec > s.MaxPauseSeconds {
			s.MaxPauseSeconds = sec
		}
		s.TotalPauseSeconds += c.Pause.Seconds()
		if c.Kind == KindFull {
			fulls = append(fulls, c)
			if c.sized() && c.BeforeBytes > 0 {
				reclaimedSum += float64(c.BeforeBytes-c.AfterBytes) / float64(c.BeforeBytes)
				reclaimedCount++
			}
		}
	}
	// ZGC logged at -Xlog:gc records its cycles but not its pauses; count the
	// cycles then, rather than report a collector that never collected.
	s.Collections = pauses
	if pauses == 0 {
		s.Collections = sized
	}
	s.FullGCs = len(fulls)
	if reclaimedCount > 0 {
		s.AvgFullGCReclaimedFraction = reclaimedSum / float64(reclaimedCount)
	}

	at := timeAxis(colls)
	if span := at(colls[len(colls)-1]) - at(colls[0]); span > 0 {
		s.FullGCsPerHour = float64(len(fulls)) / span
	}

	// Full GCs give the truest floor, but only when they are spread over the
	// window: a leaking heap often sees its first full GC only when it is
	// already nearly full, and a floor read from those alone hides the climb
	// that young and mixed collections show all along.
	var floor, sizedFulls []Collection
	fromFulls := false
	for _, c := range fulls {
		if c.sized() {
			sizedFulls = append(sizedFulls, c)
		}
	}
	t0, t1 := at(colls[0]), at(colls[len(colls)-1])
	if len(sizedFulls) >= 2 && at(sizedFulls[0])-t0 <= (t1-t0)/2 {
		floor, fromFulls = sizedFulls, true
	}
	if len(floor) == 0 {
		for _, c := range colls {
			if c.sized() && c.Kind != KindRemark && c.Kind != KindCleanup {
				floor = append(floor, c)
			}
		}
	}
	switch {
	case fromFulls:
		k := min(max(len(floor)/4, 1), 5)
		s.FloorStartBytes = medianAfter(floor[:k])
		s.FloorEndBytes = medianAfter(floor[len(floor)-k:])
		s.FloorGrowthBytesPerHour = slope(floor, at)
	case len(floor) > 0:
		// Young and mixed collections leave garbage in the old generation,
		// so their post-GC values are a floor only at their lowest: take the
		// minimum of the first and last quarter, and the slope of per-window
		// minima.
		k := max(len(floor)/4, 1)
		s.FloorStartBytes = minAfter(floor[:k])
		s.FloorEndBytes = minAfter(floor[len(floor)-k:])
		s.FloorGrowthBytesPerHour = slope(windowMinima(floor, 8), at)
	}
	if s.HeapCapacityBytes > 0 {
		s.FloorFractionOfCapacity = float64(s.FloorEndBytes) / float64(s.HeapCapacityBytes)
	}
	s.Cites = gcCites(colls, fulls)
	return s
}

// dominantCollector is the collector most lines were attributed to, else the
// one the causes imply, else "unknown".
func dominantCollector(colls []Collection) string {
	count := map[string]int{}
	for _, c := range colls {
		if c.Collector != "" {
			count[c.Collector]++
		}
	}
	best, n := "", 0
	for gc, k := range count {
		if k > n || (k == n && gc < best) {
			best, n = gc, k
		}
	}
	if best != "" {
		return best
	}
	for _, c := range colls {
		if c.Kind == KindMixed || c.Kind == KindRemark || c.Kind == KindCleanup {
			return GCG1 // only G1 logs these kinds under these names in JDK 9+
		}
	}
	return "unknown"
}

// timeAxis returns a function placing a collection in hours. Wall-clock time
// is preferred when every line has it (it survives JVM restarts in a
// concatenated log); else uptime, unless it goes backwards (a restart), in
// which case all collections sit at 0 and rates stay 0.
func timeAxis(colls []Collection) func(Collection) float64 {
	allTime, monotone := true, true
	for i, c := range colls {
		if c.Time.IsZero() {
			allTime = false
		}
		if i > 0 && c.Uptime < colls[i-1].Uptime {
			monotone = false
		}
	}
	switch {
	case allTime:
		t0 := colls[0].Time
		return func(c Collection) float64 { return c.Time.Sub(t0).Hours() }
	case monotone:
		return func(c Collection) float64 { return c.Uptime.Hours() }
	default:
		return func(Collection) float64 { return 0 }
	}
}

func medianAfter(cs []Collection) int64 {
	v := make([]int64, len(cs))
	for i, c := range cs {
		v[i] = c.AfterBytes
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// slope is the least-squares slope of AfterBytes over hours; 0 with fewer
// than two distinct times.
func slope(cs []Collection, at func(Collection) float64) float64 {
	if len(cs) < 2 {
		return 0
	}
	var sx, sy float64
	for _, c := range cs {
		sx += at(c)
		sy += float64(c.AfterBytes)
	}
	n := float64(len(cs))
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for _, c := range cs {
		dx := at(c) - mx
		sxx += dx * dx
		sxy += dx * (float64(c.AfterBytes) - my)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

// gcCites cites the first and last collections and the longest full GC.
func gcCites(colls, fulls []Collection) []evidence.Citation {
	picks := []Collection{colls[0]}
	if len(fulls) > 0 {
		worst := fulls[0]
		for _, c := range fulls[1:] {
			if c.Pause > worst.Pause {
				worst = c
			}
		}
		picks = append(picks, worst)
	}
	picks = append(picks, colls[len(colls)-1])
	sort.SliceStable(picks, func(i, j int) bool { return picks[i].LineNo < picks[j].LineNo })
	var out []evidence.Citation
	for i, c := range picks {
		if i > 0 && c.LineNo == picks[i-1].LineNo {
			continue
		}
		out = append(out, evidence.Citation{
			Source: "gc", Ref: fmt.Sprintf("line %d", c.LineNo), Time: c.Time, Text: truncateText(c.Line, maxCiteText),
		})
	}
	return out
}

// truncateText cuts s to at most n bytes on a UTF-8 boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// minAfter is the lowest post-GC occupancy among cs.
func minAfter(cs []Collection) int64 {
	m := cs[0].AfterBytes
	for _, c := range cs[1:] {
		m = min(m, c.AfterBytes)
	}
	return m
}

// windowMinima splits cs into up to n runs of equal count and keeps the
// collection with the lowest post-GC occupancy of each.
func windowMinima(cs []Collection, n int) []Collection {
	if len(cs) <= n {
		return cs
	}
	out := make([]Collection, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*len(cs)/n, (i+1)*len(cs)/n
		best := cs[lo]
		for _, c := range cs[lo+1 : hi] {
			if c.AfterBytes < best.AfterBytes {
				best = c
			}
		}
		out = append(out, best)
	}
	return out
}
