package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/blobstore"
)

// Files: uploads and downloads of attachments. The server service checks
// every access and keeps the metadata; the bytes take one of two paths.
//
// With Options.Blobs (the blob store the server service uses, shared in the
// one-command run and through ACCORD_BLOB_URL otherwise) the gateway moves
// them itself: a download asks LocateAttachment for the blob key, then
// serves the object with http.ServeContent (ranges, ETag; sendfile for the
// folder driver); an upload asks CreateUpload for a key, streams the body
// into the store and calls CompleteUpload, which measures, sniffs and
// processes what was written. No byte crosses gRPC.
//
// Without it the bytes stream between the HTTP body and the server
// service's UploadAttachment and ReadAttachment gRPC streams in chunks of
// uploadChunk, and the gateway keeps no storage credentials. Either way the
// gateway never holds a whole file.

// Defaults of the file limits.
const (
	DefaultMaxUploadBytes = 25 << 20
	uploadChunk           = 256 << 10
	uploadTimeout         = 15 * time.Minute
)

type files struct {
	client serverv1.ServerServiceClient
	limit  int64
	log    *slog.Logger
	o      Options
	blobs  *blobstore.Store // nil: the bytes go through gRPC
}

// register adds the file routes, more specific than /v1/ (so the REST
// body limit does not apply to them).
func (f *files) register(h *http.ServeMux) {
	h.Handle("POST /v1/channels/{channel}/attachments", f.edge(http.HandlerFunc(f.upload)))
	h.Handle("GET /v1/channels/{channel}/attachments/{attachment}", f.edge(http.HandlerFunc(f.download)))
	h.Handle("GET /v1/channels/{channel}/attachments/{attachment}/thumbnail", f.edge(http.HandlerFunc(f.download)))
}

// edge applies the REST edge's hygiene (CORS, forwarded headers).
func (f *files) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(f.o.AllowedOrigins) > 0 && cors(f.o.AllowedOrigins, w, r) {
			return
		}
		if !f.o.TrustForwardedFor {
			r.Header.Del("X-Forwarded-For")
			r.Header.Del("X-Forwarded-Host")
			r.Header.Del("Forwarded")
		}
		next.ServeHTTP(w, r)
	})
}

// outgoing carries the caller's token to the service, as grpc-gateway does
// for the other routes.
func outgoing(r *http.Request) context.Context {
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return ctx
}

func grpcError(w http.ResponseWriter, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		err = status.Error(codes.DeadlineExceeded, "the request timed out")
	}
	s := status.Convert(err)
	b, retry := statusBody(s)
	if s.Code() == codes.Unknown && len(s.Details()) == 0 { // Unknown: never relay the text
		b.Message = "upstream error"
	}
	writeError(w, httpStatus(s.Code()), b, retry)
}

func badRequest(w http.ResponseWriter, field, msg string) {
	writeError(w, http.StatusBadRequest, ErrorBody{Code: "INVALID_ARGUMENT", Message: msg, Field: field, Reason: "MALFORMED_REQUEST", Details: []json.RawMessage{}}, 0)
}

// upload streams the request body (the file; its name in ?name=) into
// UploadAttachment. A body above the limit is refused with 413 as soon as
// it passes the limit, without reading the rest.
func (f *files) upload(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	name := r.URL.Query().Get("name")
	if name == "" {
		badRequest(w, "name", "name: the file name is required (?name=)")
		return
	}
	if r.ContentLength > f.limit {
		tooLarge(w, f.limit)
		return
	}
	if f.blobs != nil {
		f.uploadDirect(w, r, name)
		return
	}
	ctx, cancel := context.WithTimeout(outgoing(r), uploadTimeout)
	defer cancel()
	stream, err := f.client.UploadAttachment(ctx)
	if err != nil {
		grpcError(w, err)
		return
	}
	header := &serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Header{
		Header: &serverv1.UploadAttachmentHeader{ChannelId: r.PathValue("channel"), Name: name},
	}}
	if err := stream.Send(header); err != nil {
		_, err = stream.CloseAndRecv()
		grpcError(w, err)
		return
	}
	body := http.MaxBytesReader(w, r.Body, f.limit)
	for {
		// A fresh buffer per message: a sent message must not change.
		buf := make([]byte, uploadChunk)
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if err := stream.Send(&serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				// The service ended the call (refused the upload): its
				// status says why.
				_, err = stream.CloseAndRecv()
				grpcError(w, err)
				return
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			cancel() // abandons the upload: the service stores nothing
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				tooLarge(w, f.limit)
				return
			}
			badRequest(w, "body", "could not read the request body")
			return
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		grpcError(w, err)
		return
	}
	out, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// uploadDirect writes the body straight into the blob store under the key
// CreateUpload hands out, then has the service complete the upload.
func (f *files) uploadDirect(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := context.WithTimeout(outgoing(r), uploadTimeout)
	defer cancel()
	channel := r.PathValue("channel")
	u, err := f.client.CreateUpload(ctx, &serverv1.CreateUploadRequest{ChannelId: channel, Name: name})
	if err != nil {
		grpcError(w, err)
		return
	}
	// abandon has the service delete the pending upload now rather than
	// after the grace period: with no bytes stored, completing it fails
	// and removes it.
	abandon := func() {
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer acancel()
		_, _ = f.client.CompleteUpload(actx, &serverv1.CompleteUploadRequest{ChannelId: channel, AttachmentId: u.GetAttachmentId()})
	}
	limit := f.limit
	if m := u.GetMaxBytes(); m > 0 && m < limit {
		limit = m
	}
	if r.ContentLength > limit {
		abandon()
		tooLarge(w, limit)
		return
	}
	if !f.putBody(ctx, w, r, u.GetBlobKey(), limit, "the file") {
		abandon()
		return
	}
	res, err := f.client.CompleteUpload(ctx, &serverv1.CompleteUploadRequest{ChannelId: channel, AttachmentId: u.GetAttachmentId()})
	if err != nil {
		grpcError(w, err)
		return
	}
	out, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&serverv1.UploadAttachmentResponse{Attachment: res.GetAttachment()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// readErr remembers the error of its reader other than io.EOF, to tell a
// failed request body from a failed blob write.
// putBody streams the request body into the blob store under key, at
// most limit bytes. When the body is refused (413 past the limit, 400 when
// it cannot be read) or the write fails (503, naming what), it answers the
// request itself and returns false.
func (f *files) putBody(ctx context.Context, w http.ResponseWriter, r *http.Request, key string, limit int64, what string) bool {
	body := &readErr{r: http.MaxBytesReader(w, r.Body, limit)}
	if _, err := f.blobs.Put(ctx, key, "application/octet-stream", body); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(body.err, &mbe):
			tooLarge(w, limit)
		case body.err != nil:
			badRequest(w, "body", "could not read the request body")
		default:
			f.log.ErrorContext(r.Context(), "blob write failed", "err", err)
			grpcError(w, status.Error(codes.Unavailable, what+" could not be stored"))
		}
		return false
	}
	return true
}

type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// inline lists the types a browser may show in a page (img, video,
// audio); everything else is served as a download.
func inline(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm", "audio/mpeg", "audio/ogg", "audio/wave", "application/ogg":
		return true
	}
	return false
}

// download serves a file (or its thumbnail) with ranges: http.ServeContent
// over a reader that opens ReadAttachment at the offset each range needs.
func (f *files) download(w http.ResponseWriter, r *http.Request) {
	if f.blobs != nil {
		f.downloadDirect(w, r)
		return
	}
	req := &serverv1.ReadAttachmentRequest{
		ChannelId: r.PathValue("channel"), AttachmentId: r.PathValue("attachment"),
		Thumbnail: strings.HasSuffix(r.URL.Path, "/thumbnail"),
	}
	rs := &remoteFile{ctx: outgoing(r), client: f.client, req: req}
	defer rs.close()
	first, err := rs.open(0)
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	a := first.GetAttachment()
	rs.size = first.GetSize()
	fileHeaders(w, a, first.GetContentType())
	http.ServeContent(w, r, "", a.GetCreateTime().AsTime(), rs)
}

// fileHeaders sets the headers of a served file.
func fileHeaders(w http.ResponseWriter, a *serverv1.Attachment, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "private, max-age=3600")
	disp := "attachment"
	if inline(contentType) {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": a.GetName()}))
	// A document that somehow got here still runs nothing in this origin.
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}

// downloadDirect has the service check the caller and locate the bytes,
// then serves them from the blob store: ranges, If-None-Match and
// If-Range through http.ServeContent, and, for the folder driver, the
// file itself, which net/http copies to the connection with sendfile.
func (f *files) downloadDirect(w http.ResponseWriter, r *http.Request) {
	thumb := strings.HasSuffix(r.URL.Path, "/thumbnail")
	loc, err := f.client.LocateAttachment(outgoing(r), &serverv1.LocateAttachmentRequest{
		ChannelId: r.PathValue("channel"), AttachmentId: r.PathValue("attachment"), Thumbnail: thumb,
	})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		grpcError(w, err)
		return
	}
	c, err := f.blobs.OpenContent(r.Context(), loc.GetBlobKey())
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		if blobstore.IsNotFound(err) { // metadata without bytes: a delete under way
			grpcError(w, status.Error(codes.NotFound, "attachment not found"))
			return
		}
		f.log.ErrorContext(r.Context(), "blob open failed", "err", err)
		grpcError(w, status.Error(codes.Unavailable, "the file could not be read"))
		return
	}
	defer func() { _ = c.Close() }()
	a := loc.GetAttachment()
	fileHeaders(w, a, loc.GetContentType())
	// The bytes under an attachment id never change once it is complete.
	etag := `"` + a.GetId()
	if thumb {
		etag += "-thumb"
	}
	w.Header().Set("ETag", etag+`"`)
	http.ServeContent(w, r, "", a.GetCreateTime().AsTime(), c.Body)
}

// remoteFile is an io.ReadSeeker over ReadAttachment: a Seek only moves
// the position; the next Read opens a stream from there when the open one
// is elsewhere.
type remoteFile struct {
	ctx    context.Context
	client serverv1.ServerServiceClient
	req    *serverv1.ReadAttachmentRequest

	size   int64
	pos    int64
	at     int64 // position of the open stream
	stream serverv1.ServerService_ReadAttachmentClient
	cancel context.CancelFunc
	buf    []byte
}

func (f *remoteFile) open(offset int64) (*serverv1.ReadAttachmentResponse, error) {
	f.close()
	ctx, cancel := context.WithCancel(f.ctx)
	req := proto.Clone(f.req).(*serverv1.ReadAttachmentRequest)
	req.Offset = offset
	st, err := f.client.ReadAttachment(ctx, req)
	if err != nil {
		cancel()
		return nil, err
	}
	first, err := st.Recv()
	if err != nil {
		cancel()
		return nil, err
	}
	f.stream, f.cancel, f.at, f.buf = st, cancel, offset, nil
	return first, nil
}

func (f *remoteFile) close() {
	if f.cancel != nil {
		f.cancel()
		f.cancel, f.stream = nil, nil
	}
}

func (f *remoteFile) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if f.stream == nil || f.at != f.pos {
		if _, err := f.open(f.pos); err != nil {
			return 0, err
		}
	}
	for len(f.buf) == 0 {
		m, err := f.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF // shorter than its size
			}
			return 0, err
		}
		f.buf = m.GetChunk()
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	f.pos += int64(n)
	f.at += int64(n)
	return n, nil
}

func (f *remoteFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek before the start")
	}
	f.pos = offset
	return offset, nil
}
