-- Server icons: the hash of the server's current icon (its bytes are in the
-- blob store under icons/<server id>/<hash>); empty when it has none.
ALTER TABLE servers ADD COLUMN icon TEXT NOT NULL DEFAULT '';
