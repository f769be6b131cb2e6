package chart

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.png golden charts")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bundleChart triages a recorded incident with the real engine, as
// `bot triage --bundle` does, and returns the chart the report carries.
func bundleChart(t testing.TB, name string) *report.Chart {
	t.Helper()
	rep := bundletest.Triage(t, filepath.Join("..", "..", "examples", "incidents", name))
	if rep.Chart.Empty() {
		t.Fatalf("%s: report has no chart", name)
	}
	return rep.Chart
}

// near reports whether a pixel is within tol of want on every channel.
// Lines are anti-aliased, so exact matches are only guaranteed in the middle
// of strokes at least two pixels wide; a small tolerance covers rounding.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, w uint8) bool { return math.Abs(float64(int(a>>8)-int(w))) <= float64(tol) }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// countRow counts pixels of colour want in rows y-1..y+1 across the data
// area; countCol does the same for columns x-1..x+1 down the data area.
func countRow(img image.Image, r image.Rectangle, y int, want color.RGBA) int {
	n := 0
	for x := r.Min.X; x < r.Max.X; x++ {
		for dy := -1; dy <= 1; dy++ {
			if near(img.At(x, y+dy), want, 12) {
				n++
				break
			}
		}
	}
	return n
}

func countCol(img image.Image, r image.Rectangle, x int, want color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for dx := -1; dx <= 1; dx++ {
			if near(img.At(x+dx, y), want, 12) {
				n++
				break
			}
		}
	}
	return n
}

func distinctColours(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}] = true
		}
	}
	return len(seen)
}

func TestPNGFromBundle(t *testing.T) {
	c := bundleChart(t, "image-decode-bomb")
	if c.LimitBytes <= 0 || len(c.Kills) == 0 {
		t.Fatalf("fixture changed: want a limit and kills, got limit %v kills %v", c.LimitBytes, c.Kills)
	}
	opts := Options{Title: "shop/image-svc — memory around the OOMKill"}
	out, err := PNG(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != DefaultWidth || b.Dy() != DefaultHeight {
		t.Fatalf("size %v, want %dx%d", b, DefaultWidth, DefaultHeight)
	}
	if n := distinctColours(img); n < 50 {
		t.Errorf("only %d distinct colours: chart looks blank", n)
	}

	_, lay, err := render(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	data := lay.data
	if data.Dx() < DefaultWidth/2 || data.Dy() < DefaultHeight/2 {
		t.Fatalf("data area %v is too small", data)
	}

	// The dashed limit line covers about two thirds of its row; half the
	// limit has no horizontal red line, only the kill markers crossing it.
	limitRow := int(math.Round(lay.y(c.LimitBytes)))
	if n := countRow(img, data, limitRow, colVermillion); n < data.Dx()/3 {
		t.Errorf("limit line: %d of %d pixels in row %d are limit red", n, data.Dx(), limitRow)
	}
	halfRow := int(math.Round(lay.y(c.LimitBytes / 2)))
	if n := countRow(img, data, halfRow, colVermillion); n > data.Dx()/20 {
		t.Errorf("row %d at half the limit has %d red pixels: limit drawn in the wrong place", halfRow, n)
	}

	// Each kill is a solid vertical red line at its time.
	for _, k := range c.Kills {
		col := int(math.Round(lay.x(unixSeconds(k.T))))
		if n := countCol(img, data, col, colVermillion); n < data.Dy()*2/3 {
			t.Errorf("kill %s %s: %d of %d pixels in column %d are red", k.Label, k.T.Format(time.TimeOnly), n, data.Dy(), col)
		}
	}
	// A column between the data start and the first kill has no marker.
	quiet := int(math.Round(lay.x(unixSeconds(c.Series[0].Points[0].T)))) + 20
	if n := countCol(img, data, quiet, colVermillion); n > data.Dy()/10 {
		t.Errorf("column %d before any kill has %d red pixels", quiet, n)
	}

	// The working set, drawn thickest, must be visible at its peak.
	var ws report.ChartSeries
	for _, s := range c.Series {
		if s.Signal == "container_memory_working_set" {
			ws = s
		}
	}
	peak := ws.Points[0]
	for _, p := range ws.Points {
		if p.V > peak.V {
			peak = p
		}
	}
	px, py := int(math.Round(lay.x(unixSeconds(peak.T)))), int(math.Round(lay.y(peak.V)))
	found := false
	for dy := -3; dy <= 3 && !found; dy++ {
		for dx := -3; dx <= 3 && !found; dx++ {
			found = near(img.At(px+dx, py+dy), colBlue, 12)
		}
	}
	if !found {
		t.Errorf("working-set colour not found near its peak at (%d,%d)", px, py)
	}

	// gonum/plot rasterises without randomness or map-order dependence,
	// so the same chart gives the same bytes.
	again, err := PNG(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, again) {
		t.Error("rendering the same chart twice gave different bytes")
	}

	golden(t, filepath.Join("testdata", "image-decode-bomb.png"), out)
}

// golden compares against a stored rendering by pixels, not bytes: a
// different zlib or rasteriser version may change the bytes while the
// picture stays the same.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/chart -update to create it)", err)
	}
	a, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	b, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if a.Bounds() != b.Bounds() {
		t.Fatalf("golden %s: size %v, got %v", path, b.Bounds(), a.Bounds())
	}
	diff, total := 0, a.Bounds().Dx()*a.Bounds().Dy()
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2) > 32<<8 || absDiff(g1, g2) > 32<<8 || absDiff(b1, b2) > 32<<8 {
				diff++
			}
		}
	}
	// Half a percent: a moved line or label changes far more pixels than
	// anti-aliasing differences between library versions do.
	if diff*200 > total {
		t.Errorf("golden %s: %d of %d pixels differ (run with -update if the change is intended)", path, diff, total)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

var t0 = time.Date(2026, 1, 17, 14, 0, 0, 0, time.UTC)

func series(signal string, n int, every time.Duration, v func(i int) float64) report.ChartSeries {
	s := report.ChartSeries{Signal: signal, Unit: "bytes"}
	for i := range n {
		s.Points = append(s.Points, report.ChartPoint{T: t0.Add(time.Duration(i) * every), V: v(i)})
	}
	return s
}

func ramp(i int) float64 { return float64(100<<20) + float64(i)*float64(1<<20) }

func TestPNGEdgeCases(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		chart   *report.Chart
		opts    Options
		wantErr error // nil: renders
		anyErr  bool
	}{
		{name: "nil chart", chart: nil, wantErr: ErrNoData},
		{name: "no series", chart: &report.Chart{LimitBytes: 1 << 30}, wantErr: ErrNoData},
		{name: "series without points", chart: &report.Chart{Series: []report.ChartSeries{{Signal: "jvm_heap_used", Unit: "bytes"}}}, wantErr: ErrNoData},
		{name: "only NaN and Inf", chart: &report.Chart{Series: []report.ChartSeries{
			series("jvm_heap_used", 3, time.Minute, func(i int) float64 { return []float64{nan, math.Inf(1), math.Inf(-1)}[i] }),
		}}, wantErr: ErrNoData},
		{name: "only zero times", chart: &report.Chart{Series: []report.ChartSeries{
			{Signal: "jvm_heap_used", Points: []report.ChartPoint{{V: 1}}},
		}}, wantErr: ErrNoData},
		{name: "only a non-byte unit", chart: &report.Chart{Series: []report.ChartSeries{
			{Signal: "gc_pause", Unit: "seconds", Points: []report.ChartPoint{{T: t0, V: 1}}},
		}}, wantErr: ErrNoData},
		{name: "too small", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_heap_used", 2, time.Minute, ramp)}}, opts: Options{Width: 10, Height: 10}, anyErr: true},
		{name: "too large", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_heap_used", 2, time.Minute, ramp)}}, opts: Options{Width: 100000, Height: 450}, anyErr: true},
		{name: "single point", chart: &report.Chart{Series: []report.ChartSeries{series("container_memory_working_set", 1, time.Minute, ramp)}}},
		{name: "NaN and Inf skipped", chart: &report.Chart{LimitBytes: math.Inf(1), HeapMaxBytes: nan, Series: []report.ChartSeries{
			series("container_memory_working_set", 60, 15*time.Second, func(i int) float64 {
				if i%7 == 0 {
					return nan
				}
				if i%11 == 0 {
					return math.Inf(1)
				}
				return ramp(i)
			}),
		}}},
		{name: "all zero", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_direct_buffer_used", 10, time.Minute, func(int) float64 { return 0 })}}},
		{name: "negative values", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_heap_used", 10, time.Minute, func(i int) float64 { return float64(i-5) * (1 << 20) })}}},
		{name: "unknown signal and unit-less", chart: &report.Chart{Series: []report.ChartSeries{
			{Signal: "weird\x00signal", Points: []report.ChartPoint{{T: t0, V: 1 << 20}, {T: t0.Add(time.Minute), V: 2 << 20}}},
		}}},
		{name: "hostile labels", chart: &report.Chart{
			Series:  []report.ChartSeries{series("container_memory_working_set", 10, time.Minute, ramp)},
			Kills:   []report.ChartMark{{T: t0.Add(3 * time.Minute), Label: "OOM\nKilled\x1b[31m"}},
			Deploys: []report.ChartMark{{T: t0.Add(time.Minute), Label: strings.Repeat("very-long-deploy-id-", 20)}, {T: t0.Add(2 * time.Minute)}},
		}, opts: Options{Title: "title\twith\ncontrols " + strings.Repeat("x", 500)}},
		{name: "many marks crowd the label rows", chart: func() *report.Chart {
			c := &report.Chart{Series: []report.ChartSeries{series("container_memory_working_set", 100, 15*time.Second, ramp)}}
			for i := range 40 {
				c.Kills = append(c.Kills, report.ChartMark{T: t0.Add(time.Duration(i) * 10 * time.Second), Label: "OOMKilled"})
			}
			return c
		}()},
		{name: "marks outside the samples widen the axis", chart: &report.Chart{
			Series:  []report.ChartSeries{series("container_memory_working_set", 10, time.Minute, ramp)},
			Deploys: []report.ChartMark{{T: t0.Add(-3 * time.Hour), Label: "rev-41"}},
			Kills:   []report.ChartMark{{T: t0.Add(2 * time.Hour), Label: "OOMKilled"}},
		}},
		{name: "spans midnight and days", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_heap_used", 200, 30*time.Minute, ramp)}}},
		{name: "absurd values skipped", chart: &report.Chart{LimitBytes: 1e300, Series: []report.ChartSeries{series("jvm_heap_used", 5, time.Minute, func(i int) float64 { return 1e299 * float64(i) })}}},
		{name: "largest float", chart: &report.Chart{Series: []report.ChartSeries{series("jvm_heap_used", 3, time.Minute, func(i int) float64 { return math.MaxFloat64 / float64(i+1) })}}, wantErr: ErrNoData},
		{name: "minimum size", chart: &report.Chart{LimitBytes: 1 << 30, Series: []report.ChartSeries{series("container_memory_working_set", 10, time.Minute, ramp)}}, opts: Options{Width: MinWidth, Height: MinHeight}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := PNG(tt.chart, tt.opts)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.anyErr:
				if err == nil || errors.Is(err, ErrNoData) {
					t.Fatalf("err = %v, want a size error", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			w, h := tt.opts.Width, tt.opts.Height
			if w == 0 {
				w, h = DefaultWidth, DefaultHeight
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("size %v, want %dx%d", b, w, h)
			}
			if n := distinctColours(img); n < 10 {
				t.Errorf("only %d colours", n)
			}
		})
	}
}

// A lone sample is drawn as a dot where it belongs.
func TestPNGSinglePointVisible(t *testing.T) {
	c := &report.Chart{Series: []report.ChartSeries{series("container_memory_working_set", 1, time.Minute, ramp)}}
	img, lay, err := render(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, y := int(math.Round(lay.x(unixSeconds(t0)))), int(math.Round(lay.y(ramp(0))))
	if !near(img.At(x, y), colBlue, 12) {
		t.Errorf("pixel at (%d,%d) is %v, want the working-set blue", x, y, img.At(x, y))
	}
}

// Samples with an hour missing are two runs, not one line across the hole.
func TestPNGGapNotJoined(t *testing.T) {
	s := series("container_memory_working_set", 40, 15*time.Second, ramp)
	late := series("container_memory_working_set", 40, 15*time.Second, ramp)
	for i := range late.Points {
		late.Points[i].T = late.Points[i].T.Add(time.Hour)
	}
	s.Points = append(s.Points, late.Points...)
	c := &report.Chart{Series: []report.ChartSeries{s}}
	img, lay, err := render(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := int(math.Round(lay.x(unixSeconds(t0.Add(5 * time.Minute)))))
	hole := int(math.Round(lay.x(unixSeconds(t0.Add(35 * time.Minute)))))
	if n := countCol(img, lay.data, in, colBlue); n == 0 {
		t.Errorf("no series pixels in column %d inside the first run", in)
	}
	if n := countCol(img, lay.data, hole, colBlue); n != 0 {
		t.Errorf("%d series pixels in column %d inside the gap", n, hole)
	}
}

// A series far denser than the image still renders, and fast.
func TestPNGManyPoints(t *testing.T) {
	c := &report.Chart{LimitBytes: 1 << 30, Series: []report.ChartSeries{
		series("container_memory_working_set", 200_000, 100*time.Millisecond, func(i int) float64 { return float64(i%5000) * (1 << 17) }),
	}}
	start := time.Now()
	if _, err := PNG(c, Options{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200k points took %v", d)
	}
}

// typicalChart is what the engine sends at most: six series of
// MaxChartPoints points with a limit, a max heap, a kill and a deploy.
func typicalChart() *report.Chart {
	c := &report.Chart{LimitBytes: 1 << 30, HeapMaxBytes: 768 << 20,
		Kills:   []report.ChartMark{{T: t0.Add(140 * time.Minute), Label: "OOMKilled"}},
		Deploys: []report.ChartMark{{T: t0.Add(20 * time.Minute), Label: "rev-42"}},
	}
	for k, sig := range []string{"container_memory_working_set", "jvm_heap_used", "jvm_old_gen_used", "jvm_nonheap_used", "jvm_metaspace_used", "jvm_direct_buffer_used"} {
		c.Series = append(c.Series, series(sig, report.MaxChartPoints, 15*time.Second, func(i int) float64 {
			return float64(600-100*k)*(1<<20)*float64(i)/report.MaxChartPoints + float64(i%17)*(1<<20)
		}))
	}
	return c
}

func BenchmarkPNG(b *testing.B) {
	c := typicalChart()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(c, Options{Title: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPNGEncodeOnly is the floor: encoding a blank image of the same
// size. BenchmarkPNG / this is the cost of drawing relative to encoding.
func BenchmarkPNGEncodeOnly(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, DefaultWidth, DefaultHeight))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
	}
}
