package redis_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/logging"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/redisx"
	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/redis"
	"github.com/accordchat/accord/services/search/internal/search"
)

const server = "5f0000000000000000000001"

func created(id, text string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{
		Id: id, ServerId: server, ChannelId: server, AuthorId: "a", Content: text, CreateTime: timestamppb.Now(),
	}}}
}

func updated(id, text string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageUpdated{MessageUpdated: &serverv1.Message{
		Id: id, ServerId: server, ChannelId: server, AuthorId: "a", Content: text, CreateTime: timestamppb.Now(), EditTime: timestamppb.Now(),
	}}}
}

func deleted(id string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageDeleted{MessageDeleted: &eventsv1.MessageDeleted{ServerId: server, ChannelId: server, MessageId: id}}}
}

type fixture struct {
	rdb goredis.UniversalClient
	log *events.Log
}

func (f fixture) append(t *testing.T, evs ...*eventsv1.Event) {
	t.Helper()
	for _, ev := range evs {
		if _, err := f.log.Append(context.Background(), redis.MessageLog, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// find returns the ids matching words, newest first.
func find(t *testing.T, x search.Index, words string) []string {
	t.Helper()
	q, err := search.Parse(words)
	if err != nil {
		t.Fatal(err)
	}
	hits, _, err := x.Search(context.Background(), search.IndexQuery{Query: q, Servers: []string{server}, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// drain steps the consumer until the log has nothing new for it.
func drain(t *testing.T, c *redis.Consumer, x search.Index, f fixture) {
	t.Helper()
	ctx := context.Background()
	if err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	last, err := f.rdb.XRevRangeN(ctx, f.log.Key(redis.MessageLog), "+", "-", 1).Result()
	if err != nil || len(last) == 0 {
		t.Fatalf("log: %v %v", last, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pos, _ := x.Position(ctx); pos == last[0].ID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer did not reach the end of the log")
		}
		if err := c.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t *testing.T) fixture {
	rdb, prefix := platformtest.Redis(t)
	return fixture{rdb: rdb, log: events.NewLog(rdb, redisx.NewKeyspace(prefix))}
}

func newConsumer(f fixture, x search.Index) *redis.Consumer {
	c := redis.NewConsumer(f.rdb, f.log, x, logging.Discard(), "search-test")
	c.Block = 10 * time.Millisecond
	c.Batch = 2 // several batches in each test
	return c
}

func TestFollowsCreatesEditsAndDeletes(t *testing.T) {
	platformtest.EachRedis(t, testFollowsCreatesEditsAndDeletes)
}

func testFollowsCreatesEditsAndDeletes(t *testing.T) {
	f := newFixture(t)
	x, err := index.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	f.append(t, created("m1", "alpha bravo"), created("m2", "alpha charlie"), updated("m1", "delta"), deleted("m2"), created("m3", "alpha"))
	// An entry that is not an event is skipped, not retried forever.
	if err := f.rdb.XAdd(context.Background(), &goredis.XAddArgs{Stream: f.log.Key(redis.MessageLog), Values: []any{"junk", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	f.append(t, &eventsv1.Event{Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{}}}, created("m4", "echo"))
	drain(t, newConsumer(f, x), x, f)
	for q, want := range map[string][]string{"alpha": {"m3"}, "bravo": nil, "delta": {"m1"}, "charlie": nil, "echo": {"m4"}} {
		if got := find(t, x, q); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
}

func TestRestartResumesWhereTheIndexStands(t *testing.T) {
	platformtest.EachRedis(t, testRestartResumesWhereTheIndexStands)
}

func testRestartResumesWhereTheIndexStands(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "index")
	x, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.append(t, created("m1", "one"), created("m2", "two"), created("m3", "three"))
	drain(t, newConsumer(f, x), x, f)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// While stopped: a new message, and the deletion of an indexed one.
	f.append(t, created("m4", "four"), deleted("m1"))
	if x, err = index.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	drain(t, newConsumer(f, x), x, f)
	for q, want := range map[string][]string{"one": nil, "two": {"m2"}, "four": {"m4"}} {
		if got := find(t, x, q); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
	n, err := x.Count()
	if err != nil || n != 3 {
		t.Errorf("%d messages indexed (%v), want 3", n, err)
	}

	// An index that lost what the group had delivered (an empty one here)
	// is refilled from the start of the log: the index's position wins.
	empty, err := index.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	drain(t, newConsumer(f, empty), empty, f)
	if got := find(t, empty, "two"); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("refilled index: %v", got)
	}
	if got := find(t, empty, "one"); got != nil {
		t.Errorf("refilled index has a deleted message: %v", got)
	}
}

func TestDeletedChannelsAndServersLeaveTheIndex(t *testing.T) {
	platformtest.EachRedis(t, testDeletedChannelsAndServersLeaveTheIndex)
}

func testDeletedChannelsAndServersLeaveTheIndex(t *testing.T) {
	f := newFixture(t)
	x, err := index.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	in := func(id, channel, text string) *eventsv1.Event {
		ev := created(id, text)
		ev.GetMessageCreated().ChannelId = channel
		return ev
	}
	f.append(t, in("m1", "c1", "alpha"), in("m2", "c2", "alpha"), in("m3", "c1", "alpha"),
		&eventsv1.Event{Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ServerId: server, ChannelId: "c1"}}},
		in("m4", "c3", "alpha"))
	drain(t, newConsumer(f, x), x, f)
	if got := find(t, x, "alpha"); !slices.Equal(got, []string{"m4", "m2"}) {
		t.Errorf("after the channel's deletion: %v, want [m4 m2]", got)
	}
	f.append(t, &eventsv1.Event{Payload: &eventsv1.Event_ServerDeleted{ServerDeleted: &eventsv1.ServerDeleted{ServerId: server}}})
	drain(t, newConsumer(f, x), x, f)
	if n, err := x.Count(); err != nil || n != 0 {
		t.Errorf("after the server's deletion: %d messages indexed (%v), want 0", n, err)
	}
}
