package guild

import (
	"bytes"
	"context"
	"io"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/media"
)

// Server icons: a square of at most media.PictureSize pixels a side kept in
// the blob store under iconKey(server, hash). The server record holds the
// hash, so that a new icon gets a new URL and clients may cache each one
// for good. Setting or removing one takes the role UpdateServer takes.

// Blobs keeps the bytes of icons (platform/blobstore implements it).
type Blobs interface {
	// Put streams r into key and returns the bytes written.
	Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error)
	// Open reads length bytes from offset (length < 0: to the end).
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// WithBlobs sets where icons are kept and returns s; without it icons are
// unavailable.
func (s *Service) WithBlobs(b Blobs) *Service {
	s.blobs = b
	return s
}

func iconKey(serverID, hash string) string { return "icons/" + serverID + "/" + hash }

// iconUploadKey is where the gateway writes the icon upload id of serverID.
func iconUploadKey(serverID, id string) string { return "icons/" + serverID + "/upload-" + id }

// IconUpload is where the gateway writes the bytes of an icon.
type IconUpload struct {
	ID       string
	BlobKey  string
	MaxBytes int64
}

// Icon is a stored icon picture.
type Icon struct {
	Hash        string
	ContentType string
	Data        []byte
}

// SetIcon stores body (an image of at most media.MaxPictureBytes) as the
// server's icon, squared and without metadata, and tells the members.
// The role is checked before any byte is read.
func (s *Service) SetIcon(ctx context.Context, caller, serverID string, body io.Reader) (RoleServer, error) {
	if s.blobs == nil {
		return RoleServer{}, errs.Unavailable("server icons are not configured")
	}
	m, old, err := s.authorize(ctx, serverID, caller, RoleAdmin, true)
	if err != nil {
		return RoleServer{}, err
	}
	return s.storeIcon(ctx, m, old, body)
}

// CreateIconUpload checks the role as SetIcon does and hands out a fresh
// key for the gateway to write an icon of the server under (then
// CompleteIconUpload).
func (s *Service) CreateIconUpload(ctx context.Context, caller, serverID string) (IconUpload, error) {
	if s.blobs == nil {
		return IconUpload{}, errs.Unavailable("server icons are not configured")
	}
	if _, _, err := s.authorize(ctx, serverID, caller, RoleAdmin, true); err != nil {
		return IconUpload{}, err
	}
	id := media.NewUploadID()
	return IconUpload{ID: id, BlobKey: iconUploadKey(serverID, id), MaxBytes: media.MaxPictureBytes}, nil
}

// CompleteIconUpload checks the role again and makes the picture written
// under the upload id the server's icon, read back and checked as SetIcon
// checks a body. The written bytes are deleted whatever the outcome;
// NotFound when there are none.
func (s *Service) CompleteIconUpload(ctx context.Context, caller, serverID, id string) (RoleServer, error) {
	if !media.ValidUploadID(id) {
		return RoleServer{}, errs.Invalid("upload_id", "must be 32 hex digits")
	}
	if s.blobs == nil {
		return RoleServer{}, errs.Unavailable("server icons are not configured")
	}
	m, old, err := s.authorize(ctx, serverID, caller, RoleAdmin, true)
	if err != nil {
		return RoleServer{}, err
	}
	key := iconUploadKey(old.ID, id)
	r, err := s.blobs.Open(ctx, key, 0, -1)
	if err != nil {
		if errorsIsNotFound(err) {
			return RoleServer{}, errs.NotFound("upload not found")
		}
		return RoleServer{}, err
	}
	defer func() {
		_ = r.Close()
		if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.log.WarnContext(ctx, "icon upload delete failed", "server", old.ID, "err", err)
		}
	}()
	return s.storeIcon(ctx, m, old, r)
}

// LocateIcon returns a server's icon version and the key of its bytes,
// with the checks of ReadIcon.
func (s *Service) LocateIcon(ctx context.Context, caller, serverID string) (hash, key string, err error) {
	_, srv, err := s.membership(ctx, serverID, caller)
	if err != nil {
		return "", "", err
	}
	if srv.Icon == "" || s.blobs == nil {
		return "", "", errs.NotFound("no icon")
	}
	return srv.Icon, iconKey(srv.ID, srv.Icon), nil
}

// storeIcon checks and processes body and makes it the server's icon.
func (s *Service) storeIcon(ctx context.Context, m Member, old Server, body io.Reader) (RoleServer, error) {
	serverID := old.ID
	pic, err := media.Square(body, "icon", media.MaxPictureBytes, media.PictureSize)
	if err != nil {
		return RoleServer{}, err
	}
	if _, err := s.blobs.Put(ctx, iconKey(serverID, pic.Hash), pic.ContentType, bytes.NewReader(pic.Data)); err != nil {
		return RoleServer{}, err
	}
	return s.setIcon(ctx, m, old, pic.Hash)
}

// RemoveIcon clears the server's icon.
func (s *Service) RemoveIcon(ctx context.Context, caller, serverID string) (RoleServer, error) {
	m, old, err := s.authorize(ctx, serverID, caller, RoleAdmin, true)
	if err != nil {
		return RoleServer{}, err
	}
	if old.Icon == "" {
		return RoleServer{Server: old, MyRole: m.Role}, nil
	}
	return s.setIcon(ctx, m, old, "")
}

func (s *Service) setIcon(ctx context.Context, m Member, old Server, hash string) (RoleServer, error) {
	srv, err := s.store.SetServerIcon(ctx, old.ID, hash)
	if err != nil {
		if errorsIsNotFound(err) {
			return RoleServer{}, errServerNotFound()
		}
		return RoleServer{}, err
	}
	if old.Icon != "" && old.Icon != hash && s.blobs != nil {
		// The old key is unreachable once the record moved on; a failure
		// leaves bytes nobody reads, so it is logged only.
		if err := s.blobs.Delete(context.WithoutCancel(ctx), iconKey(old.ID, old.Icon)); err != nil {
			s.log.WarnContext(ctx, "icon delete failed", "server", old.ID, "err", err)
		}
	}
	s.publish(ctx, func(ctx context.Context) error { return s.events.ServerUpdated(ctx, srv) })
	return RoleServer{Server: srv, MyRole: m.Role}, nil
}

// ReadIcon returns the icon of a server the caller belongs to; NotFound
// for a non-member (as for a missing server) and when there is no icon.
func (s *Service) ReadIcon(ctx context.Context, caller, serverID string) (Icon, error) {
	_, srv, err := s.membership(ctx, serverID, caller)
	if err != nil {
		return Icon{}, err
	}
	if srv.Icon == "" || s.blobs == nil {
		return Icon{}, errs.NotFound("no icon")
	}
	r, err := s.blobs.Open(ctx, iconKey(srv.ID, srv.Icon), 0, -1)
	if err != nil {
		return Icon{}, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, media.MaxPictureBytes))
	if err != nil {
		return Icon{}, err
	}
	return Icon{Hash: srv.Icon, ContentType: media.Sniff(data[:min(len(data), media.SniffLen)]), Data: data}, nil
}

// AnnounceProfile tells every server and conversation the user belongs to
// their new profile (member_updated). Each membership is announced to its
// own server's stream, so only members of a shared server hear of it.
func (s *Service) AnnounceProfile(ctx context.Context, u UserInfo) error {
	after := ""
	for {
		ms, err := s.store.Memberships(ctx, u.ID, "", after, MaxServerPage)
		if err != nil {
			return err
		}
		for _, m := range ms {
			s.publish(ctx, func(ctx context.Context) error { return s.events.MemberUpdated(ctx, m, u) })
		}
		if len(ms) < MaxServerPage {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}
