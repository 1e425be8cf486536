package media

import (
	"bytes"
	"image"
	"image/color/palette"
	"image/gif"
	"slices"
	"testing"
)

// xmpGIFBlock is an XMP application extension as editors write it, with a
// GPS position inside.
func xmpGIFBlock() []byte {
	b := []byte{gifExtension, gifApplication, 11}
	b = append(b, "XMP DataXMP"...)
	packet := []byte(`<x:xmpmeta><rdf:Description exif:GPSLatitude="48,51.396N"/></x:xmpmeta>`)
	for len(packet) > 0 { // sub-blocks of at most 255 bytes
		k := min(len(packet), 255)
		b = append(append(b, byte(k)), packet[:k]...)
		packet = packet[k:]
	}
	return append(b, 0)
}

func TestStripGIF(t *testing.T) {
	g := &gif.GIF{LoopCount: 3}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 20, 10), palette.Plan9)
		f.Pix[i] = 200
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	clean := buf.Bytes()
	comment := []byte{gifExtension, gifComment, 5, 'h', 'e', 'l', 'l', 'o', 0}
	// Metadata before the trailer, where editors append it.
	tagged := slices.Concat(clean[:len(clean)-1], xmpGIFBlock(), comment, clean[len(clean)-1:])
	if _, err := gif.DecodeAll(bytes.NewReader(tagged)); err != nil {
		t.Fatalf("the tagged GIF does not decode: %v", err)
	}

	for _, c := range []struct {
		name string
		in   []byte
		meta bool
	}{{"clean", clean, false}, {"tagged", tagged, true}} {
		meta, err := ScanGIF(bytes.NewReader(c.in))
		if err != nil || meta != c.meta {
			t.Errorf("%s: ScanGIF = %v, %v; want %v", c.name, meta, err, c.meta)
		}
		var out bytes.Buffer
		if err := StripGIF(bytes.NewReader(c.in), &out); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(out.Bytes(), clean) {
			t.Errorf("%s: stripped differs from the clean GIF (%d bytes, want %d)", c.name, out.Len(), len(clean))
		}
		got, err := gif.DecodeAll(&out)
		if err == nil && (len(got.Image) != 3 || got.LoopCount != 3) {
			t.Errorf("%s: %d frames, loop count %d after stripping", c.name, len(got.Image), got.LoopCount)
		}
	}
	if bytes.Contains(clean, []byte("GPS")) {
		t.Fatal("the clean GIF has GPS in it")
	}
	for _, bad := range [][]byte{nil, []byte("GIF89a"), clean[:len(clean)-5], append([]byte("PNG89a"), clean[6:]...)} {
		if err := StripGIF(bytes.NewReader(bad), &bytes.Buffer{}); err == nil {
			t.Errorf("%d bytes of a broken GIF were accepted", len(bad))
		}
	}
}
