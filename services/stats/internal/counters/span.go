// Package counters keeps Accord's usage counters in Redis and answers
// reports from them.
//
// Every count lives in a sorted set (or, for global totals, a hash) per
// bucket: per UTC day for as long as the data goes, per UTC hour for the
// last HourRetention, plus an all-time set. A report therefore reads a
// handful of keys instead of every message: a window of several buckets
// (the last 24 hours, 7 or 30 days) is unioned once into a materialized
// window key (…:w24:<hour>, :w7:<day>, :w30:<day>), which every later
// increment inside the window also updates, so that a ranking is a single
// sorted-set range read.
//
// Keys live under <prefix>stats:v<generation>:, and <prefix>stats:cur names
// the current generation. A rebuild writes a complete new generation and
// switches to it with one SET, so readers never see half a rebuild.
//
// Key families (members are ids, scores are counts):
//
//	mu:{d:<yyyymmdd>|h:<yyyymmddhh>|all}          messages per user (DMs included)
//	ms:{...}                                      messages per server (DMs included; reports drop them)
//	msu:<server>:{...}                            messages per user within one server
//	cu:{...}                                      connections (presence sessions) per user
//	tm, tc (hashes, fields d:<day>, h:<hour>)     all messages / connections per bucket
//
// Deletions count: a message_deleted entry (whose user_id is the message's
// author) takes one off the buckets of the message's creation time, so the
// counters always equal what a rebuild computes from the messages that
// still exist. Members whose count drops to zero are removed; reports show
// positive counts only.
//
// Private conversations ("dm" servers) count for their authors' message
// totals and have their own server counters, but the busiest-servers
// report leaves them out.
//
// Deployment notes: the scripts build key names from their arguments
// under the configured prefix, which is right on a single Redis or a
// replicated one; on Redis Cluster the prefix must carry a hash tag
// ("{accord}:") so that every key shares a slot. Day buckets are kept for
// ever (a few sorted sets per day, plus one per server and day). A rebuild
// runs one aggregation per hour for the days whose hourly buckets are kept
// and one per day before that; on MongoDB at scale an index on
// messages.created_at makes each of them a range scan.
package counters

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

// hourExpiry is when an hourly bucket starting at h is dropped.
func hourExpiry(h time.Time) time.Time { return h.Add(HourRetention + time.Hour) }

// keepsHour reports whether the hourly bucket starting at h is still kept at now.
func keepsHour(h, now time.Time) bool { return hourExpiry(h).After(now) }
