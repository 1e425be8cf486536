package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
)

// bulkBatch is how many rows a Loader writes per transaction.
const bulkBatch = 20000

// Loader writes many records fast, for benchmarks and imports: the rows go
// in large transactions through the stores' own INSERT statements, so they
// are exactly what the stores would have written one by one. A Loader
// holds the writer while a batch is open; Flush or Close ends it.
type Loader struct {
	ctx   context.Context
	s     *Store
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	n     int
	// batch is the rows per transaction; 0 is one transaction for all.
	batch int
}

// Loader returns a Loader writing into the store's database.
func (s *Store) Loader(ctx context.Context) *Loader {
	return &Loader{ctx: ctx, s: s, batch: bulkBatch}
}

// Import runs fn with a Loader whose rows all go in one transaction: the
// database gets every one of them, or none when fn or the commit fails.
func (s *Store) Import(ctx context.Context, fn func(*Loader) error) error {
	l := &Loader{ctx: ctx, s: s}
	if err := fn(l); err != nil {
		if l.tx != nil {
			_ = l.tx.Rollback()
		}
		return err
	}
	return l.Flush()
}

// Empty reports whether the database holds no server.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, qAnyServer).Scan(&n); err != nil {
		return false, sqlitex.Err(err, "count servers", nil, nil)
	}
	return n == 0, nil
}

func (l *Loader) exec(query string, args ...any) error {
	if l.tx == nil {
		tx, err := l.s.db.Writer().BeginTx(l.ctx, nil)
		if err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		l.tx, l.stmts = tx, map[string]*sql.Stmt{}
	}
	st, ok := l.stmts[query]
	if !ok {
		var err error
		if st, err = l.tx.PrepareContext(l.ctx, query); err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		l.stmts[query] = st
	}
	if _, err := st.ExecContext(l.ctx, args...); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	if l.n++; l.batch > 0 && l.n >= l.batch {
		return l.Flush()
	}
	return nil
}

// Flush commits the rows written so far.
func (l *Loader) Flush() error {
	if l.tx == nil {
		return nil
	}
	tx := l.tx
	l.tx, l.stmts, l.n = nil, nil, 0
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("bulk load: commit: %w", err)
	}
	return nil
}

// Close commits what is left.
func (l *Loader) Close() error { return l.Flush() }

// Server writes a server as CreateServer does.
func (l *Loader) Server(sv guild.Server) error {
	var dmUsers any
	if sv.DMUserIDs != nil {
		dmUsers = idList(sv.DMUserIDs)
	}
	return l.exec(qInsertServer, sv.ID, sv.Name, string(sv.Kind), sv.OwnerID, nullIfEmpty(sv.DMKey), dmUsers, sv.MemberCount, millis(sv.CreatedAt), sv.Icon)
}

// Member writes a membership as CreateMember does.
func (l *Loader) Member(m guild.Member, kind guild.Kind) error {
	return l.exec(qInsertMember, m.ID, m.ServerID, m.UserID, int32(m.Role), string(kind), millis(m.JoinedAt))
}

// Channel writes a channel as CreateChannel does.
func (l *Loader) Channel(c guild.Channel) error {
	return l.exec(qInsertChannel, c.ID, c.ServerID, c.Name, c.Topic, c.Position, millis(c.CreatedAt))
}

// Invite writes an invite as CreateInvite does.
func (l *Loader) Invite(inv guild.Invite) error {
	return l.exec(qInsertInvite, inv.Code, inv.ServerID, inv.CreatorID, optMillis(inv.ExpiresAt), inv.MaxUses, inv.Uses, millis(inv.CreatedAt))
}

// InviteUse writes a taken use slot of an invite, as ClaimInviteUse does.
func (l *Loader) InviteUse(code string, slot int, serverID, userID string, at time.Time) error {
	return l.exec(qInsertUse, code, slot, serverID, userID, millis(at))
}

// ReadMarker writes a read marker as AdvanceReadMarker does.
func (l *Loader) ReadMarker(m chat.ReadMarker) error {
	return l.exec(qAdvanceMarker, m.UserID, m.ChannelID, m.ServerID, m.LastReadID, millis(m.UpdatedAt))
}

// Message writes a message as CreateMessage does.
func (l *Loader) Message(m chat.Message) error {
	return l.exec(qInsertMessage, m.ID, m.ServerID, m.ChannelID, m.AuthorID, m.Content, millis(m.CreatedAt),
		optMillis(m.EditedAt), m.ReplyToID, m.RequestID,
		idList(m.Mentions.UserIDs), idList(m.Mentions.ChannelIDs), m.Mentions.Everyone)
}

// Mention writes a mention entry as AddMentions does.
func (l *Loader) Mention(m chat.Mention) error {
	return l.exec(qInsertMentions, idList([]string{m.UserID}), m.MessageID, m.ChannelID, m.ServerID, m.AuthorID)
}

// NotifySetting writes a notification setting as PutNotifySetting does.
func (l *Loader) NotifySetting(n chat.NotifySetting) error {
	return l.exec(qPutNotifySetting, n.UserID, n.ServerID, n.ChannelID, n.Level, n.Muted)
}
