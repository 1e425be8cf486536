package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/media"
)

// Pictures: user avatars and server icons. An upload streams the request
// body to the owning service (the user service for avatars, the server
// service for icons) in chunks, as attachments do, and is refused with 413
// as soon as it passes media.MaxPictureBytes. A download is one small
// square picture; its URL may carry ?v=<hash> (User.avatar, Server.icon),
// and such a URL is cached for good, since a new picture gets a new hash.
// Removing one is DELETE on the same path, a JSON route of the REST mux.
//
// With the blob store (Options.Blobs) the bytes take the gateway's direct
// path, as attachments do: an upload asks the owning service for a fresh
// key (CreateAvatarUpload, CreateServerIconUpload, which check the caller
// first), streams the body into the store under it and has the service
// complete it (CompleteAvatarUpload, CompleteServerIconUpload: the service
// reads the bytes back, sniffs, checks, squares and stores the picture as
// the streaming RPCs do, and deletes what was written); a download asks
// LocateAvatar or LocateServerIcon (the access check) for the key and
// serves the object itself with http.ServeContent. No byte crosses gRPC.

type pictures struct {
	users   userv1.UserServiceClient
	servers serverv1.ServerServiceClient
	limit   int64
	f       *files
}

func (p *pictures) register(h *http.ServeMux) {
	h.Handle("PUT /v1/me/avatar", p.f.edge(http.HandlerFunc(p.putAvatar)))
	h.Handle("GET /v1/users/{user}/avatar", p.f.edge(http.HandlerFunc(p.getAvatar)))
	h.Handle("PUT /v1/servers/{server}/icon", p.f.edge(http.HandlerFunc(p.putIcon)))
	h.Handle("GET /v1/servers/{server}/icon", p.f.edge(http.HandlerFunc(p.getIcon)))
}

// stream sends the request body in chunks through send; it answers the
// request itself (and returns false) when the body is too large or
// unreadable, or when send fails (then close's status says why).
func (p *pictures) stream(w http.ResponseWriter, r *http.Request, cancel context.CancelFunc, send func([]byte) error, closeErr func() error) bool {
	body := http.MaxBytesReader(w, r.Body, p.limit)
	for {
		buf := make([]byte, uploadChunk) // a sent message must not change
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if err := send(buf[:n]); err != nil {
				grpcError(w, closeErr())
				return false
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return true
		}
		if rerr != nil {
			cancel() // abandons the upload: the service stores nothing
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				tooLarge(w, p.limit)
				return false
			}
			badRequest(w, "body", "could not read the request body")
			return false
		}
	}
}

func (p *pictures) putAvatar(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.ContentLength > p.limit {
		tooLarge(w, p.limit)
		return
	}
	ctx, cancel := context.WithTimeout(outgoing(r), uploadTimeout)
	defer cancel()
	if p.f.blobs != nil {
		u, err := p.users.CreateAvatarUpload(ctx, &userv1.CreateAvatarUploadRequest{})
		if err != nil {
			grpcError(w, err)
			return
		}
		if !p.put(ctx, w, r, u.GetBlobKey(), u.GetMaxBytes()) {
			return
		}
		res, err := p.users.CompleteAvatarUpload(ctx, &userv1.CompleteAvatarUploadRequest{UploadId: u.GetUploadId()})
		if err != nil {
			grpcError(w, err)
			return
		}
		writeProto(w, &userv1.UploadAvatarResponse{User: res.GetUser()})
		return
	}
	st, err := p.users.UploadAvatar(ctx)
	if err != nil {
		grpcError(w, err)
		return
	}
	closeErr := func() error { _, err := st.CloseAndRecv(); return err }
	send := func(b []byte) error { return st.Send(&userv1.UploadAvatarRequest{Chunk: b}) }
	if !p.stream(w, r, cancel, send, closeErr) {
		return
	}
	res, err := st.CloseAndRecv()
	if err != nil {
		grpcError(w, err)
		return
	}
	writeProto(w, res)
}

func (p *pictures) putIcon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.ContentLength > p.limit {
		tooLarge(w, p.limit)
		return
	}
	ctx, cancel := context.WithTimeout(outgoing(r), uploadTimeout)
	defer cancel()
	if p.f.blobs != nil {
		server := r.PathValue("server")
		u, err := p.servers.CreateServerIconUpload(ctx, &serverv1.CreateServerIconUploadRequest{ServerId: server})
		if err != nil {
			grpcError(w, err)
			return
		}
		if !p.put(ctx, w, r, u.GetBlobKey(), u.GetMaxBytes()) {
			return
		}
		res, err := p.servers.CompleteServerIconUpload(ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: server, UploadId: u.GetUploadId()})
		if err != nil {
			grpcError(w, err)
			return
		}
		writeProto(w, &serverv1.UploadServerIconResponse{Server: res.GetServer()})
		return
	}
	st, err := p.servers.UploadServerIcon(ctx)
	if err != nil {
		grpcError(w, err)
		return
	}
	closeErr := func() error { _, err := st.CloseAndRecv(); return err }
	header := &serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Header{
		Header: &serverv1.UploadServerIconHeader{ServerId: r.PathValue("server")},
	}}
	if err := st.Send(header); err != nil {
		grpcError(w, closeErr())
		return
	}
	send := func(b []byte) error {
		return st.Send(&serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Chunk{Chunk: b}})
	}
	if !p.stream(w, r, cancel, send, closeErr) {
		return
	}
	res, err := st.CloseAndRecv()
	if err != nil {
		grpcError(w, err)
		return
	}
	writeProto(w, res)
}

// put streams the request body into the blob store under key, refusing
// it with 413 as soon as it passes the limit (the smaller of the
// gateway's and max). It answers the request itself, and returns false,
// when the body is refused or the write fails; a failed write leaves
// nothing under key.
func (p *pictures) put(ctx context.Context, w http.ResponseWriter, r *http.Request, key string, max int64) bool {
	limit := p.limit
	if max > 0 && max < limit {
		limit = max
	}
	if r.ContentLength > limit {
		tooLarge(w, limit)
		return false
	}
	return p.f.putBody(ctx, w, r, key, limit, "the picture")
}

func writeProto(w http.ResponseWriter, m proto.Message) {
	out, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (p *pictures) getAvatar(w http.ResponseWriter, r *http.Request) {
	if p.f.blobs != nil {
		loc, err := p.users.LocateAvatar(outgoing(r), &userv1.LocateAvatarRequest{UserId: r.PathValue("user")})
		if err != nil {
			w.Header().Set("Cache-Control", "no-store")
			grpcError(w, err)
			return
		}
		p.serveBlob(w, r, "avatar", loc.GetAvatar(), loc.GetBlobKey())
		return
	}
	res, err := p.users.GetAvatar(outgoing(r), &userv1.GetAvatarRequest{UserId: r.PathValue("user")})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	servePicture(w, r, "avatar", res.GetAvatar(), res.GetContentType(), res.GetData())
}

func (p *pictures) getIcon(w http.ResponseWriter, r *http.Request) {
	if p.f.blobs != nil {
		loc, err := p.servers.LocateServerIcon(outgoing(r), &serverv1.LocateServerIconRequest{ServerId: r.PathValue("server")})
		if err != nil {
			w.Header().Set("Cache-Control", "no-store")
			grpcError(w, err)
			return
		}
		p.serveBlob(w, r, "icon", loc.GetIcon(), loc.GetBlobKey())
		return
	}
	res, err := p.servers.GetServerIcon(outgoing(r), &serverv1.GetServerIconRequest{ServerId: r.PathValue("server")})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	servePicture(w, r, "icon", res.GetIcon(), res.GetContentType(), res.GetData())
}

// serveBlob serves the picture with hash stored under key, as
// servePicture does. A request that already holds this version
// (If-None-Match) is answered 304 without opening the object; otherwise
// its media type is sniffed from its first bytes (the services store PNG
// or JPEG only).
func (p *pictures) serveBlob(w http.ResponseWriter, r *http.Request, name, hash, key string) {
	if r.Header.Get("Range") == "" && etagMatches(r.Header.Get("If-None-Match"), `"`+hash+`"`) {
		pictureHeaders(w, r, name, hash, "")
		w.Header().Del("Content-Type")
		w.Header().Del("Content-Disposition")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	c, err := p.f.blobs.OpenContent(r.Context(), key)
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		if blobstore.IsNotFound(err) { // a picture replaced meanwhile
			grpcError(w, status.Error(codes.NotFound, name+" not found"))
			return
		}
		p.f.log.ErrorContext(r.Context(), "blob open failed", "err", err)
		grpcError(w, status.Error(codes.Unavailable, "the picture could not be read"))
		return
	}
	defer func() { _ = c.Close() }()
	head := make([]byte, media.SniffLen)
	n, err := io.ReadFull(c.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, status.Error(codes.Unavailable, "the picture could not be read"))
		return
	}
	if _, err := c.Body.Seek(0, io.SeekStart); err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, status.Error(codes.Unavailable, "the picture could not be read"))
		return
	}
	pictureHeaders(w, r, name, hash, media.Sniff(head[:n]))
	http.ServeContent(w, r, "", time.Time{}, c.Body)
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as http.ServeContent makes it) or is "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// servePicture writes a picture with its hash as the ETag
// (http.ServeContent answers a matching If-None-Match with 304). A URL
// naming the current hash (?v=) never changes, so it is cached for a year;
// any other is revalidated each time.
func servePicture(w http.ResponseWriter, r *http.Request, name, hash, contentType string, data []byte) {
	pictureHeaders(w, r, name, hash, contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// pictureHeaders sets the headers of a served picture.
func pictureHeaders(w http.ResponseWriter, r *http.Request, name, hash, contentType string) {
	h := w.Header()
	h.Set("ETag", `"`+hash+`"`)
	if v := r.URL.Query().Get("v"); v != "" && v == hash {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	// The services store PNG or JPEG only; anything else is not shown inline.
	disp, ext := "attachment", ""
	switch contentType {
	case "image/png":
		disp, ext = "inline", ".png"
	case "image/jpeg":
		disp, ext = "inline", ".jpg"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name + ext}))
	// A document that somehow got here still runs nothing in this origin.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}
