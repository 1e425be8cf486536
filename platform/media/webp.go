package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WebP metadata: a WebP file is a RIFF container of chunks; an extended one
// (VP8X) may carry "EXIF" and "XMP " chunks (GPS positions among them) beside
// the image data. Go has no WebP encoder, so instead of re-encoding, the
// served copy is the same file without those two chunks and with their flags
// cleared in the VP8X header: pixels, animation, alpha and colour profile are
// untouched. The copy is made in two streaming passes (ScanWebP sizes it,
// StripWebP writes it), never holding the file.

// VP8X flags (the first byte of its payload).
const (
	vp8xXMP  = 0x04
	vp8xEXIF = 0x08
)

var errBadWebP = errors.New("media: malformed WebP container")

// WebPScan is what ScanWebP learns: whether the file carries metadata and
// the RIFF size of the copy without it.
type WebPScan struct {
	Metadata bool
	riffSize uint32
}

// webpChunks calls fn for each chunk of the RIFF WebP file read from r with
// its FourCC and payload size; fn must consume the payload and its padding
// byte from r (its second argument) or return an error.
func webpChunks(r io.Reader, head func(riffSize uint32) error, fn func(fourCC string, size uint32, body io.Reader) error) error {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return errBadWebP
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return errBadWebP
	}
	riffSize := binary.LittleEndian.Uint32(hdr[4:8])
	if head != nil {
		if err := head(riffSize); err != nil {
			return err
		}
	}
	left := int64(riffSize) - 4
	for left > 0 {
		var ch [8]byte
		if left < 8 {
			return errBadWebP
		}
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return errBadWebP
		}
		size := binary.LittleEndian.Uint32(ch[4:8])
		padded := int64(size) + int64(size&1)
		if 8+padded > left {
			return errBadWebP
		}
		body := io.LimitReader(r, padded)
		if err := fn(string(ch[0:4]), size, body); err != nil {
			return err
		}
		// Whatever fn left unread is skipped.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return errBadWebP
		}
		left -= 8 + padded
	}
	return nil
}

func isWebPMetadata(fourCC string) bool { return fourCC == "EXIF" || fourCC == "XMP " }

// ScanWebP reads a WebP file and reports whether it carries EXIF or XMP
// metadata.
func ScanWebP(r io.Reader) (WebPScan, error) {
	var s WebPScan
	var total uint32 = 4
	err := webpChunks(r, nil, func(fourCC string, size uint32, _ io.Reader) error {
		if isWebPMetadata(fourCC) {
			s.Metadata = true
			return nil
		}
		total += 8 + size + size&1
		return nil
	})
	if err != nil {
		return WebPScan{}, err
	}
	s.riffSize = total
	return s, nil
}

// StripWebP writes the file read from r (the same bytes ScanWebP read) to
// w without its EXIF and XMP chunks.
func StripWebP(r io.Reader, w io.Writer, s WebPScan) error {
	return webpChunks(r, func(uint32) error {
		var hdr [12]byte
		copy(hdr[0:4], "RIFF")
		binary.LittleEndian.PutUint32(hdr[4:8], s.riffSize)
		copy(hdr[8:12], "WEBP")
		_, err := w.Write(hdr[:])
		return err
	}, func(fourCC string, size uint32, body io.Reader) error {
		if isWebPMetadata(fourCC) {
			return nil
		}
		var ch [8]byte
		copy(ch[0:4], fourCC)
		binary.LittleEndian.PutUint32(ch[4:8], size)
		if _, err := w.Write(ch[:]); err != nil {
			return err
		}
		if fourCC == "VP8X" {
			var flags [1]byte
			if _, err := io.ReadFull(body, flags[:]); err != nil {
				return errBadWebP
			}
			flags[0] &^= vp8xEXIF | vp8xXMP
			if _, err := w.Write(flags[:]); err != nil {
				return err
			}
		}
		n, err := io.Copy(w, body)
		if err != nil {
			return err
		}
		if want := int64(size) + int64(size&1); fourCC != "VP8X" && n != want || fourCC == "VP8X" && n != want-1 {
			return fmt.Errorf("%w: chunk %q is cut short", errBadWebP, fourCC)
		}
		return nil
	})
}
