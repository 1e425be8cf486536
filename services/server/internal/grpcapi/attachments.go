package grpcapi

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// readChunk is the size of the chunks ReadAttachment sends.
const readChunk = 256 << 10

// UploadAttachment implements ServerService: the header, then the bytes
// streamed into the domain's Upload as they arrive.
func (c *ChatAPI) UploadAttachment(stream grpc.ClientStreamingServer[serverv1.UploadAttachmentRequest, serverv1.UploadAttachmentResponse]) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errs.Invalid("header", "the first part must be the header")
		}
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return errs.Invalid("header", "the first part must be the header")
	}
	a, err := c.chat.Upload(ctx, chat.UploadInput{
		UserID: p.UserID, ChannelID: h.GetChannelId(), Name: h.GetName(), Body: uploadBody(stream.Recv),
	})
	if err != nil {
		return err
	}
	return stream.SendAndClose(&serverv1.UploadAttachmentResponse{Attachment: AttachmentProto(a)})
}

// uploadPart is a message of an upload stream: a header first, then chunks.
type uploadPart[H comparable] interface {
	GetHeader() H
	GetChunk() []byte
}

// uploadBody reads the chunks after an upload's header as one byte stream;
// a second header is refused.
func uploadBody[M uploadPart[H], H comparable](recv func() (M, error)) io.Reader {
	return grpcx.ChunkReader(func() ([]byte, error) {
		m, err := recv()
		if err != nil {
			return nil, err
		}
		var none H
		if m.GetHeader() != none {
			return nil, errs.Invalid("header", "only the first part may be the header")
		}
		return m.GetChunk(), nil
	})
}

// ReadAttachment implements ServerService: the attachment first, then the
// bytes in chunks.
func (c *ChatAPI) ReadAttachment(req *serverv1.ReadAttachmentRequest, stream grpc.ServerStreamingServer[serverv1.ReadAttachmentResponse]) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	f, err := c.chat.OpenFile(ctx, chat.FileInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), AttachmentID: req.GetAttachmentId(),
		Thumbnail: req.GetThumbnail(), Offset: req.GetOffset(), Length: req.GetLength(),
	})
	if err != nil {
		return err
	}
	defer f.Body.Close()
	if err := stream.Send(&serverv1.ReadAttachmentResponse{
		Attachment: AttachmentProto(f.Attachment), Size: f.Size, ContentType: f.ContentType,
	}); err != nil {
		return err
	}
	for {
		// A fresh buffer per message: a sent message must not change.
		buf := make([]byte, readChunk)
		n, err := io.ReadFull(f.Body, buf)
		if n > 0 {
			if serr := stream.Send(&serverv1.ReadAttachmentResponse{Chunk: buf[:n]}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// LocateAttachment implements ServerService: the checks of ReadAttachment,
// then where the bytes are instead of the bytes.
func (c *ChatAPI) LocateAttachment(ctx context.Context, req *serverv1.LocateAttachmentRequest) (*serverv1.LocateAttachmentResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := c.chat.LocateFile(ctx, chat.FileInput{
		UserID: p.UserID, ChannelID: req.GetChannelId(), AttachmentID: req.GetAttachmentId(), Thumbnail: req.GetThumbnail(),
	})
	if err != nil {
		return nil, err
	}
	return &serverv1.LocateAttachmentResponse{
		Attachment: AttachmentProto(loc.Attachment), ContentType: loc.ContentType, BlobKey: loc.Key,
	}, nil
}

// CreateUpload implements ServerService.
func (c *ChatAPI) CreateUpload(ctx context.Context, req *serverv1.CreateUploadRequest) (*serverv1.CreateUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := c.chat.CreateUpload(ctx, p.UserID, req.GetChannelId(), req.GetName())
	if err != nil {
		return nil, err
	}
	return &serverv1.CreateUploadResponse{AttachmentId: u.ID, BlobKey: u.BlobKey, MaxBytes: u.MaxBytes}, nil
}

// CompleteUpload implements ServerService.
func (c *ChatAPI) CompleteUpload(ctx context.Context, req *serverv1.CompleteUploadRequest) (*serverv1.CompleteUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	a, err := c.chat.CompleteUpload(ctx, p.UserID, req.GetChannelId(), req.GetAttachmentId())
	if err != nil {
		return nil, err
	}
	return &serverv1.CompleteUploadResponse{Attachment: AttachmentProto(a)}, nil
}
