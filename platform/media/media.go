// Package media inspects uploaded files (attachments, avatars, server
// icons): the content type sniffed from the
// first bytes (net/http's sniffing algorithm, never the client's claim), and
// for images the dimensions, a thumbnail and a copy without metadata (EXIF
// and XMP, GPS included; XMP and comments of GIFs). It refuses decompression bombs by reading an image's header
// (image.DecodeConfig) before decoding any pixel.
package media

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	"golang.org/x/image/draw"

	"github.com/accordchat/accord/platform/errs"
	_ "golang.org/x/image/webp" // image.Decode of WebP
)

// SniffLen is how many leading bytes Sniff looks at.
const SniffLen = 512

// Sniff returns the media type of a file from its first bytes. Types a
// browser would run as a document in Accord's origin (HTML, SVG, XML) come
// back as text/plain: the gateway also serves them as downloads only.
func Sniff(head []byte) string {
	ct := http.DetectContentType(head)
	mt, _, _ := strings.Cut(ct, ";")
	switch mt {
	case "text/html", "text/xml", "application/xml", "image/svg+xml":
		return "text/plain; charset=utf-8"
	}
	return ct
}

// IsImage reports whether Process understands the type.
func IsImage(contentType string) bool {
	switch contentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// ErrTooManyPixels is returned for images whose header announces more
// pixels than the limit (decompression bombs among them).
var ErrTooManyPixels = errors.New("media: image too large")

// ErrNotAnImage is returned when bytes that look like an image do not decode.
var ErrNotAnImage = errors.New("media: not a readable image")

// Config tunes Process.
type Config struct {
	// MaxPixels bounds width x height of an image that is decoded.
	MaxPixels int64
	// ThumbSize bounds the thumbnail's longer side.
	ThumbSize int
}

// Info is what Probe learns from an image's header.
type Info struct {
	Width, Height int
}

// Probe reads an image's header only and refuses more than MaxPixels.
func (c Config) Probe(r io.Reader) (Info, error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return Info{}, ErrNotAnImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, ErrNotAnImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > c.MaxPixels {
		return Info{}, fmt.Errorf("%w: %dx%d pixels is above the limit of %d", ErrTooManyPixels, cfg.Width, cfg.Height, c.MaxPixels)
	}
	return Info{Width: cfg.Width, Height: cfg.Height}, nil
}

// Decoded is a decoded image (the first frame of an animation).
type Decoded struct {
	img         image.Image
	contentType string
}

// Decode decodes an image whose header passed Probe.
func Decode(r io.Reader, contentType string) (Decoded, error) {
	img, _, err := image.Decode(r)
	if err != nil {
		return Decoded{}, ErrNotAnImage
	}
	return Decoded{img: img, contentType: contentType}, nil
}

// Clean reports whether the original should be served re-encoded (JPEG and
// PNG carry EXIF, GPS included, in segments that re-encoding drops), and
// the type of that copy. GIFs keep every frame so that animations keep
// playing, and lose their XMP and comment extensions instead (ScanGIF,
// StripGIF); WebP keeps its image data and loses its metadata chunks
// (ScanWebP, StripWebP).
func (d Decoded) Clean() (string, bool) {
	switch d.contentType {
	case "image/jpeg", "image/png":
		return d.contentType, true
	}
	return "", false
}

// WriteClean writes the metadata-free copy (see Clean).
func (d Decoded) WriteClean(w io.Writer) error {
	if d.contentType == "image/jpeg" {
		return jpeg.Encode(w, d.img, &jpeg.Options{Quality: 90})
	}
	return png.Encode(w, d.img)
}

// Thumb returns the thumbnail's size (the image scaled to fit size x size,
// never enlarged) and its type: JPEG for photos, PNG where transparency may
// matter.
func (d Decoded) Thumb(size int) (w, h int, contentType string) {
	b := d.img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w > size || h > size {
		if w >= h {
			w, h = size, max(1, h*size/w)
		} else {
			w, h = max(1, w*size/h), size
		}
	}
	if d.contentType == "image/jpeg" {
		return w, h, "image/jpeg"
	}
	return w, h, "image/png"
}

// WriteThumb writes the thumbnail of Thumb(size).
func (d Decoded) WriteThumb(out io.Writer, size int) error {
	w, h, ct := d.Thumb(size)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), d.img, d.img.Bounds(), draw.Over, nil)
	if ct == "image/jpeg" {
		return jpeg.Encode(out, dst, &jpeg.Options{Quality: 85})
	}
	return png.Encode(out, dst)
}

// Register the decoders image.Decode and DecodeConfig use.
var (
	_ = gif.Decode
	_ = png.Decode
	_ = jpeg.Decode
)

// Square pictures: avatars and server icons.

// Defaults of square pictures.
const (
	// MaxPictureBytes bounds an uploaded avatar or icon.
	MaxPictureBytes = 8 << 20
	// PictureSize is the side of a stored avatar or icon.
	PictureSize = 256
	// MaxPicturePixels bounds the pixels of an uploaded avatar or icon.
	MaxPicturePixels = 40_000_000
)

// Picture is an avatar or icon ready to store: a square image of at most
// PictureSize pixels a side, without metadata.
type Picture struct {
	ContentType string
	Data        []byte
	// Hash names this content: 32 hex digits of its SHA-256.
	Hash string
}

// Square reads an uploaded image of at most maxBytes from r and returns
// it cropped to a centred square and scaled to at most size pixels a side,
// re-encoded (JPEG stays JPEG; PNG, GIF and WebP become PNG) so that no
// metadata survives. Errors are INVALID_ARGUMENT naming field: empty,
// above maxBytes (reason FILE_TOO_LARGE, as soon as the bytes pass it), not
// an image, or above MaxPicturePixels (IMAGE_TOO_LARGE, from the header,
// before any pixel is decoded).
func Square(r io.Reader, field string, maxBytes int64, size int) (Picture, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return Picture{}, err
	}
	if len(data) == 0 {
		return Picture{}, errs.Invalid(field, "must not be empty")
	}
	if int64(len(data)) > maxBytes {
		return Picture{}, errs.Invalid(field, "must be at most %d bytes", maxBytes).WithReason("FILE_TOO_LARGE")
	}
	ct := Sniff(data[:min(len(data), SniffLen)])
	if !IsImage(ct) {
		return Picture{}, errs.Invalid(field, "must be a PNG, JPEG, GIF or WebP image")
	}
	if _, err := (Config{MaxPixels: MaxPicturePixels}).Probe(bytes.NewReader(data)); err != nil {
		if errors.Is(err, ErrTooManyPixels) {
			return Picture{}, errs.Invalid(field, "%s", strings.TrimPrefix(err.Error(), "media: ")).WithReason("IMAGE_TOO_LARGE")
		}
		return Picture{}, errs.Invalid(field, "is not a readable %s image", strings.TrimPrefix(ct, "image/"))
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Picture{}, errs.Invalid(field, "is not a readable %s image", strings.TrimPrefix(ct, "image/"))
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	at := image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2)
	crop := image.Rectangle{Min: at, Max: at.Add(image.Pt(side, side))}
	out := min(side, size)
	dst := image.NewRGBA(image.Rect(0, 0, out, out))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, crop, draw.Over, nil)
	var buf bytes.Buffer
	if ct == "image/jpeg" {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90})
	} else {
		ct = "image/png"
		err = png.Encode(&buf, dst)
	}
	if err != nil {
		return Picture{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return Picture{ContentType: ct, Data: buf.Bytes(), Hash: hex.EncodeToString(sum[:16])}, nil
}

// Uploads of pictures the gateway writes into the blob store itself: the
// owning service hands out a fresh random id, the key to write under is
// derived from it and from the owner (so that a caller can only ever
// name its own uploads), and the service reads the bytes back to check
// them as Square does.

// NewUploadID returns a fresh upload id: 32 hex digits from crypto/rand.
func NewUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidUploadID reports whether id has the form NewUploadID gives.
func ValidUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
