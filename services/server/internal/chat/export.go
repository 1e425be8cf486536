package chat

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// OldestMessageTime is the creation time of the oldest stored message;
// false when there is none. The stats service rebuilds its counters from
// here on.
func (s *Service) OldestMessageTime(ctx context.Context) (time.Time, bool, error) {
	return s.d.Messages.OldestMessageTime(ctx)
}

// CountMessages calls fn with how many messages each author created in each
// server in [from, to), one call per pair, and stops at fn's first error.
// Counts of messages without an author or a server are left out: the live
// activity stream cannot count them either.
func (s *Service) CountMessages(ctx context.Context, from, to time.Time, fn func(MessageCount) error) error {
	if !to.After(from) {
		return errs.Invalid("end_time", "must be after start_time")
	}
	return s.d.Messages.CountMessages(ctx, from, to, func(c MessageCount) error {
		if c.AuthorID == "" || c.ServerID == "" {
			return nil
		}
		return fn(c)
	})
}

// exportBatch is the most messages ExportMessages reads and renders at once.
const exportBatch = 500

// ExportMessages calls fn with every stored message with an id greater
// than after ("" all), rendered with its author's name, in ascending id
// order, a batch at a time, and stops at fn's first error. The search
// service rebuilds its index from it.
func (s *Service) ExportMessages(ctx context.Context, after string, fn func([]View) error) error {
	for {
		ms, err := s.d.Messages.ScanMessages(ctx, after, exportBatch)
		if err != nil || len(ms) == 0 {
			return err
		}
		vs, err := s.views(ctx, ms)
		if err != nil {
			return err
		}
		if err := fn(vs); err != nil {
			return err
		}
		if len(ms) < exportBatch {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}

// ServerBytes is the bytes of attachments one server stores.
type ServerBytes struct {
	ServerID string
	Bytes    int64
}

// StoredBytes returns the limit servers storing the most bytes of
// attachments, largest first (ties by server id), and the bytes all servers
// store together. The stats service reports it to operators.
func (s *Service) StoredBytes(ctx context.Context, limit int) ([]ServerBytes, int64, error) {
	var all []ServerBytes
	var total int64
	err := s.d.Attachments.BytesByServer(ctx, func(id string, n int64) error {
		all = append(all, ServerBytes{ServerID: id, Bytes: n})
		total += n
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(all, func(a, b ServerBytes) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return cmp.Compare(a.ServerID, b.ServerID)
	})
	return all[:min(limit, len(all))], total, nil
}
