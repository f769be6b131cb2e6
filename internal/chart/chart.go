package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/report"
)

// Default image size in pixels: wide enough for hour ticks and a legend,
// and the size Slack previews without scaling text to illegibility.
const (
	DefaultWidth  = 900
	DefaultHeight = 450
)

// Size bounds. Below the minimum the legend and labels cannot fit; above
// the maximum a caller mistake would allocate hundreds of megabytes.
const (
	MinWidth  = 600
	MinHeight = 300
	MaxSide   = 4096
)

// dpi fixes the pixel size of a point so that widths and fonts given in
// points look the same on every host.
const dpi = 96

// ErrNoData is returned when a chart has no sample to draw.
var ErrNoData = errors.New("chart: no memory samples to draw")

// Options shape the image.
type Options struct {
	// Title is drawn above the chart; empty for none.
	Title string
	// Width and Height are in pixels; zero means DefaultWidth and
	// DefaultHeight.
	Width, Height int
}

func (o Options) size() (int, int, error) {
	w, h := o.Width, o.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < MinWidth || h < MinHeight || w > MaxSide || h > MaxSide {
		return 0, 0, fmt.Errorf("chart: size %d×%d outside %d×%d to %d×%d", w, h, MinWidth, MinHeight, MaxSide, MaxSide)
	}
	return w, h, nil
}

// PNG draws c as a PNG image. It returns ErrNoData when c is nil or holds no
// drawable sample: NaN, infinite and absurd (over 4 EiB) values are skipped,
// as are series in a unit other than bytes. A single sample is drawn as a
// dot. The result is deterministic: the same chart gives the same bytes.
func PNG(c *report.Chart, o Options) ([]byte, error) {
	img, _, err := render(c, o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("chart: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// layout records where the data went, in pixels, so tests can look for a
// line where it should be.
type layout struct {
	data image.Rectangle
	x    func(unixSeconds float64) float64
	y    func(bytes float64) float64
}

// Okabe–Ito colours: distinguishable with the common colour-vision
// deficiencies, and the standard choice for that reason.
var (
	colBlue       = color.RGBA{0x00, 0x72, 0xB2, 0xFF}
	colOrange     = color.RGBA{0xE6, 0x9F, 0x00, 0xFF}
	colGreen      = color.RGBA{0x00, 0x9E, 0x73, 0xFF}
	colPurple     = color.RGBA{0xCC, 0x79, 0xA7, 0xFF}
	colSky        = color.RGBA{0x56, 0xB4, 0xE9, 0xFF}
	colVermillion = color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	colBlack      = color.RGBA{0x00, 0x00, 0x00, 0xFF}
	colGrey       = color.RGBA{0x6E, 0x6E, 0x6E, 0xFF}
	colGrid       = color.RGBA{0xE4, 0xE4, 0xE4, 0xFF}
	colLabelBack  = color.NRGBA{0xFF, 0xFF, 0xFF, 0xD8}
)

// look is how one signal is drawn.
type look struct {
	name  string
	color color.RGBA
	width vg.Length
	// front series are drawn last, over the others.
	front bool
}

// lookFor names and styles a canonical signal; unknown signals get a
// fallback colour by position so they stay apart.
func lookFor(signal string, i int) look {
	thin := vg.Points(1.2)
	switch signal {
	case "container_memory_working_set":
		return look{name: "container working set", color: colBlue, width: vg.Points(2.25), front: true}
	case "jvm_heap_used":
		return look{name: "heap used", color: colOrange, width: thin}
	case "jvm_old_gen_used":
		return look{name: "old gen used", color: colGreen, width: thin}
	case "jvm_nonheap_used":
		return look{name: "non-heap used", color: colPurple, width: thin}
	case "jvm_metaspace_used":
		return look{name: "metaspace used", color: colSky, width: thin}
	case "jvm_direct_buffer_used":
		return look{name: "direct buffers", color: colBlack, width: vg.Points(1)}
	}
	fallback := [...]color.RGBA{colGrey, colSky, colPurple, colGreen}
	return look{name: clean(signal, 40), color: fallback[i%len(fallback)], width: thin}
}

var (
	dashCeiling = []vg.Length{vg.Points(6), vg.Points(3)}
	dashDeploy  = []vg.Length{vg.Points(3), vg.Points(2)}
)

// fonts are Liberation Sans, embedded in gonum/plot's default font cache:
// nothing is read from the host.
func sans(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

func style(h text.Handler, size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: sans(size, false), Handler: h}
}

// markRows is how many rows of mark labels the top of the data area holds;
// labels that find no room are dropped (the legend still explains the line).
const markRows = 3

func render(c *report.Chart, o Options) (img image.Image, lay layout, err error) {
	// gonum/plot and its font code panic on conditions they consider
	// programmer errors; a chart is an attachment, so a bad one must cost
	// the image, never the bot.
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("chart: rendering failed: %v", r)
		}
	}()
	w, h, err := o.size()
	if err != nil {
		return nil, layout{}, err
	}
	maxX := min(max(w/110, 3), 9)
	d, ok := prepare(c, w, maxX)
	if !ok {
		return nil, layout{}, ErrNoData
	}

	canvas := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(dpi))
	dc := draw.New(canvas)
	hdlr := plot.DefaultTextHandler
	margin := vg.Points(8)
	top := dc.Max.Y - margin

	if title := clean(o.Title, 120); title != "" {
		ts := text.Style{Color: colBlack, Font: sans(vg.Points(12), true), Handler: hdlr, XAlign: draw.XLeft, YAlign: draw.YTop}
		dc.FillText(ts, vg.Point{X: dc.Min.X + margin, Y: top}, title)
		top -= ts.Height(title) + vg.Points(4)
	}
	top -= drawLegend(dc, d, hdlr, dc.Min.X+margin, top, dc.Max.X-margin)
	area := draw.Crop(dc, margin, -margin, margin/2, top-dc.Max.Y)

	p := plot.New()
	p.BackgroundColor = nil
	axisText := style(hdlr, vg.Points(10), colBlack)
	tickText := style(hdlr, vg.Points(9), colBlack)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = axisText
		a.Tick.Label = tickText
		a.Color, a.Tick.Color = colGrey, colGrey
	}
	p.Y.Label.TextStyle.XAlign = draw.XCenter
	p.Y.Tick.Label.XAlign = draw.XRight
	p.Y.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.XAlign = draw.XCenter
	p.X.Tick.Label.YAlign = draw.YTop
	p.X.Min, p.X.Max = d.xmin, d.xmax
	p.X.Tick.Marker = timeTicks(d.step)
	p.X.Label.Text = timeAxisLabel(d.xmin, d.xmax)
	p.Y.Min = 0
	if d.ymin < 0 {
		p.Y.Min = d.ymin * 1.05
	}
	head := d.ymax * 1.06
	p.Y.Max = head
	p.Y.Tick.Marker = byteTicks(min(max(h/70, 3), 8))
	p.Y.Label.Text = "memory"

	grid := plotter.NewGrid()
	grid.Vertical = draw.LineStyle{Color: colGrid, Width: vg.Points(0.5)}
	grid.Horizontal = grid.Vertical
	p.Add(grid)
	for _, front := range []bool{false, true} {
		for _, l := range d.lines {
			if l.look.front == front {
				p.Add(&seriesPlotter{line: l})
			}
		}
	}
	label := style(hdlr, vg.Points(8.5), colBlack)
	if d.heapMax > 0 {
		p.Add(&ceilingPlotter{y: d.heapMax, color: colOrange, label: "heap max " + evidence.Bytes(int64(d.heapMax)), left: true, text: label})
	}
	if d.limit > 0 {
		p.Add(&ceilingPlotter{y: d.limit, color: colVermillion, label: "limit " + evidence.Bytes(int64(d.limit)), text: label})
	}
	marks := &markPlotter{marks: d.marks, text: label}
	p.Add(marks)

	// Reserve headroom for the mark labels so they sit above the data:
	// place them once against a provisional layout, then raise the axis by
	// the rows they need.
	if rows := marks.rows(p.DataCanvas(area), p); rows > 0 {
		dataH := p.DataCanvas(area).Rectangle.Size().Y
		need := vg.Length(rows)*marks.rowHeight() + vg.Points(4)
		if d.limit > 0 || d.heapMax > 0 {
			// A ceiling near the top carries its label above the line.
			need += marks.rowHeight()
		}
		frac := math.Min(float64(need/dataH), 0.5)
		p.Y.Max = p.Y.Min + (head-p.Y.Min)/(1-frac)
	}
	p.Draw(area)

	data := p.DataCanvas(area)
	px := func(l vg.Length) float64 { return l.Dots(dpi) }
	hpx := float64(h)
	lay = layout{
		data: image.Rect(int(px(data.Min.X)), int(hpx-px(data.Max.Y)), int(math.Ceil(px(data.Max.X))), int(math.Ceil(hpx-px(data.Min.Y)))),
		x:    func(v float64) float64 { return px(data.X(p.X.Norm(v))) },
		y:    func(v float64) float64 { return hpx - px(data.Y(p.Y.Norm(v))) },
	}
	return canvas.Image(), lay, nil
}
