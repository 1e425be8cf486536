package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// TestOutbox is the contract of chat.Outbox.
func TestOutbox(t *testing.T, newOutbox func(t *testing.T) chat.Outbox) {
	t.Run("entries are pending until removed and come due by time", func(t *testing.T) {
		o, ctx := newOutbox(t), ctxFor(t)
		base := time.Now().Truncate(time.Millisecond)
		e := func(i int) chat.OutboxEntry {
			return chat.OutboxEntry{ChannelID: fmt.Sprintf("c%d", i), MessageID: ids.New()}
		}
		es := []chat.OutboxEntry{e(0), e(1), e(2)}
		for i, x := range es {
			must(t, o.Add(ctx, x, base.Add(time.Duration(i)*time.Second)))
		}
		for _, x := range es {
			ok, err := o.Pending(ctx, x)
			must(t, err)
			check(t, "pending", ok, true)
		}
		ok, err := o.Pending(ctx, e(9))
		must(t, err)
		check(t, "an entry never added", ok, false)
		due, err := o.Due(ctx, base.Add(time.Second), 10)
		must(t, err)
		checkList(t, "due at +1s", fmtIDs(due, func(x chat.OutboxEntry) string { return x.MessageID }), []string{es[0].MessageID, es[1].MessageID})
		check(t, "channel kept", due[1].ChannelID, es[1].ChannelID)
		due, err = o.Due(ctx, base.Add(time.Hour), 2)
		must(t, err)
		check(t, "due within the limit", len(due), 2)
		must(t, o.Remove(ctx, es[0]))
		must(t, o.Remove(ctx, es[0]))
		ok, err = o.Pending(ctx, es[0])
		must(t, err)
		check(t, "removed", ok, false)
		due, err = o.Due(ctx, base.Add(time.Hour), 10)
		must(t, err)
		checkList(t, "due after a removal", fmtIDs(due, func(x chat.OutboxEntry) string { return x.MessageID }), []string{es[1].MessageID, es[2].MessageID})
		// Adding again moves the entry's time.
		must(t, o.Add(ctx, es[1], base.Add(2*time.Hour)))
		due, err = o.Due(ctx, base.Add(time.Hour), 10)
		must(t, err)
		checkList(t, "due after a re-add", fmtIDs(due, func(x chat.OutboxEntry) string { return x.MessageID }), []string{es[2].MessageID})
	})
}

// TestChannelLocks is the contract of chat.ChannelLocks.
func TestChannelLocks(t *testing.T, newLocks func(t *testing.T) chat.ChannelLocks) {
	t.Run("one holder at a time, ids recorded across holders", func(t *testing.T) {
		ls, ctx := newLocks(t), ctxFor(t)
		ch := ids.New()
		var holders atomic.Int32
		var overlap atomic.Bool
		var mu sync.Mutex
		var allocated []string
		n, errList := concurrently(8, func(int) error {
			l, err := ls.Lock(ctx, ch)
			if err != nil {
				return err
			}
			if holders.Add(1) > 1 {
				overlap.Store(true)
			}
			id := ids.After(l.LastID())
			mu.Lock()
			if len(allocated) > 0 && allocated[len(allocated)-1] != l.LastID() {
				err = fmt.Errorf("last id %q, want the previous holder's %q", l.LastID(), allocated[len(allocated)-1])
			}
			allocated = append(allocated, id)
			mu.Unlock()
			time.Sleep(time.Millisecond) // hold it a while so others contend
			holders.Add(-1)
			l.Unlock(id)
			l.Unlock(id) // a second unlock does nothing
			return err
		})
		if len(errList) > 0 {
			t.Fatal(errList)
		}
		check(t, "holders that got the lock", n, 8)
		check(t, "two holders at once", overlap.Load(), false)
		for i := 1; i < len(allocated); i++ {
			if allocated[i] <= allocated[i-1] {
				t.Fatalf("ids not growing: %v", allocated)
			}
		}
	})
	t.Run("an unlock without an id keeps the last one", func(t *testing.T) {
		ls, ctx := newLocks(t), ctxFor(t)
		ch := ids.New()
		l, err := ls.Lock(ctx, ch)
		must(t, err)
		check(t, "last id of a new channel", l.LastID(), "")
		id := ids.New()
		l.Unlock(id)
		l, err = ls.Lock(ctx, ch)
		must(t, err)
		l.Unlock("")
		l, err = ls.Lock(ctx, ch)
		must(t, err)
		check(t, "last id", l.LastID(), id)
		l.Unlock("")
	})
	t.Run("other channels do not wait", func(t *testing.T) {
		ls, ctx := newLocks(t), ctxFor(t)
		held, err := ls.Lock(ctx, ids.New())
		must(t, err)
		defer held.Unlock("")
		done := make(chan error, 1)
		go func() {
			l, err := ls.Lock(ctx, ids.New())
			if err == nil {
				l.Unlock("")
			}
			done <- err
		}()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(3 * time.Second):
			t.Fatal("a lock of another channel waited for a held one")
		}
	})
}

// TestRateLimiter is the contract of chat.RateLimiter.
func TestRateLimiter(t *testing.T, newLimiter func(t *testing.T) chat.RateLimiter) {
	t.Run("admits limit sends per window per user and channel", func(t *testing.T) {
		rl, ctx := newLimiter(t), ctxFor(t)
		user, ch := ids.New(), ids.New()
		window := time.Minute
		for i := range 3 {
			wait, err := rl.Allow(ctx, user, ch, 3, window)
			must(t, err)
			check(t, fmt.Sprintf("wait of send %d", i+1), wait, time.Duration(0))
		}
		wait, err := rl.Allow(ctx, user, ch, 3, window)
		must(t, err)
		if wait <= 0 || wait > window {
			t.Fatalf("wait of the 4th send = %v, want in (0, %v]", wait, window)
		}
		wait, err = rl.Allow(ctx, user, ids.New(), 3, window)
		must(t, err)
		check(t, "another channel", wait, time.Duration(0))
		wait, err = rl.Allow(ctx, ids.New(), ch, 3, window)
		must(t, err)
		check(t, "another user", wait, time.Duration(0))
	})
	t.Run("the window slides", func(t *testing.T) {
		rl, ctx := newLimiter(t), ctxFor(t)
		user, ch := ids.New(), ids.New()
		window := 300 * time.Millisecond
		wait, err := rl.Allow(ctx, user, ch, 1, window)
		must(t, err)
		check(t, "first", wait, time.Duration(0))
		wait, err = rl.Allow(ctx, user, ch, 1, window)
		must(t, err)
		if wait <= 0 {
			t.Fatal("second send within the window admitted")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			wait, err = rl.Allow(ctx, user, ch, 1, window)
			must(t, err)
			if wait == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no send admitted after the window passed")
			}
			time.Sleep(wait)
		}
	})
}

// TestRequestRecords is the contract of chat.RequestRecords.
func TestRequestRecords(t *testing.T, newRecords func(t *testing.T) chat.RequestRecords) {
	t.Run("a remembered request is recalled per author", func(t *testing.T) {
		r, ctx := newRecords(t), ctxFor(t)
		author, msg := ids.New(), ids.New()
		got, err := r.Recall(ctx, author, "req")
		must(t, err)
		check(t, "before", got, "")
		must(t, r.Remember(ctx, author, "req", msg, time.Minute))
		got, err = r.Recall(ctx, author, "req")
		must(t, err)
		check(t, "after", got, msg)
		got, err = r.Recall(ctx, ids.New(), "req")
		must(t, err)
		check(t, "another author", got, "")
	})
}

// TestTypingWindows is the contract of chat.TypingWindows.
func TestTypingWindows(t *testing.T, newWindows func(t *testing.T) chat.TypingWindows) {
	t.Run("one opener per window; closing lets the next open", func(t *testing.T) {
		w, ctx := newWindows(t), ctxFor(t)
		ch, user := ids.New(), ids.New()
		until := time.Now().Add(8 * time.Second).Truncate(time.Millisecond)
		opened, shown, err := w.Open(ctx, ch, user, until, time.Minute)
		must(t, err)
		check(t, "first open", opened, true)
		check(t, "first until", shown.Equal(until), true)
		opened, shown, err = w.Open(ctx, ch, user, until.Add(time.Second), time.Minute)
		must(t, err)
		check(t, "second open", opened, false)
		check(t, "the opener's until", shown.Equal(until), true)
		opened, _, err = w.Open(ctx, ch, ids.New(), until, time.Minute)
		must(t, err)
		check(t, "another user", opened, true)
		must(t, w.Close(ctx, ch, user))
		opened, _, err = w.Open(ctx, ch, user, until, time.Minute)
		must(t, err)
		check(t, "after close", opened, true)
	})
	t.Run("a window ends by itself", func(t *testing.T) {
		w, ctx := newWindows(t), ctxFor(t)
		ch, user := ids.New(), ids.New()
		opened, _, err := w.Open(ctx, ch, user, time.Now(), 100*time.Millisecond)
		must(t, err)
		check(t, "open", opened, true)
		deadline := time.Now().Add(10 * time.Second)
		for {
			opened, _, err = w.Open(ctx, ch, user, time.Now(), 100*time.Millisecond)
			must(t, err)
			if opened {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the window never ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
