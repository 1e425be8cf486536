package chat

import (
	"context"
	"errors"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// Group commit. The sends of one channel queue up in the process; one of
// their goroutines, the leader, takes the channel's lock once for a batch
// of them: it allocates their ids in queue order, adds their outbox
// entries in one step (the lock's own, on a single Redis), inserts them in
// one store call (one transaction on SQLite), and appends their events in
// the same order in the round trip that releases the lock. Then it completes each send of the batch and
// hands the lead to the first send that queued meanwhile, whose batch is
// every send that came while this one held the lock. So a busy channel
// pays the lock, the outbox and the append once per batch rather than once
// per message, and the inserts of concurrent sends overlap in one
// transaction instead of queueing one by one behind the lock. The lock
// still orders the batches of several instances.

// maxSendBatch bounds the sends of one batch.
const maxSendBatch = 64

// sendJob is one send waiting in its channel's queue.
type sendJob struct {
	m             Message // without its id until the leader allocates it
	attachmentIDs []string

	wake  chan struct{} // closed when done or when this job leads
	taken bool          // in a batch (guarded by Service.sendMu)
	lead  bool          // woken to lead (guarded by Service.sendMu)
	done  bool          // v, err, conflict are set (guarded by Service.sendMu)
	v     View
	err   error
	// end is what the sender does after the batch when v is set.
	end sendEnd
	// conflict: the store refused m for its (author, request id); the
	// original is to be found after the batch.
	conflict bool
	// finishing: SendDone's steps are queued on the batch's lock.
	finishing bool
}

// sendEnd is how a stored message's send ends.
type sendEnd int

const (
	endAnnounced   sendEnd = iota // announced: sendDone
	endRedelivered                // announced by a redelivery: remember, close typing
	endPending                    // left in the outbox: remember
	endFinished                   // announced, SendDone's steps done with it
)

// sendQueue is one channel's waiting sends; leading tells whether a
// goroutine leads it.
type sendQueue struct {
	pending []*sendJob
	leading bool
}

// commit queues the prepared message m for its channel and waits until a
// batch stored and announced it. It returns the job, done.
func (s *Service) commit(ctx context.Context, m Message, attachmentIDs []string) (*sendJob, error) {
	j := &sendJob{m: m, attachmentIDs: attachmentIDs, wake: make(chan struct{})}
	s.sendMu.Lock()
	if s.queues == nil {
		s.queues = map[string]*sendQueue{}
	}
	q := s.queues[m.ChannelID]
	if q == nil {
		q = &sendQueue{}
		s.queues[m.ChannelID] = q
	}
	q.pending = append(q.pending, j)
	lead := !q.leading
	if lead {
		q.leading, j.lead = true, true
	}
	s.sendMu.Unlock()
	if !lead {
		select {
		case <-j.wake:
		case <-ctx.Done():
			s.sendMu.Lock()
			if !j.taken && !j.lead {
				// Still waiting: leave the queue.
				q.pending = removeJob(q.pending, j)
				s.sendMu.Unlock()
				return nil, ctx.Err()
			}
			s.sendMu.Unlock()
			<-j.wake
		}
	}
	s.sendMu.Lock()
	lead = j.lead && !j.done
	s.sendMu.Unlock()
	if lead {
		s.leadBatch(ctx, m.ChannelID, q)
	}
	return j, nil
}

func removeJob(js []*sendJob, j *sendJob) []*sendJob {
	for i, x := range js {
		if x == j {
			return append(js[:i], js[i+1:]...)
		}
	}
	return js
}

// leadBatch takes the queue's first sends (the leader's own among them),
// runs them as one batch, completes them and passes the lead on.
func (s *Service) leadBatch(ctx context.Context, channelID string, q *sendQueue) {
	s.sendMu.Lock()
	n := min(len(q.pending), maxSendBatch)
	batch := make([]*sendJob, n)
	copy(batch, q.pending[:n])
	q.pending = append(q.pending[:0], q.pending[n:]...)
	for _, j := range batch {
		j.taken = true
	}
	s.sendMu.Unlock()

	s.runBatch(context.WithoutCancel(ctx), batch)

	s.sendMu.Lock()
	for _, j := range batch {
		j.done = true
		if !j.lead {
			close(j.wake)
		}
	}
	if len(q.pending) > 0 {
		next := q.pending[0]
		next.lead = true
		close(next.wake)
	} else {
		q.leading = false
		delete(s.queues, channelID)
	}
	s.sendMu.Unlock()
}

// runBatch stores and announces the batch's messages under the channel's
// lock, setting each job's outcome.
func (s *Service) runBatch(ctx context.Context, batch []*sendJob) {
	fail := func(js []*sendJob, err error) {
		for _, j := range js {
			if j.err == nil && !j.conflict {
				j.err = err
			}
		}
	}
	channelID := batch[0].m.ChannelID
	allocate := func(last string) string {
		for _, j := range batch {
			last = ids.After(last)
			j.m.ID, j.m.CreatedAt = last, now()
		}
		return last
	}
	var (
		lock ChannelLock
		err  error
		// added: the batch's outbox entries went in with the lock.
		added bool
	)
	if ol, ok := s.d.Locks.(OutboxLocks); ok {
		// The ids are allocated before the lock so that their outbox
		// entries go in with it (one round trip less). They stand when
		// they follow the channel's last id, as they do unless another
		// instance (or one with a faster clock) sent in the channel in
		// between.
		allocate("")
		es := make([]OutboxEntry, len(batch))
		for i, j := range batch {
			es[i] = OutboxEntry{ChannelID: channelID, MessageID: j.m.ID}
		}
		lock, added, err = ol.LockAdding(ctx, channelID, es, time.Now())
		if err == nil && added && batch[0].m.ID <= lock.LastID() {
			// Too early after all: allocate again, and the entries of the
			// first ids go (their messages are never stored).
			for _, e := range es {
				s.outboxDone(ctx, e)
			}
			added = false
		}
	} else {
		lock, err = s.d.Locks.Lock(ctx, channelID)
	}
	if err != nil {
		fail(batch, err)
		return
	}
	last := batch[len(batch)-1].m.ID
	if !added {
		last = allocate(lock.LastID())
	}
	// Whatever happens below, the ids count as allocated; Unlock after the
	// announcement's own release does nothing.
	defer lock.Unlock(last)

	// The files point at a message before it exists: a message is never
	// seen without them, and a failed send lets them go again.
	live := make([]*sendJob, 0, len(batch))
	for _, j := range batch {
		if err := s.attach(ctx, j.m, j.attachmentIDs); err != nil {
			j.err = err
			if added {
				s.outboxDone(ctx, OutboxEntry{ChannelID: j.m.ChannelID, MessageID: j.m.ID})
			}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	entries := make([]OutboxEntry, len(live))
	ms := make([]Message, len(live))
	for i, j := range live {
		entries[i], ms[i] = OutboxEntry{ChannelID: j.m.ChannelID, MessageID: j.m.ID}, j.m
	}
	if !added {
		if err := s.d.Outbox.AddAll(ctx, entries, time.Now()); err != nil {
			s.d.Log.ErrorContext(ctx, "outbox add failed", "err", err)
			for _, j := range live {
				s.detach(ctx, j.m.ID, j.attachmentIDs)
			}
			fail(live, errs.Unavailable("sending is unavailable; retry"))
			return
		}
	}
	per, err := s.d.Messages.CreateMessages(ctx, ms)
	if err != nil {
		per, err = s.storedOf(ctx, ms, err)
		if err != nil {
			// Which of them are stored is unknown: their outbox entries
			// stay, and the sweeper announces those that are.
			s.d.Log.ErrorContext(ctx, "message batch insert failed; left in the outbox", "err", err)
			fail(live, err)
			return
		}
	}
	stored := live[:0:0]
	for i, j := range live {
		if per[i] == nil {
			stored = append(stored, j)
			continue
		}
		s.detach(ctx, j.m.ID, j.attachmentIDs)
		s.outboxDone(ctx, entries[i]) // nothing of it was stored
		if isKind(per[i], errs.KindAlreadyExists) && j.m.RequestID != "" {
			j.conflict = true // resolved by the sender after the batch
			continue
		}
		j.err = per[i]
	}
	if len(stored) == 0 {
		return
	}
	// The mention index is written before the announcement, so a client
	// that reloads its read states on the event counts the message.
	for _, j := range stored {
		if !j.m.Mentions.Empty() {
			s.recordMentions(ctx, j.m, false)
		}
	}
	vs, err := s.batchViews(ctx, stored)
	if err != nil {
		// Stored, not announced: left in the outbox for a retry or the
		// sweeper.
		fail(stored, err)
		return
	}
	for i, j := range stored {
		j.v = vs[i]
	}
	// The steps that end each send go with the announcement when the
	// lock can take them (SendDoneOnRelease), saving their round trip.
	if r, ok := s.d.SendDone.(SendDoneOnRelease); ok {
		for _, j := range stored {
			e := OutboxEntry{ChannelID: j.m.ChannelID, MessageID: j.m.ID}
			j.finishing = r.SendDoneOnRelease(lock, j.m, e, requestTTL, s.cfg.TypingEvery > 0)
		}
	}
	// Once the events are in the log, in id order, the channel's next
	// batch may go: Events releases the lock as part of the append.
	if err := s.d.Events.MessagesCreated(ctx, vs, lock, last); err != nil {
		if errors.Is(err, ErrLockLost) {
			// This batch stalled past the lock's lifetime, so a retry of a
			// request may have announced its message meanwhile: announce
			// each under a fresh lock unless the log has it.
			for _, j := range stored {
				e := OutboxEntry{ChannelID: j.m.ChannelID, MessageID: j.m.ID}
				j.end = endRedelivered
				if err := s.redeliver(ctx, e); err != nil {
					j.end = endPending
					s.d.Log.ErrorContext(ctx, "event append failed after commit; left in the outbox", "err", err, "server_id", j.m.ServerID)
				}
			}
			return
		}
		// Stored but not announced: they stay in the outbox for a retry or
		// the sweeper.
		s.d.Log.ErrorContext(ctx, "event append failed after commit; left in the outbox", "err", err, "server_id", stored[0].m.ServerID)
		for _, j := range stored {
			j.end = endPending
		}
		return
	}
	for _, j := range stored {
		if j.finishing {
			j.end = endFinished
		}
	}
}

// storedOf answers a failed batch insert (insertErr) by reading which of
// ms are stored: those are as good as inserted (nil), the others failed
// with insertErr. When even that read fails it returns an error.
func (s *Service) storedOf(ctx context.Context, ms []Message, insertErr error) ([]error, error) {
	want := make([]string, len(ms))
	for i, m := range ms {
		want[i] = m.ID
	}
	got, err := s.d.Messages.MessagesByID(ctx, want)
	if err != nil {
		return nil, errors.Join(insertErr, err)
	}
	have := make(map[string]bool, len(got))
	for _, m := range got {
		have[m.ID] = true
	}
	per := make([]error, len(ms))
	for i, m := range ms {
		if !have[m.ID] {
			per[i] = insertErr
		}
	}
	return per, nil
}

// batchViews renders the batch's new messages: those without files in
// one render, those with files one by one.
func (s *Service) batchViews(ctx context.Context, js []*sendJob) ([]View, error) {
	vs := make([]View, len(js))
	plain := make([]Message, 0, len(js))
	for _, j := range js {
		if len(j.attachmentIDs) == 0 {
			plain = append(plain, j.m)
		}
	}
	var rendered []View
	if len(plain) > 0 {
		var err error
		if rendered, err = s.render(ctx, plain, false); err != nil {
			return nil, err
		}
	}
	k := 0
	for i, j := range js {
		if len(j.attachmentIDs) > 0 {
			var err error
			if vs[i], err = s.view(ctx, j.m); err != nil {
				return nil, err
			}
			continue
		}
		vs[i] = rendered[k]
		k++
	}
	return vs, nil
}
