// Package chat is the messaging half of the server service: messages and
// their history, read states and typing. Every write is checked against
// membership first (a non-member gets NOT_FOUND), committed to Mongo, then
// announced on the scope's event log for the feed.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/server/internal/access"
)

// Limits.
const (
	MaxContent      = 4000
	DefaultPageSize = 50
	MaxPageSize     = 100
	// UnreadCap bounds unread counts; clients show "99+".
	UnreadCap = 100
	// PreviewLen is how much of a replied-to message a preview shows.
	PreviewLen = 200
)

// Config tunes the service.
type Config struct {
	// RateLimit sends per user and channel per RateWindow; 0 disables it.
	RateLimit  int
	RateWindow time.Duration
	// TypingTTL is how long a typing indicator shows.
	TypingTTL time.Duration
	// TypingEvery is how often one user's typing in one channel is
	// announced; calls in between are answered without announcing (the
	// indicator already shows). 0 announces every call.
	TypingEvery time.Duration
	// ActivityMaxLen bounds the activity stream read by the stats service.
	ActivityMaxLen int64
	// OutboxInterval is how often the outbox is swept; OutboxGrace is how
	// long a message may wait there before the sweeper announces it.
	OutboxInterval, OutboxGrace time.Duration
}

// DefaultConfig is the production tuning.
func DefaultConfig() Config {
	return Config{
		RateLimit: 10, RateWindow: 10 * time.Second, TypingTTL: 8 * time.Second, TypingEvery: 2 * time.Second,
		ActivityMaxLen: 1_000_000,
		OutboxInterval: 5 * time.Second, OutboxGrace: 10 * time.Second,
	}
}

// MessageDoc is a document of the messages collection.
type MessageDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	ServerID  string        `bson:"server_id"`
	ChannelID string        `bson:"channel_id"`
	AuthorID  string        `bson:"author_id"`
	Content   string        `bson:"content"`
	CreatedAt time.Time     `bson:"created_at"`
	EditedAt  *time.Time    `bson:"edited_at,omitempty"`
	ReplyToID string        `bson:"reply_to_id,omitempty"`
	RequestID string        `bson:"request_id,omitempty"`
	// RequestKey is "<author_id>/<request_id>", absent without a request id:
	// a unique sparse index on one field works on MongoDB and FerretDB alike,
	// unlike a partial compound index.
	RequestKey string `bson:"request_key,omitempty"`
}

// ReadStateDoc is a document of the read_states collection: one per (user, channel).
type ReadStateDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	UserID     string        `bson:"user_id"`
	ChannelID  string        `bson:"channel_id"`
	ServerID   string        `bson:"server_id"`
	LastReadID string        `bson:"last_read_id"` // hex; hex order is id order
	UpdatedAt  time.Time     `bson:"updated_at"`
}

// Indexes are the indexes of the messages and read_states collections.
func Indexes() []mongox.Index {
	return []mongox.Index{
		{Collection: access.Messages, Model: mongo.IndexModel{Keys: bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}}},
		{Collection: access.Messages, Model: mongo.IndexModel{Keys: bson.D{{Key: "request_key", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
		{Collection: access.ReadStates, Model: mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "channel_id", Value: 1}}, Options: options.Index().SetUnique(true)}},
	}
}

// Service implements messages, read states and typing.
type Service struct {
	msgs    *mongo.Collection
	reads   *mongo.Collection
	chans   *mongo.Collection
	rdb     redis.UniversalClient
	prefix  string
	log     *slog.Logger
	checker *access.Checker
	events  *events.Log
	names   Names
	cfg     Config
	stripes [256]sync.Mutex
}

// New returns a Service. It does not create indexes; call EnsureIndexes.
func New(db *mongo.Database, rdb redis.UniversalClient, prefix string, log *slog.Logger, evlog *events.Log, names Names, cfg Config) *Service {
	return &Service{
		msgs: db.Collection(access.Messages), reads: db.Collection(access.ReadStates), chans: db.Collection(access.Channels),
		rdb: rdb, prefix: prefix, log: log, checker: access.NewChecker(db),
		events: evlog, names: names, cfg: cfg,
	}
}

// TypingChannel is the pub/sub channel typing events travel on.
func TypingChannel(prefix string) string { return prefix + "typing" }

// content trims and checks message text.
func content(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", errs.Invalid(field, "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", errs.Invalid(field, "must not be empty")
	}
	if n > MaxContent {
		return "", errs.Invalid(field, "must be at most %d characters", MaxContent)
	}
	return s, nil
}

// SendInput is what SendMessage needs.
type SendInput struct {
	UserID, ChannelID, Content, ReplyToID, RequestID string
}

// Send stores a message and announces it. A retry with the same request id
// returns the stored original and announces nothing.
func (s *Service) Send(ctx context.Context, in SendInput) (*serverv1.Message, error) {
	text, err := content("content", in.Content)
	if err != nil {
		return nil, err
	}
	ch, _, err := s.checker.Channel(ctx, in.UserID, in.ChannelID)
	if err != nil {
		return nil, err
	}
	var reqKey string
	if in.RequestID != "" {
		reqKey = in.UserID + "/" + in.RequestID
		if orig, ok, err := s.sentBefore(ctx, reqKey); err != nil {
			return nil, err
		} else if ok {
			// The first attempt may have died before announcing it.
			if err := s.announceIfPending(ctx, orig); err != nil {
				return nil, err
			}
			return s.toProto(ctx, orig)
		}
	}
	if in.ReplyToID != "" {
		if _, err := s.message(ctx, in.ChannelID, in.ReplyToID); err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				return nil, errs.Invalid("reply_to_id", "not a message of this channel")
			}
			return nil, err
		}
	}
	if err := s.allow(ctx, in.UserID, in.ChannelID); err != nil {
		return nil, err
	}

	lock, err := s.lockChannel(ctx, in.ChannelID)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	doc := MessageDoc{
		ID: lock.newID(), ServerID: ch.ServerID, ChannelID: in.ChannelID, AuthorID: in.UserID,
		Content: text, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		ReplyToID: in.ReplyToID, RequestID: in.RequestID, RequestKey: reqKey,
	}
	if err := s.outboxAdd(ctx, in.ChannelID, doc.ID.Hex()); err != nil {
		s.log.ErrorContext(ctx, "outbox add failed", "err", err)
		return nil, errs.Unavailable("sending is unavailable; retry")
	}
	if _, err := s.msgs.InsertOne(ctx, doc); err != nil {
		s.outboxDone(ctx, in.ChannelID, doc.ID.Hex()) // nothing was stored
		if mongox.IsDuplicateKey(err) && reqKey != "" {
			// A concurrent or earlier attempt stored it first: return that
			// message, announcing it if its sender died before doing so.
			var orig MessageDoc
			if err := s.msgs.FindOne(ctx, bson.D{{Key: "request_key", Value: reqKey}}).Decode(&orig); err != nil {
				return nil, err
			}
			held := lock
			if orig.ChannelID != in.ChannelID {
				held = nil // another channel's lock: the sweeper announces it
			}
			if err := s.announceIfPendingHeld(ctx, orig, held); err != nil {
				return nil, err
			}
			return s.toProto(ctx, orig)
		}
		return nil, err
	}
	if reqKey != "" {
		// The unique index is the guarantee; this record only saves a retry
		// the query on request_key.
		if err := s.rdb.Set(ctx, s.prefix+"msgreq:"+reqKey, doc.ID.Hex(), requestTTL).Err(); err != nil {
			s.log.WarnContext(ctx, "request id record failed", "err", err)
		}
	}
	m, err := s.toProto(ctx, doc)
	if err != nil {
		return nil, err
	}
	ev := &serverv1.Event{CreateTime: m.CreateTime, Payload: &serverv1.Event_MessageCreated{MessageCreated: m}}
	// Once the event is in the log, in id order, the channel's next send
	// may go: the lock is released in the same round trip.
	if _, err := lock.appendAndUnlock(context.WithoutCancel(ctx), s.events, events.ServerScope(ch.ServerID), ev); err != nil {
		// Stored but not announced: it stays in the outbox for a retry or
		// the sweeper.
		s.log.ErrorContext(ctx, "event append failed after commit; left in the outbox", "err", err, "server_id", ch.ServerID)
		return m, nil
	}
	// Clearing the outbox entry after the lock is harmless: redelivery
	// checks the log first.
	s.outboxDone(ctx, in.ChannelID, doc.ID.Hex())
	s.typingDone(ctx, in.ChannelID, in.UserID)
	s.activity(ctx, "message_created", doc)
	return m, nil
}

// announce appends ev to the server's log. The write has committed, so a
// failure cannot undo it: it is logged, and clients see the change in history.
func (s *Service) announce(ctx context.Context, serverID string, ev *serverv1.Event) {
	if _, err := s.events.Append(context.WithoutCancel(ctx), events.ServerScope(serverID), ev); err != nil {
		s.log.ErrorContext(ctx, "event append failed after commit", "err", err, "server_id", serverID)
	}
}

func (s *Service) activity(ctx context.Context, kind string, d MessageDoc) {
	err := events.AppendActivity(context.WithoutCancel(ctx), s.rdb, s.prefix, events.ActivityEntry{
		Kind: kind, UserID: d.AuthorID, ServerID: d.ServerID, ChannelID: d.ChannelID,
		MessageID: d.ID.Hex(), Time: d.CreatedAt,
	}, s.cfg.ActivityMaxLen)
	if err != nil {
		s.log.ErrorContext(ctx, "activity append failed", "err", err, "kind", kind)
	}
}

// requestTTL is how long a retry is answered from the Redis record; after
// it, or if Redis lost it, the unique index still catches the retry.
const requestTTL = 24 * time.Hour

// sentBefore finds the message stored earlier with this request key.
func (s *Service) sentBefore(ctx context.Context, key string) (MessageDoc, bool, error) {
	var d MessageDoc
	hexID, err := s.rdb.Get(ctx, s.prefix+"msgreq:"+key).Result()
	if errors.Is(err, redis.Nil) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	id, err := bson.ObjectIDFromHex(hexID)
	if err != nil {
		return d, false, nil
	}
	err = s.msgs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if mongox.IsNotFound(err) {
		return d, false, nil // deleted since: a retry sends it anew
	}
	return d, err == nil, err
}

// message loads a message of the channel, or NotFound.
func (s *Service) message(ctx context.Context, channelID, messageID string) (MessageDoc, error) {
	var d MessageDoc
	id, err := bson.ObjectIDFromHex(messageID)
	if err != nil {
		return d, errs.NotFound("message not found")
	}
	// By _id alone, the one lookup every backend serves from an index.
	err = s.msgs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if mongox.IsNotFound(err) || (err == nil && d.ChannelID != channelID) {
		return MessageDoc{}, errs.NotFound("message not found")
	}
	return d, err
}

// ListInput is what ListMessages needs.
type ListInput struct {
	UserID, ChannelID, Before, After string
	PageSize                         int
}

// List returns one page of a channel's history, newest first, and whether
// more remain in the paging direction. Each page is one range scan of the
// (channel_id, _id) index, so its cost does not depend on the channel's size.
func (s *Service) List(ctx context.Context, in ListInput) ([]*serverv1.Message, bool, error) {
	if in.PageSize < 0 {
		return nil, false, errs.Invalid("page_size", "must not be negative")
	}
	if in.Before != "" && in.After != "" {
		return nil, false, errs.Invalid("after", "set before or after, not both")
	}
	n := in.PageSize
	if n == 0 {
		n = DefaultPageSize
	}
	n = min(n, MaxPageSize)
	if _, _, err := s.checker.Channel(ctx, in.UserID, in.ChannelID); err != nil {
		return nil, false, err
	}
	filter := bson.D{{Key: "channel_id", Value: in.ChannelID}}
	dir := -1
	switch {
	case in.Before != "":
		id, err := bson.ObjectIDFromHex(in.Before)
		if err != nil {
			return nil, false, errs.Invalid("before", "not a message id")
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: id}}})
	case in.After != "":
		id, err := bson.ObjectIDFromHex(in.After)
		if err != nil {
			return nil, false, errs.Invalid("after", "not a message id")
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: id}}})
		dir = 1
	}
	cur, err := s.msgs.Find(ctx, filter, options.Find().
		// Equality on channel_id then order by _id: the index's own order.
		SetSort(bson.D{{Key: "_id", Value: dir}}).
		SetLimit(int64(n+1)).
		SetHint(bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, false, err
	}
	var docs []MessageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, err
	}
	more := len(docs) > n
	if more {
		docs = docs[:n]
	}
	if dir == 1 {
		for i, j := 0, len(docs)-1; i < j; i, j = i+1, j-1 {
			docs[i], docs[j] = docs[j], docs[i]
		}
	}
	out, err := s.toProtos(ctx, docs)
	return out, more, err
}

// Update replaces the content of the caller's own message.
func (s *Service) Update(ctx context.Context, userID, channelID, messageID, text string) (*serverv1.Message, error) {
	text, err := content("content", text)
	if err != nil {
		return nil, err
	}
	ch, _, err := s.checker.Channel(ctx, userID, channelID)
	if err != nil {
		return nil, err
	}
	d, err := s.message(ctx, channelID, messageID)
	if err != nil {
		return nil, err
	}
	if d.AuthorID != userID {
		return nil, errs.PermissionDenied("only the author may edit a message")
	}
	lock, err := s.lockChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	res, err := s.msgs.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "content", Value: text}, {Key: "edited_at", Value: now}}}})
	if err != nil {
		return nil, err
	}
	if res.MatchedCount == 0 {
		return nil, errs.NotFound("message not found")
	}
	d.Content, d.EditedAt = text, &now
	m, err := s.toProto(ctx, d)
	if err != nil {
		return nil, err
	}
	s.announce(ctx, ch.ServerID, &serverv1.Event{CreateTime: timestamppb.New(now), Payload: &serverv1.Event_MessageUpdated{MessageUpdated: m}})
	return m, nil
}

// Delete removes a message: the author's own, or any for admins and the owner.
func (s *Service) Delete(ctx context.Context, userID, channelID, messageID string) error {
	ch, role, err := s.checker.Channel(ctx, userID, channelID)
	if err != nil {
		return err
	}
	d, err := s.message(ctx, channelID, messageID)
	if err != nil {
		return err
	}
	if d.AuthorID != userID && !access.AtLeast(role, serverv1.Role_ROLE_ADMIN) {
		return errs.PermissionDenied("only the author, admins and the owner may delete a message")
	}
	lock, err := s.lockChannel(ctx, channelID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	res, err := s.msgs.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return errs.NotFound("message not found") // a concurrent delete announced it
	}
	s.announce(ctx, ch.ServerID, &serverv1.Event{Payload: &serverv1.Event_MessageDeleted{MessageDeleted: &serverv1.MessageDeleted{
		ServerId: ch.ServerID, ChannelId: channelID, MessageId: messageID,
	}}})
	s.activity(ctx, "message_deleted", d)
	return nil
}

// MarkRead moves the caller's read marker in a channel forward to messageID
// (never back) and tells the caller's other clients.
func (s *Service) MarkRead(ctx context.Context, userID, channelID, messageID string) (*serverv1.ReadState, error) {
	ch, _, err := s.checker.Channel(ctx, userID, channelID)
	if err != nil {
		return nil, err
	}
	if _, err := s.message(ctx, channelID, messageID); err != nil {
		return nil, err
	}
	key := bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: channelID}}
	now := time.Now().UTC()
	advance := func() (bool, error) {
		res, err := s.reads.UpdateOne(ctx,
			append(key[:len(key):len(key)], bson.E{Key: "last_read_id", Value: bson.D{{Key: "$lt", Value: messageID}}}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "last_read_id", Value: messageID}, {Key: "updated_at", Value: now}}}})
		if err != nil {
			return false, err
		}
		return res.MatchedCount > 0, nil
	}
	moved, err := advance()
	if err != nil {
		return nil, err
	}
	if !moved {
		_, err := s.reads.InsertOne(ctx, ReadStateDoc{
			ID: bson.NewObjectID(), UserID: userID, ChannelID: channelID, ServerID: ch.ServerID,
			LastReadID: messageID, UpdatedAt: now,
		})
		switch {
		case err == nil:
			moved = true
		case mongox.IsDuplicateKey(err):
			// It exists: either at or past messageID, or a concurrent insert
			// that is behind it. One more conditional update settles it.
			if moved, err = advance(); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
	st, err := s.readState(ctx, userID, ch)
	if err != nil {
		return nil, err
	}
	if moved {
		if _, err := s.events.Append(context.WithoutCancel(ctx), events.UserScope(userID), &serverv1.Event{
			Payload: &serverv1.Event_ReadStateUpdated{ReadStateUpdated: proto.Clone(st).(*serverv1.ReadState)},
		}); err != nil {
			s.log.ErrorContext(ctx, "event append failed after commit", "err", err)
		}
	}
	return st, nil
}

// readState computes one channel's read state for the user.
func (s *Service) readState(ctx context.Context, userID string, ch access.ChannelDoc) (*serverv1.ReadState, error) {
	var d ReadStateDoc
	err := s.reads.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: ch.ID.Hex()}}).Decode(&d)
	if err != nil && !mongox.IsNotFound(err) {
		return nil, err
	}
	return s.stateOf(ctx, userID, ch, d.LastReadID)
}

// stateOf counts what is unread after lastRead with an index range limited
// to UnreadCap+1 entries, so a long unread backlog costs no more than 101.
// The user's own messages are never unread to them.
func (s *Service) stateOf(ctx context.Context, userID string, ch access.ChannelDoc, lastRead string) (*serverv1.ReadState, error) {
	chID := ch.ID.Hex()
	st := &serverv1.ReadState{ServerId: ch.ServerID, ChannelId: chID, LastReadMessageId: lastRead}
	hint := bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}
	filter := bson.D{{Key: "channel_id", Value: chID}}
	if lastRead != "" {
		id, err := bson.ObjectIDFromHex(lastRead)
		if err != nil {
			return nil, err
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: id}}})
	}
	cur, err := s.msgs.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "author_id", Value: 1}}).
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(UnreadCap+1).SetHint(hint))
	if err != nil {
		return nil, err
	}
	var ids []struct {
		ID       bson.ObjectID `bson:"_id"`
		AuthorID string        `bson:"author_id"`
	}
	if err := cur.All(ctx, &ids); err != nil {
		return nil, err
	}
	unread := 0
	for _, m := range ids {
		if m.AuthorID != userID {
			unread++
		}
	}
	st.UnreadCount = int32(min(unread, UnreadCap))
	if len(ids) > 0 {
		st.LastMessageId = ids[0].ID.Hex()
	} else if lastRead != "" {
		// Nothing after the marker: the newest message is at or before it.
		var last MessageDoc
		err := s.msgs.FindOne(ctx, bson.D{{Key: "channel_id", Value: chID}}, options.FindOne().
			SetProjection(bson.D{{Key: "_id", Value: 1}}).
			SetSort(bson.D{{Key: "_id", Value: -1}}).SetHint(hint)).Decode(&last)
		if err == nil {
			st.LastMessageId = last.ID.Hex()
		} else if !mongox.IsNotFound(err) {
			return nil, err
		}
	}
	return st, nil
}

// ListReadStates returns the caller's read state in every channel of their
// servers, or of one server.
func (s *Service) ListReadStates(ctx context.Context, userID, serverID string) ([]*serverv1.ReadState, error) {
	var serverIDs []string
	if serverID != "" {
		if _, err := s.checker.Role(ctx, serverID, userID); err != nil {
			return nil, err
		}
		serverIDs = []string{serverID}
	} else {
		ids, err := s.checker.ServerIDs(ctx, userID)
		if err != nil {
			return nil, err
		}
		serverIDs = ids
	}
	if len(serverIDs) == 0 {
		return nil, nil
	}
	cur, err := s.chans.Find(ctx, bson.D{{Key: "server_id", Value: bson.D{{Key: "$in", Value: serverIDs}}}},
		options.Find().SetSort(bson.D{{Key: "server_id", Value: 1}, {Key: "position", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var chans []access.ChannelDoc
	if err := cur.All(ctx, &chans); err != nil {
		return nil, err
	}
	if len(chans) == 0 {
		return nil, nil
	}
	chIDs := make([]string, len(chans))
	for i, c := range chans {
		chIDs[i] = c.ID.Hex()
	}
	cur, err = s.reads.Find(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "channel_id", Value: bson.D{{Key: "$in", Value: chIDs}}}})
	if err != nil {
		return nil, err
	}
	var docs []ReadStateDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	last := make(map[string]string, len(docs))
	for _, d := range docs {
		last[d.ChannelID] = d.LastReadID
	}
	out := make([]*serverv1.ReadState, len(chans))
	for i, c := range chans {
		st, err := s.stateOf(ctx, userID, c, last[chIDs[i]])
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// Typing tells the channel's other members that the user is typing. It is
// published, never stored: a reconnecting client does not need old typing.
func (s *Service) Typing(ctx context.Context, userID, channelID string) (time.Time, error) {
	ch, _, err := s.checker.Channel(ctx, userID, channelID)
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	exp := now.Add(s.cfg.TypingTTL).Truncate(time.Millisecond) // as stored below
	if s.cfg.TypingEvery > 0 {
		// A client that calls in a loop reaches the channel's members once
		// per TypingEvery, with the expiry of that announcement.
		key := s.typingKey(channelID, userID)
		first, err := s.rdb.SetNX(ctx, key, exp.UnixMilli(), s.cfg.TypingEvery).Result()
		if err != nil {
			return time.Time{}, err
		}
		if !first {
			if ms, err := s.rdb.Get(ctx, key).Int64(); err == nil {
				return time.UnixMilli(ms), nil
			}
			// Gone meanwhile: announce after all.
		}
	}
	names, _ := s.names.DisplayNames(ctx, []string{userID})
	ev := &serverv1.Event{
		Scope:      events.ServerScope(ch.ServerID),
		CreateTime: timestamppb.New(now),
		Payload: &serverv1.Event_Typing{Typing: &serverv1.Typing{
			ServerId: ch.ServerID, ChannelId: channelID, UserId: userID,
			DisplayName: names[userID], ExpireTime: timestamppb.New(exp),
		}},
	}
	b, err := proto.Marshal(ev)
	if err != nil {
		return time.Time{}, err
	}
	if err := s.rdb.Publish(ctx, TypingChannel(s.prefix), b).Err(); err != nil {
		return time.Time{}, err
	}
	return exp, nil
}

func (s *Service) typingKey(channelID, userID string) string {
	return s.prefix + "typing:" + channelID + ":" + userID
}

// typingDone ends the user's typing window in the channel: a sent message
// ends the indicator on the other side, so their next keystroke must be
// announced at once.
func (s *Service) typingDone(ctx context.Context, channelID, userID string) {
	if s.cfg.TypingEvery <= 0 {
		return
	}
	if err := s.rdb.Del(context.WithoutCancel(ctx), s.typingKey(channelID, userID)).Err(); err != nil {
		s.log.WarnContext(ctx, "typing window not cleared", "err", err)
	}
}

func (s *Service) toProto(ctx context.Context, d MessageDoc) (*serverv1.Message, error) {
	ms, err := s.toProtos(ctx, []MessageDoc{d})
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// toProtos converts documents, resolving author names and reply previews
// with one query and one name lookup for the whole page.
func (s *Service) toProtos(ctx context.Context, docs []MessageDoc) ([]*serverv1.Message, error) {
	var replyIDs []bson.ObjectID
	authors := make([]string, 0, len(docs))
	for _, d := range docs {
		authors = append(authors, d.AuthorID)
		if id, err := bson.ObjectIDFromHex(d.ReplyToID); err == nil {
			replyIDs = append(replyIDs, id)
		}
	}
	replies := map[string]MessageDoc{}
	if len(replyIDs) > 0 {
		cur, err := s.msgs.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: replyIDs}}}})
		if err != nil {
			return nil, err
		}
		var rs []MessageDoc
		if err := cur.All(ctx, &rs); err != nil {
			return nil, err
		}
		for _, r := range rs {
			replies[r.ID.Hex()] = r
			authors = append(authors, r.AuthorID)
		}
	}
	names, _ := s.names.DisplayNames(ctx, dedupe(authors))
	out := make([]*serverv1.Message, len(docs))
	for i, d := range docs {
		m := &serverv1.Message{
			Id: d.ID.Hex(), ServerId: d.ServerID, ChannelId: d.ChannelID, AuthorId: d.AuthorID,
			AuthorName: names[d.AuthorID], Content: d.Content, CreateTime: timestamppb.New(d.CreatedAt),
			RequestId: d.RequestID,
		}
		if d.EditedAt != nil {
			m.EditTime = timestamppb.New(*d.EditedAt)
		}
		if d.ReplyToID != "" {
			p := &serverv1.MessagePreview{Id: d.ReplyToID}
			if r, ok := replies[d.ReplyToID]; ok {
				p.AuthorId, p.AuthorName, p.Content = r.AuthorID, names[r.AuthorID], preview(r.Content)
			} else {
				p.Deleted = true
			}
			m.ReplyTo = p
		}
		out[i] = m
	}
	return out, nil
}

func preview(s string) string {
	if utf8.RuneCountInString(s) <= PreviewLen {
		return s
	}
	r := []rune(s)
	return string(r[:PreviewLen])
}
