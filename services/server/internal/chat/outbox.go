package chat

import (
	"context"
	"time"

	"github.com/accordchat/accord/platform/errs"
)

// The outbox closes the window between a message's insert and its event. A
// process that dies in between (or loses the event log there) would leave
// the message stored but never announced, and a retry of the same request
// finds it stored and announces nothing. So before the insert the message
// enters the outbox, and after the announcement it leaves. A retry of the
// request, or the sweeper after a grace period, announces what is left
// there, unless its event is already in the log (the process died after
// the append), so nothing is announced twice. Both hold the channel's lock
// while they look, so they never see a send half done.

// outboxDone removes a message whose event is in the log (or that was never stored).
func (s *Service) outboxDone(ctx context.Context, e OutboxEntry) {
	if err := s.d.Outbox.Remove(context.WithoutCancel(ctx), e); err != nil {
		s.d.Log.WarnContext(ctx, "outbox removal failed; the sweeper checks the log before announcing", "err", err)
	}
}

// redeliver announces a message left in the outbox. It holds the channel's
// lock, so it never races the original send (whose lock it waits for or
// outlives) nor another instance's sweeper.
func (s *Service) redeliver(ctx context.Context, e OutboxEntry) error {
	lock, err := s.d.Locks.Lock(ctx, e.ChannelID)
	if err != nil {
		return err
	}
	defer lock.Unlock("")
	return s.redeliverLocked(ctx, e)
}

// announceIfPending announces a stored message whose sender died before
// announcing it.
func (s *Service) announceIfPending(ctx context.Context, m Message) error {
	e := OutboxEntry{ChannelID: m.ChannelID, MessageID: m.ID}
	ok, err := s.d.Outbox.Pending(ctx, e)
	if err != nil || !ok {
		return err
	}
	return s.redeliver(ctx, e)
}

// announceIfPendingLocked is announceIfPending for a caller holding the
// message's channel lock.
func (s *Service) announceIfPendingLocked(ctx context.Context, m Message) error {
	return s.redeliverLocked(ctx, OutboxEntry{ChannelID: m.ChannelID, MessageID: m.ID})
}

// redeliverLocked is redeliver with the channel's lock held.
func (s *Service) redeliverLocked(ctx context.Context, e OutboxEntry) error {
	if ok, err := s.d.Outbox.Pending(ctx, e); err != nil || !ok {
		return err
	}
	m, err := s.d.Messages.Message(ctx, e.MessageID)
	if err != nil {
		if isKind(err, errs.KindNotFound) {
			// Never stored, or deleted since: nothing to announce.
			s.outboxDone(ctx, e)
			return nil
		}
		return err
	}
	logged, err := s.d.Events.MessageAnnounced(ctx, m)
	if err != nil {
		return err
	}
	if !logged {
		v, err := s.view(ctx, m)
		if err != nil {
			return err
		}
		if err := s.d.Events.MessageCreated(ctx, v, nil); err != nil {
			return err
		}
		s.activity(ctx, "message_created", m)
		s.d.Log.InfoContext(ctx, "announced a message left unannounced", "message_id", m.ID)
	}
	s.outboxDone(ctx, e)
	return nil
}

// outboxBatch bounds one sweep.
const outboxBatch = 100

// SweepOutbox announces messages that have waited in the outbox longer than
// grace: their sender died between insert and announce and nobody retried.
func (s *Service) SweepOutbox(ctx context.Context, grace time.Duration) error {
	due, err := s.d.Outbox.Due(ctx, time.Now().Add(-grace), outboxBatch)
	if err != nil {
		return err
	}
	for _, e := range due {
		if err := s.redeliver(ctx, e); err != nil {
			s.d.Log.WarnContext(ctx, "outbox redelivery failed; will retry", "message_id", e.MessageID, "err", err)
		}
	}
	return nil
}

// RunOutbox sweeps the outbox until ctx ends.
func (s *Service) RunOutbox(ctx context.Context) {
	interval, grace := s.cfg.OutboxInterval, s.cfg.OutboxGrace
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.SweepOutbox(ctx, grace); err != nil && ctx.Err() == nil {
				s.d.Log.WarnContext(ctx, "outbox sweep failed", "err", err)
			}
		}
	}
}
