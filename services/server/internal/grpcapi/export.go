package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// exportBatch is the most counts ExportMessageCounts sends in one response.
const exportBatch = 1000

// GetMessageSpan implements ServerInternalService.
func (c *ChatAPI) GetMessageSpan(ctx context.Context, _ *serverv1.GetMessageSpanRequest) (*serverv1.GetMessageSpanResponse, error) {
	oldest, ok, err := c.chat.OldestMessageTime(ctx)
	if err != nil || !ok {
		return &serverv1.GetMessageSpanResponse{}, err
	}
	return &serverv1.GetMessageSpanResponse{OldestCreateTime: timestamppb.New(oldest)}, nil
}

// ExportMessageCounts implements ServerInternalService: the counts go out
// in batches as the store reads them.
func (c *ChatAPI) ExportMessageCounts(req *serverv1.ExportMessageCountsRequest, stream grpc.ServerStreamingServer[serverv1.ExportMessageCountsResponse]) error {
	res := &serverv1.ExportMessageCountsResponse{}
	flush := func() error {
		if len(res.Counts) == 0 {
			return nil
		}
		if err := stream.Send(res); err != nil {
			return err
		}
		res = &serverv1.ExportMessageCountsResponse{}
		return nil
	}
	err := c.chat.CountMessages(stream.Context(), req.GetStartTime().AsTime(), req.GetEndTime().AsTime(), func(m chat.MessageCount) error {
		res.Counts = append(res.Counts, &serverv1.MessageCount{AuthorId: m.AuthorID, ServerId: m.ServerID, Count: m.N})
		if len(res.Counts) < exportBatch {
			return nil
		}
		return flush()
	})
	if err != nil {
		return err
	}
	return flush()
}

// GetStoredBytes implements ServerInternalService.
func (c *ChatAPI) GetStoredBytes(ctx context.Context, req *serverv1.GetStoredBytesRequest) (*serverv1.GetStoredBytesResponse, error) {
	limit := int(req.GetLimit())
	if limit == 0 {
		limit = 10
	}
	rows, total, err := c.chat.StoredBytes(ctx, limit)
	if err != nil {
		return nil, err
	}
	res := &serverv1.GetStoredBytesResponse{Servers: make([]*serverv1.ServerBytes, len(rows)), Total: total}
	for i, r := range rows {
		res.Servers[i] = &serverv1.ServerBytes{ServerId: r.ServerID, Bytes: r.Bytes}
	}
	return res, nil
}

// ExportMessages implements ServerInternalService: every stored message
// after req.after_id, with its author's name, in batches as the store reads
// them.
func (c *ChatAPI) ExportMessages(req *serverv1.ExportMessagesRequest, stream grpc.ServerStreamingServer[serverv1.ExportMessagesResponse]) error {
	return c.chat.ExportMessages(stream.Context(), req.GetAfterId(), func(vs []chat.View) error {
		res := &serverv1.ExportMessagesResponse{Messages: make([]*serverv1.Message, 0, len(vs))}
		for _, v := range vs {
			res.Messages = append(res.Messages, MessageProto(v))
		}
		return stream.Send(res)
	})
}
