package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// Messages.

func scanMessage(r rowScanner) (chat.Message, error) {
	var m chat.Message
	var created int64
	var edited sql.NullInt64
	var users, chans string
	if err := r.Scan(&m.ID, &m.ServerID, &m.ChannelID, &m.AuthorID, &m.Content, &created, &edited, &m.ReplyToID, &m.RequestID,
		&users, &chans, &m.Mentions.Everyone); err != nil {
		return chat.Message{}, err
	}
	m.CreatedAt, m.EditedAt = fromMillis(created), fromOptMillis(edited)
	m.Mentions.UserIDs, m.Mentions.ChannelIDs = fromIDList(users), fromIDList(chans)
	return m, nil
}

// fromIDList reads a JSON array of ids written by idList (nil when empty).
func fromIDList(s string) []string {
	var out []string
	if s == "" || s == "[]" || json.Unmarshal([]byte(s), &out) != nil || len(out) == 0 {
		return nil
	}
	return out
}

// CreateMessage implements chat.MessageStore: the primary key and the
// partial UNIQUE (author_id, request_id) make both conflicts AlreadyExists.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message) error {
	_, err := s.db.Exec(ctx, qInsertMessage, m.ID, m.ServerID, m.ChannelID, m.AuthorID, m.Content, millis(m.CreatedAt),
		optMillis(m.EditedAt), m.ReplyToID, m.RequestID,
		idList(m.Mentions.UserIDs), idList(m.Mentions.ChannelIDs), m.Mentions.Everyone)
	return sqlitex.Err(err, "insert message", nil, exists("message"))
}

// CreateMessages implements chat.MessageStore in one transaction (one
// commit for the batch). A conflicting insert fails alone: SQLite rolls
// back the statement, not the transaction.
func (s *Store) CreateMessages(ctx context.Context, ms []chat.Message) ([]error, error) {
	per := make([]error, len(ms))
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, m := range ms {
			_, err := s.db.ExecIn(ctx, tx, qInsertMessage, m.ID, m.ServerID, m.ChannelID, m.AuthorID, m.Content, millis(m.CreatedAt),
				optMillis(m.EditedAt), m.ReplyToID, m.RequestID,
				idList(m.Mentions.UserIDs), idList(m.Mentions.ChannelIDs), m.Mentions.Everyone)
			if sqlitex.IsUnique(err) {
				per[i] = exists("message")
				continue
			}
			if err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return per, nil
}

// Message implements chat.MessageStore.
func (s *Store) Message(ctx context.Context, id string) (chat.Message, error) {
	m, err := scanMessage(s.db.QueryRow(ctx, qMessage, id))
	return m, sqlitex.Err(err, "find message", notFound("message"), nil)
}

// MessageByRequest implements chat.MessageStore.
func (s *Store) MessageByRequest(ctx context.Context, authorID, requestID string) (chat.Message, error) {
	if requestID == "" {
		return chat.Message{}, notFound("message")
	}
	m, err := scanMessage(s.db.QueryRow(ctx, qMessageByRequest, authorID, requestID))
	return m, sqlitex.Err(err, "find message", notFound("message"), nil)
}

// MessagesByID implements chat.MessageStore.
func (s *Store) MessagesByID(ctx context.Context, ids []string) ([]chat.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return list(ctx, s, "find messages", scanMessage, qMessagesByIDs, idList(ids))
}

// noID is above every id: a Before of "" lets any id through.
const noID = "~"

// ListMessages implements chat.MessageStore: one range of the
// (channel_id, id) index, read for at most p.Limit rows.
func (s *Store) ListMessages(ctx context.Context, channelID string, p chat.MessagePage) ([]chat.Message, error) {
	if p.After != "" {
		return list(ctx, s, "list messages", scanMessage, qMessagesAfter, channelID, p.After, p.Limit)
	}
	before := p.Before
	if before == "" {
		before = noID
	}
	return list(ctx, s, "list messages", scanMessage, qMessagesBefore, channelID, before, p.Limit)
}

// ScanMessages implements chat.MessageStore along the primary key.
func (s *Store) ScanMessages(ctx context.Context, after string, limit int) ([]chat.Message, error) {
	return list(ctx, s, "scan messages", scanMessage, qScanMessages, after, limit)
}

func scanRef(r rowScanner) (chat.MessageRef, error) {
	var m chat.MessageRef
	err := r.Scan(&m.ID, &m.AuthorID)
	return m, err
}

// NewestMessages implements chat.MessageStore from the covering index
// alone.
func (s *Store) NewestMessages(ctx context.Context, channelID, after string, limit int) ([]chat.MessageRef, error) {
	return list(ctx, s, "list newest messages", scanRef, qNewestMessages, channelID, after, limit)
}

// UnreadCount implements chat.UnreadCounter in one statement that reads at
// most limit entries of the (channel_id, id, author_id) index.
func (s *Store) UnreadCount(ctx context.Context, channelID, after, userID string, limit int) (int, string, error) {
	var n int
	var newest string
	err := s.db.QueryRow(ctx, qUnreadCount, channelID, after, limit, userID).Scan(&n, &newest)
	return n, newest, sqlitex.Err(err, "count unread messages", nil, nil)
}

// UnreadCounts implements chat.UnreadBatcher: UnreadCount's statement for
// each channel, in one read transaction.
func (s *Store) UnreadCounts(ctx context.Context, userID string, qs []chat.UnreadQuery, limit int) ([]chat.UnreadCount, error) {
	out := make([]chat.UnreadCount, len(qs))
	err := s.eachInRead(ctx, qUnreadCount, len(qs), func(i int, st *sql.Stmt) error {
		return st.QueryRowContext(ctx, qs[i].ChannelID, qs[i].After, limit, userID).Scan(&out[i].Unread, &out[i].NewestID)
	})
	return out, sqlitex.Err(err, "count unread messages", nil, nil)
}

// eachInRead runs query n times in one read transaction (sqlitex Read),
// its statement prepared once: run(i, st) runs the i-th.
func (s *Store) eachInRead(ctx context.Context, query string, n int, run func(i int, st *sql.Stmt) error) error {
	return s.db.Read(ctx, func(tx *sql.Tx) error {
		st, err := s.db.TxStmt(ctx, tx, query)
		if err != nil {
			return err
		}
		for i := range n {
			if err := run(i, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// EditMessage implements chat.MessageStore.
func (s *Store) EditMessage(ctx context.Context, id, content string, mentions chat.Mentions, at time.Time) error {
	ok, err := s.exec(ctx, "edit message", qEditMessage, content, millis(at),
		idList(mentions.UserIDs), idList(mentions.ChannelIDs), mentions.Everyone, id)
	if err == nil && !ok {
		return notFound("message")
	}
	return err
}

// DeleteMessage implements chat.MessageStore.
func (s *Store) DeleteMessage(ctx context.Context, id string) error {
	ok, err := s.exec(ctx, "delete message", qDeleteMessage, id)
	if err == nil && !ok {
		return notFound("message")
	}
	return err
}

// OldestMessageTime implements chat.MessageStore: the first entry of the
// messages_created_at index.
func (s *Store) OldestMessageTime(ctx context.Context) (time.Time, bool, error) {
	var ms int64
	err := s.db.QueryRow(ctx, qOldestMessage).Scan(&ms)
	if sqlitex.IsNotFound(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, sqlitex.Err(err, "find oldest message", nil, nil)
	}
	return fromMillis(ms), true, nil
}

// CountMessages implements chat.MessageStore: one range of the covering
// messages_created_at index, counted here per (author, server), as SQLite
// would group them in a temporary b-tree.
func (s *Store) CountMessages(ctx context.Context, from, to time.Time, fn func(chat.MessageCount) error) error {
	type pair struct{ author, server string }
	counts := map[pair]int64{}
	rows, err := s.db.Query(ctx, qMessageAuthors, millis(from), millis(to))
	if err != nil {
		return sqlitex.Err(err, "count messages", nil, nil)
	}
	defer rows.Close()
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.author, &p.server); err != nil {
			return sqlitex.Err(err, "count messages", nil, nil)
		}
		counts[p]++
	}
	if err := rows.Err(); err != nil {
		return sqlitex.Err(err, "count messages", nil, nil)
	}
	for p, n := range counts {
		if err := fn(chat.MessageCount{AuthorID: p.author, ServerID: p.server, N: n}); err != nil {
			return err
		}
	}
	return nil
}

// Read markers.

// AdvanceReadMarker implements chat.ReadStateStore with one upsert whose
// update applies only to a greater id.
func (s *Store) AdvanceReadMarker(ctx context.Context, m chat.ReadMarker) (bool, error) {
	return s.exec(ctx, "advance read marker", qAdvanceMarker, m.UserID, m.ChannelID, m.ServerID, m.LastReadID, millis(m.UpdatedAt))
}

// ReadMarker implements chat.ReadStateStore.
func (s *Store) ReadMarker(ctx context.Context, userID, channelID string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, qReadMarker, userID, channelID).Scan(&id)
	if sqlitex.IsNotFound(err) {
		return "", nil
	}
	return id, sqlitex.Err(err, "find read marker", nil, nil)
}

// ReadMarkers implements chat.ReadStateStore.
func (s *Store) ReadMarkers(ctx context.Context, userID string, channelIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(channelIDs))
	if len(channelIDs) == 0 {
		return out, nil
	}
	type marker struct{ channel, last string }
	ms, err := list(ctx, s, "find read markers", func(r rowScanner) (marker, error) {
		var m marker
		err := r.Scan(&m.channel, &m.last)
		return m, err
	}, qReadMarkers, userID, idList(channelIDs))
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.channel] = m.last
	}
	return out, nil
}

// Mentions.

// AddMentions implements chat.MentionIndex: one statement per message.
func (s *Store) AddMentions(ctx context.Context, ms []chat.Mention) error {
	type key struct{ msg, ch, srv, author string }
	users := map[key][]string{}
	var order []key
	for _, m := range ms {
		k := key{m.MessageID, m.ChannelID, m.ServerID, m.AuthorID}
		if _, ok := users[k]; !ok {
			order = append(order, k)
		}
		users[k] = append(users[k], m.UserID)
	}
	for _, k := range order {
		if _, err := s.exec(ctx, "insert mentions", qInsertMentions, idList(users[k]), k.msg, k.ch, k.srv, k.author); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMentions implements chat.MentionIndex.
func (s *Store) DeleteMentions(ctx context.Context, messageID string) error {
	_, err := s.exec(ctx, "delete mentions", qDeleteMentions, messageID)
	return err
}

// CountMentions implements chat.MentionIndex from at most limit entries of
// mentions_user_channel.
func (s *Store) CountMentions(ctx context.Context, userID, channelID, after string, limit int) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, qCountMentions, userID, channelID, after, limit).Scan(&n)
	return n, sqlitex.Err(err, "count mentions", nil, nil)
}

// CountMentionsIn implements chat.MentionBatcher: CountMentions's
// statement for each channel, in one read transaction.
func (s *Store) CountMentionsIn(ctx context.Context, userID string, qs []chat.UnreadQuery, limit int) ([]int, error) {
	out := make([]int, len(qs))
	err := s.eachInRead(ctx, qCountMentions, len(qs), func(i int, st *sql.Stmt) error {
		return st.QueryRowContext(ctx, userID, qs[i].ChannelID, qs[i].After, limit).Scan(&out[i])
	})
	return out, sqlitex.Err(err, "count mentions", nil, nil)
}

// ListMentions implements chat.MentionIndex.
func (s *Store) ListMentions(ctx context.Context, userID, before string, limit int) ([]chat.Mention, error) {
	if before == "" {
		before = noID
	}
	return list(ctx, s, "list mentions", func(r rowScanner) (chat.Mention, error) {
		var m chat.Mention
		err := r.Scan(&m.UserID, &m.MessageID, &m.ChannelID, &m.ServerID, &m.AuthorID)
		return m, err
	}, qListMentions, userID, before, limit)
}

// Notification settings.

// PutNotifySetting implements chat.NotifySettingStore with one upsert.
func (s *Store) PutNotifySetting(ctx context.Context, n chat.NotifySetting) error {
	_, err := s.exec(ctx, "put notification setting", qPutNotifySetting, n.UserID, n.ServerID, n.ChannelID, n.Level, n.Muted)
	return err
}

// NotifySettings implements chat.NotifySettingStore.
func (s *Store) NotifySettings(ctx context.Context, userID string) ([]chat.NotifySetting, error) {
	return list(ctx, s, "list notification settings", func(r rowScanner) (chat.NotifySetting, error) {
		var n chat.NotifySetting
		err := r.Scan(&n.UserID, &n.ServerID, &n.ChannelID, &n.Level, &n.Muted)
		return n, err
	}, qNotifySettings, userID)
}
