package account

import (
	"bytes"
	"context"
	"io"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/media"
)

// Avatars: a user's picture, a square of at most media.PictureSize pixels
// a side kept in the blob store under avatarKey(user, hash). The user
// record holds the hash, so that a new picture gets a new URL and clients
// may cache each one for good.

// Blobs keeps the bytes of avatars (platform/blobstore implements it).
type Blobs interface {
	// Put streams r into key and returns the bytes written.
	Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error)
	// Open reads length bytes from offset (length < 0: to the end).
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Profiles tells the services that show users (the server service's member
// lists) that a profile changed.
type Profiles interface {
	AnnounceProfile(ctx context.Context, u User) error
}

// avatarKey is where the avatar with hash of userID is kept.
func avatarKey(userID, hash string) string { return "avatars/" + userID + "/" + hash }

// avatarUploadKey is where the gateway writes the upload id of userID.
func avatarUploadKey(userID, id string) string { return "avatars/" + userID + "/upload-" + id }

// Avatar is a stored avatar picture.
type Avatar struct {
	Hash        string
	ContentType string
	Data        []byte
}

// SetAvatar stores body (an image of at most media.MaxPictureBytes) as the
// user's avatar, squared and without metadata, and tells the user's other
// clients and everyone who shares a server with them.
func (s *Service) SetAvatar(ctx context.Context, userID string, body io.Reader) (User, error) {
	if s.d.Blobs == nil {
		return User{}, errs.Unavailable("avatars are not configured")
	}
	old, err := s.d.Users.UserByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	pic, err := media.Square(body, "avatar", media.MaxPictureBytes, media.PictureSize)
	if err != nil {
		return User{}, err
	}
	if _, err := s.d.Blobs.Put(ctx, avatarKey(userID, pic.Hash), pic.ContentType, bytes.NewReader(pic.Data)); err != nil {
		return User{}, err
	}
	u, err := s.d.Users.SetAvatar(ctx, userID, pic.Hash)
	if err != nil {
		return User{}, err
	}
	s.dropAvatar(ctx, userID, old.Avatar, pic.Hash)
	s.publishUser(ctx, u)
	return u, nil
}

// RemoveAvatar clears the user's avatar.
func (s *Service) RemoveAvatar(ctx context.Context, userID string) (User, error) {
	old, err := s.d.Users.UserByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if old.Avatar == "" {
		return old, nil
	}
	u, err := s.d.Users.SetAvatar(ctx, userID, "")
	if err != nil {
		return User{}, err
	}
	s.dropAvatar(ctx, userID, old.Avatar, "")
	s.publishUser(ctx, u)
	return u, nil
}

// dropAvatar deletes the bytes of a replaced avatar; a failure is logged
// (the key is unreachable once the record moved on).
func (s *Service) dropAvatar(ctx context.Context, userID, old, current string) {
	if old == "" || old == current || s.d.Blobs == nil {
		return
	}
	if err := s.d.Blobs.Delete(context.WithoutCancel(ctx), avatarKey(userID, old)); err != nil {
		s.d.Log.WarnContext(ctx, "avatar delete failed", "user", userID, "err", err)
	}
}

// PictureUpload is where the gateway writes the bytes of a picture.
type PictureUpload struct {
	ID       string
	BlobKey  string
	MaxBytes int64
}

// CreateAvatarUpload hands out a fresh key for the gateway to write an
// avatar of the user under (then CompleteAvatarUpload).
func (s *Service) CreateAvatarUpload(ctx context.Context, userID string) (PictureUpload, error) {
	if s.d.Blobs == nil {
		return PictureUpload{}, errs.Unavailable("avatars are not configured")
	}
	if _, err := s.d.Users.UserByID(ctx, userID); err != nil {
		return PictureUpload{}, err
	}
	id := media.NewUploadID()
	return PictureUpload{ID: id, BlobKey: avatarUploadKey(userID, id), MaxBytes: media.MaxPictureBytes}, nil
}

// CompleteAvatarUpload makes the picture written under the user's upload
// id their avatar, read back and checked as SetAvatar checks a body. The
// written bytes are deleted whatever the outcome; NotFound when there are
// none.
func (s *Service) CompleteAvatarUpload(ctx context.Context, userID, id string) (User, error) {
	if !media.ValidUploadID(id) {
		return User{}, errs.Invalid("upload_id", "must be 32 hex digits")
	}
	if s.d.Blobs == nil {
		return User{}, errs.Unavailable("avatars are not configured")
	}
	key := avatarUploadKey(userID, id)
	r, err := s.d.Blobs.Open(ctx, key, 0, -1)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
			return User{}, errs.NotFound("upload not found")
		}
		return User{}, err
	}
	defer func() {
		_ = r.Close()
		if err := s.d.Blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.d.Log.WarnContext(ctx, "avatar upload delete failed", "user", userID, "err", err)
		}
	}()
	return s.SetAvatar(ctx, userID, r)
}

// LocateAvatar returns a user's avatar version and the key of its bytes,
// with the checks of ReadAvatar; NotFound when they have none.
func (s *Service) LocateAvatar(ctx context.Context, userID string) (hash, key string, err error) {
	u, err := s.d.Users.UserByID(ctx, userID)
	if err != nil {
		return "", "", err
	}
	if u.Avatar == "" || s.d.Blobs == nil {
		return "", "", errs.NotFound("no avatar")
	}
	return u.Avatar, avatarKey(userID, u.Avatar), nil
}

// ReadAvatar returns a user's avatar picture; NotFound when they have none.
// Any signed-in user may read any avatar, as any profile.
func (s *Service) ReadAvatar(ctx context.Context, userID string) (Avatar, error) {
	u, err := s.d.Users.UserByID(ctx, userID)
	if err != nil {
		return Avatar{}, err
	}
	if u.Avatar == "" || s.d.Blobs == nil {
		return Avatar{}, errs.NotFound("no avatar")
	}
	r, err := s.d.Blobs.Open(ctx, avatarKey(userID, u.Avatar), 0, -1)
	if err != nil {
		return Avatar{}, err
	}
	defer r.Close()
	// Stored pictures are small (media.PictureSize a side); never trust
	// the store to bound them though.
	data, err := io.ReadAll(io.LimitReader(r, media.MaxPictureBytes))
	if err != nil {
		return Avatar{}, err
	}
	return Avatar{Hash: u.Avatar, ContentType: media.Sniff(data[:min(len(data), media.SniffLen)]), Data: data}, nil
}
