package sqlite

import (
	"context"
	"time"

	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/chat"
)

// Attachments.

const (
	attachmentColumns = `id, server_id, channel_id, uploader_id, message_id, name, content_type, size,
		width, height, blob_key, thumb_key, thumb_width, thumb_height, created_at`

	qInsertAttachment = `INSERT INTO attachments (` + attachmentColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qAttachment    = `SELECT ` + attachmentColumns + ` FROM attachments WHERE id = ?`
	qAttachmentsOf = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_message_created
		WHERE message_id IN (SELECT value FROM json_each(?)) AND message_id != ''`
	qAttach   = `UPDATE attachments SET message_id = ? WHERE id = ? AND message_id = ''`
	qComplete = `UPDATE attachments SET content_type = ?, size = ?, width = ?, height = ?, blob_key = ?,
		thumb_key = ?, thumb_width = ?, thumb_height = ? WHERE id = ? AND content_type = ''`
	qDetach           = `UPDATE attachments SET message_id = '' WHERE id = ? AND message_id = ?`
	qDeleteAttachment = `DELETE FROM attachments WHERE id = ?`
	qUnattached       = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_message_created
		WHERE message_id = '' AND created_at < ? ORDER BY created_at LIMIT ?`
	qAttachmentsInChannel = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_channel
		WHERE channel_id = ? LIMIT ?`
	qAttachmentsInServer = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_server_size
		WHERE server_id = ? LIMIT ?`
	// The range on server_id makes the covering index a search.
	qBytesByServer = `SELECT server_id, SUM(size) FROM attachments INDEXED BY attachments_server_size
		WHERE server_id > '' GROUP BY server_id`
)

var _ chat.AttachmentStore = (*Store)(nil)

func scanAttachment(r rowScanner) (chat.Attachment, error) {
	var a chat.Attachment
	var created int64
	err := r.Scan(&a.ID, &a.ServerID, &a.ChannelID, &a.UploaderID, &a.MessageID, &a.Name, &a.ContentType, &a.Size,
		&a.Width, &a.Height, &a.BlobKey, &a.ThumbKey, &a.ThumbWidth, &a.ThumbHeight, &created)
	a.CreatedAt = fromMillis(created)
	return a, err
}

// CreateAttachment implements chat.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a chat.Attachment) error {
	_, err := s.db.Exec(ctx, qInsertAttachment, a.ID, a.ServerID, a.ChannelID, a.UploaderID, a.MessageID, a.Name,
		a.ContentType, a.Size, a.Width, a.Height, a.BlobKey, a.ThumbKey, a.ThumbWidth, a.ThumbHeight, millis(a.CreatedAt))
	return sqlitex.Err(err, "insert attachment", nil, exists("attachment"))
}

// Attachment implements chat.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id string) (chat.Attachment, error) {
	a, err := scanAttachment(s.db.QueryRow(ctx, qAttachment, id))
	return a, sqlitex.Err(err, "find attachment", notFound("attachment"), nil)
}

// AttachmentsOf implements chat.AttachmentStore.
func (s *Store) AttachmentsOf(ctx context.Context, messageIDs []string) ([]chat.Attachment, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	return list(ctx, s, "list attachments", scanAttachment, qAttachmentsOf, idList(messageIDs))
}

// AttachToMessage implements chat.AttachmentStore: one conditional update.
func (s *Store) AttachToMessage(ctx context.Context, id, messageID string) (bool, error) {
	return s.exec(ctx, "attach", qAttach, messageID, id)
}

// CompleteAttachment implements chat.AttachmentStore: one conditional update.
func (s *Store) CompleteAttachment(ctx context.Context, a chat.Attachment) (bool, error) {
	return s.exec(ctx, "complete attachment", qComplete, a.ContentType, a.Size, a.Width, a.Height, a.BlobKey,
		a.ThumbKey, a.ThumbWidth, a.ThumbHeight, a.ID)
}

// DetachFromMessage implements chat.AttachmentStore.
func (s *Store) DetachFromMessage(ctx context.Context, id, messageID string) error {
	_, err := s.exec(ctx, "detach", qDetach, id, messageID)
	return err
}

// DeleteAttachment implements chat.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id string) error {
	ok, err := s.exec(ctx, "delete attachment", qDeleteAttachment, id)
	if err == nil && !ok {
		return notFound("attachment")
	}
	return err
}

// UnattachedBefore implements chat.AttachmentStore.
func (s *Store) UnattachedBefore(ctx context.Context, t time.Time, limit int) ([]chat.Attachment, error) {
	return list(ctx, s, "list unattached", scanAttachment, qUnattached, millis(t), limit)
}

// AttachmentsIn implements chat.AttachmentStore.
func (s *Store) AttachmentsIn(ctx context.Context, serverID, channelID string, limit int) ([]chat.Attachment, error) {
	if channelID != "" {
		return list(ctx, s, "list channel attachments", scanAttachment, qAttachmentsInChannel, channelID, limit)
	}
	return list(ctx, s, "list server attachments", scanAttachment, qAttachmentsInServer, serverID, limit)
}

// BytesByServer implements chat.AttachmentStore: SUM(size) GROUP BY
// server_id over the covering {server_id, size} index.
func (s *Store) BytesByServer(ctx context.Context, fn func(serverID string, bytes int64) error) error {
	type row struct {
		id string
		n  int64
	}
	rows, err := list(ctx, s, "sum attachment sizes", func(r rowScanner) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.n)
		return x, err
	}, qBytesByServer)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := fn(r.id, r.n); err != nil {
			return err
		}
	}
	return nil
}
