package reports

import (
	"context"
	"time"
)

// Rebuild recomputes every counter from the stored messages and the
// connection log, writing a new set of counters and switching to it at
// once. It is for operators. Messages are counted per hour while hourly
// buckets are kept and per day before that, one count per bucket.
//
// Entries counted live while a rebuild runs land in the old counters and
// are lost at the switch unless the rebuild saw them; run it when things
// are quiet, or again.
func (s *Service) Rebuild(ctx context.Context, v Viewer) (RebuildResult, error) {
	var res RebuildResult
	if err := s.authorize(ctx, v, "", ""); err != nil {
		return res, err
	}
	start := time.Now()
	now := s.d.Now()
	rb, err := s.d.Counters.BeginRebuild(ctx, now)
	if err != nil {
		return res, err
	}
	defer rb.Close()
	if res.Messages, err = s.rebuildMessages(ctx, rb, now); err != nil {
		return res, err
	}
	if res.Connections, err = rb.AddConnections(ctx); err != nil {
		return res, err
	}
	if err := rb.Commit(ctx); err != nil {
		return res, err
	}
	s.d.Log.Info("rebuilt counters", "messages", res.Messages, "connections", res.Connections, "took", time.Since(start))
	return res, nil
}

func (s *Service) rebuildMessages(ctx context.Context, rb Rebuild, now time.Time) (int64, error) {
	msgs := s.d.Source
	oldest, ok, err := msgs.Oldest(ctx)
	if err != nil || !ok {
		return 0, err
	}
	var total int64
	count := func(from, to time.Time) error {
		rows, err := msgs.Count(ctx, from, to)
		if err != nil {
			return err
		}
		for _, r := range rows {
			total += r.N
			if err := rb.Add(ctx, Entry{Metric: Messages, UserID: r.UserID, ServerID: r.ServerID, Time: from}, r.N); err != nil {
				return err
			}
		}
		return nil
	}
	// Up to the end of today; later messages (clock skew) are counted in
	// one last open bucket.
	end := DayStart(now).AddDate(0, 0, 1)
	for d := DayStart(oldest); d.Before(end); d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		if !KeepsHour(next.Add(-time.Hour), now) {
			if err := count(d, next); err != nil {
				return 0, err
			}
			continue
		}
		// Hourly buckets are still kept: count per hour, but only on days
		// that have messages at all.
		rows, err := msgs.Count(ctx, d, next)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			continue
		}
		for h := d; h.Before(next); h = h.Add(time.Hour) {
			if err := count(h, h.Add(time.Hour)); err != nil {
				return 0, err
			}
		}
	}
	if err := count(end, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return 0, err
	}
	return total, nil
}
