-- Account settings list a user's live sessions and when each was last used
-- (its tokens last issued, at sign-in or refresh).
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
-- ListSessions: one user's sessions that are not revoked.
CREATE INDEX sessions_user ON sessions (user_id, revoked);
