// Package grpcapi serves the search service over gRPC: it reads the caller
// from the request context and converts between the API's messages and the
// domain's types (package search, which holds every rule).
package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/services/search/internal/search"
)

// API implements searchv1.SearchServiceServer.
type API struct {
	searchv1.UnimplementedSearchServiceServer
	svc     *search.Service
	rebuild *search.Rebuilder
}

// New returns an API over svc and rebuild.
func New(svc *search.Service, rebuild *search.Rebuilder) *API {
	return &API{svc: svc, rebuild: rebuild}
}

// Reindex implements SearchService.
func (a *API) Reindex(ctx context.Context, _ *searchv1.ReindexRequest) (*searchv1.ReindexResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	n, err := a.rebuild.Reindex(ctx, p.Operator)
	if err != nil {
		return nil, err
	}
	return &searchv1.ReindexResponse{Messages: n, FinishTime: timestamppb.Now()}, nil
}

// SearchMessages implements SearchService.
func (a *API) SearchMessages(ctx context.Context, req *searchv1.SearchMessagesRequest) (*searchv1.SearchMessagesResponse, error) {
	p, err := auth.User(ctx)
	if err != nil {
		return nil, err
	}
	order := search.Newest
	if req.GetOrder() == searchv1.SearchOrder_SEARCH_ORDER_RELEVANCE {
		order = search.Relevance
	}
	page, err := a.svc.Search(ctx, search.Request{
		Caller: p.UserID, ServerID: req.GetServerId(), DirectMessages: req.GetDirectMessages(),
		Text: req.GetQuery(), Order: order, PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	out := &searchv1.SearchMessagesResponse{NextPageToken: page.NextToken, TotalSize: page.Total, TotalIsEstimate: page.TotalIsEstimate}
	for _, r := range page.Results {
		res := &searchv1.SearchResult{
			MessageId: r.ID, ServerId: r.ServerID, ChannelId: r.ChannelID, AuthorId: r.AuthorID,
			AuthorName: r.AuthorName, Content: r.Content, CreateTime: timestamppb.New(r.Created), Snippet: r.Snippet,
		}
		if !r.Edited.IsZero() {
			res.EditTime = timestamppb.New(r.Edited)
		}
		for _, h := range r.Highlights {
			res.Highlights = append(res.Highlights, &searchv1.Highlight{Start: int32(h.Start), End: int32(h.End)})
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}
