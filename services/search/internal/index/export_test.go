package index

// PartitionsAsked is how many partition searches x has run.
func PartitionsAsked(x *Index) int64 { return x.asked.Load() }

// PartitionsSkipped is how many partitions x's summaries excluded from a
// search.
func PartitionsSkipped(x *Index) int64 { return x.skipped.Load() }

// Summarized is how many of x's partitions have a summary ready.
func Summarized(x *Index) int {
	n := 0
	for _, p := range x.snapshot() {
		p.sum.mu.Lock()
		if p.sum.ready {
			n++
		}
		p.sum.mu.Unlock()
	}
	return n
}

// SaturateSummaries sets every bit of x's ready summaries: each pair
// seems present (false positives everywhere), so nothing is skipped.
func SaturateSummaries(x *Index) {
	for _, p := range x.snapshot() {
		p.sum.mu.Lock()
		for i := range p.sum.bits {
			p.sum.bits[i] = ^uint64(0)
		}
		p.sum.mu.Unlock()
	}
}

// RootSegments is how many segments the i-th oldest partition of x is
// searched through (the index's root: a merged segment's old files may
// stay on disk a while after it), or -1 for a partition in memory.
func RootSegments(x *Index, i int) int {
	sc, ok := x.snapshot()[i].x.scorch()
	if !ok {
		return -1
	}
	st := sc.StatsMap()
	n, _ := st["num_root_filesegments"].(uint64)
	m, _ := st["num_root_memorysegments"].(uint64)
	return int(n + m)
}
