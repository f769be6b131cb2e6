package chart

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// seriesPlotter draws one memory series as separate runs, a lone sample as
// a dot.
type seriesPlotter struct{ line line }

// Plot implements plot.Plotter.
func (s *seriesPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	ls := draw.LineStyle{Color: s.line.look.color, Width: s.line.look.width}
	for _, seg := range s.line.segs {
		pts := make([]vg.Point, len(seg))
		for i, v := range seg {
			pts[i] = vg.Point{X: trX(v.x), Y: trY(v.y)}
		}
		if len(pts) == 1 {
			c.DrawGlyph(draw.GlyphStyle{Color: ls.Color, Radius: ls.Width * 1.25, Shape: draw.CircleGlyph{}}, pts[0])
			continue
		}
		c.StrokeLines(ls, c.ClipLinesXY(pts)...)
	}
}

// ceilingPlotter draws a dashed horizontal ceiling with its value.
type ceilingPlotter struct {
	y     float64
	color color.RGBA
	label string
	// left puts the label at the left end, so two ceilings at the same
	// height (limit = max heap is common) keep both labels readable.
	left bool
	text text.Style
}

// Plot implements plot.Plotter.
func (h *ceilingPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	c.StrokeLine2(draw.LineStyle{Color: h.color, Width: vg.Points(1.5), Dashes: dashCeiling}, c.Min.X, y, c.Max.X, y)
	ts := h.text
	ts.Color = h.color
	ts.YAlign = draw.YBottom
	pt := vg.Point{X: c.Max.X - vg.Points(3), Y: y + vg.Points(2)}
	ts.XAlign = draw.XRight
	if h.left {
		pt.X, ts.XAlign = c.Min.X+vg.Points(3), draw.XLeft
	}
	labelBox(c, ts, pt, h.label)
}

// markPlotter draws the kill and deploy lines and labels them along the top
// of the data area.
type markPlotter struct {
	marks []mark
	text  text.Style
}

// placed is a mark label's position, or none when it found no room.
type placed struct {
	mark  mark
	x     vg.Length
	pt    vg.Point
	align text.XAlignment
	row   int // -1: not labelled
}

func (m *markPlotter) rowHeight() vg.Length {
	return m.text.Height("Ag") + vg.Points(3)
}

// place lays labels out greedily, kills first: right of the line when it
// fits, else left, in the first row where it overlaps nothing.
func (m *markPlotter) place(c draw.Canvas, p *plot.Plot) []placed {
	trX, _ := p.Transforms(&c)
	gap, pad := vg.Points(3), vg.Points(4)
	type span struct{ lo, hi vg.Length }
	rows := make([][]span, markRows)
	out := make([]placed, 0, len(m.marks))
	for _, mk := range m.marks {
		x := trX(mk.x)
		w := m.text.Width(mk.label)
		pl := placed{mark: mk, x: x, row: -1, align: draw.XLeft}
		lo := x + gap
		if lo+w > c.Max.X {
			lo, pl.align = x-gap-w, draw.XRight
		}
		if lo < c.Min.X {
			lo, pl.align = c.Min.X, draw.XLeft
		}
		s := span{lo - pad, lo + w + pad}
	rowLoop:
		for r := range rows {
			for _, o := range rows[r] {
				if s.lo < o.hi && o.lo < s.hi {
					continue rowLoop
				}
			}
			rows[r] = append(rows[r], s)
			pl.row = r
			break
		}
		if pl.align == draw.XRight {
			pl.pt.X = lo + w
		} else {
			pl.pt.X = lo
		}
		pl.pt.Y = c.Max.Y - vg.Length(pl.row)*m.rowHeight() - vg.Points(2)
		out = append(out, pl)
	}
	return out
}

// rows is how many label rows the marks need on canvas c.
func (m *markPlotter) rows(c draw.Canvas, p *plot.Plot) int {
	n := 0
	for _, pl := range m.place(c, p) {
		n = max(n, pl.row+1)
	}
	return n
}

// Plot implements plot.Plotter.
func (m *markPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	pls := m.place(c, p)
	// Deploys first so a kill at the same instant stays visible on top.
	for _, kill := range []bool{false, true} {
		for _, pl := range pls {
			if pl.mark.kill != kill {
				continue
			}
			ls := draw.LineStyle{Color: colGrey, Width: vg.Points(1.5), Dashes: dashDeploy}
			if kill {
				ls = draw.LineStyle{Color: colVermillion, Width: vg.Points(1.5)}
			}
			if pl.x >= c.Min.X && pl.x <= c.Max.X {
				c.StrokeLine2(ls, pl.x, c.Min.Y, pl.x, c.Max.Y)
			}
		}
	}
	for _, pl := range pls {
		if pl.row < 0 {
			continue
		}
		ts := m.text
		ts.XAlign, ts.YAlign = pl.align, draw.YTop
		ts.Color = colGrey
		if pl.mark.kill {
			ts.Color = colVermillion
		}
		labelBox(c, ts, pl.pt, pl.mark.label)
	}
}

// labelBox draws text over a translucent white box, so a label stays
// readable where it crosses a series.
func labelBox(c draw.Canvas, ts text.Style, pt vg.Point, s string) {
	r := ts.Rectangle(s).Add(pt)
	o := vg.Points(1)
	c.FillPolygon(colLabelBack, []vg.Point{
		{X: r.Min.X - o, Y: r.Min.Y - o}, {X: r.Max.X + o, Y: r.Min.Y - o},
		{X: r.Max.X + o, Y: r.Max.Y + o}, {X: r.Min.X - o, Y: r.Max.Y + o},
	})
	c.FillText(ts, pt, s)
}

// legendEntry is one key: a line sample and its name.
type legendEntry struct {
	name     string
	ls       draw.LineStyle
	vertical bool
}

// drawLegend writes the key as wrapped rows above the plot, outside the
// data area so it never hides a line, and returns the height it used.
func drawLegend(dc draw.Canvas, d *prepared, h text.Handler, x0, top, x1 vg.Length) vg.Length {
	var es []legendEntry
	for _, front := range []bool{true, false} {
		for _, l := range d.lines {
			if l.look.front == front {
				es = append(es, legendEntry{name: l.look.name, ls: draw.LineStyle{Color: l.look.color, Width: l.look.width}})
			}
		}
	}
	if d.limit > 0 {
		es = append(es, legendEntry{name: "memory limit", ls: draw.LineStyle{Color: colVermillion, Width: vg.Points(1.5), Dashes: dashCeiling}})
	}
	if d.heapMax > 0 {
		es = append(es, legendEntry{name: "max heap", ls: draw.LineStyle{Color: colOrange, Width: vg.Points(1.5), Dashes: dashCeiling}})
	}
	if d.hasKill {
		es = append(es, legendEntry{name: "OOM kill or error", ls: draw.LineStyle{Color: colVermillion, Width: vg.Points(1.5)}, vertical: true})
	}
	if d.hasDepl {
		es = append(es, legendEntry{name: "deploy", ls: draw.LineStyle{Color: colGrey, Width: vg.Points(1.5), Dashes: dashDeploy}, vertical: true})
	}
	ts := style(h, vg.Points(9), colBlack)
	ts.YAlign = draw.YCenter
	rowH := ts.Height("Ag") + vg.Points(3)
	thumb, gap, sep := vg.Points(18), vg.Points(4), vg.Points(14)
	x, y := x0, top-rowH/2
	for _, e := range es {
		w := thumb + gap + ts.Width(e.name)
		if x > x0 && x+w > x1 {
			x, y = x0, y-rowH
		}
		if e.vertical {
			mid := x + thumb/2
			dc.StrokeLine2(e.ls, mid, y-rowH*0.4, mid, y+rowH*0.4)
		} else {
			dc.StrokeLine2(e.ls, x, y, x+thumb, y)
		}
		dc.FillText(ts, vg.Point{X: x + thumb + gap, Y: y}, e.name)
		x += w + sep
	}
	return top - (y - rowH/2) + vg.Points(4)
}
