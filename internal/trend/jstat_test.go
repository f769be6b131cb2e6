package trend

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/evidence"
)

// jstatSeries reads a testdata CSV written by testdata/jvm/gen.sh (jstat -gc
// -t columns, sizes in KiB) and returns the series sum(cols) in bytes.
func jstatSeries(t *testing.T, path string, cols ...string) []Point {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	var header []string
	var ps []Point
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if header == nil {
			header = fields
			continue
		}
		row := map[string]float64{}
		for i, fl := range fields {
			if i >= len(header) {
				t.Fatalf("%s:%d: %d fields, header has %d", path, line, len(fields), len(header))
			}
			v, err := strconv.ParseFloat(fl, 64)
			if err != nil {
				t.Fatalf("%s:%d: column %s: %v", path, line, header[i], err)
			}
			row[header[i]] = v
		}
		sum := 0.0
		for _, c := range cols {
			v, ok := row[c]
			if !ok {
				t.Fatalf("%s:%d: no column %s", path, line, c)
			}
			sum += v * 1024
		}
		ts := time.Duration(row["Timestamp"] * float64(time.Second))
		ps = append(ps, Point{T: t0.Add(ts), V: sum})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return ps
}

// TestRealJVM classifies series sampled from a real JDK 17 process with
// -Xmx64m (see testdata/README.md): one that leaks into a map and one that
// churns garbage around a bounded live set.
func TestRealJVM(t *testing.T) {
	heap := []string{"S0U", "S1U", "EU", "OU"}
	// The leaking workload keeps 1.8MB/s reachable (plus map overhead).
	const leakRate = 1.8e6 * 3600
	tests := []struct {
		file   string
		cols   []string
		shapes []string
		// growth, when non-zero, bounds GrowthPerHour to [growth/2, 2*growth].
		growth float64
	}{
		{"jstat_leak.csv", heap, []string{evidence.ShapeLeak}, leakRate},
		{"jstat_leak.csv", []string{"OU"}, []string{evidence.ShapeLeak}, leakRate},
		{"jstat_bounded.csv", heap, []string{evidence.ShapeSawtooth, evidence.ShapeStable}, 0},
		{"jstat_bounded.csv", []string{"OU"}, []string{evidence.ShapeSawtooth, evidence.ShapeStable}, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.file, strings.Join(tc.cols, "+")), func(t *testing.T) {
			ps := jstatSeries(t, "testdata/"+tc.file, tc.cols...)
			if len(ps) < 50 {
				t.Fatalf("only %d samples in fixture", len(ps))
			}
			opt := Options{Ceiling: 64 * mib, Unit: "bytes"}
			a := Analyze(ps, opt)
			t.Logf("%s: %s", a.Shape, a.Reason)
			ok := false
			for _, s := range tc.shapes {
				ok = ok || a.Shape == s
			}
			if !ok {
				t.Fatalf("shape = %s, want one of %v (reason: %s)", a.Shape, tc.shapes, a.Reason)
			}
			if tc.growth != 0 && (a.GrowthPerHour < tc.growth/2 || a.GrowthPerHour > 2*tc.growth) {
				t.Errorf("growth = %s/h, want within 2x of %s/h",
					evidence.Bytes(int64(a.GrowthPerHour)), evidence.Bytes(int64(tc.growth)))
			}
			if a.Shape == evidence.ShapeLeak && a.HoursToExhaustion <= 0 {
				t.Errorf("leak below its ceiling without a forecast")
			}
			checkInvariants(t, ps, opt, a)
		})
	}
}
