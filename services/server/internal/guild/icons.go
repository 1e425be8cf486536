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
