package sqlitex

import (
	"context"
	"fmt"
	"strings"
)

// Plan returns the steps of EXPLAIN QUERY PLAN for query with args.
func (db *DB) Plan(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: explain: %w", err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: explain: %w", err)
		}
		steps = append(steps, detail)
	}
	return steps, rows.Err()
}

// Unindexed returns the steps of a plan that read a whole table ("SCAN t"
// without an index) or sort rows in a temporary B-tree: what makes a query
// grow with the table instead of with its result. A scan of a virtual
// table (json_each over a list of ids passed as one argument) reads the
// argument, not the database, and is not counted; nor is a scan of a
// subquery's rows ("SCAN (subquery-1)": the subquery's own steps are
// checked) or of the one row of a SELECT without FROM ("SCAN CONSTANT ROW").
func Unindexed(plan []string) []string {
	var bad []string
	for _, s := range plan {
		scan := strings.HasPrefix(s, "SCAN ") && !strings.Contains(s, " USING ") && !strings.Contains(s, "VIRTUAL TABLE") &&
			!strings.HasPrefix(s, "SCAN (subquery-") && s != "SCAN CONSTANT ROW"
		if scan || strings.Contains(s, "TEMP B-TREE") {
			bad = append(bad, s)
		}
	}
	return bad
}
