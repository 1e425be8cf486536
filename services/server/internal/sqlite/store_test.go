package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/sqlite"
)

func newStore(t testing.TB) *sqlite.Store {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := platformtest.SQLite(t, "")
	s, err := sqlite.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// Migrating again is a no-op.
	if _, err := sqlite.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// now is a time as the stores keep it: UTC, to the millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// race runs n copies of fn at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errsOut[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errsOut
}

// Of concurrent writes that a UNIQUE constraint or a one-row delete
// decides, exactly one succeeds and the others get the documented error.
func TestConcurrentConflicts(t *testing.T) {
	for name, tc := range map[string]struct {
		setup func(ctx context.Context, s *sqlite.Store) error
		write func(ctx context.Context, s *sqlite.Store) error
		lost  error
	}{
		"conversations with one DM key": {
			write: func(ctx context.Context, s *sqlite.Store) error {
				return s.CreateServer(ctx, guild.Server{ID: ids.New(), Kind: guild.KindDM, DMKey: guild.DMKey("a", "b"), DMUserIDs: []string{"a", "b"}, CreatedAt: now()})
			},
			lost: errs.ErrAlreadyExists,
		},
		"joins of one user": {
			write: func(ctx context.Context, s *sqlite.Store) error {
				return s.CreateMember(ctx, guild.Member{ID: ids.New(), ServerID: "s", UserID: "u", Role: guild.RoleMember, JoinedAt: now()}, guild.KindGuild)
			},
			lost: errs.ErrAlreadyExists,
		},
		"sends with one request id": {
			write: func(ctx context.Context, s *sqlite.Store) error {
				return s.CreateMessage(ctx, chat.Message{ID: ids.New(), ServerID: "s", ChannelID: "c", AuthorID: "u", Content: "x", RequestID: "r1", CreatedAt: now()})
			},
			lost: errs.ErrAlreadyExists,
		},
		"deletes of one message": {
			setup: func(ctx context.Context, s *sqlite.Store) error {
				return s.CreateMessage(ctx, chat.Message{ID: "65a1b2c3d4e5f60718293a4b", ServerID: "s", ChannelID: "c", AuthorID: "u", CreatedAt: now()})
			},
			write: func(ctx context.Context, s *sqlite.Store) error {
				return s.DeleteMessage(ctx, "65a1b2c3d4e5f60718293a4b")
			},
			lost: errs.ErrNotFound,
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, ctx := newStore(t), testCtx(t)
			if tc.setup != nil {
				must(t, tc.setup(ctx, s))
			}
			won := 0
			for _, err := range race(8, func(int) error { return tc.write(ctx, s) }) {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, tc.lost):
					t.Fatal(err)
				}
			}
			if won != 1 {
				t.Fatalf("%d writes succeeded, want 1", won)
			}
		})
	}
}

// Many goroutines sending and reading at once all succeed: writes queue
// for the one writer instead of failing with "database is locked".
func TestConcurrentSends(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
	const senders, each = 16, 25
	errsOut := race(senders, func(i int) error {
		for j := range each {
			m := chat.Message{ID: ids.New(), ServerID: "s", ChannelID: fmt.Sprint("c", i%4), AuthorID: fmt.Sprint("u", i),
				Content: "hello", RequestID: fmt.Sprint("r", j), CreatedAt: now()}
			if err := s.CreateMessage(ctx, m); err != nil {
				return err
			}
			if _, err := s.AdvanceReadMarker(ctx, chat.ReadMarker{UserID: m.AuthorID, ChannelID: m.ChannelID, ServerID: "s", LastReadID: m.ID, UpdatedAt: now()}); err != nil {
				return err
			}
			if _, err := s.ListMessages(ctx, m.ChannelID, chat.MessagePage{Limit: 50}); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, errors.Join(errsOut...))
	total := 0
	for c := range 4 {
		for before := ""; ; {
			page, err := s.ListMessages(ctx, fmt.Sprint("c", c), chat.MessagePage{Before: before, Limit: 100})
			must(t, err)
			if len(page) == 0 {
				break
			}
			total, before = total+len(page), page[len(page)-1].ID
		}
	}
	if total != senders*each {
		t.Fatalf("%d messages stored, want %d", total, senders*each)
	}
}

// A Loader writes what the stores would have written one by one, and the
// stores read it back.
func TestLoader(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
	l := s.Loader(ctx)
	sv := guild.Server{ID: ids.New(), Name: "g", Kind: guild.KindGuild, OwnerID: "u0", MemberCount: 3, CreatedAt: now()}
	must(t, l.Server(sv))
	ch := guild.Channel{ID: ids.New(), ServerID: sv.ID, Name: "general", CreatedAt: now()}
	must(t, l.Channel(ch))
	for i := range 3 {
		must(t, l.Member(guild.Member{ID: ids.New(), ServerID: sv.ID, UserID: fmt.Sprint("u", i), Role: guild.RoleMember, JoinedAt: now()}, guild.KindGuild))
	}
	last := ""
	for range 50 {
		last = ids.After(last)
		must(t, l.Message(chat.Message{ID: last, ServerID: sv.ID, ChannelID: ch.ID, AuthorID: "u1", Content: "x", CreatedAt: now()}))
	}
	must(t, l.Close())
	if got, err := s.Server(ctx, sv.ID); err != nil || got.Name != sv.Name || got.MemberCount != 3 || !got.CreatedAt.Equal(sv.CreatedAt) {
		t.Fatalf("loaded server = %+v, %v", got, err)
	}
	if ms, err := s.Members(ctx, sv.ID, "", 10); err != nil || len(ms) != 3 {
		t.Fatalf("loaded members = %d, %v", len(ms), err)
	}
	if ms, err := s.ListMessages(ctx, ch.ID, chat.MessagePage{Limit: 100}); err != nil || len(ms) != 50 || ms[0].ID != last {
		t.Fatalf("loaded messages = %d, %v", len(ms), err)
	}
}

// UnreadCount tells what NewestMessages would: the others' messages among
// the newest limit after the marker, and the channel's newest id.
func TestUnreadCountAgreesWithNewestMessages(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
	var all []string
	last := ""
	for i := range 30 {
		last = ids.After(last)
		must(t, s.CreateMessage(ctx, chat.Message{ID: last, ServerID: "s", ChannelID: "c", AuthorID: fmt.Sprint("u", i%3), Content: "x", CreatedAt: now()}))
		all = append(all, last)
	}
	for _, after := range []string{"", all[0], all[12], all[28], all[29]} {
		for _, limit := range []int{1, 5, 101} {
			for _, user := range []string{"u0", "u9"} {
				refs, err := s.NewestMessages(ctx, "c", after, limit)
				must(t, err)
				want := 0
				for _, r := range refs {
					if r.AuthorID != user {
						want++
					}
				}
				n, newest, err := s.UnreadCount(ctx, "c", after, user, limit)
				if err != nil || n != want || newest != last {
					t.Errorf("UnreadCount(after %q, %s, %d) = %d, %q, %v; want %d, %q", after, user, limit, n, newest, err, want, last)
				}
			}
		}
	}
	if n, newest, err := s.UnreadCount(ctx, "empty", "", "u0", 101); n != 0 || newest != "" || err != nil {
		t.Fatalf("empty channel = %d, %q, %v", n, newest, err)
	}
}

// The batch counts of a first screen (UnreadCounts, CountMentionsIn) answer
// exactly what the per-channel calls answer, channel by channel and in
// order, including empty and unknown channels and markers past the end.
func TestBatchCountsAgreeWithPerChannel(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
	chans := []string{"c0", "c1", "c2", "empty"}
	var byChan = map[string][]string{}
	last := ""
	for i := range 90 {
		last = ids.After(last)
		ch := chans[i%3]
		must(t, s.CreateMessage(ctx, chat.Message{ID: last, ServerID: "s", ChannelID: ch, AuthorID: fmt.Sprint("u", i%4), Content: "x", CreatedAt: now()}))
		byChan[ch] = append(byChan[ch], last)
		if i%5 == 0 {
			must(t, s.AddMentions(ctx, []chat.Mention{{UserID: "u0", MessageID: last, ChannelID: ch, ServerID: "s", AuthorID: fmt.Sprint("u", i%4)}}))
		}
	}
	qs := []chat.UnreadQuery{
		{ChannelID: "c0"}, {ChannelID: "c1", After: byChan["c1"][10]}, {ChannelID: "c2", After: byChan["c2"][29]},
		{ChannelID: "empty"}, {ChannelID: "c0", After: byChan["c0"][3]}, {ChannelID: "nowhere", After: byChan["c0"][0]},
	}
	for _, user := range []string{"u0", "u9"} {
		for _, limit := range []int{1, 7, 101} {
			unread, err := s.UnreadCounts(ctx, user, qs, limit)
			must(t, err)
			mentions, err := s.CountMentionsIn(ctx, user, qs, limit)
			must(t, err)
			if len(unread) != len(qs) || len(mentions) != len(qs) {
				t.Fatalf("%d unread and %d mention counts for %d channels", len(unread), len(mentions), len(qs))
			}
			for i, q := range qs {
				n, newest, err := s.UnreadCount(ctx, q.ChannelID, q.After, user, limit)
				must(t, err)
				if unread[i] != (chat.UnreadCount{Unread: n, NewestID: newest}) {
					t.Errorf("%s limit %d channel %s after %q: batch %+v, alone %d %q", user, limit, q.ChannelID, q.After, unread[i], n, newest)
				}
				m, err := s.CountMentions(ctx, user, q.ChannelID, q.After, limit)
				must(t, err)
				if mentions[i] != m {
					t.Errorf("%s limit %d channel %s after %q: batch %d mentions, alone %d", user, limit, q.ChannelID, q.After, mentions[i], m)
				}
			}
		}
	}
	// The per-channel answers are not all alike, so the comparison above
	// can tell channels apart.
	unread, err := s.UnreadCounts(ctx, "u9", qs, 101)
	must(t, err)
	if unread[0].Unread != 30 || unread[1].Unread != 19 || unread[2].Unread != 0 || unread[3] != (chat.UnreadCount{}) {
		t.Fatalf("unread counts = %+v", unread)
	}
	if none, err := s.UnreadCounts(ctx, "u0", nil, 101); err != nil || len(none) != 0 {
		t.Fatalf("no channels: %v, %v", none, err)
	}
}
