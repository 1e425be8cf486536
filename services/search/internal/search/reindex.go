package search

import (
	"context"
	"errors"
	"sync"

	"github.com/accordchat/accord/platform/errs"
)

// ErrReplaced is what an index in service returns from Apply once after
// Reindex put a new index in place: the log consumer then places itself at
// the new index's position and reads on from there.
var ErrReplaced = errors.New("the search index was replaced")

// Records reads the messages of record (the server service).
type Records interface {
	// Messages calls fn with every stored message, a batch at a time.
	Messages(ctx context.Context, fn func([]Doc) error) error
}

// Indexes makes a new index beside the one in service and puts it in
// service.
type Indexes interface {
	// New returns an empty index, not in service.
	New(ctx context.Context) (Index, error)
	// Replace puts x (from New) in service in place of the index in
	// service, which is then closed and removed. Apply on the index in
	// service returns ErrReplaced once afterwards.
	Replace(ctx context.Context, x Index) error
	// Discard closes and removes x (from New), never put in service.
	Discard(x Index)
}

// Rebuilder rebuilds the index from the messages of record.
type Rebuilder struct {
	records Records
	indexes Indexes
	live    Index
	running sync.Mutex
}

// NewRebuilder returns a Rebuilder of the index in service live.
func NewRebuilder(records Records, indexes Indexes, live Index) *Rebuilder {
	return &Rebuilder{records: records, indexes: indexes, live: live}
}

// Reindex builds a new index from the messages of record, then puts it in
// service; the index in service answers queries meanwhile. The new index
// records the log position the old one stood at when the rebuild began, so
// the log consumer replays everything since (creations and edits replace,
// deletions delete: the replay converges on the log's state). It returns
// how many messages were read. Operators only; one rebuild at a time.
func (r *Rebuilder) Reindex(ctx context.Context, operator bool) (int64, error) {
	if !operator {
		return 0, errs.PermissionDenied("reindexing is for operators")
	}
	if !r.running.TryLock() {
		return 0, errs.FailedPrecondition("a reindex is already running")
	}
	defer r.running.Unlock()
	// A caller that goes away does not leave half a rebuild behind.
	ctx = context.WithoutCancel(ctx)
	pos, err := r.live.Position(ctx)
	if err != nil {
		return 0, err
	}
	fresh, err := r.indexes.New(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = r.records.Messages(ctx, func(docs []Doc) error {
		changes := make([]Change, 0, len(docs))
		for _, d := range docs {
			changes = append(changes, Change{ID: d.ID, Doc: NewDoc(d)})
		}
		n += int64(len(docs))
		return fresh.Apply(ctx, changes, "")
	})
	if err == nil {
		err = fresh.Apply(ctx, nil, pos)
	}
	if err == nil {
		err = r.indexes.Replace(ctx, fresh)
	}
	if err != nil {
		r.indexes.Discard(fresh)
		return 0, err
	}
	return n, nil
}
