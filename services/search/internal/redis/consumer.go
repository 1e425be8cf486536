// Package redis follows the server service's message log (a Redis Stream)
// into the search index.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/search/internal/search"
)

// MessageLog is the scope of the server service's message log (its
// chat.MessageLog): every message creation, edit and deletion, across all
// servers, as events.
const MessageLog = "messages"

// Consumer applies the message log to an index. Each replica of the search
// service keeps a full index of its own, so each reads the whole log with
// a consumer group of its own (Group), in order, with one consumer.
type Consumer struct {
	rdb    redis.UniversalClient
	log    *events.Log
	stream string
	index  search.Index
	logger *slog.Logger
	// Group is this replica's consumer group; it must stay the same
	// across restarts of the replica (it is kept beside the index).
	Group string
	// Block is how long one read waits for new entries.
	Block time.Duration
	// Batch is how many entries one read returns at most.
	Batch int64
	// Linger is how long Run waits after a batch smaller than Batch
	// before it reads again, so that under a steady trickle of messages
	// the index takes them in batches (each batch is a new segment for
	// the index to persist and merge; one per message made merging a
	// fifth of the all-in-one's CPU). It is the most a message waits
	// beyond its arrival to be searchable; 0 reads again at once.
	Linger time.Duration
	// MaxLinger is how long Run waits after a batch of many entries: the
	// wait grows by Linger for every lingerStep entries the batch held,
	// up to MaxLinger, so that under load the index takes hundreds of
	// messages per batch (indexing 100 messages a batch cost about 1.5x
	// the CPU per message of 400 a batch, mostly in merging segments)
	// while a lone message still waits only Linger.
	MaxLinger time.Duration

	ready   bool
	applied int64 // entries the last Step read
}

// NewConsumer returns a consumer of the message log in l, for the replica
// whose group is group.
func NewConsumer(rdb redis.UniversalClient, l *events.Log, index search.Index, logger *slog.Logger, group string) *Consumer {
	return &Consumer{
		rdb: rdb, log: l, stream: l.Key(MessageLog), index: index, logger: logger,
		Group: group, Block: time.Second, Batch: 500, Linger: 250 * time.Millisecond, MaxLinger: 750 * time.Millisecond,
	}
}

// Setup creates the group and places it where the index stands: after
// the last entry the index recorded applying, or at the start of the log
// for an empty index. The index's own record wins over the group's, so an
// index that lost its last batches in a crash reads them again, and one
// restored from an older copy catches up.
func (c *Consumer) Setup(ctx context.Context) error {
	pos, err := c.index.Position(ctx)
	if err != nil {
		return fmt.Errorf("read index position: %w", err)
	}
	if pos == "" {
		pos = "0"
	}
	err = c.rdb.XGroupCreateMkStream(ctx, c.stream, c.Group, pos).Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	if err := c.rdb.XGroupSetID(ctx, c.stream, c.Group, pos).Err(); err != nil {
		return fmt.Errorf("place consumer group: %w", err)
	}
	if first, err := c.rdb.XRangeN(ctx, c.stream, "-", "+", 1).Result(); err == nil && len(first) > 0 && pos != "0" && idLess(pos, first[0].ID) {
		c.logger.Warn("the message log was trimmed past the index's position; messages in between are missing until a rebuild",
			"position", pos, "first", first[0].ID)
	}
	c.ready = true
	return nil
}

// Run applies the log until ctx ends, retrying failures with backoff.
func (c *Consumer) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		var err error
		if !c.ready {
			err = c.Setup(ctx)
		}
		if err == nil {
			err = c.Step(ctx)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			if d := c.linger(c.applied); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			continue
		}
		c.ready = false
		if errors.Is(err, search.ErrReplaced) {
			// Reindex put a new index in place: read on from its position.
			c.logger.Info("search index replaced; resuming from its position")
			continue
		}
		c.logger.Warn("search consumer failed; retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// lingerStep is how many entries of a batch add Linger to the wait after
// it (up to MaxLinger).
const lingerStep = 25

// linger is how long Run waits after a batch of n entries: not at all
// after none or a full batch, Linger after up to lingerStep, then Linger
// more for every further lingerStep, at most MaxLinger.
func (c *Consumer) linger(n int64) time.Duration {
	if c.Linger <= 0 || n <= 0 || n >= c.Batch {
		return 0
	}
	d := c.Linger * time.Duration((n+lingerStep-1)/lingerStep)
	return min(d, max(c.MaxLinger, c.Linger))
}

// Step reads one batch of new entries (waiting up to Block), applies it to
// the index with its last id as the index's position, then acknowledges it.
func (c *Consumer) Step(ctx context.Context) error {
	c.applied = 0
	res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.Group, Consumer: "indexer", Streams: []string{c.stream, ">"}, Count: c.Batch, Block: c.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read message log: %w", err)
	}
	var msgs []redis.XMessage
	for _, st := range res {
		msgs = append(msgs, st.Messages...)
	}
	if len(msgs) == 0 {
		return nil
	}
	c.applied = int64(len(msgs))
	changes := make([]search.Change, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
		ev, err := events.Decode(MessageLog, m)
		if err != nil {
			// A malformed entry would otherwise stop the index for good.
			c.logger.Warn("skipping malformed message log entry", "id", m.ID, "err", err)
			continue
		}
		if ch, ok := Change(ev); ok {
			changes = append(changes, ch)
		}
	}
	if err := c.index.Apply(ctx, changes, ids[len(ids)-1]); err != nil {
		return fmt.Errorf("apply to index: %w", err) // ErrReplaced kept
	}
	if err := c.rdb.XAck(ctx, c.stream, c.Group, ids...).Err(); err != nil {
		// The index holds them and its position says so: no harm.
		c.logger.Warn("acknowledging indexed entries failed", "err", err)
	}
	return nil
}

// Change turns a message event, or a channel's or server's deletion, into
// an index change; other events are not the index's business.
func Change(ev *eventsv1.Event) (search.Change, bool) {
	m := ev.GetMessageCreated()
	if m == nil {
		m = ev.GetMessageUpdated()
	}
	if m != nil {
		d := search.Doc{
			ID: m.GetId(), ServerID: m.GetServerId(), ChannelID: m.GetChannelId(), AuthorID: m.GetAuthorId(),
			AuthorName: m.GetAuthorName(), Content: m.GetContent(), Created: m.GetCreateTime().AsTime(),
		}
		if m.GetEditTime() != nil {
			d.Edited = m.GetEditTime().AsTime()
		}
		return search.Change{ID: d.ID, Doc: search.NewDoc(d)}, d.ID != ""
	}
	if del := ev.GetMessageDeleted(); del != nil && del.GetMessageId() != "" {
		return search.Change{Delete: true, ID: del.GetMessageId()}, true
	}
	if c := ev.GetChannelDeleted(); c != nil && c.GetChannelId() != "" {
		return search.Change{DeleteChannel: true, ServerID: c.GetServerId(), ChannelID: c.GetChannelId()}, true
	}
	if s := ev.GetServerDeleted(); s != nil && s.GetServerId() != "" {
		return search.Change{DeleteServer: true, ServerID: s.GetServerId()}, true
	}
	return search.Change{}, false
}

// idLess orders stream ids ("ms-seq").
func idLess(a, b string) bool {
	am, as := split(a)
	bm, bs := split(b)
	return am < bm || (am == bm && as < bs)
}

func split(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
