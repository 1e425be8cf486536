// Package chat is the messaging half of the server service: messages and
// their history, read states and typing. Every write is checked against
// membership first (a non-member gets NOT_FOUND), committed to the
// MessageStore, then announced through Events for the feed. It imports no
// storage or transport package: stores and ports are interfaces it owns
// (store.go, ports.go).
package chat

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server/internal/guild"
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
	// MaxUploadBytes bounds one uploaded file (0: DefaultMaxUploadBytes).
	MaxUploadBytes int64
	// MaxImagePixels bounds the width x height of an image that is decoded
	// (0: DefaultMaxImagePixels); larger images are refused.
	MaxImagePixels int64
	// OrphanGrace is how long an upload may wait for a message before the
	// sweeper, every OrphanInterval, deletes it.
	OrphanGrace, OrphanInterval time.Duration
}

// DefaultConfig is the production tuning.
func DefaultConfig() Config {
	return Config{
		RateLimit: 10, RateWindow: 10 * time.Second, TypingTTL: 8 * time.Second, TypingEvery: 2 * time.Second,
		ActivityMaxLen: 1_000_000,
		OutboxInterval: 5 * time.Second, OutboxGrace: 10 * time.Second,
		OrphanGrace: time.Hour, OrphanInterval: 5 * time.Minute,
	}
}

// ChannelLister lists the channels of servers (guild.ChannelStore has it).
type ChannelLister interface {
	ChannelsOfServers(ctx context.Context, serverIDs []string) ([]guild.Channel, error)
}

// ServerReader reads a server (guild.ServerStore has it): pins need to
// know whether a channel is a conversation's.
type ServerReader interface {
	Server(ctx context.Context, id string) (guild.Server, error)
}

// Deps are what the Service is built from.
type Deps struct {
	Messages   MessageStore
	ReadStates ReadStateStore
	Channels   ChannelLister
	Access     *guild.Access
	Locks      ChannelLocks
	Outbox     Outbox
	Limiter    RateLimiter
	Requests   RequestRecords
	Typing     TypingWindows
	Activity   Activity
	// SendDone, optional, ends each send in one round trip (see SendDone).
	SendDone SendDone
	Events   Events
	Names    Names
	// Mentions resolves mentions; MentionIndex and Notify keep mention
	// entries and notification settings.
	Mentions     MentionResolver
	MentionIndex MentionIndex
	Notify       NotifySettingStore
	Reactions    ReactionStore
	Pins         PinStore
	Servers      ServerReader
	// IsEmoji tells whether a string is one Unicode emoji (reactions).
	IsEmoji func(string) bool
	// Attachments and Blobs keep files; without them uploads are
	// unavailable and messages carry none.
	Attachments AttachmentStore
	Blobs       Blobs
	Log         *slog.Logger
}

// Service implements messages, read states and typing.
type Service struct {
	d   Deps
	cfg Config

	sendMu sync.Mutex
	queues map[string]*sendQueue // channel id -> its waiting sends
}

// New returns a Service.
func New(d Deps, cfg Config) *Service { return &Service{d: d, cfg: cfg} }

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

func isKind(err error, kind errs.Kind) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == kind
}

// now is the time of a write, to the millisecond stores keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// view renders one message.
func (s *Service) view(ctx context.Context, m Message) (View, error) {
	vs, err := s.views(ctx, []Message{m})
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// viewNew renders a message just stored with the files attachmentIDs:
// what view does, without asking the store for files it knows of (none,
// for most messages).
func (s *Service) viewNew(ctx context.Context, m Message, attachmentIDs []string) (View, error) {
	if len(attachmentIDs) > 0 {
		return s.view(ctx, m)
	}
	vs, err := s.render(ctx, []Message{m}, false)
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// views renders messages, resolving author names and reply previews with
// one store read and one name lookup for the whole page.
func (s *Service) views(ctx context.Context, ms []Message) ([]View, error) {
	return s.render(ctx, ms, true)
}

// render is views; without withFiles the messages have no files.
func (s *Service) render(ctx context.Context, ms []Message, withFiles bool) ([]View, error) {
	var replyIDs []string
	authors := make([]string, 0, len(ms))
	for _, m := range ms {
		authors = append(authors, m.AuthorID)
		if m.ReplyToID != "" {
			replyIDs = append(replyIDs, m.ReplyToID)
		}
	}
	replies := map[string]Message{}
	if len(replyIDs) > 0 {
		rs, err := s.d.Messages.MessagesByID(ctx, dedupe(replyIDs))
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			replies[r.ID] = r
			authors = append(authors, r.AuthorID)
		}
	}
	names, _ := s.d.Names.DisplayNames(ctx, dedupe(authors))
	var files map[string][]Attachment
	if withFiles {
		msgIDs := make([]string, len(ms))
		for i, m := range ms {
			msgIDs[i] = m.ID
		}
		var err error
		if files, err = s.attachmentsOf(ctx, msgIDs); err != nil {
			return nil, err
		}
	}
	out := make([]View, len(ms))
	for i, m := range ms {
		v := View{Message: m, AuthorName: names[m.AuthorID], Attachments: files[m.ID]}
		if m.ReplyToID != "" {
			p := &Preview{ID: m.ReplyToID}
			if r, ok := replies[m.ReplyToID]; ok {
				p.AuthorID, p.AuthorName, p.Content = r.AuthorID, names[r.AuthorID], preview(r.Content)
			} else {
				p.Deleted = true
			}
			v.ReplyTo = p
		}
		out[i] = v
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
