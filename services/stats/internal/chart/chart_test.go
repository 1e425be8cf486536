package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// wellFormed decodes doc as XML and returns its text.
func wellFormed(t *testing.T, doc []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return text.String()
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, doc)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
}

func TestCharts(t *testing.T) {
	l := Labels{Title: `Top "users" & <friends>`, X: "messages", Y: "user"}
	bar := wellFormed(t, BarChart(l, []Bar{{"Zoë </text><script>", 1234}, {"b", 0}}))
	for _, want := range []string{`Top "users" & <friends>`, "Zoë </text><script>", "1234", "messages", "user"} {
		if !strings.Contains(bar, want) {
			t.Errorf("bar chart lacks %q", want)
		}
	}
	line := wellFormed(t, LineChart(l, []Point{{"Nov 1", 3}, {"Nov 2", 0}, {"Nov 3", 7}}))
	for _, want := range []string{"Nov 1", "Nov 3", "messages"} {
		if !strings.Contains(line, want) {
			t.Errorf("line chart lacks %q", want)
		}
	}
	for _, empty := range [][]byte{BarChart(l, nil), LineChart(l, nil)} {
		if !strings.Contains(wellFormed(t, empty), "no data") {
			t.Error("empty chart does not say so")
		}
	}
}

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct {
		v         int64
		top, step float64
	}{{0, 1, 1}, {1, 1, 1}, {7, 8, 2}, {19, 20, 5}, {1234, 1500, 500}} {
		if top, step := niceMax(tc.v); top != tc.top || step != tc.step {
			t.Errorf("niceMax(%d) = %v, %v; want %v, %v", tc.v, top, step, tc.top, tc.step)
		}
	}
}

// Any label, however hostile or malformed, yields a well-formed image.
func FuzzCharts(f *testing.F) {
	f.Add("Alice", "Top users", int64(3))
	f.Add("</svg>&amp;\x00\xff", "]]><!--", int64(-5))
	f.Fuzz(func(t *testing.T, label, title string, v int64) {
		l := Labels{Title: title, X: label, Y: label}
		wellFormed(t, BarChart(l, []Bar{{label, v}, {title, v / 2}}))
		wellFormed(t, LineChart(l, []Point{{label, v}, {title, 0}}))
	})
}
