package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/media"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Attachments: files uploaded to a channel, then sent with a message. The
// bytes stream into the blob store (never whole in memory, except an image
// being decoded, bounded by MaxImagePixels); the metadata goes to the
// AttachmentStore. An upload no message carries after OrphanGrace is
// deleted; deleting a message, a channel or a server deletes its files.

// Attachment limits and defaults.
const (
	MaxAttachments        = 10
	DefaultMaxUploadBytes = 25 << 20
	DefaultMaxImagePixels = 40_000_000
	ThumbSize             = 400
	maxNameLen            = 255
	// SpoilerPrefix marks a file shown blurred until clicked.
	SpoilerPrefix = "SPOILER_"
)

// Blobs keeps the bytes of files (platform/blobstore implements it).
type Blobs interface {
	// Put streams r into key and returns the bytes written; when r fails
	// nothing is left under key.
	Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error)
	// Open reads length bytes from offset (length < 0: to the end).
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// UploadInput is what Upload needs.
type UploadInput struct {
	UserID, ChannelID, Name string
	// Body is the file's bytes; Upload reads it once, as it arrives.
	Body io.Reader
}

// errTooLarge ends a Put whose body passed the limit.
var errTooLarge = errors.New("upload above the limit")

// limitedReader fails with errTooLarge once more than n bytes were read.
type limitedReader struct {
	r    io.Reader
	n    int64
	read int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.n {
		return n, errTooLarge
	}
	return n, err
}

// newKey is an unguessable blob key: 128 random bits.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "att/" + hex.EncodeToString(b[:])
}

// fileName keeps the last path element of an uploaded name, without
// control characters, at most maxNameLen characters.
func fileName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "", errs.Invalid("name", "must name a file")
	}
	if utf8.RuneCountInString(name) > maxNameLen {
		return "", errs.Invalid("name", "must be at most %d characters", maxNameLen)
	}
	return name, nil
}

// Upload stores a file for the channel and returns its attachment, not yet
// carried by a message. The content type is sniffed from the first bytes;
// a file above MaxUploadBytes is refused as soon as its bytes pass the
// limit; an image is probed before it is decoded (too many pixels are
// refused), served without its metadata, and given a thumbnail.
func (s *Service) Upload(ctx context.Context, in UploadInput) (Attachment, error) {
	if s.d.Blobs == nil || s.d.Attachments == nil {
		return Attachment{}, errs.Unavailable("uploads are not configured")
	}
	name, err := fileName(in.Name)
	if err != nil {
		return Attachment{}, err
	}
	ch, _, err := s.d.Access.Channel(ctx, in.UserID, in.ChannelID)
	if err != nil {
		return Attachment{}, err
	}
	head := make([]byte, media.SniffLen)
	n, err := io.ReadFull(in.Body, head)
	switch {
	case errors.Is(err, io.EOF) || n == 0:
		return Attachment{}, errs.Invalid("file", "must not be empty")
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return Attachment{}, err
	}
	head = head[:n]
	ct := media.Sniff(head)
	limit := s.cfg.maxUpload()
	a := Attachment{
		ID: ids.New(), ServerID: ch.ServerID, ChannelID: in.ChannelID, UploaderID: in.UserID,
		Name: name, ContentType: ct, BlobKey: newKey(), CreatedAt: now(),
	}
	body := &limitedReader{r: io.MultiReader(bytes.NewReader(head), in.Body), n: limit}
	size, err := s.d.Blobs.Put(ctx, a.BlobKey, ct, body)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return Attachment{}, errs.Invalid("file", "must be at most %d bytes", limit).WithReason("FILE_TOO_LARGE")
		}
		return Attachment{}, err
	}
	a.Size = size
	if media.IsImage(ct) {
		if err := s.image(ctx, &a); err != nil {
			s.deleteBlobs(ctx, a)
			return Attachment{}, err
		}
	}
	if err := s.d.Attachments.CreateAttachment(ctx, a); err != nil {
		s.deleteBlobs(ctx, a)
		return Attachment{}, err
	}
	return a, nil
}

// image fills in an image's dimensions, replaces the original by a copy
// without metadata where the format carries any, and adds a thumbnail.
func (s *Service) image(ctx context.Context, a *Attachment) error {
	mc := media.Config{MaxPixels: s.cfg.maxPixels(), ThumbSize: ThumbSize}
	r, err := s.d.Blobs.Open(ctx, a.BlobKey, 0, -1)
	if err != nil {
		return err
	}
	info, err := mc.Probe(r)
	_ = r.Close()
	if err != nil {
		if errors.Is(err, media.ErrTooManyPixels) {
			return errs.Invalid("file", "%s", strings.TrimPrefix(err.Error(), "media: ")).WithReason("IMAGE_TOO_LARGE")
		}
		return errs.Invalid("file", "is not a readable %s image", strings.TrimPrefix(a.ContentType, "image/"))
	}
	a.Width, a.Height = info.Width, info.Height
	if r, err = s.d.Blobs.Open(ctx, a.BlobKey, 0, -1); err != nil {
		return err
	}
	img, err := media.Decode(r, a.ContentType)
	_ = r.Close()
	if err != nil {
		return errs.Invalid("file", "is not a readable %s image", strings.TrimPrefix(a.ContentType, "image/"))
	}
	if ct, ok := img.Clean(); ok {
		if err := s.replaceBlob(ctx, a, ct, img.WriteClean); err != nil {
			return err
		}
	} else if a.ContentType == "image/webp" {
		if err := s.stripWebP(ctx, a); err != nil {
			return err
		}
	} else if a.ContentType == "image/gif" {
		if err := s.stripGIF(ctx, a); err != nil {
			return err
		}
	}
	tw, th, tct := img.Thumb(ThumbSize)
	key := a.BlobKey + "-thumb"
	if _, err := s.putEncoded(ctx, key, tct, func(w io.Writer) error { return img.WriteThumb(w, ThumbSize) }); err != nil {
		return err
	}
	a.ThumbKey, a.ThumbWidth, a.ThumbHeight = key, tw, th
	return nil
}

// replaceBlob stores what write writes as the file's bytes under a new key
// and deletes the old ones.
func (s *Service) replaceBlob(ctx context.Context, a *Attachment, ct string, write func(io.Writer) error) error {
	key := newKey()
	size, err := s.putEncoded(ctx, key, ct, write)
	if err != nil {
		return err
	}
	old := a.BlobKey
	a.BlobKey, a.Size, a.ContentType = key, size, ct
	if err := s.d.Blobs.Delete(ctx, old); err != nil {
		s.d.Log.WarnContext(ctx, "blob delete failed", "err", err)
	}
	return nil
}

// stripWebP replaces a WebP file that carries EXIF or XMP metadata by a copy
// without it (the image data as uploaded: Go has no WebP encoder).
func (s *Service) stripWebP(ctx context.Context, a *Attachment) error {
	r, err := s.d.Blobs.Open(ctx, a.BlobKey, 0, -1)
	if err != nil {
		return err
	}
	scan, err := media.ScanWebP(r)
	_ = r.Close()
	if err != nil {
		return errs.Invalid("file", "is not a readable webp image")
	}
	if !scan.Metadata {
		return nil
	}
	if r, err = s.d.Blobs.Open(ctx, a.BlobKey, 0, -1); err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	return s.replaceBlob(ctx, a, a.ContentType, func(w io.Writer) error { return media.StripWebP(r, w, scan) })
}

// stripGIF replaces a GIF that carries XMP or other metadata extensions
// by a copy without them (every frame as uploaded, so it still animates).
func (s *Service) stripGIF(ctx context.Context, a *Attachment) error {
	r, err := s.d.Blobs.Open(ctx, a.BlobKey, 0, -1)
	if err != nil {
		return err
	}
	meta, err := media.ScanGIF(r)
	_ = r.Close()
	if err != nil {
		return errs.Invalid("file", "is not a readable gif image")
	}
	if !meta {
		return nil
	}
	if r, err = s.d.Blobs.Open(ctx, a.BlobKey, 0, -1); err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	return s.replaceBlob(ctx, a, a.ContentType, func(w io.Writer) error { return media.StripGIF(r, w) })
}

// putEncoded streams what encode writes into key through a pipe.
func (s *Service) putEncoded(ctx context.Context, key, ct string, encode func(io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encode(pw)) }()
	n, err := s.d.Blobs.Put(ctx, key, ct, pr)
	_ = pr.CloseWithError(errors.New("put ended"))
	return n, err
}

// deleteBlobs removes an attachment's bytes; failures are logged (the key
// is unreachable without its metadata).
func (s *Service) deleteBlobs(ctx context.Context, a Attachment) {
	for _, k := range []string{a.BlobKey, a.ThumbKey} {
		if k == "" {
			continue
		}
		if err := s.d.Blobs.Delete(context.WithoutCancel(ctx), k); err != nil {
			s.d.Log.WarnContext(ctx, "blob delete failed", "err", err)
		}
	}
}

// deleteAttachment removes an attachment: bytes first, then metadata, so
// that a failure leaves metadata a later sweep finds again.
func (s *Service) deleteAttachment(ctx context.Context, a Attachment) error {
	ctx = context.WithoutCancel(ctx)
	for _, k := range []string{a.BlobKey, a.ThumbKey} {
		if k == "" {
			continue
		}
		if err := s.d.Blobs.Delete(ctx, k); err != nil {
			return err
		}
	}
	if err := s.d.Attachments.DeleteAttachment(ctx, a.ID); err != nil && !isKind(err, errs.KindNotFound) {
		return err
	}
	return nil
}

// FileInput is what OpenFile needs.
type FileInput struct {
	UserID, ChannelID, AttachmentID string
	Thumbnail                       bool
	Offset, Length                  int64
}

// File is an open attachment: its metadata, what is read (the file or its
// thumbnail: size and type) and the bytes from the offset asked.
type File struct {
	Attachment  Attachment
	Size        int64
	ContentType string
	Body        io.ReadCloser
}

// Location is where the bytes of a file (or its thumbnail) are: what
// LocateFile tells a caller that reads the blob store itself.
type Location struct {
	Attachment Attachment
	// Key names the bytes in the blob store.
	Key string
	// Size is the size of the bytes, -1 when unknown (a thumbnail).
	Size        int64
	ContentType string
}

// LocateFile checks that the caller can read a file as OpenFile does and
// returns where its bytes are. A non-member, a file of another channel,
// another user's upload not sent yet and a pending upload are all
// NOT_FOUND.
func (s *Service) LocateFile(ctx context.Context, in FileInput) (Location, error) {
	if s.d.Blobs == nil || s.d.Attachments == nil {
		return Location{}, errs.Unavailable("files are not configured")
	}
	if _, _, err := s.d.Access.Channel(ctx, in.UserID, in.ChannelID); err != nil {
		return Location{}, err
	}
	a, err := s.d.Attachments.Attachment(ctx, in.AttachmentID)
	if isKind(err, errs.KindNotFound) || (err == nil && (a.ChannelID != in.ChannelID || a.ContentType == "" ||
		(a.MessageID == "" && a.UploaderID != in.UserID))) {
		return Location{}, errs.NotFound("attachment not found")
	}
	if err != nil {
		return Location{}, err
	}
	if !in.Thumbnail {
		return Location{Attachment: a, Key: a.BlobKey, Size: a.Size, ContentType: a.ContentType}, nil
	}
	if a.ThumbKey == "" {
		return Location{}, errs.NotFound("attachment has no thumbnail")
	}
	ct := "image/png"
	if a.ContentType == "image/jpeg" {
		ct = "image/jpeg"
	}
	return Location{Attachment: a, Key: a.ThumbKey, Size: -1, ContentType: ct}, nil
}

// OpenFile opens a file of a channel the caller can read (see LocateFile
// for who can).
func (s *Service) OpenFile(ctx context.Context, in FileInput) (File, error) {
	loc, err := s.LocateFile(ctx, in)
	if err != nil {
		return File{}, err
	}
	a, key, size, ct := loc.Attachment, loc.Key, loc.Size, loc.ContentType
	if size < 0 {
		if sz, ok := s.d.Blobs.(interface {
			Size(ctx context.Context, key string) (int64, error)
		}); ok {
			if size, err = sz.Size(ctx, key); err != nil {
				return File{}, err
			}
		}
	}
	if size >= 0 && in.Offset > size {
		return File{}, errs.Invalid("offset", "is past the end of the file (%d bytes)", size)
	}
	length := in.Length
	if length == 0 {
		length = -1
	}
	body, err := s.d.Blobs.Open(ctx, key, in.Offset, length)
	if err != nil {
		return File{}, err
	}
	return File{Attachment: a, Size: size, ContentType: ct, Body: body}, nil
}

// attach makes the uploads the message carries point at it, before the
// message is stored; it undoes what it did when one is not attachable.
func (s *Service) attach(ctx context.Context, m Message, attachmentIDs []string) error {
	done := make([]string, 0, len(attachmentIDs))
	for _, id := range attachmentIDs {
		ok, err := s.d.Attachments.AttachToMessage(ctx, id, m.ID)
		if err == nil && !ok {
			err = errs.Invalid("attachment_ids", "%s was sent with another message", id)
		}
		if err != nil {
			s.detach(ctx, m.ID, done)
			return err
		}
		done = append(done, id)
	}
	return nil
}

func (s *Service) detach(ctx context.Context, messageID string, attachmentIDs []string) {
	for _, id := range attachmentIDs {
		if err := s.d.Attachments.DetachFromMessage(context.WithoutCancel(ctx), id, messageID); err != nil {
			s.d.Log.WarnContext(ctx, "detach failed", "err", err)
		}
	}
}

// checkUploads checks that each id is an upload of the user to the
// channel that no message carries yet.
func (s *Service) checkUploads(ctx context.Context, userID, channelID string, attachmentIDs []string) error {
	if len(attachmentIDs) == 0 {
		return nil
	}
	if len(attachmentIDs) > MaxAttachments {
		return errs.Invalid("attachment_ids", "at most %d files per message", MaxAttachments)
	}
	if s.d.Attachments == nil {
		return errs.Unavailable("uploads are not configured")
	}
	seen := map[string]bool{}
	for _, id := range attachmentIDs {
		if seen[id] {
			return errs.Invalid("attachment_ids", "%s is listed twice", id)
		}
		seen[id] = true
		a, err := s.d.Attachments.Attachment(ctx, id)
		if isKind(err, errs.KindNotFound) || (err == nil && (a.UploaderID != userID || a.ChannelID != channelID)) {
			return errs.Invalid("attachment_ids", "%s is not an upload of yours to this channel", id)
		}
		if err != nil {
			return err
		}
		if a.MessageID != "" {
			return errs.Invalid("attachment_ids", "%s was sent with another message", id)
		}
		if a.ContentType == "" {
			return errs.Invalid("attachment_ids", "%s is still uploading", id)
		}
	}
	return nil
}

// attachmentsOf returns the files of the messages, by message id, each
// message's in upload order.
func (s *Service) attachmentsOf(ctx context.Context, messageIDs []string) (map[string][]Attachment, error) {
	if s.d.Attachments == nil || len(messageIDs) == 0 {
		return nil, nil
	}
	as, err := s.d.Attachments.AttachmentsOf(ctx, messageIDs)
	if err != nil {
		return nil, err
	}
	out := map[string][]Attachment{}
	for _, a := range as {
		out[a.MessageID] = append(out[a.MessageID], a)
	}
	for _, l := range out {
		slices.SortFunc(l, func(a, b Attachment) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// deleteFilesOf deletes the files of a deleted message; failures are
// logged.
func (s *Service) deleteFilesOf(ctx context.Context, messageID string) {
	files, err := s.attachmentsOf(ctx, []string{messageID})
	if err != nil {
		s.d.Log.ErrorContext(ctx, "listing a deleted message's files failed", "err", err)
		return
	}
	for _, a := range files[messageID] {
		if err := s.deleteAttachment(ctx, a); err != nil {
			s.d.Log.ErrorContext(ctx, "deleting a file failed", "err", err, "attachment", a.ID)
		}
	}
}

// SweepOrphans deletes the uploads no message carries that were made
// before the time; it returns how many it deleted.
func (s *Service) SweepOrphans(ctx context.Context, before time.Time) (int, error) {
	if s.d.Attachments == nil {
		return 0, nil
	}
	n := 0
	for {
		as, err := s.d.Attachments.UnattachedBefore(ctx, before, 100)
		if err != nil {
			return n, err
		}
		for _, a := range as {
			if err := s.deleteAttachment(ctx, a); err != nil {
				return n, fmt.Errorf("delete orphan %s: %w", a.ID, err)
			}
			n++
		}
		if len(as) < 100 {
			return n, nil
		}
	}
}

// DeleteFilesIn deletes every file of a deleted channel, or of a deleted
// server when channelID is "": bytes first, then metadata. It returns how
// many it deleted, and stops at the first failure (what is left is listed
// again by the next call).
func (s *Service) DeleteFilesIn(ctx context.Context, serverID, channelID string) (int, error) {
	if s.d.Attachments == nil || s.d.Blobs == nil {
		return 0, nil
	}
	ctx = context.WithoutCancel(ctx)
	n := 0
	for {
		as, err := s.d.Attachments.AttachmentsIn(ctx, serverID, channelID, 100)
		if err != nil {
			return n, err
		}
		for _, a := range as {
			if err := s.deleteAttachment(ctx, a); err != nil {
				return n, fmt.Errorf("delete file %s: %w", a.ID, err)
			}
			n++
		}
		if len(as) < 100 {
			return n, nil
		}
	}
}

// RunOrphanSweeper deletes unsent uploads older than OrphanGrace every
// OrphanInterval until ctx ends.
func (s *Service) RunOrphanSweeper(ctx context.Context) {
	if s.d.Attachments == nil || s.cfg.OrphanInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.OrphanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.SweepOrphans(ctx, time.Now().Add(-s.cfg.OrphanGrace)); err != nil {
				s.d.Log.ErrorContext(ctx, "orphan sweep failed", "err", err, "deleted", n)
			} else if n > 0 {
				s.d.Log.InfoContext(ctx, "orphan uploads deleted", "count", n)
			}
		}
	}
}

func (c Config) maxUpload() int64 {
	if c.MaxUploadBytes > 0 {
		return c.MaxUploadBytes
	}
	return DefaultMaxUploadBytes
}

func (c Config) maxPixels() int64 {
	if c.MaxImagePixels > 0 {
		return c.MaxImagePixels
	}
	return DefaultMaxImagePixels
}
