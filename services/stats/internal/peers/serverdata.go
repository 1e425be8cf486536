package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/services/stats/internal/reports"
)

// ServerData reads what rebuilds and reports need of the server service's
// data through its internal API, with a service token: message counts for
// reports.RebuildSource, server names and kinds for reports.Servers.
type ServerData struct {
	Client serverv1.ServerInternalServiceClient
	Creds  credentials.PerRPCCredentials
}

var (
	_ reports.RebuildSource = (*ServerData)(nil)
	_ reports.Servers       = (*ServerData)(nil)
	_ reports.Storage       = (*ServerData)(nil)
)

// NewServerData returns a ServerData over a connection to the server service.
func NewServerData(conn grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *ServerData {
	return &ServerData{Client: serverv1.NewServerInternalServiceClient(conn), Creds: creds}
}

// Oldest implements reports.RebuildSource.
func (s *ServerData) Oldest(ctx context.Context) (time.Time, bool, error) {
	res, err := s.Client.GetMessageSpan(ctx, &serverv1.GetMessageSpanRequest{}, grpc.PerRPCCredentials(s.Creds))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("get message span: %w", err)
	}
	if res.GetOldestCreateTime() == nil {
		return time.Time{}, false, nil
	}
	return res.GetOldestCreateTime().AsTime(), true, nil
}

// Count implements reports.RebuildSource: one ExportMessageCounts stream.
func (s *ServerData) Count(ctx context.Context, from, to time.Time) ([]reports.Row, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.Client.ExportMessageCounts(ctx, &serverv1.ExportMessageCountsRequest{
		StartTime: timestamppb.New(from), EndTime: timestamppb.New(to),
	}, grpc.PerRPCCredentials(s.Creds))
	if err != nil {
		return nil, fmt.Errorf("export message counts: %w", err)
	}
	var rows []reports.Row
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("export message counts: %w", err)
		}
		for _, c := range res.GetCounts() {
			rows = append(rows, reports.Row{UserID: c.GetAuthorId(), ServerID: c.GetServerId(), N: c.GetCount()})
		}
	}
}

// StoredBytes implements reports.Storage: one GetStoredBytes call.
func (s *ServerData) StoredBytes(ctx context.Context, limit int) ([]reports.Count, int64, error) {
	res, err := s.Client.GetStoredBytes(ctx, &serverv1.GetStoredBytesRequest{Limit: int32(limit)}, grpc.PerRPCCredentials(s.Creds))
	if err != nil {
		return nil, 0, fmt.Errorf("get stored bytes: %w", err)
	}
	out := make([]reports.Count, len(res.GetServers()))
	for i, r := range res.GetServers() {
		out[i] = reports.Count{ID: r.GetServerId(), Count: r.GetBytes()}
	}
	return out, res.GetTotal(), nil
}

// serverID is the shape of the server service's ids; others name nothing.
var serverID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// Servers implements reports.Servers, 1,000 ids a call.
func (s *ServerData) Servers(ctx context.Context, ids []string) (map[string]reports.ServerInfo, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if serverID.MatchString(id) {
			valid = append(valid, id)
		}
	}
	out := make(map[string]reports.ServerInfo, len(valid))
	for len(valid) > 0 {
		k := min(len(valid), 1000)
		res, err := s.Client.BatchGetServers(ctx, &serverv1.BatchGetServersRequest{ServerIds: valid[:k]}, grpc.PerRPCCredentials(s.Creds))
		if err != nil {
			return nil, fmt.Errorf("batch get servers: %w", err)
		}
		for _, srv := range res.GetServers() {
			out[srv.GetId()] = reports.ServerInfo{Name: srv.GetName(), Kind: kindOf(srv.GetKind())}
		}
		valid = valid[k:]
	}
	return out, nil
}

func kindOf(k serverv1.ServerKind) string {
	if k == serverv1.ServerKind_SERVER_KIND_DM {
		return reports.KindDM
	}
	return "guild"
}
