package server_test

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// TestHistoryAroundAMessage checks ListMessages around a message (jump to a
// message): the message with a page on each side, cursors that continue
// both ways, and refusals that name the field or hide what is foreign.
func TestHistoryAroundAMessage(t *testing.T) {
	w := newWorld(t)
	c := w.instance()
	alice, eve := w.user("Alice"), w.user("Eve")
	srv := w.server(alice)
	ch, other := w.channel(srv), w.channel(srv)
	evesrv := w.server(eve)
	evech := w.channel(evesrv)
	var docs []chat.Message
	var ids []string // oldest first
	var otherID, eveID string
	for i := range 150 {
		d := chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: ch, AuthorID: alice, Content: fmt.Sprint(i), CreatedAt: time.Now()}
		ids = append(ids, d.ID)
		o := chat.Message{ID: bson.NewObjectID().Hex(), ServerID: srv, ChannelID: other, AuthorID: alice, Content: "other", CreatedAt: time.Now()}
		e := chat.Message{ID: bson.NewObjectID().Hex(), ServerID: evesrv, ChannelID: evech, AuthorID: eve, Content: "eve's", CreatedAt: time.Now()}
		otherID, eveID = o.ID, e.ID
		docs = append(docs, d, o, e)
	}
	w.store(docs...)
	ctx := w.ctx(alice)

	// span is ids[from..to] newest first.
	span := func(from, to int) []string {
		var out []string
		for i := to; i >= from; i-- {
			out = append(out, ids[i])
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		req          *serverv1.ListMessagesRequest
		want         []string
		more         bool
		older, newer string
	}{
		{"middle", &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[75], PageSize: 10}, span(65, 85), true, ids[65], ids[85]},
		{"near the start", &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[2], PageSize: 10}, span(0, 12), false, "", ids[12]},
		{"the newest", &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[149]}, span(99, 149), true, ids[99], ""},
		{"exactly a page each side", &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[10], PageSize: 10}, span(0, 20), false, "", ids[20]},
		{"a page of 100 each side", &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[140], PageSize: 100}, span(40, 149), true, ids[40], ""},
		// The other directions give their cursor too.
		{"before", &serverv1.ListMessagesRequest{ChannelId: ch, Before: ids[75], PageSize: 10}, span(65, 74), true, ids[65], ""},
		{"after", &serverv1.ListMessagesRequest{ChannelId: ch, After: ids[75], PageSize: 10}, span(76, 85), true, "", ids[85]},
		{"after to the end", &serverv1.ListMessagesRequest{ChannelId: ch, After: ids[140], PageSize: 10}, span(141, 149), false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.ListMessages(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range r.GetMessages() {
				if m.GetChannelId() != ch || m.GetAuthorName() != "Alice" {
					t.Fatalf("message %s of channel %s by %q", m.GetId(), m.GetChannelId(), m.GetAuthorName())
				}
				got = append(got, m.GetId())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %d messages %v\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
			if r.GetHasMore() != tc.more || r.GetOlderCursor() != tc.older || r.GetNewerCursor() != tc.newer {
				t.Fatalf("more %v, older %q, newer %q; want %v, %q, %q", r.GetHasMore(), r.GetOlderCursor(), r.GetNewerCursor(), tc.more, tc.older, tc.newer)
			}
		})
	}

	t.Run("cursors continue both ways", func(t *testing.T) {
		r, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, Around: ids[75], PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, m := range r.GetMessages() {
			seen[m.GetId()] = true
		}
		for older := r.GetOlderCursor(); older != ""; {
			p, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, Before: older, PageSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.GetMessages() {
				seen[m.GetId()] = true
			}
			older = p.GetOlderCursor()
		}
		for newer := r.GetNewerCursor(); newer != ""; {
			p, err := c.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: ch, After: newer, PageSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.GetMessages() {
				seen[m.GetId()] = true
			}
			newer = p.GetNewerCursor()
		}
		if len(seen) != len(ids) {
			t.Fatalf("reached %d messages from the middle, want %d", len(seen), len(ids))
		}
	})

	t.Run("bad input names the field", func(t *testing.T) {
		for name, req := range map[string]*serverv1.ListMessagesRequest{
			"not an id":         {ChannelId: ch, Around: "zz"},
			"around and before": {ChannelId: ch, Around: ids[5], Before: ids[9]},
			"around and after":  {ChannelId: ch, Around: ids[5], After: ids[1]},
		} {
			_, err := c.ListMessages(ctx, req)
			if code, field := fieldOf(err); code != codes.InvalidArgument || field != "around" {
				t.Errorf("%s: got %v field %q, want INVALID_ARGUMENT field around", name, code, field)
			}
		}
	})

	t.Run("unknown or foreign message is not found", func(t *testing.T) {
		for name, call := range map[string]struct {
			ctxUser, channel, around string
		}{
			"unknown id":                   {alice, ch, bson.NewObjectID().Hex()},
			"message of another channel":   {alice, ch, otherID},
			"message of a foreign server":  {alice, ch, eveID},
			"outsider around a message":    {eve, ch, ids[5]},
			"outsider through own channel": {eve, evech, ids[5]},
		} {
			r, err := c.ListMessages(w.ctx(call.ctxUser), &serverv1.ListMessagesRequest{ChannelId: call.channel, Around: call.around})
			if status.Code(err) != codes.NotFound || len(r.GetMessages()) != 0 {
				t.Errorf("%s: got %v (%d messages), want NOT_FOUND", name, err, len(r.GetMessages()))
			}
		}
	})
}
