package index

// PartitionsAsked is how many partition searches x has run.
func PartitionsAsked(x *Index) int64 { return x.asked.Load() }
