package grpcapi

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/services/user/internal/account"
)

// UploadAvatar implements UserService: the chunks are read as one byte
// stream by the domain, which stops at the size limit.
func (a *API) UploadAvatar(stream grpc.ClientStreamingServer[userv1.UploadAvatarRequest, userv1.UploadAvatarResponse]) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	u, err := a.svc.SetAvatar(ctx, p.UserID, grpcx.ChunkReader(func() ([]byte, error) {
		m, err := stream.Recv()
		return m.GetChunk(), err
	}))
	if err != nil {
		return err
	}
	return stream.SendAndClose(&userv1.UploadAvatarResponse{User: UserProto(u)})
}

// DeleteAvatar implements UserService.
func (a *API) DeleteAvatar(ctx context.Context, _ *userv1.DeleteAvatarRequest) (*userv1.DeleteAvatarResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.RemoveAvatar(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return &userv1.DeleteAvatarResponse{User: UserProto(u)}, nil
}

// GetAvatar implements UserService.
func (a *API) GetAvatar(ctx context.Context, req *userv1.GetAvatarRequest) (*userv1.GetAvatarResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	av, err := a.svc.ReadAvatar(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &userv1.GetAvatarResponse{Avatar: av.Hash, ContentType: av.ContentType, Data: av.Data}, nil
}

// CreateAvatarUpload implements UserService.
func (a *API) CreateAvatarUpload(ctx context.Context, _ *userv1.CreateAvatarUploadRequest) (*userv1.CreateAvatarUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.CreateAvatarUpload(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return &userv1.CreateAvatarUploadResponse{UploadId: u.ID, BlobKey: u.BlobKey, MaxBytes: u.MaxBytes}, nil
}

// CompleteAvatarUpload implements UserService.
func (a *API) CompleteAvatarUpload(ctx context.Context, req *userv1.CompleteAvatarUploadRequest) (*userv1.CompleteAvatarUploadResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	u, err := a.svc.CompleteAvatarUpload(ctx, p.UserID, req.GetUploadId())
	if err != nil {
		return nil, err
	}
	return &userv1.CompleteAvatarUploadResponse{User: UserProto(u)}, nil
}

// LocateAvatar implements UserService.
func (a *API) LocateAvatar(ctx context.Context, req *userv1.LocateAvatarRequest) (*userv1.LocateAvatarResponse, error) {
	if err := reader(ctx); err != nil {
		return nil, err
	}
	hash, key, err := a.svc.LocateAvatar(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &userv1.LocateAvatarResponse{Avatar: hash, BlobKey: key}, nil
}

// announceTimeout bounds one AnnounceProfile call: a profile change waits
// for it, and the server service being down must not stall the change.
const announceTimeout = 5 * time.Second

// ServerProfiles is account.Profiles over the server service's internal
// AnnounceProfile, called with the service's own credentials.
type ServerProfiles struct {
	conn  grpc.ClientConnInterface
	creds credentials.PerRPCCredentials
}

// NewServerProfiles returns the announcer over a connection to the server
// service; nil when conn is nil (nobody is told).
func NewServerProfiles(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) account.Profiles {
	if conn == nil {
		return nil
	}
	return ServerProfiles{conn: conn, creds: creds}
}

// AnnounceProfile implements account.Profiles.
func (s ServerProfiles) AnnounceProfile(ctx context.Context, u account.User) error {
	ctx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	_, err := serverv1.NewServerInternalServiceClient(s.conn).AnnounceProfile(ctx, &serverv1.AnnounceProfileRequest{
		UserId: u.ID, Login: u.Login, DisplayName: u.DisplayName, Avatar: u.Avatar,
	}, grpc.PerRPCCredentials(s.creds))
	if err != nil {
		return errs.Unavailable("announce profile: %v", err)
	}
	return nil
}
