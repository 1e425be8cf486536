package sqlitex

// Prepared is how many statements each pool of db keeps prepared.
func (db *DB) Prepared() (reads, writes int) {
	db.rs.mu.RLock()
	defer db.rs.mu.RUnlock()
	db.ws.mu.RLock()
	defer db.ws.mu.RUnlock()
	return len(db.rs.m), len(db.ws.m)
}

const MaxStmts = maxStmts
