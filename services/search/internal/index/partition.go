package index

import (
	"time"

	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	bsearch "github.com/blevesearch/bleve/v2/search"

	"github.com/accordchat/accord/services/search/internal/search"
)

// DefaultPartitionSize is how many messages a partition takes before the
// next one begins. A query newest first stops at the first partitions
// that fill its page, so its cost follows the page and the partition
// size, not the whole index; a query matching little skips, by their
// summaries, the sealed partitions that cannot hold a match. The newest
// partition has no summary and is asked by every query, so it is kept
// as small as an index of 10,000 messages: at 50,000 it made a query at
// a million messages cost 3.3x one at 10,000 (p99 of a phrase), the
// growth being that partition. Each partition asked costs a search, each
// skipped a few memory reads of its summary (probe).
const DefaultPartitionSize = 10_000

// manifestFile, in an index's folder, lists its partitions.
const manifestFile = "partitions.json"

// Index is search.Index on bleve, split by time: a message goes to the
// partition holding its id's range (ids grow with time), the newest
// partition takes new messages until it holds PartitionSize, then a new
// one begins. A search newest first asks the partitions newest first and
// stops once its page is full; the total then counts the partitions asked
// and is scaled to the others (an estimate, "about N"). By relevance,
// every partition is asked, each scoring in its own statistics.
//
// Edits and deletions go to the partition of the message's id, so they
// replace or remove the one version indexed; a channel's or server's
// deletion goes to every partition.
type Index struct {
	dir  string // "" in memory
	size int

	mu    sync.RWMutex // guards parts: Apply adds to it, every call reads it
	parts []*partition // oldest first

	// Compaction of the partitions no longer newest, in the background
	// (compact): stop cancels it at Close, running counts it for
	// Settled, done waits for it.
	stop    context.CancelFunc
	ctx     context.Context
	running atomic.Int32
	done    sync.WaitGroup

	// asked counts the partitions searched, skipped those a summary
	// excluded (tests).
	asked, skipped atomic.Int64
}

// partition is one time slice of the index: message ids from lo (the
// first partition: from the lowest) up to the next partition's lo.
type partition struct {
	Lo   string `json:"lo"`
	Name string `json:"name"` // folder, within the index's
	x    *part
	// compacted is set once the partition is merged into one segment.
	compacted atomic.Bool
	// times is the range of creation times of the messages indexed there.
	times timeRange
	// sum tells a search whether the partition may hold a match
	// (summary.go): kept once it is sealed, not for the newest.
	sum summary
	// docs is the number of messages in the partition, read again after
	// each batch applied to it: a search newest first reads it for every
	// partition, where asking bleve took a snapshot of each.
	docs atomic.Uint64
}

// recount reads the partition's number of messages into docs.
func (p *partition) recount() error {
	n, err := p.x.Count()
	if err == nil {
		p.docs.Store(n)
	}
	return err
}

// timeRange is the range of creation times (Unix milliseconds) of a
// partition's messages, read from its index at open and widened by every
// message applied to it (before it is applied, so a search never misses
// one). A deletion does not narrow it: it may be wider than the messages
// left, never narrower. A search dated by before:, after: or during:
// skips the partitions whose range it excludes. Message ids grow with
// time, so each partition holds a slice of time, but the range is read
// from the messages' times: ids need not encode them.
type timeRange struct {
	mu     sync.Mutex
	any    bool // lo and hi are set: a message was indexed
	lo, hi int64
}

func (r *timeRange) widen(ms int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.any {
		r.any, r.lo, r.hi = true, ms, ms
		return
	}
	r.lo, r.hi = min(r.lo, ms), max(r.hi, ms)
}

// excludes reports whether no message of the range can match q's dates
// (Since inclusive, Until exclusive).
func (r *timeRange) excludes(q search.IndexQuery) bool {
	if q.Since.IsZero() && q.Until.IsZero() {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.any ||
		(!q.Since.IsZero() && r.hi < q.Since.UnixMilli()) ||
		(!q.Until.IsZero() && r.lo >= q.Until.UnixMilli())
}

// manifest is the partitions.json of an index on disk.
type manifest struct {
	Version string       `json:"version"`
	Parts   []*partition `json:"parts"`
}

var _ search.Index = (*Index)(nil)

// Option sets up an index.
type Option func(*Index)

// WithPartitionSize sets how many messages a partition takes before the
// next begins (DefaultPartitionSize unless set; tests set a few).
func WithPartitionSize(n int) Option {
	return func(x *Index) {
		if n > 0 {
			x.size = n
		}
	}
}

// Open opens the index in the folder dir, creating it when missing. A
// folder of an older schema (or of the unpartitioned layout) is removed
// and created anew: its replica then reads the whole message log again (or
// an operator runs Reindex).
func Open(dir string, opts ...Option) (*Index, error) {
	x := newIndex(dir, opts)
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Version != mappingVersion || len(m.Parts) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove search index of an older schema %s: %w", dir, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		m = &manifest{Version: mappingVersion, Parts: []*partition{{Name: partName(0)}}}
		if err := writeManifest(dir, m); err != nil {
			return nil, err
		}
	}
	for _, p := range m.Parts {
		if p.Name != filepath.Base(p.Name) || (len(x.parts) > 0 && p.Lo <= x.parts[len(x.parts)-1].Lo) {
			_ = x.Close()
			return nil, fmt.Errorf("search index %s: bad partition list", dir)
		}
		if p.x, err = openPart(filepath.Join(dir, p.Name)); err != nil {
			_ = x.Close()
			return nil, err
		}
		x.parts = append(x.parts, p)
		p.sum.path = x.summaryPath(p)
		if err = p.recount(); err != nil {
			_ = x.Close()
			return nil, err
		}
		if err = p.x.times(&p.times); err != nil {
			_ = x.Close()
			return nil, fmt.Errorf("search index %s: %w", dir, err)
		}
	}
	// Older partitions a crash left uncompacted; a compacted one merges
	// nothing. Their summaries are loaded, or built again when missing
	// (an index of before them, or a crash before one was written).
	for _, p := range x.parts[:len(x.parts)-1] {
		x.seal(p, !p.sum.load())
	}
	return x, nil
}

func newIndex(dir string, opts []Option) *Index {
	x := &Index{dir: dir, size: DefaultPartitionSize}
	x.ctx, x.stop = context.WithCancel(context.Background())
	for _, o := range opts {
		o(x)
	}
	return x
}

// NewMemory returns an index held in memory (tests).
func NewMemory(opts ...Option) (*Index, error) {
	x := newIndex("", opts)
	p, err := newMemoryPart()
	if err != nil {
		return nil, err
	}
	x.parts = []*partition{{Name: partName(0), x: p}}
	return x, nil
}

func partName(i int) string { return fmt.Sprintf("p%05d", i) }

// summaryPath is the file of p's summary, beside the partition list ("" in
// memory).
func (x *Index) summaryPath(p *partition) string {
	if x.dir == "" {
		return ""
	}
	return filepath.Join(x.dir, p.Name+".summary")
}

func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil // unreadable: rebuilt as an older schema is
	}
	return &m, nil
}

// writeManifest replaces the manifest at once (a new file renamed over
// it), so that a crash leaves the old list or the new one.
func writeManifest(dir string, m *manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, manifestFile))
}

// Close stops compacting and closes every partition.
func (x *Index) Close() error {
	x.stop()
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.done.Wait()
	var err error
	for _, p := range x.parts {
		if p.x != nil {
			err = errors.Join(err, p.x.Close())
		}
	}
	return err
}

// snapshot is the partitions now, oldest first.
func (x *Index) snapshot() []*partition {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.parts)
}

// Partitions is the number of partitions.
func (x *Index) Partitions() int { return len(x.snapshot()) }

// Settled reports whether everything applied is persisted and merged:
// bleve's background work is done in every partition, and older ones are
// compacted. Benchmarks wait for it before timing queries.
func (x *Index) Settled() bool {
	if x.running.Load() > 0 {
		return false
	}
	for _, p := range x.snapshot() {
		// bleve's flag can stay up after a forced merge, which is the
		// last work an older partition gets.
		if !p.compacted.Load() && !p.x.Settled() {
			return false
		}
	}
	return true
}

// Summarizing reports whether a sealed partition's summary is being
// built (after a partition is sealed, or at open when one is missing):
// until it is, that partition is asked by every search. Benchmarks wait
// for it before timing queries on an index opened again.
func (x *Index) Summarizing() bool {
	for _, p := range x.snapshot() {
		p.sum.mu.Lock()
		b := p.sum.building
		p.sum.mu.Unlock()
		if b {
			return true
		}
	}
	return false
}

// Count is the number of messages indexed.
func (x *Index) Count() (uint64, error) {
	var n uint64
	for _, p := range x.snapshot() {
		c, err := p.x.Count()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// find is the index in parts (oldest first) of the partition holding id:
// the last whose lo is not above it.
func find(parts []*partition, id string) int {
	return sort.Search(len(parts), func(i int) bool { return parts[i].Lo > id }) - 1
}

// Apply implements search.Index. Each partition gets its changes in
// order in one Apply of its own, the newest last with the position: bleve
// persists a batch before returning, so the position is never recorded
// before the changes it covers. A crash in between replays the batch,
// which converges (creations and edits replace, deletions delete).
func (x *Index) Apply(ctx context.Context, changes []search.Change, position string) error {
	if err := x.roll(); err != nil {
		return err
	}
	parts := x.snapshot()
	per := make([][]search.Change, len(parts))
	keys := make([]*keySet, len(parts))
	for _, c := range changes {
		if c.DeleteChannel || c.DeleteServer {
			for i := range per {
				per[i] = append(per[i], c)
			}
			continue
		}
		i := max(0, find(parts, c.ID))
		per[i] = append(per[i], c)
		if c.Delete {
			continue
		}
		parts[i].times.widen(c.Doc.Created.UnixMilli())
		if parts[i].sum.kept() {
			// A sealed partition's summary takes the message's pairs
			// before it is applied (an edit's new words, a late
			// creation), so a search never skips it wrongly.
			if keys[i] == nil {
				keys[i] = newKeySet()
			}
			keys[i].doc(parts[0].x.text, c.Doc)
		}
	}
	for i, ks := range keys {
		if ks != nil && parts[i].sum.widen(ks) {
			if err := parts[i].sum.write(); err != nil {
				return fmt.Errorf("search index summary: %w", err)
			}
		}
	}
	last := len(parts) - 1
	for i, p := range parts {
		pos := ""
		if i == last {
			pos = position
		}
		if len(per[i]) == 0 && pos == "" {
			continue
		}
		if err := p.x.Apply(ctx, per[i], pos); err != nil {
			return err
		}
		if err := p.recount(); err != nil {
			return err
		}
	}
	return nil
}

// roll begins a new partition when the newest holds its share. The new
// one starts just above the newest's highest id, so every message already
// indexed stays where it is found again.
func (x *Index) roll() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	head := x.parts[len(x.parts)-1]
	n, err := head.x.Count()
	if err != nil || n < uint64(x.size) {
		return err
	}
	top, err := head.x.highestID()
	if err != nil || top == "" {
		return err
	}
	// The least string above top: every id above top is at least this.
	p := &partition{Lo: top + "\x00", Name: partName(len(x.parts))}
	p.sum.path = x.summaryPath(p)
	if x.dir == "" {
		p.x, err = newMemoryPart()
	} else {
		// Listed first, created after: a crash in between opens the
		// listed folder empty, as it would be.
		m := &manifest{Version: mappingVersion, Parts: append(slices.Clone(x.parts), p)}
		if err := writeManifest(x.dir, m); err != nil {
			return err
		}
		p.x, err = openPart(filepath.Join(x.dir, p.Name))
	}
	if err != nil {
		return err
	}
	x.seal(head, true)
	x.parts = append(x.parts, p)
	return nil
}

// summarize builds a sealed partition's summary in the background (marked
// as being built at once, so that messages applied meanwhile are added to
// it once it is read), then writes it. Until it is done the partition is
// always asked; a build that fails leaves it so.
func (x *Index) summarize(p *partition) {
	if !p.sum.startBuild() {
		return
	}
	x.running.Add(1)
	x.done.Add(1)
	go func() {
		defer x.done.Done()
		defer x.running.Add(-1)
		x.buildSummary(p)
	}()
}

// buildSummary reads p's pairs into its summary, whose build was started,
// and writes it; a build that fails is abandoned.
func (x *Index) buildSummary(p *partition) {
	ks := newKeySet()
	if err := p.x.summarize(x.ctx, ks); err != nil {
		p.sum.abandon()
		return
	}
	if err := p.sum.finish(ks); err != nil {
		p.sum.abandon()
	}
}

// seal compacts a partition that is no longer the newest, then (with
// summarize) builds its summary, in the background.
//
// Compacting merges it into one segment: it takes few writes from then
// on (edits and deletions of old messages), and a search pays a term
// lookup per segment in every partition it asks (bleve's merge policy
// keeps about ten segments in an index of this size).
//
// The summary is marked as being built at once, so that messages applied
// meanwhile are added to it once the partition is read; it is read after
// the merge, so that reading it holds no segment the merge replaced.
// Until it is done the partition is always asked; a build that fails
// leaves it so.
func (x *Index) seal(p *partition, summarize bool) {
	summarize = summarize && p.sum.startBuild()
	x.running.Add(1)
	x.done.Add(1)
	go func() {
		defer x.done.Done()
		defer x.running.Add(-1)
		if !x.compact(p) {
			if summarize {
				p.sum.abandon()
			}
			return
		}
		if summarize {
			x.buildSummary(p)
		}
	}()
}

// compact merges p into one segment; false if the index is closing.
func (x *Index) compact(p *partition) bool {
	sc, ok := p.x.scorch()
	if !ok || x.dir == "" {
		return true // in memory: no merger to ask
	}
	// A forced merge takes the segments persisted when it starts; one
	// still being persisted (or merged by bleve's own merger) lands
	// beside its result. So it is asked again until one segment is
	// left, for a bounded time (long enough for a busy machine, where
	// persisting lags): an index that will not merge stays as it is,
	// correct and slower.
	for giveUp := time.Now().Add(2 * time.Minute); time.Now().Before(giveUp); {
		_ = sc.ForceMerge(x.ctx, nil)
		st := sc.StatsMap()
		n, _ := st["num_root_filesegments"].(uint64)
		m, _ := st["num_root_memorysegments"].(uint64)
		if n+m <= 1 {
			break
		}
		select {
		case <-x.ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.compacted.Store(true)
	return true
}

// Position implements search.Index: the position recorded in the newest
// partition (or, before a new partition's first batch, the one before).
func (x *Index) Position(ctx context.Context) (string, error) {
	parts := x.snapshot()
	for i := len(parts) - 1; i >= 0; i-- {
		pos, err := parts[i].x.Position(ctx)
		if err != nil || pos != "" {
			return pos, err
		}
	}
	return "", nil
}

// Search implements search.Index.
func (x *Index) Search(ctx context.Context, q search.IndexQuery) ([]search.Hit, search.Total, error) {
	parts := x.snapshot()
	if q.Order == search.Relevance {
		return x.searchAll(ctx, parts, q)
	}
	// Newest first: the partitions newest first, each asked for what the
	// page still lacks, until it is full. A page after a hit skips the
	// partitions above it.
	var after string
	if len(q.After) == 1 {
		after = q.After[0]
	}
	terms := parts[0].x.terms(q.Query)
	pr := newProbe(q, terms)
	var hits []search.Hit
	var total search.Total
	var docs, asked uint64
	type bound struct {
		p *partition
		q search.IndexQuery
		n int64
	}
	var bounds []bound
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if p.times.excludes(q) {
			continue // no match there: neither asked nor counted
		}
		n := p.docs.Load()
		docs += n
		if len(hits) == q.Size || (after != "" && p.Lo >= after) {
			total.Estimate = total.Estimate || n > 0
			continue
		}
		if p.sum.excludes(pr) {
			// No match there: counted as asked, with none.
			x.skipped.Add(1)
			asked += n
			continue
		}
		pq := q
		pq.Size = q.Size - len(hits)
		x.asked.Add(1)
		hs, t, err := p.x.search(ctx, pq, terms)
		if err != nil {
			return nil, total, err
		}
		hits = append(hits, hs...)
		if t.bound {
			bounds = append(bounds, bound{p, pq, t.n})
		}
		total.N += t.n
		asked += n
	}
	if !total.Estimate {
		// Every partition asked: the bounds are counted exactly. (An
		// estimate takes them as they are: they count the matches of
		// channels deleted since, until their deletion reaches the
		// index, a few among the messages scaled.)
		for _, b := range bounds {
			n, err := b.p.x.count(ctx, b.q, terms)
			if err != nil {
				return nil, total, err
			}
			total.N -= b.n - n
		}
	}
	if total.Estimate && asked > 0 {
		// The matches of the partitions asked, scaled to the messages of
		// all: messages and matches spread alike over time, about.
		total.N = max(total.N, int64(float64(total.N)*float64(docs)/float64(asked)+0.5))
	}
	return hits, total, nil
}

// searchAll asks every partition for a page by relevance and keeps the
// best: score, then id, both descending, as each partition sorts. Scores
// are each partition's own (its word statistics), so they rank alike
// across partitions only roughly.
func (x *Index) searchAll(ctx context.Context, parts []*partition, q search.IndexQuery) ([]search.Hit, search.Total, error) {
	terms := parts[0].x.terms(q.Query)
	pr := newProbe(q, terms)
	var hits []search.Hit
	var total search.Total
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i].times.excludes(q) {
			continue
		}
		if parts[i].sum.excludes(pr) {
			x.skipped.Add(1)
			continue
		}
		x.asked.Add(1)
		hs, t, err := parts[i].x.search(ctx, q, terms)
		if err == nil && t.bound { // not by relevance; kept exact all the same
			t.n, err = parts[i].x.count(ctx, q, terms)
		}
		if err != nil {
			return nil, total, err
		}
		hits = append(hits, hs...)
		total.N += t.n
	}
	score := func(h search.Hit) float64 {
		if len(h.Sort) != 2 {
			return 0
		}
		f, _ := strconv.ParseFloat(h.Sort[0], 64)
		return f
	}
	slices.SortStableFunc(hits, func(a, b search.Hit) int {
		if c := cmp.Compare(score(b), score(a)); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return hits[:min(len(hits), q.Size)], total, nil
}

// scorch is the partition's scorch index, for compacting it; an index in
// memory has none.
func (x *part) scorch() (*scorch.Scorch, bool) {
	i, err := x.idx.Advanced()
	if err != nil {
		return nil, false
	}
	sc, ok := i.(*scorch.Scorch)
	return sc, ok
}

// highestID is the highest message id in the partition ("" if empty).
func (x *part) highestID() (string, error) {
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 1, 0, false)
	req.Score = "none"
	req.SortByCustom(bsearch.SortOrder{&bsearch.SortDocID{Desc: true}})
	res, err := x.idx.Search(req)
	if err != nil || len(res.Hits) == 0 {
		return "", err
	}
	return res.Hits[0].ID, nil
}

// times widens r to the creation times of the partition's messages: the
// lowest and highest full-precision terms of the time field (bleve
// indexes a number as terms of several precisions, each sorting as the
// numbers do). Terms of deleted messages may remain until a merge, which
// only widens the range.
func (x *part) times(r *timeRange) error {
	d, err := x.idx.FieldDictPrefix(fTime, []byte{numeric.ShiftStartInt64})
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		e, err := d.Next()
		if err != nil || e == nil {
			return err
		}
		v, err := numeric.PrefixCoded(e.Term).Int64()
		if err != nil {
			return fmt.Errorf("time term: %w", err)
		}
		r.widen(int64(numeric.Int64ToFloat64(v)))
	}
}
