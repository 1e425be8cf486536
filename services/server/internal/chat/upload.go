package chat

import (
	"context"
	"io"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/media"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Uploads written by the gateway. Upload receives the bytes itself; for
// speed the gateway may instead write them straight into the blob store it
// shares with this service: CreateUpload checks the channel and records a
// pending upload (an Attachment whose ContentType is "") under a fresh
// random key, the gateway streams the body to that key, and CompleteUpload
// measures and sniffs what was written, processes images as Upload does
// and completes the record. A pending upload can be neither read nor sent,
// and one never completed is deleted with its bytes by the orphan sweeper
// after OrphanGrace, like any unsent upload.

// PendingUpload is where the gateway writes an upload's bytes.
type PendingUpload struct {
	ID       string
	BlobKey  string
	MaxBytes int64
}

// CreateUpload records a pending upload of the named file to a channel the
// user can read.
func (s *Service) CreateUpload(ctx context.Context, userID, channelID, name string) (PendingUpload, error) {
	if s.d.Blobs == nil || s.d.Attachments == nil {
		return PendingUpload{}, errs.Unavailable("uploads are not configured")
	}
	name, err := fileName(name)
	if err != nil {
		return PendingUpload{}, err
	}
	ch, _, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return PendingUpload{}, err
	}
	a := Attachment{
		ID: ids.New(), ServerID: ch.ServerID, ChannelID: channelID, UploaderID: userID,
		Name: name, BlobKey: newKey(), CreatedAt: now(),
	}
	if err := s.d.Attachments.CreateAttachment(ctx, a); err != nil {
		return PendingUpload{}, err
	}
	return PendingUpload{ID: a.ID, BlobKey: a.BlobKey, MaxBytes: s.cfg.maxUpload()}, nil
}

// CompleteUpload finishes the user's pending upload once its bytes are in
// the blob store. It trusts nothing the writer says: the size and the
// content type come from the stored bytes. When it refuses the file (too
// large, empty, an unreadable image) or finds no bytes, it deletes the
// pending upload and whatever it wrote.
func (s *Service) CompleteUpload(ctx context.Context, userID, channelID, id string) (Attachment, error) {
	if s.d.Blobs == nil || s.d.Attachments == nil {
		return Attachment{}, errs.Unavailable("uploads are not configured")
	}
	if _, _, err := s.d.Access.Channel(ctx, userID, channelID); err != nil {
		return Attachment{}, err
	}
	a, err := s.d.Attachments.Attachment(ctx, id)
	if isKind(err, errs.KindNotFound) || (err == nil && (a.ChannelID != channelID || a.UploaderID != userID || a.ContentType != "")) {
		return Attachment{}, errs.NotFound("upload not found")
	}
	if err != nil {
		return Attachment{}, err
	}
	done := a
	err = s.finish(ctx, &done)
	if err == nil {
		var ok bool
		if ok, err = s.d.Attachments.CompleteAttachment(ctx, done); err == nil && !ok {
			// Another call completed or deleted it meanwhile: keep what
			// that call left, drop only what this one made alone (a
			// cleaned copy under a new key, and its thumbnail).
			if done.BlobKey != a.BlobKey {
				s.deleteBlobs(ctx, done)
			}
			return Attachment{}, errs.NotFound("upload not found")
		}
	}
	if err != nil {
		made := Attachment{ThumbKey: done.ThumbKey}
		if done.BlobKey != a.BlobKey {
			made.BlobKey = done.BlobKey
		}
		s.deleteBlobs(ctx, made)
		if derr := s.deleteAttachment(ctx, a); derr != nil {
			s.d.Log.WarnContext(ctx, "deleting a refused upload failed", "err", derr, "attachment", a.ID)
		}
		return Attachment{}, err
	}
	return done, nil
}

// finish fills in a pending upload from its stored bytes: size, sniffed
// content type and, for images, what Upload adds.
func (s *Service) finish(ctx context.Context, a *Attachment) error {
	r, err := s.d.Blobs.Open(ctx, a.BlobKey, 0, media.SniffLen)
	if err != nil {
		if isKind(err, errs.KindNotFound) {
			return errs.NotFound("upload not found")
		}
		return err
	}
	head, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil {
		return err
	}
	if len(head) == 0 {
		return errs.Invalid("file", "must not be empty")
	}
	size, err := s.blobSize(ctx, a.BlobKey)
	if err != nil {
		return err
	}
	if limit := s.cfg.maxUpload(); size > limit {
		return errs.Invalid("file", "must be at most %d bytes", limit).WithReason("FILE_TOO_LARGE")
	}
	a.ContentType, a.Size = media.Sniff(head), size
	if media.IsImage(a.ContentType) {
		return s.image(ctx, a)
	}
	return nil
}

// blobSize returns the size of the object: from the store's attributes
// when it tells them, otherwise by reading it.
func (s *Service) blobSize(ctx context.Context, key string) (int64, error) {
	if sz, ok := s.d.Blobs.(interface {
		Size(ctx context.Context, key string) (int64, error)
	}); ok {
		return sz.Size(ctx, key)
	}
	r, err := s.d.Blobs.Open(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer func() { _ = r.Close() }()
	return io.Copy(io.Discard, r)
}
