// Package chart draws reports as standalone SVG images (usable as an <img>
// source): a horizontal bar chart for rankings and a line chart for series.
// Every piece of text is XML-escaped.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// ContentType is the media type of the images.
const ContentType = "image/svg+xml"

// Bar is one row of a bar chart.
type Bar struct {
	Label string
	Value int64
}

// Point is one point of a line chart; Label names it on the x axis.
type Point struct {
	Label string
	Value int64
}

// Labels of a chart.
type Labels struct {
	Title, X, Y string
}

const (
	width    = 800
	fontAttr = `font-family="DejaVu Sans, Arial, sans-serif"`
)

type svg struct{ bytes.Buffer }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.Buffer, format, args...) }

// text writes a text element; attrs are trusted, body is escaped.
func (s *svg) text(x, y float64, attrs, body string) {
	s.f(`<text x="%.1f" y="%.1f" %s>`, x, y, attrs)
	_ = xml.EscapeText(&s.Buffer, []byte(body))
	s.f("</text>\n")
}

func (s *svg) open(h int, l Labels) {
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n", width, h, width, h, fontAttr)
	s.f("<title>")
	_ = xml.EscapeText(&s.Buffer, []byte(l.Title))
	s.f("</title>\n")
	s.f(`<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, h)
	s.text(width/2, 28, `text-anchor="middle" font-size="18" font-weight="bold"`, l.Title)
}

// niceMax rounds v up to a round axis maximum and returns it with a tick step.
func niceMax(v int64) (top, step float64) {
	if v <= 0 {
		return 1, 1
	}
	raw := float64(v) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	step = math.Max(1, step)
	return math.Ceil(float64(v)/step) * step, step
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func num(v float64) string { return strconv.FormatInt(int64(v), 10) }

// BarChart draws bars (in the given order) as horizontal bars labelled on
// the left; X labels the values axis and Y the category axis.
func BarChart(l Labels, bars []Bar) []byte {
	const left, right, top, rowH = 210.0, 40.0, 50.0, 26.0
	h := int(top + rowH*float64(max(len(bars), 1)) + 60)
	var s svg
	s.open(h, l)
	plotW := width - left - right
	plotH := rowH * float64(max(len(bars), 1))
	var maxV int64
	for _, b := range bars {
		maxV = max(maxV, b.Value)
	}
	topV, step := niceMax(maxV)
	// Grid and value ticks.
	for v := 0.0; v <= topV+step/2; v += step {
		x := left + plotW*v/topV
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x, top, x, top+plotH)
		s.text(x, top+plotH+16, `text-anchor="middle" fill="#444"`, num(v))
	}
	if len(bars) == 0 {
		s.text(left+plotW/2, top+plotH/2+4, `text-anchor="middle" fill="#888"`, "no data")
	}
	for i, b := range bars {
		y := top + rowH*float64(i)
		w := plotW * float64(max(b.Value, 0)) / topV
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#5865f2"><title>`, left, y+4, w, rowH-8)
		_ = xml.EscapeText(&s.Buffer, []byte(fmt.Sprintf("%s: %d", b.Label, b.Value)))
		s.f("</title></rect>\n")
		s.text(left-8, y+rowH/2+4, `text-anchor="end"`, shorten(b.Label, 28))
		s.text(left+w+4, y+rowH/2+4, `fill="#444"`, strconv.FormatInt(b.Value, 10))
	}
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top, left, top+plotH)
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	s.text(left+plotW/2, top+plotH+40, `text-anchor="middle" font-weight="bold"`, l.X)
	s.text(14, top+plotH/2, fmt.Sprintf(`text-anchor="middle" font-weight="bold" transform="rotate(-90 14 %.1f)"`, top+plotH/2), l.Y)
	s.f("</svg>\n")
	return s.Bytes()
}

// LineChart draws points left to right joined by a line; about eight of
// their labels are shown on the x axis.
func LineChart(l Labels, points []Point) []byte {
	const h, left, right, top, bottom = 420, 70.0, 30.0, 50.0, 80.0
	var s svg
	s.open(h, l)
	plotW, plotH := width-left-right, h-top-bottom
	var maxV int64
	for _, p := range points {
		maxV = max(maxV, p.Value)
	}
	topV, step := niceMax(maxV)
	for v := 0.0; v <= topV+step/2; v += step {
		y := top + plotH - plotH*v/topV
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", left, y, left+plotW, y)
		s.text(left-6, y+4, `text-anchor="end" fill="#444"`, num(v))
	}
	xOf := func(i int) float64 {
		if len(points) <= 1 {
			return left + plotW/2
		}
		return left + plotW*float64(i)/float64(len(points)-1)
	}
	yOf := func(v int64) float64 { return top + plotH - plotH*float64(max(v, 0))/topV }
	if len(points) == 0 {
		s.text(left+plotW/2, top+plotH/2, `text-anchor="middle" fill="#888"`, "no data")
	}
	every := max(1, (len(points)+7)/8)
	for i, p := range points {
		if i%every != 0 && i != len(points)-1 {
			continue
		}
		x := xOf(i)
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x, top+plotH, x, top+plotH+4)
		s.text(x, top+plotH+18, `text-anchor="middle" fill="#444"`, p.Label)
	}
	if len(points) > 0 {
		s.f(`<polyline fill="none" stroke="#5865f2" stroke-width="2" points="`)
		for i, p := range points {
			s.f("%.1f,%.1f ", xOf(i), yOf(p.Value))
		}
		s.f(`"/>` + "\n")
		if len(points) <= 60 {
			for i, p := range points {
				s.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="#5865f2"><title>`, xOf(i), yOf(p.Value))
				_ = xml.EscapeText(&s.Buffer, []byte(fmt.Sprintf("%s: %d", p.Label, p.Value)))
				s.f("</title></circle>\n")
			}
		}
	}
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top, left, top+plotH)
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	s.text(left+plotW/2, top+plotH+50, `text-anchor="middle" font-weight="bold"`, l.X)
	s.text(16, top+plotH/2, fmt.Sprintf(`text-anchor="middle" font-weight="bold" transform="rotate(-90 16 %.1f)"`, top+plotH/2), l.Y)
	s.f("</svg>\n")
	return s.Bytes()
}
