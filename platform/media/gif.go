package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// GIF metadata. A GIF carries no EXIF, but application extensions may hold
// XMP (identifier "XMP Data", GPS positions among what editors put there)
// or other vendors' data (ICC profiles, editor state), and comment
// extensions free text. StripGIF copies a GIF without them, block by block
// and without decoding a pixel, keeping the looping extensions (NETSCAPE2.0,
// ANIMEXTS1.0) so that animations play as uploaded.

var errBadGIF = errors.New("media: not a readable GIF")

// GIF block introducers and extension labels.
const (
	gifExtension   = 0x21
	gifImage       = 0x2C
	gifTrailer     = 0x3B
	gifApplication = 0xFF
	gifComment     = 0xFE
)

// keptGIFApplication reports whether an application extension is one that
// animation needs (the loop count) rather than metadata.
func keptGIFApplication(id []byte) bool {
	s := string(id)
	return s == "NETSCAPE2.0" || s == "ANIMEXTS1.0"
}

// ScanGIF reports whether the GIF read from r carries metadata StripGIF
// would drop.
func ScanGIF(r io.Reader) (bool, error) {
	return walkGIF(r, io.Discard)
}

// StripGIF writes the GIF read from r to w without its metadata: comment
// extensions and application extensions other than the looping ones.
func StripGIF(r io.Reader, w io.Writer) error {
	bw := bufio.NewWriter(w)
	if _, err := walkGIF(r, bw); err != nil {
		return err
	}
	return bw.Flush()
}

// walkGIF copies the GIF from r to w block by block, dropping metadata
// extensions; it reports whether it dropped any.
func walkGIF(r io.Reader, w io.Writer) (dropped bool, err error) {
	br := bufio.NewReader(r)
	// Header and logical screen descriptor, then the global color table.
	var head [13]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return false, errBadGIF
	}
	if s := string(head[:6]); s != "GIF87a" && s != "GIF89a" {
		return false, errBadGIF
	}
	if _, err := w.Write(head[:]); err != nil {
		return false, err
	}
	if err := copyColorTable(br, w, head[10]); err != nil {
		return false, err
	}
	for {
		intro, err := br.ReadByte()
		if err != nil {
			return false, errBadGIF
		}
		switch intro {
		case gifTrailer:
			_, err := w.Write([]byte{gifTrailer})
			return dropped, err
		case gifImage:
			var desc [9]byte
			if _, err := io.ReadFull(br, desc[:]); err != nil {
				return false, errBadGIF
			}
			if _, err := w.Write(append([]byte{gifImage}, desc[:]...)); err != nil {
				return false, err
			}
			if err := copyColorTable(br, w, desc[8]); err != nil {
				return false, err
			}
			lzw, err := br.ReadByte() // the LZW minimum code size
			if err != nil {
				return false, errBadGIF
			}
			if _, err := w.Write([]byte{lzw}); err != nil {
				return false, err
			}
			if err := copySubBlocks(br, w); err != nil {
				return false, err
			}
		case gifExtension:
			label, err := br.ReadByte()
			if err != nil {
				return false, errBadGIF
			}
			switch label {
			case gifComment:
				dropped = true
				if err := copySubBlocks(br, io.Discard); err != nil {
					return false, err
				}
			case gifApplication:
				n, err := br.ReadByte()
				if err != nil {
					return false, errBadGIF
				}
				id := make([]byte, n)
				if _, err := io.ReadFull(br, id); err != nil {
					return false, errBadGIF
				}
				if n < 11 || !keptGIFApplication(id[:11]) {
					dropped = true
					if err := copySubBlocks(br, io.Discard); err != nil {
						return false, err
					}
					continue
				}
				if _, err := w.Write(append([]byte{gifExtension, label, n}, id...)); err != nil {
					return false, err
				}
				if err := copySubBlocks(br, w); err != nil {
					return false, err
				}
			default: // graphic control, plain text: part of the picture
				if _, err := w.Write([]byte{gifExtension, label}); err != nil {
					return false, err
				}
				if err := copySubBlocks(br, w); err != nil {
					return false, err
				}
			}
		default:
			return false, fmt.Errorf("%w: unknown block 0x%02x", errBadGIF, intro)
		}
	}
}

// copyColorTable copies the color table a descriptor's packed byte
// announces, if any.
func copyColorTable(r io.Reader, w io.Writer, packed byte) error {
	if packed&0x80 == 0 {
		return nil
	}
	n := int64(3) << ((packed & 7) + 1)
	if m, err := io.CopyN(w, r, n); err != nil {
		if m < n {
			return errBadGIF
		}
		return err
	}
	return nil
}

// copySubBlocks copies data sub-blocks (a size byte, then that many
// bytes) up to and including the empty one that ends them.
func copySubBlocks(r *bufio.Reader, w io.Writer) error {
	var buf [256]byte
	for {
		n, err := r.ReadByte()
		if err != nil {
			return errBadGIF
		}
		buf[0] = n
		if _, err := io.ReadFull(r, buf[1:1+int(n)]); err != nil {
			return errBadGIF
		}
		if _, err := w.Write(buf[:1+int(n)]); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
