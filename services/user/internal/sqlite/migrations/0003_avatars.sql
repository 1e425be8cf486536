-- Avatars: the hash of the user's current picture (its bytes are in the
-- blob store under avatars/<user id>/<hash>); empty when the user has none.
ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
