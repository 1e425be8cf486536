// Package grpcapi serves the presence service over gRPC: it reads the
// caller from the request context, converts between the API's messages
// and the domain's types, and leaves every rule to package presence.
package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/services/presence/internal/presence"
)

// API implements presencev1.PresenceServiceServer.
type API struct {
	presencev1.UnimplementedPresenceServiceServer
	svc *presence.Service
}

// New returns an API over svc.
func New(svc *presence.Service) *API { return &API{svc: svc} }

// OpenSession implements presencev1.PresenceServiceServer.
func (a *API) OpenSession(ctx context.Context, req *presencev1.OpenSessionRequest) (*presencev1.OpenSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	s, err := a.svc.OpenSession(ctx, p.UserID, req.GetClient())
	if err != nil {
		return nil, err
	}
	return &presencev1.OpenSessionResponse{
		SessionId:         s.ID,
		HeartbeatInterval: durationpb.New(s.HeartbeatInterval),
		ExpireTime:        timestamppb.New(s.Expires),
	}, nil
}

// Heartbeat implements presencev1.PresenceServiceServer.
func (a *API) Heartbeat(ctx context.Context, req *presencev1.HeartbeatRequest) (*presencev1.HeartbeatResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	exp, err := a.svc.Heartbeat(ctx, p.UserID, req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &presencev1.HeartbeatResponse{ExpireTime: timestamppb.New(exp)}, nil
}

// CloseSession implements presencev1.PresenceServiceServer.
func (a *API) CloseSession(ctx context.Context, req *presencev1.CloseSessionRequest) (*presencev1.CloseSessionResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.svc.CloseSession(ctx, p.UserID, req.GetSessionId()); err != nil {
		return nil, err
	}
	return &presencev1.CloseSessionResponse{}, nil
}

// SetStatus implements presencev1.PresenceServiceServer.
func (a *API) SetStatus(ctx context.Context, req *presencev1.SetStatusRequest) (*presencev1.SetStatusResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	v, err := a.svc.SetStatus(ctx, p.UserID, statusOf(req.GetStatus()))
	if err != nil {
		return nil, err
	}
	return &presencev1.SetStatusResponse{Presence: toProto(v)}, nil
}

// BatchGetPresence implements presencev1.PresenceServiceServer.
func (a *API) BatchGetPresence(ctx context.Context, req *presencev1.BatchGetPresenceRequest) (*presencev1.BatchGetPresenceResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := a.svc.BatchGet(ctx, p.UserID, req.GetUserIds())
	if err != nil {
		return nil, err
	}
	return &presencev1.BatchGetPresenceResponse{Presences: toProtos(vs)}, nil
}

// WatchPresence implements presencev1.PresenceServiceServer.
func (a *API) WatchPresence(req *presencev1.WatchPresenceRequest, stream presencev1.PresenceService_WatchPresenceServer) error {
	ctx := stream.Context()
	p, err := auth.User(ctx)
	if err != nil {
		return err
	}
	return a.svc.Watch(ctx, p.UserID, req.GetUserIds(), func(snapshot bool, vs []presence.Presence) error {
		return stream.Send(&presencev1.WatchPresenceResponse{Snapshot: snapshot, Presences: toProtos(vs)})
	})
}

// statusOf converts an API status; the numbers are the same.
func statusOf(s presencev1.Status) presence.Status { return presence.Status(s) }

func toProto(v presence.Presence) *presencev1.Presence {
	p := &presencev1.Presence{UserId: v.UserID, Status: presencev1.Status(v.Status)}
	if !v.UpdateTime.IsZero() {
		p.UpdateTime = timestamppb.New(v.UpdateTime)
	}
	return p
}

func toProtos(vs []presence.Presence) []*presencev1.Presence {
	out := make([]*presencev1.Presence, len(vs))
	for i, v := range vs {
		out[i] = toProto(v)
	}
	return out
}
