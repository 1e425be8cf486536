package chat

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/mongox"
)

// The outbox closes the window between a message's insert and its event. A
// process that dies in between (or loses Redis there) would leave the
// message stored but never announced, and a retry of the same request finds
// it stored and announces nothing. So before the insert the message enters
// the outbox, a Redis sorted set scored by time, and after the append it
// leaves. A retry of the request, or the sweeper after a grace period,
// announces what is left there, unless its event is already in the log
// (the process died after the append), so nothing is announced twice.

func (s *Service) outboxKey() string { return s.prefix + "chat:outbox" }

func outboxMember(channelID, messageID string) string { return channelID + "/" + messageID }

// outboxAdd records a message about to be inserted.
func (s *Service) outboxAdd(ctx context.Context, channelID, messageID string) error {
	return s.rdb.ZAdd(ctx, s.outboxKey(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: outboxMember(channelID, messageID)}).Err()
}

// outboxDone removes a message whose event is in the log (or that was never stored).
func (s *Service) outboxDone(ctx context.Context, channelID, messageID string) {
	if err := s.rdb.ZRem(context.WithoutCancel(ctx), s.outboxKey(), outboxMember(channelID, messageID)).Err(); err != nil {
		s.log.WarnContext(ctx, "outbox removal failed; the sweeper checks the log before announcing", "err", err)
	}
}

// pending reports whether a message is still in the outbox.
func (s *Service) pending(ctx context.Context, channelID, messageID string) (bool, error) {
	err := s.rdb.ZScore(ctx, s.outboxKey(), outboxMember(channelID, messageID)).Err()
	if err == redis.Nil {
		return false, nil
	}
	return err == nil, err
}

// redeliver announces a message left in the outbox. It holds the channel's
// lock, so it never races the original send (whose lock it waits for or
// outlives) nor another instance's sweeper.
func (s *Service) redeliver(ctx context.Context, channelID, messageID string) error {
	lock, err := s.lockChannel(ctx, channelID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	return s.redeliverLocked(ctx, channelID, messageID)
}

// announceIfPending announces a stored message whose sender died before
// announcing it.
func (s *Service) announceIfPending(ctx context.Context, doc MessageDoc) error {
	ok, err := s.pending(ctx, doc.ChannelID, doc.ID.Hex())
	if err != nil || !ok {
		return err
	}
	return s.redeliver(ctx, doc.ChannelID, doc.ID.Hex())
}

// announceIfPendingHeld is announceIfPending for a caller holding the
// message's channel lock (held), or holding another channel's lock (nil),
// in which case the sweeper is left to announce it: taking a second lock
// could wait on the caller's own stripe.
func (s *Service) announceIfPendingHeld(ctx context.Context, doc MessageDoc, held *channelLock) error {
	if held == nil {
		return nil
	}
	ok, err := s.pending(ctx, doc.ChannelID, doc.ID.Hex())
	if err != nil || !ok {
		return err
	}
	return s.redeliverLocked(ctx, doc.ChannelID, doc.ID.Hex())
}

// redeliverLocked is redeliver with the channel's lock held.
func (s *Service) redeliverLocked(ctx context.Context, channelID, messageID string) error {
	if ok, err := s.pending(ctx, channelID, messageID); err != nil || !ok {
		return err
	}
	id, err := bson.ObjectIDFromHex(messageID)
	if err != nil {
		s.outboxDone(ctx, channelID, messageID)
		return nil
	}
	var doc MessageDoc
	err = s.msgs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if mongox.IsNotFound(err) {
		// Never stored, or deleted since: nothing to announce.
		s.outboxDone(ctx, channelID, messageID)
		return nil
	}
	if err != nil {
		return err
	}
	logged, err := s.inLog(ctx, doc)
	if err != nil {
		return err
	}
	if !logged {
		m, err := s.toProto(ctx, doc)
		if err != nil {
			return err
		}
		ev := &serverv1.Event{CreateTime: m.CreateTime, Payload: &serverv1.Event_MessageCreated{MessageCreated: m}}
		if _, err := s.events.Append(ctx, events.ServerScope(doc.ServerID), ev); err != nil {
			return err
		}
		s.activity(ctx, "message_created", doc)
		s.log.InfoContext(ctx, "announced a message left unannounced", "message_id", messageID)
	}
	s.outboxDone(ctx, channelID, messageID)
	return nil
}

// inLog reports whether the message's creation event is in its server's log.
// Only events from shortly before the message's creation on are read.
func (s *Service) inLog(ctx context.Context, doc MessageDoc) (bool, error) {
	scope := events.ServerScope(doc.ServerID)
	start := strconv.FormatInt(doc.CreatedAt.Add(-time.Minute).UnixMilli(), 10)
	want := doc.ID.Hex()
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.events.Key(scope), start, "+", 500).Result()
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			ev, err := events.Decode(scope, m)
			if err == nil && ev.GetMessageCreated().GetId() == want {
				return true, nil
			}
		}
		if len(msgs) < 500 {
			return false, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// SweepOutbox announces messages that have waited in the outbox longer than
// grace: their sender died between insert and announce and nobody retried.
func (s *Service) SweepOutbox(ctx context.Context, grace time.Duration) error {
	max := strconv.FormatInt(time.Now().Add(-grace).UnixMilli(), 10)
	members, err := s.rdb.ZRangeByScore(ctx, s.outboxKey(), &redis.ZRangeBy{Min: "-inf", Max: max, Count: 100}).Result()
	if err != nil {
		return err
	}
	for _, m := range members {
		channelID, messageID, ok := strings.Cut(m, "/")
		if !ok {
			s.rdb.ZRem(ctx, s.outboxKey(), m)
			continue
		}
		if err := s.redeliver(ctx, channelID, messageID); err != nil {
			s.log.WarnContext(ctx, "outbox redelivery failed; will retry", "message_id", messageID, "err", err)
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
				s.log.WarnContext(ctx, "outbox sweep failed", "err", err)
			}
		}
	}
}
