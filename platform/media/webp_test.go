package media_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/accordchat/accord/platform/media"
)

func TestStripWebP(t *testing.T) {
	orig, err := os.ReadFile("testdata/exif-gps.webp")
	if err != nil {
		t.Fatal(err)
	}
	scan, err := media.ScanWebP(bytes.NewReader(orig))
	if err != nil || !scan.Metadata {
		t.Fatalf("scan: %+v %v, want metadata found", scan, err)
	}
	var out bytes.Buffer
	if err := media.StripWebP(bytes.NewReader(orig), &out, scan); err != nil {
		t.Fatal(err)
	}
	got := out.Bytes()
	// The copy is a well-formed container with nothing left to strip, and
	// its VP8X header no longer announces EXIF or XMP.
	again, err := media.ScanWebP(bytes.NewReader(got))
	if err != nil || again.Metadata {
		t.Fatalf("scan of the copy: %+v %v", again, err)
	}
	i := bytes.Index(got, []byte("VP8X"))
	if i < 0 {
		t.Fatal("the copy lost its VP8X chunk")
	}
	if flags := got[i+8]; flags&0x0c != 0 {
		t.Errorf("VP8X flags %#x still announce EXIF or XMP", flags)
	}
	if size := int(got[4]) | int(got[5])<<8 | int(got[6])<<16 | int(got[7])<<24; size != len(got)-8 {
		t.Errorf("RIFF size %d, file %d bytes", size, len(got))
	}

	// Malformed containers are refused, never a panic.
	for name, b := range map[string][]byte{
		"empty":          nil,
		"not RIFF":       []byte("RIFX\x00\x00\x00\x00WEBP"),
		"cut short":      orig[:len(orig)/2],
		"chunk too long": append(append([]byte{}, orig[:16]...), 0xff, 0xff, 0xff, 0x7f),
	} {
		if _, err := media.ScanWebP(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: scanned without an error", name)
		}
	}
}
