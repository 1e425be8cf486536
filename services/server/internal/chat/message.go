package chat

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/paging"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// requestTTL is how long a retry is answered from the request record;
// after it, or if the record was lost, the store's unique (author, request
// id) still catches the retry.
const requestTTL = 24 * time.Hour

// SendInput is what SendMessage needs.
type SendInput struct {
	UserID, ChannelID, Content, ReplyToID, RequestID string
	// AttachmentIDs are uploads of the user to the channel to send with
	// the message (at most MaxAttachments); Content may then be empty.
	AttachmentIDs []string
}

// Send stores a message and announces it. A retry with the same request id
// returns the stored original and announces nothing (unless its first
// attempt died before announcing it).
//
// The channel's lock is held from the id's allocation until the event is
// in the log, so the order of ids (history) is the order of the channel's
// events (the feed) on every instance. Before the insert the message enters
// the outbox and after the announcement it leaves (see outbox.go). The
// sends of one channel in this process share the lock, the insert and the
// append in batches (see sendbatch.go).
func (s *Service) Send(ctx context.Context, in SendInput) (View, error) {
	text, err := content("content", in.Content)
	if err != nil && !(len(in.AttachmentIDs) > 0 && strings.TrimSpace(in.Content) == "") {
		return View{}, err
	}
	ch, role, err := s.d.Access.Channel(ctx, in.UserID, in.ChannelID)
	if err != nil {
		return View{}, err
	}
	if in.RequestID != "" {
		if orig, ok, err := s.sentBefore(ctx, in.UserID, in.RequestID); err != nil {
			return View{}, err
		} else if ok {
			// The first attempt may have died before announcing it.
			if err := s.announceIfPending(ctx, orig); err != nil {
				return View{}, err
			}
			return s.view(ctx, orig)
		}
	}
	if in.ReplyToID != "" {
		if _, err := s.message(ctx, in.ChannelID, in.ReplyToID); err != nil {
			if isKind(err, errs.KindNotFound) {
				return View{}, errs.Invalid("reply_to_id", "not a message of this channel")
			}
			return View{}, err
		}
	}
	if err := s.checkUploads(ctx, in.UserID, in.ChannelID, in.AttachmentIDs); err != nil {
		return View{}, err
	}
	if err := s.allow(ctx, in.UserID, in.ChannelID); err != nil {
		return View{}, err
	}
	mentions, err := s.resolveMentions(ctx, ch, role, text)
	if err != nil {
		return View{}, err
	}

	m := Message{
		ServerID: ch.ServerID, ChannelID: in.ChannelID, AuthorID: in.UserID,
		Content: text, ReplyToID: in.ReplyToID, RequestID: in.RequestID, Mentions: mentions,
	}
	j, err := s.commit(ctx, m, in.AttachmentIDs)
	if err != nil {
		return View{}, err
	}
	if j.conflict {
		// A concurrent or earlier attempt stored it first: return that
		// message, announcing it if its sender died before doing so.
		orig, err := s.d.Messages.MessageByRequest(ctx, in.UserID, in.RequestID)
		if isKind(err, errs.KindNotFound) {
			// The conflicting insert did not survive (an attempt whose
			// process died mid-insert rolled back) or the conflict was on
			// the id: nothing of this request is stored, so a retry can
			// store it.
			return View{}, errs.Unavailable("sending is unavailable; retry")
		}
		if err != nil {
			return View{}, err
		}
		// No lock is held here (the batch released it), so the original
		// is announced under its own channel's lock if still pending.
		if err := s.announceIfPending(ctx, orig); err != nil {
			return View{}, err
		}
		return s.view(ctx, orig)
	}
	if j.err != nil {
		return View{}, j.err
	}
	switch j.end {
	case endAnnounced:
		// Clearing the outbox entry after the lock is harmless:
		// redelivery checks the log first.
		s.sendDone(ctx, OutboxEntry{ChannelID: j.m.ChannelID, MessageID: j.m.ID}, j.m)
	case endRedelivered:
		s.remember(ctx, j.m)
		s.typingDone(ctx, in.ChannelID, in.UserID)
	case endPending:
		s.remember(ctx, j.m)
	case endFinished:
		// Done with the announcement.
	}
	return j.v, nil
}

// remember records m's request id, if any, so a retry is answered without
// a store query.
func (s *Service) remember(ctx context.Context, m Message) {
	if m.RequestID == "" {
		return
	}
	if err := s.d.Requests.Remember(context.WithoutCancel(ctx), m.AuthorID, m.RequestID, m.ID, requestTTL); err != nil {
		s.d.Log.WarnContext(ctx, "request id record failed", "err", err)
	}
}

// sendDone ends a send after its announcement, outside the channel's
// lock: the request id is recorded, the outbox entry goes, the author's
// typing window closes and the activity stream records the message, in
// one round trip when Deps.SendDone is set. Failures are logged: the
// message is stored and announced either way, and the request record only
// saves a retry the store query (the unique (author, request id) is the
// guarantee; a retry that comes before the record finds the message
// through it).
func (s *Service) sendDone(ctx context.Context, e OutboxEntry, m Message) {
	ctx = context.WithoutCancel(ctx)
	var errs SendDoneErrors
	if s.d.SendDone != nil {
		errs = s.d.SendDone.SendDone(ctx, m, e, requestTTL, s.cfg.TypingEvery > 0)
	} else {
		s.remember(ctx, m)
		errs.Outbox = s.d.Outbox.Remove(ctx, e)
		if s.cfg.TypingEvery > 0 {
			errs.Typing = s.d.Typing.Close(ctx, m.ChannelID, m.AuthorID)
		}
		errs.Activity = s.d.Activity.Record(ctx, "message_created", m)
	}
	if errs.Request != nil {
		s.d.Log.WarnContext(ctx, "request id record failed", "err", errs.Request)
	}
	if errs.Outbox != nil {
		s.d.Log.WarnContext(ctx, "outbox removal failed; the sweeper checks the log before announcing", "err", errs.Outbox)
	}
	if errs.Typing != nil {
		s.d.Log.WarnContext(ctx, "typing window not cleared", "err", errs.Typing)
	}
	if errs.Activity != nil {
		s.d.Log.ErrorContext(ctx, "activity append failed", "err", errs.Activity, "kind", "message_created")
	}
}

// allow admits one send of user in channel or returns a RESOURCE_EXHAUSTED
// error with the delay after which a send is admitted again.
func (s *Service) allow(ctx context.Context, userID, channelID string) error {
	if s.cfg.RateLimit <= 0 {
		return nil
	}
	wait, err := s.d.Limiter.Allow(ctx, userID, channelID, s.cfg.RateLimit, s.cfg.RateWindow)
	if err != nil {
		s.d.Log.ErrorContext(ctx, "rate limit check failed", "err", err)
		return errs.Unavailable("sending is unavailable; retry")
	}
	if wait > 0 {
		return errs.ResourceExhausted(wait, "too many messages in this channel; retry in %s", wait.Round(time.Millisecond))
	}
	return nil
}

// activity records a change on the stream the stats service reads; a
// failure is logged, the change has happened.
func (s *Service) activity(ctx context.Context, kind string, m Message) {
	if err := s.d.Activity.Record(context.WithoutCancel(ctx), kind, m); err != nil {
		s.d.Log.ErrorContext(ctx, "activity append failed", "err", err, "kind", kind)
	}
}

// sentBefore finds the message the author stored earlier with this request
// id, through the request record (a message deleted since is sent anew).
func (s *Service) sentBefore(ctx context.Context, authorID, requestID string) (Message, bool, error) {
	id, err := s.d.Requests.Recall(ctx, authorID, requestID)
	if err != nil || id == "" {
		return Message{}, false, err
	}
	m, err := s.d.Messages.Message(ctx, id)
	if isKind(err, errs.KindNotFound) {
		return Message{}, false, nil
	}
	return m, err == nil, err
}

// message loads a message of the channel, or NotFound.
func (s *Service) message(ctx context.Context, channelID, messageID string) (Message, error) {
	m, err := s.d.Messages.Message(ctx, messageID)
	if isKind(err, errs.KindNotFound) || (err == nil && m.ChannelID != channelID) {
		return Message{}, errs.NotFound("message not found")
	}
	return m, err
}

// ListInput is what ListMessages needs: at most one of Before, After and
// Around.
type ListInput struct {
	UserID, ChannelID, Before, After, Around string
	PageSize                                 int
}

// Page is one page of a channel's history, newest first, and whether more
// remain on either side of it. Older and Newer are known only in the
// directions the page went: a page of older messages (Before, or no
// cursor) tells Older; a page of newer ones (After) tells Newer; a page
// around a message tells both. A page without a cursor is the live end.
type Page struct {
	Messages     []View
	Older, Newer bool
}

// pageID checks a paging bound: empty, or the form of a message id.
func pageID(field, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if id = strings.ToLower(id); !ids.Valid(id) {
		return "", errs.Invalid(field, "not a message id")
	}
	return id, nil
}

// List returns one page of a channel's history, newest first: the newest
// messages, those before or after a message, or those around one (the
// message itself with up to a page on each side of it, to jump to it).
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	n, err := paging.Size(int32(min(in.PageSize, MaxPageSize+1)), DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page{}, err
	}
	set := 0
	for _, b := range []string{in.Before, in.After, in.Around} {
		if b != "" {
			set++
		}
	}
	if set > 1 {
		field := "after"
		if in.Around != "" {
			field = "around"
		}
		return Page{}, errs.Invalid(field, "set only one of before, after and around")
	}
	if _, _, err := s.d.Access.Channel(ctx, in.UserID, in.ChannelID); err != nil {
		return Page{}, err
	}
	before, err := pageID("before", in.Before)
	if err != nil {
		return Page{}, err
	}
	after, err := pageID("after", in.After)
	if err != nil {
		return Page{}, err
	}
	around, err := pageID("around", in.Around)
	if err != nil {
		return Page{}, err
	}
	if around != "" {
		return s.around(ctx, in.UserID, in.ChannelID, around, n)
	}
	ms, err := s.d.Messages.ListMessages(ctx, in.ChannelID, MessagePage{Before: before, After: after, Limit: n + 1})
	if err != nil {
		return Page{}, err
	}
	more := len(ms) > n
	if more {
		ms = ms[:n]
	}
	p := Page{Older: more}
	if after != "" {
		slices.Reverse(ms) // the store returns them oldest first
		p = Page{Newer: more}
	}
	if p.Messages, err = s.views(ctx, ms); err != nil {
		return Page{}, err
	}
	return p, s.decorate(ctx, in.UserID, p.Messages)
}

// around is the page of List around the message id: two range reads of
// the channel's index from the message, one each way, so the cost does
// not depend on where in the history it is.
func (s *Service) around(ctx context.Context, userID, channelID, id string, n int) (Page, error) {
	m, err := s.d.Messages.Message(ctx, id)
	if isKind(err, errs.KindNotFound) || (err == nil && m.ChannelID != channelID) {
		return Page{}, errs.NotFound("around: the channel has no such message")
	}
	if err != nil {
		return Page{}, err
	}
	older, err := s.d.Messages.ListMessages(ctx, channelID, MessagePage{Before: id, Limit: n + 1})
	if err != nil {
		return Page{}, err
	}
	newer, err := s.d.Messages.ListMessages(ctx, channelID, MessagePage{After: id, Limit: n + 1})
	if err != nil {
		return Page{}, err
	}
	p := Page{Older: len(older) > n, Newer: len(newer) > n}
	older, newer = older[:min(len(older), n)], newer[:min(len(newer), n)]
	slices.Reverse(newer) // the store returns them oldest first
	ms := make([]Message, 0, len(newer)+1+len(older))
	ms = append(append(append(ms, newer...), m), older...)
	if p.Messages, err = s.views(ctx, ms); err != nil {
		return Page{}, err
	}
	return p, s.decorate(ctx, userID, p.Messages)
}

// Update replaces the content of the caller's own message.
func (s *Service) Update(ctx context.Context, userID, channelID, messageID, text string) (View, error) {
	text, err := content("content", text)
	if err != nil {
		return View{}, err
	}
	ch, role, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return View{}, err
	}
	m, err := s.message(ctx, channelID, messageID)
	if err != nil {
		return View{}, err
	}
	if m.AuthorID != userID {
		return View{}, errs.PermissionDenied("only the author may edit a message")
	}
	lock, err := s.d.Locks.Lock(ctx, channelID)
	if err != nil {
		return View{}, err
	}
	defer lock.Unlock("")
	mentions, err := s.resolveMentions(ctx, ch, role, text)
	if err != nil {
		return View{}, err
	}
	at := now()
	if err := s.d.Messages.EditMessage(ctx, m.ID, text, mentions, at); err != nil {
		if isKind(err, errs.KindNotFound) {
			return View{}, errs.NotFound("message not found")
		}
		return View{}, err
	}
	had := !m.Mentions.Empty()
	m.Content, m.EditedAt, m.Mentions = text, &at, mentions
	if had || !mentions.Empty() {
		s.recordMentions(ctx, m, had)
	}
	v, err := s.view(ctx, m)
	if err != nil {
		return View{}, err
	}
	vs := []View{v}
	if err := s.decorate(ctx, userID, vs); err != nil {
		return View{}, err
	}
	v = vs[0]
	ev := v // every member reads the event: no "me"
	ev.Reactions = clearMe(v.Reactions)
	s.announce(ctx, func(ctx context.Context) error { return s.d.Events.MessageUpdated(ctx, ev) })
	return v, nil
}

// Delete removes a message: the author's own, or any for admins and the owner.
func (s *Service) Delete(ctx context.Context, userID, channelID, messageID string) error {
	_, role, err := s.d.Access.Channel(ctx, userID, channelID)
	if err != nil {
		return err
	}
	m, err := s.message(ctx, channelID, messageID)
	if err != nil {
		return err
	}
	if m.AuthorID != userID && !role.AtLeast(guild.RoleAdmin) {
		return errs.PermissionDenied("only the author, admins and the owner may delete a message")
	}
	lock, err := s.d.Locks.Lock(ctx, channelID)
	if err != nil {
		return err
	}
	defer lock.Unlock("")
	if err := s.d.Messages.DeleteMessage(ctx, m.ID); err != nil {
		if isKind(err, errs.KindNotFound) {
			return errs.NotFound("message not found") // a concurrent delete announced it
		}
		return err
	}
	if !m.Mentions.Empty() {
		if err := s.d.MentionIndex.DeleteMentions(context.WithoutCancel(ctx), m.ID); err != nil {
			s.d.Log.ErrorContext(ctx, "mention delete failed", "err", err, "message_id", m.ID)
		}
	}
	s.announce(ctx, func(ctx context.Context) error { return s.d.Events.MessageDeleted(ctx, m) })
	s.activity(ctx, "message_deleted", m)
	// A deleted message's reactions and pin go with it (its pin would
	// otherwise count against the channel's limit). A failure leaves
	// entries that name a missing message: lists leave them out.
	if _, err := s.d.Pins.RemovePin(ctx, channelID, m.ID); err != nil {
		s.d.Log.WarnContext(ctx, "pin cleanup failed", "err", err)
	}
	if err := s.d.Reactions.DeleteMessageReactions(ctx, m.ID); err != nil {
		s.d.Log.WarnContext(ctx, "reaction cleanup failed", "err", err)
	}
	s.deleteFilesOf(ctx, m.ID)
	return nil
}

// announce runs an announcement of a committed write. A failure cannot undo
// the write: it is logged, and clients see the change in history.
func (s *Service) announce(ctx context.Context, f func(ctx context.Context) error) {
	if err := f(context.WithoutCancel(ctx)); err != nil {
		s.d.Log.ErrorContext(ctx, "event append failed after commit", "err", err)
	}
}
