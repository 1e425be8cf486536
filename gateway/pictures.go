package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
)

// Pictures: user avatars and server icons. An upload streams the request
// body to the owning service (the user service for avatars, the server
// service for icons) in chunks, as attachments do, and is refused with 413
// as soon as it passes media.MaxPictureBytes. A download is one small
// square picture; its URL may carry ?v=<hash> (User.avatar, Server.icon),
// and such a URL is cached for good, since a new picture gets a new hash.
// Removing one is DELETE on the same path, a JSON route of the REST mux.

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

func writeProto(w http.ResponseWriter, m proto.Message) {
	out, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (p *pictures) getAvatar(w http.ResponseWriter, r *http.Request) {
	res, err := p.users.GetAvatar(outgoing(r), &userv1.GetAvatarRequest{UserId: r.PathValue("user")})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	servePicture(w, r, "avatar", res.GetAvatar(), res.GetContentType(), res.GetData())
}

func (p *pictures) getIcon(w http.ResponseWriter, r *http.Request) {
	res, err := p.servers.GetServerIcon(outgoing(r), &serverv1.GetServerIconRequest{ServerId: r.PathValue("server")})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	servePicture(w, r, "icon", res.GetIcon(), res.GetContentType(), res.GetData())
}

// servePicture writes a picture with its hash as the ETag
// (http.ServeContent answers a matching If-None-Match with 304). A URL
// naming the current hash (?v=) never changes, so it is cached for a year;
// any other is revalidated each time.
func servePicture(w http.ResponseWriter, r *http.Request, name, hash, contentType string, data []byte) {
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
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
