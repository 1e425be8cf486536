package storetest

import (
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
)

func newAttachment(channelID string, created time.Time) chat.Attachment {
	return chat.Attachment{
		ID: ids.New(), ServerID: "srv", ChannelID: channelID, UploaderID: "alice", Name: "cat.png",
		ContentType: "image/png", Size: 1234, Width: 640, Height: 480, BlobKey: "att/" + ids.New(),
		ThumbKey: "att/" + ids.New() + "-t", ThumbWidth: 400, ThumbHeight: 300, CreatedAt: created,
	}
}

// TestAttachments is the contract of chat.AttachmentStore.
func TestAttachments(t *testing.T, newStore func(t *testing.T) chat.AttachmentStore, opts ...Option) {
	o := apply(opts)
	t.Run("an attachment reads back as written", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		a := newAttachment(ids.New(), now())
		must(t, s.CreateAttachment(ctx, a))
		got, err := s.Attachment(ctx, a.ID)
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("got %+v, want %+v", got, a)
		}
		wantErr(t, s.CreateAttachment(ctx, a), errs.ErrAlreadyExists, "a second create of the id")
		_, err = s.Attachment(ctx, ids.New())
		wantErr(t, err, errs.ErrNotFound, "an unknown id")
		_, err = s.Attachment(ctx, "not-an-id")
		wantErr(t, err, errs.ErrNotFound, "a malformed id")
	})
	t.Run("a pending upload completes once", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		done := newAttachment(ids.New(), now())
		pending := done
		pending.ContentType, pending.Size, pending.Width, pending.Height = "", 0, 0, 0
		pending.ThumbKey, pending.ThumbWidth, pending.ThumbHeight = "", 0, 0
		must(t, s.CreateAttachment(ctx, pending))
		got, err := s.Attachment(ctx, pending.ID)
		must(t, err)
		if !reflect.DeepEqual(got, pending) {
			t.Fatalf("pending: got %+v, want %+v", got, pending)
		}
		done.BlobKey = "att/" + ids.New() // a cleaned copy has a new key
		ok, err := s.CompleteAttachment(ctx, done)
		must(t, err)
		check(t, "first completion", ok, true)
		got, err = s.Attachment(ctx, done.ID)
		must(t, err)
		if !reflect.DeepEqual(got, done) {
			t.Fatalf("completed: got %+v, want %+v", got, done)
		}
		again := done
		again.Size = 1
		ok, err = s.CompleteAttachment(ctx, again)
		must(t, err)
		check(t, "second completion", ok, false)
		ok, err = s.CompleteAttachment(ctx, chat.Attachment{ID: ids.New(), ContentType: "image/png"})
		must(t, err)
		check(t, "completion of an unknown id", ok, false)
		got, err = s.Attachment(ctx, done.ID)
		must(t, err)
		check(t, "size after a refused completion", got.Size, done.Size)
	})
	t.Run("attach once, detach, list by message", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch := ids.New()
		a, b, c := newAttachment(ch, now()), newAttachment(ch, now()), newAttachment(ch, now())
		for _, x := range []chat.Attachment{a, b, c} {
			must(t, s.CreateAttachment(ctx, x))
		}
		m1, m2 := ids.New(), ids.New()
		for _, x := range []struct {
			id, msg string
			want    bool
		}{{a.ID, m1, true}, {b.ID, m1, true}, {a.ID, m2, false}, {c.ID, m2, true}, {ids.New(), m2, false}} {
			ok, err := s.AttachToMessage(ctx, x.id, x.msg)
			must(t, err)
			check(t, "attach "+x.id+" to "+x.msg, ok, x.want)
		}
		got, err := s.AttachmentsOf(ctx, []string{m1, m2, ids.New()})
		must(t, err)
		byMsg := map[string][]string{}
		for _, x := range got {
			byMsg[x.MessageID] = append(byMsg[x.MessageID], x.ID)
		}
		for _, l := range byMsg {
			slices.Sort(l)
		}
		checkList(t, "m1", byMsg[m1], sorted(a.ID, b.ID))
		checkList(t, "m2", byMsg[m2], []string{c.ID})
		// Detaching needs the right message.
		must(t, s.DetachFromMessage(ctx, c.ID, m1))
		got, err = s.AttachmentsOf(ctx, []string{m2})
		must(t, err)
		check(t, "c still attached", len(got), 1)
		must(t, s.DetachFromMessage(ctx, c.ID, m2))
		got, err = s.AttachmentsOf(ctx, []string{m2})
		must(t, err)
		check(t, "c detached", len(got), 0)
		none, err := s.AttachmentsOf(ctx, nil)
		must(t, err)
		check(t, "no ids", len(none), 0)
	})
	t.Run("unattached before a time, oldest first", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		ch := ids.New()
		base := now().Add(-time.Hour)
		var old []string
		for i := range 4 {
			a := newAttachment(ch, base.Add(time.Duration(i)*time.Minute))
			must(t, s.CreateAttachment(ctx, a))
			old = append(old, a.ID)
		}
		sent := newAttachment(ch, base)
		must(t, s.CreateAttachment(ctx, sent))
		_, err := s.AttachToMessage(ctx, sent.ID, ids.New())
		must(t, err)
		fresh := newAttachment(ch, now())
		must(t, s.CreateAttachment(ctx, fresh))
		got, err := s.UnattachedBefore(ctx, now().Add(-time.Minute), 3)
		must(t, err)
		checkList(t, "the three oldest", fmtIDs(got, func(a chat.Attachment) string { return a.ID }), old[:3])
		got, err = s.UnattachedBefore(ctx, now().Add(-time.Minute), 10)
		must(t, err)
		checkList(t, "every old one", fmtIDs(got, func(a chat.Attachment) string { return a.ID }), old)
		must(t, s.DeleteAttachment(ctx, old[0]))
		wantErr(t, s.DeleteAttachment(ctx, old[0]), errs.ErrNotFound, "a second delete")
		got, err = s.UnattachedBefore(ctx, now().Add(-time.Minute), 10)
		must(t, err)
		checkList(t, "after a delete", fmtIDs(got, func(a chat.Attachment) string { return a.ID }), old[1:])
	})
	t.Run("a channel's or a server's files, sent or not", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv, other := ids.New(), ids.New()
		ch1, ch2, ch3 := ids.New(), ids.New(), ids.New()
		in := func(server, channel string) chat.Attachment {
			a := newAttachment(channel, now())
			a.ServerID = server
			must(t, s.CreateAttachment(ctx, a))
			return a
		}
		a, b, c := in(srv, ch1), in(srv, ch1), in(srv, ch2)
		elsewhere := in(other, ch3)
		_, err := s.AttachToMessage(ctx, b.ID, ids.New())
		must(t, err)
		ids := func(as []chat.Attachment) []string {
			l := fmtIDs(as, func(a chat.Attachment) string { return a.ID })
			slices.Sort(l)
			return l
		}
		got, err := s.AttachmentsIn(ctx, srv, ch1, 10)
		must(t, err)
		checkList(t, "channel 1", ids(got), sorted(a.ID, b.ID))
		got, err = s.AttachmentsIn(ctx, srv, "", 10)
		must(t, err)
		checkList(t, "the server", ids(got), sorted(a.ID, b.ID, c.ID))
		got, err = s.AttachmentsIn(ctx, srv, "", 2)
		must(t, err)
		check(t, "limited to 2", len(got), 2)
		got, err = s.AttachmentsIn(ctx, other, ch3, 10)
		must(t, err)
		checkList(t, "the other server's channel", ids(got), []string{elsewhere.ID})
		must(t, s.DeleteAttachment(ctx, a.ID))
		got, err = s.AttachmentsIn(ctx, srv, ch1, 10)
		must(t, err)
		checkList(t, "channel 1 after a delete", ids(got), []string{b.ID})
		got, err = s.AttachmentsIn(ctx, newID(), "", 10)
		must(t, err)
		check(t, "an unknown server", len(got), 0)
	})
	t.Run("bytes by server: sums sent and unsent files, less the deleted", func(t *testing.T) {
		s, ctx := newStore(t), ctxFor(t)
		srv, other := ids.New(), ids.New()
		in := func(server string, size int64) chat.Attachment {
			a := newAttachment(ids.New(), now())
			a.ServerID, a.Size = server, size
			must(t, s.CreateAttachment(ctx, a))
			return a
		}
		sum := func() map[string]int64 {
			got := map[string]int64{}
			must(t, s.BytesByServer(ctx, func(id string, n int64) error {
				if _, dup := got[id]; dup {
					t.Errorf("server %s reported twice", id)
				}
				got[id] = n
				return nil
			}))
			return got
		}
		check(t, "no files", len(sum()), 0)
		a := in(srv, 1000)
		b := in(srv, 234)
		in(other, 5)
		_, err := s.AttachToMessage(ctx, b.ID, ids.New())
		must(t, err)
		sums := func(what string, want map[string]int64) {
			t.Helper()
			if got := sum(); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: got %v, want %v", what, got, want)
			}
		}
		sums("sums", map[string]int64{srv: 1234, other: 5})
		must(t, s.DeleteAttachment(ctx, a.ID))
		sums("after a delete", map[string]int64{srv: 234, other: 5})
		stop := errs.Invalid("x", "stop")
		calls := 0
		err = s.BytesByServer(ctx, func(string, int64) error { calls++; return stop })
		check(t, "fn's error is returned", errors.Is(err, stop), true)
		check(t, "after one call", calls, 1)
	})
	t.Run("concurrent attaches: one wins", func(t *testing.T) {
		o.atomicUpdates(t)
		s, ctx := newStore(t), ctxFor(t)
		a := newAttachment(ids.New(), now())
		must(t, s.CreateAttachment(ctx, a))
		var won atomic.Int32
		_, errList := concurrently(8, func(int) error {
			ok, err := s.AttachToMessage(ctx, a.ID, ids.New())
			if ok {
				won.Add(1)
			}
			return err
		})
		for _, err := range errList {
			must(t, err)
		}
		check(t, "winners", won.Load(), int32(1))
	})
}

func sorted(xs ...string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func newID() string { return ids.New() }
