// Package reports holds the stats service's rules: what is counted
// (metrics), over which windows and buckets, who may see which report,
// and how a rebuild recounts messages. It owns the interfaces of the
// counter store, of the rebuild's message source, and of the peer
// services it asks; it does no I/O of its own.
//
// Counts are kept per UTC day for as long as the data goes, per UTC hour
// for the last HourRetention, and for all time. Rankings and series are
// aligned to those buckets. Deletions count: a deleted message takes one
// off the buckets of its creation time, so the counters always equal what
// a rebuild computes from the messages that still exist. Private
// conversations ("dm" servers) count for their authors' message totals,
// but the busiest-servers report leaves them out.
package reports

import (
	"time"
)

// HourRetention is how long hourly buckets are kept. Hourly series can
// therefore cover the DAY and WEEK windows, not longer ones.
const HourRetention = 8 * 24 * time.Hour

// MaxSeriesDays bounds an all-time daily series.
const MaxSeriesDays = 365

// Metric is what is counted.
type Metric int

// Metrics.
const (
	Messages Metric = iota + 1
	Connections
)

// Window is how far back a report looks.
type Window int

// Windows. Rankings and series are aligned to buckets: Day is the current
// hour and the 23 before it; Week and Month are today (UTC) and the 6 or 29
// days before; All is everything counted.
const (
	Day Window = iota + 1
	Week
	Month
	All
)

// DayID names the UTC day of t ("20261127").
func DayID(t time.Time) string { return t.UTC().Format("20060102") }

// HourID names the UTC hour of t ("2026112713").
func HourID(t time.Time) string { return t.UTC().Format("2006010215") }

// DayStart is the start of t's UTC day.
func DayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// HourStart is the start of t's UTC hour.
func HourStart(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// WindowStart is the start of the first bucket of w at now; All has no
// fixed start and returns the zero time.
func WindowStart(w Window, now time.Time) time.Time {
	switch w {
	case Day:
		return HourStart(now).Add(-23 * time.Hour)
	case Week:
		return DayStart(now).AddDate(0, 0, -6)
	case Month:
		return DayStart(now).AddDate(0, 0, -29)
	}
	return time.Time{}
}

// HourlyAllowed reports whether an hourly series over w can be answered
// (hourly buckets are only kept for HourRetention).
func HourlyAllowed(w Window) bool { return w == Day || w == Week }

// HourExpiry is when an hourly bucket starting at h is dropped.
func HourExpiry(h time.Time) time.Time { return h.Add(HourRetention + time.Hour) }

// KeepsHour reports whether the hourly bucket starting at h is still kept at now.
func KeepsHour(h, now time.Time) bool { return HourExpiry(h).After(now) }
