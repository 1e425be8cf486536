package media_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/media"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 200, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSquare(t *testing.T) {
	// A wide image becomes a centred square, scaled down to the size.
	p, err := media.Square(bytes.NewReader(pngOf(t, 600, 300)), "avatar", media.MaxPictureBytes, 256)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil || cfg.Width != 256 || cfg.Height != 256 || p.ContentType != "image/png" || len(p.Hash) != 32 {
		t.Fatalf("square = %+v %v (%s, hash %q)", cfg, err, p.ContentType, p.Hash)
	}
	// A small image is not enlarged; a JPEG stays a JPEG.
	var jb bytes.Buffer
	small := image.NewRGBA(image.Rect(0, 0, 40, 90))
	if err := jpeg.Encode(&jb, small, nil); err != nil {
		t.Fatal(err)
	}
	p2, err := media.Square(bytes.NewReader(jb.Bytes()), "avatar", media.MaxPictureBytes, 256)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := jpeg.DecodeConfig(bytes.NewReader(p2.Data))
	if err != nil || c2.Width != 40 || c2.Height != 40 || p2.ContentType != "image/jpeg" || p2.Hash == p.Hash {
		t.Fatalf("small square = %+v %v (%s)", c2, err, p2.ContentType)
	}
}

func TestSquareRefuses(t *testing.T) {
	// A PNG header announcing 100000x100000 pixels: refused before decoding.
	bomb := pngOf(t, 1, 1)
	copy(bomb[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(bomb[29:33], crc32.ChecksumIEEE(bomb[12:29]))
	for _, tc := range []struct {
		name, reason string
		body         []byte
		limit        int64
	}{
		{"empty", "", nil, 100},
		{"too large", "FILE_TOO_LARGE", pngOf(t, 50, 50), 100},
		{"text", "", []byte("hello, not an image"), 100},
		{"svg", "", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), 100},
		{"truncated png", "", pngOf(t, 50, 50)[:60], 1 << 20},
		{"bomb", "IMAGE_TOO_LARGE", bomb, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := media.Square(bytes.NewReader(tc.body), "avatar", tc.limit, 256)
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.KindInvalidArgument || e.Field != "avatar" {
				t.Fatalf("err = %v; want INVALID_ARGUMENT on avatar", err)
			}
			if tc.reason != "" && !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("reason = %q; want %s", e.Reason, tc.reason)
			}
		})
	}
}

// BenchmarkSquare measures turning a 6-megapixel camera JPEG into an avatar
// (decode, crop, scale, encode) against decoding it alone, the floor of
// any processing: report the ratio of the two ns/op.
func BenchmarkSquare(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 3000, 2000))
	for y := range 2000 {
		for x := range 3000 {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: uint8(x ^ y), A: 255})
		}
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := jb.Bytes()
	b.Run("decode-baseline", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("square", func(b *testing.B) {
		for b.Loop() {
			if _, err := media.Square(bytes.NewReader(data), "avatar", media.MaxPictureBytes, media.PictureSize); err != nil {
				b.Fatal(err)
			}
		}
	})
}
