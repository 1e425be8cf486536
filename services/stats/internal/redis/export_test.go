package redis

import (
	"context"
	"strconv"
	"time"

	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Load adds entries to the current generation in bulk, summed in memory
// first like a rebuild (the benchmark seeds a million entries this way;
// the live path applies them a script call per batch). There must be no
// materialized windows yet.
func (s *Store) Load(ctx context.Context, entries []reports.Entry, now time.Time) error {
	gen, err := s.currentGen(ctx)
	if err != nil {
		return err
	}
	w := &writer{rdb: s.rdb, base: s.genBase() + strconv.FormatInt(gen, 10) + ":", now: now}
	w.reset()
	for _, e := range entries {
		if err := w.add(ctx, e, int64(e.Delta)); err != nil {
			return err
		}
	}
	return w.flush(ctx)
}
