package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/servertest"
)

// TestExportForStats: the internal API stats rebuilds from streams every
// (author, server) pair once, in batches, and refuses a backward range.
func TestExportForStats(t *testing.T) {
	env := platformtest.New(t)
	srv := servertest.Start(t, env)
	api := serverv1.NewServerInternalServiceClient(srv.Conn)
	creds := grpc.PerRPCCredentials(env.Deps("stats").ServiceCreds)
	ctx := context.Background()

	span, err := api.GetMessageSpan(ctx, &serverv1.GetMessageSpanRequest{}, creds)
	if err != nil || span.GetOldestCreateTime() != nil {
		t.Fatalf("span of nothing: %v, %v", span, err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	guild := srv.AddServer("", "General", "guild")
	// 1,500 authors with two messages each: two batches.
	const authors = 1500
	for i := range authors {
		for range 2 {
			srv.AddMessage("", fmt.Sprintf("author%04d", i), guild, servertest.NewID(), base.Add(time.Duration(i)*time.Second))
		}
	}
	span, err = api.GetMessageSpan(ctx, &serverv1.GetMessageSpanRequest{}, creds)
	if err != nil || !span.GetOldestCreateTime().AsTime().Equal(base) {
		t.Fatalf("span: %v, %v; want %v", span, err, base)
	}

	stream, err := api.ExportMessageCounts(ctx, &serverv1.ExportMessageCountsRequest{
		StartTime: timestamppb.New(base), EndTime: timestamppb.New(base.Add(time.Hour)),
	}, creds)
	if err != nil {
		t.Fatal(err)
	}
	seen, batches := map[string]int64{}, 0
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		batches++
		if n := len(res.GetCounts()); n == 0 || n > 1000 {
			t.Errorf("batch of %d counts", n)
		}
		for _, c := range res.GetCounts() {
			if c.GetServerId() != guild {
				t.Errorf("count of server %q", c.GetServerId())
			}
			if _, dup := seen[c.GetAuthorId()]; dup {
				t.Errorf("%s counted twice", c.GetAuthorId())
			}
			seen[c.GetAuthorId()] = c.GetCount()
		}
	}
	if len(seen) != authors || batches != 2 {
		t.Errorf("got %d authors in %d batches, want %d in 2", len(seen), batches, authors)
	}
	for a, n := range seen {
		if n != 2 {
			t.Errorf("%s: %d messages, want 2", a, n)
		}
	}

	t.Run("a range that does not move forward is refused", func(t *testing.T) {
		stream, err := api.ExportMessageCounts(ctx, &serverv1.ExportMessageCountsRequest{
			StartTime: timestamppb.New(base), EndTime: timestamppb.New(base),
		}, creds)
		if err == nil {
			_, err = stream.Recv()
		}
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "end_time" {
			t.Errorf("got %v, want INVALID_ARGUMENT naming end_time", err)
		}
	})
	t.Run("servers by id leave out unknown ones", func(t *testing.T) {
		res, err := api.BatchGetServers(ctx, &serverv1.BatchGetServersRequest{ServerIds: []string{guild, servertest.NewID()}}, creds)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetServers()) != 1 || res.GetServers()[0].GetName() != "General" || res.GetServers()[0].GetKind() != serverv1.ServerKind_SERVER_KIND_GUILD {
			t.Errorf("got %v", res.GetServers())
		}
	})
}
