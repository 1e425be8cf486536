package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// bulkBatch is how many documents a Loader sends per insert.
const bulkBatch = 1000

// Loader writes many records fast, for benchmarks: each document is built
// as the store's Create method builds it and goes in an unordered
// InsertMany of up to bulkBatch documents, so the collections hold exactly
// what the store would have written one by one. A Loader is not safe for
// concurrent use; Flush or Close sends what is pending.
type Loader struct {
	ctx     context.Context
	s       *Store
	pending map[*mongo.Collection][]any
	order   []*mongo.Collection
}

// Loader returns a Loader writing into the store's collections.
func (s *Store) Loader(ctx context.Context) *Loader {
	return &Loader{ctx: ctx, s: s, pending: map[*mongo.Collection][]any{}}
}

func (l *Loader) add(c *mongo.Collection, doc any, err error) error {
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	if _, ok := l.pending[c]; !ok {
		l.order = append(l.order, c)
	}
	l.pending[c] = append(l.pending[c], doc)
	if len(l.pending[c]) >= bulkBatch {
		return l.flush(c)
	}
	return nil
}

func (l *Loader) flush(c *mongo.Collection) error {
	docs := l.pending[c]
	if len(docs) == 0 {
		return nil
	}
	l.pending[c] = docs[:0:0]
	if _, err := c.InsertMany(l.ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
		return fmt.Errorf("bulk load %s: %w", c.Name(), err)
	}
	return nil
}

// Flush sends every pending document, collection by collection in the
// order they were first written to (servers before their members).
func (l *Loader) Flush() error {
	for _, c := range l.order {
		if err := l.flush(c); err != nil {
			return err
		}
	}
	return nil
}

// Close sends what is left.
func (l *Loader) Close() error { return l.Flush() }

// Server writes a server as CreateServer does.
func (l *Loader) Server(sv guild.Server) error {
	d, err := newServerDoc(sv)
	return l.add(l.s.servers, d, err)
}

// Member writes a membership as CreateMember does.
func (l *Loader) Member(m guild.Member, kind guild.Kind) error {
	d, err := newMemberDoc(m, kind)
	return l.add(l.s.members, d, err)
}

// Channel writes a channel as CreateChannel does.
func (l *Loader) Channel(c guild.Channel) error {
	d, err := newChannelDoc(c)
	return l.add(l.s.channels, d, err)
}

// Message writes a message as CreateMessage does.
func (l *Loader) Message(m chat.Message) error {
	d, err := newMessageDoc(m)
	return l.add(l.s.messages, d, err)
}
