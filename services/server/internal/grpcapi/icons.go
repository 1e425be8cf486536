package grpcapi

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// UploadServerIcon implements ServerService: the header, then the bytes
// read as one stream by the domain, which checks the role first.
func (a *GuildAPI) UploadServerIcon(stream grpc.ClientStreamingServer[serverv1.UploadServerIconRequest, serverv1.UploadServerIconResponse]) error {
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
	body := uploadBody(stream.Recv)
	srv, err := a.svc.SetIcon(ctx, p.UserID, h.GetServerId(), body)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&serverv1.UploadServerIconResponse{Server: roleServerProto(srv)})
}

// DeleteServerIcon implements ServerService.
func (a *GuildAPI) DeleteServerIcon(ctx context.Context, req *serverv1.DeleteServerIconRequest) (*serverv1.DeleteServerIconResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.RemoveIcon(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.DeleteServerIconResponse{Server: roleServerProto(srv)}, nil
}

// GetServerIcon implements ServerService.
func (a *GuildAPI) GetServerIcon(ctx context.Context, req *serverv1.GetServerIconRequest) (*serverv1.GetServerIconResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	ic, err := a.svc.ReadIcon(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.GetServerIconResponse{Icon: ic.Hash, ContentType: ic.ContentType, Data: ic.Data}, nil
}

// CreateServerIconUpload implements ServerService.
func (a *GuildAPI) CreateServerIconUpload(ctx context.Context, req *serverv1.CreateServerIconUploadRequest) (*serverv1.CreateServerIconUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.CreateIconUpload(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.CreateServerIconUploadResponse{UploadId: u.ID, BlobKey: u.BlobKey, MaxBytes: u.MaxBytes}, nil
}

// CompleteServerIconUpload implements ServerService.
func (a *GuildAPI) CompleteServerIconUpload(ctx context.Context, req *serverv1.CompleteServerIconUploadRequest) (*serverv1.CompleteServerIconUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := a.svc.CompleteIconUpload(ctx, p.UserID, req.GetServerId(), req.GetUploadId())
	if err != nil {
		return nil, err
	}
	return &serverv1.CompleteServerIconUploadResponse{Server: roleServerProto(srv)}, nil
}

// LocateServerIcon implements ServerService.
func (a *GuildAPI) LocateServerIcon(ctx context.Context, req *serverv1.LocateServerIconRequest) (*serverv1.LocateServerIconResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	hash, key, err := a.svc.LocateIcon(ctx, p.UserID, req.GetServerId())
	if err != nil {
		return nil, err
	}
	return &serverv1.LocateServerIconResponse{Icon: hash, BlobKey: key}, nil
}

// AnnounceProfile implements ServerInternalService.
func (a *GuildAPI) AnnounceProfile(ctx context.Context, req *serverv1.AnnounceProfileRequest) (*serverv1.AnnounceProfileResponse, error) {
	err := a.svc.AnnounceProfile(ctx, guild.UserInfo{
		ID: req.GetUserId(), Login: req.GetLogin(), DisplayName: req.GetDisplayName(), Avatar: req.GetAvatar(),
	})
	if err != nil {
		return nil, err
	}
	return &serverv1.AnnounceProfileResponse{}, nil
}
