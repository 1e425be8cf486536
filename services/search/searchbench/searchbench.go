// Package searchbench measures the search index at scale: a synthetic
// community of messages over 1,000 channels is indexed in batches, as the
// log consumer applies them, into one on-disk index grown size after size,
// and at each size one-word, phrase and filtered queries are timed the way
// the service asks them (one server and its channels, newest first, a page
// of 25).
//
// It is a package of its own, outside internal/, so that both the index's
// benchmark (internal/index, go test -bench) and the load tool bench/search
// (which measures the product's send rate in the same run) drive it.
package searchbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/search"
)

// Shape of the synthetic community.
const (
	Channels        = 1000 // channels in all
	ChannelsPerServ = 10   // channels of each server
	Authors         = 500
)

// Queries are the timed queries, by kind, in the order.
var Queries = []Query{
	{Kind: "word", Text: "deploy"},
	{Kind: "phrase", Text: `"deploy the release"`},
	{Kind: "filtered", Text: "from:u008 in:c0042", Server: "s004"},
}

// Query is one timed query; with Server empty each run asks a server drawn
// at random.
type Query struct {
	Kind, Text, Server string
}

var vocabulary = strings.Fields(`the a to and of in is it you that for on with this be are was we have not at
but can they all just so what get like my will about one if do out up there your when more time go know
réunion demain projet équipe serveur message canal rapide lent vérifier déployer corriger problème
meeting deploy release review merge build test cache index query shard replica backup restore latency`)

// Corpus yields the messages of the community in order: message i (from 0)
// has id i+1 in hex, is sent 20 ms after message i-1 into one of Channels
// channels, by one of Authors authors, with 4 to 19 words drawn Zipf-like
// from a small English and French vocabulary. The sequence is the same in
// every run.
type Corpus struct {
	r     *rand.Rand
	z     *rand.Zipf
	next  int
	start time.Time
}

// NewCorpus starts the sequence at message 0.
func NewCorpus() *Corpus {
	r := rand.New(rand.NewPCG(1, 2))
	return &Corpus{r: r, z: rand.NewZipf(r, 1.2, 1, uint64(len(vocabulary)-1)), start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Next returns the next n messages.
func (c *Corpus) Next(n int) []search.Change {
	out := make([]search.Change, n)
	for i := range out {
		words := make([]string, 4+c.r.IntN(16))
		for j := range words {
			words[j] = vocabulary[c.z.Uint64()]
		}
		ch := c.r.IntN(Channels)
		id := fmt.Sprintf("%024x", c.next+1)
		out[i] = search.Change{ID: id, Doc: search.NewDoc(search.Doc{
			ID: id, ServerID: ServerOf(ch), ChannelID: ChannelName(ch),
			AuthorID: fmt.Sprintf("u%03d", c.r.IntN(Authors)), Content: strings.Join(words, " "),
			Created: c.start.Add(time.Duration(c.next) * 20 * time.Millisecond),
		})}
		c.next++
	}
	return out
}

// Skip moves the sequence n messages on, drawing what Next would.
func (c *Corpus) Skip(n int) {
	for range n {
		for range 4 + c.r.IntN(16) {
			c.z.Uint64()
		}
		c.r.IntN(Channels)
		c.r.IntN(Authors)
		c.next++
	}
}

// ChannelName is channel ch's id ("c0042").
func ChannelName(ch int) string { return fmt.Sprintf("c%04d", ch) }

// ServerOf is the id of channel ch's server ("s004").
func ServerOf(ch int) string { return fmt.Sprintf("s%03d", ch/ChannelsPerServ) }

// Latency is the spread of one query kind's times: wall clock, and the
// CPU time of the thread that ran the query (what the query costs, apart
// from waiting for a core on a busy machine).
type Latency struct {
	Kind         string
	P50, P99     time.Duration
	CPU50, CPU99 time.Duration
	Hits         int64 // matching messages (the query's total), last sample
}

// Step is one growth of the index.
type Step struct {
	Size int
	// Indexed is how many messages were indexed to reach Size, in Time
	// (0 when a kept index was reused): applied in batches, then
	// persisted and merged (Settle of it).
	Indexed      int
	Time, Settle time.Duration
	// Bytes is the index's size on disk.
	Bytes int64
}

// Rate is the indexing throughput in messages per second (0 when nothing
// was indexed).
func (s Step) Rate() float64 {
	if s.Indexed == 0 || s.Time <= 0 {
		return 0
	}
	return float64(s.Indexed) / s.Time.Seconds()
}

// BytesPerMillion is the size on disk scaled to a million messages.
func (s Step) BytesPerMillion() float64 { return float64(s.Bytes) / float64(s.Size) * 1e6 }

// Bench is one index on disk, grown through sizes.
type Bench struct {
	dir    string
	keep   bool
	live   string
	x      *index.Index
	corpus *Corpus
	have   int // messages in the live index
	// Batch is how many messages go into one bleve batch: 500, what the
	// log consumer reads at most at once.
	Batch int
	// Progress, when not nil, receives a line now and then while indexing.
	Progress io.Writer
}

// Open prepares an index in dir. With keep, dir keeps a copy of the index
// at each size reached (dir/<size>), and Grow reuses a copy it finds
// instead of indexing again; otherwise Close removes dir.
func Open(dir string, keep bool) (*Bench, error) {
	b := &Bench{dir: dir, keep: keep, live: filepath.Join(dir, "live"), corpus: NewCorpus(), Batch: 500}
	if err := os.RemoveAll(b.live); err != nil {
		return nil, err
	}
	return b, b.open()
}

func (b *Bench) open() error {
	x, err := index.Open(b.live)
	if err != nil {
		return err
	}
	if n, err := x.Count(); err != nil || int(n) != b.have {
		_ = x.Close()
		return fmt.Errorf("searchbench: index %s holds %d messages, want %d (%v)", b.live, n, b.have, err)
	}
	b.x = x
	return nil
}

// Close closes the index (and removes it unless kept).
func (b *Bench) Close() error {
	err := b.x.Close()
	if !b.keep {
		err = errors.Join(err, os.RemoveAll(b.dir))
	}
	return err
}

// Grow indexes the corpus's next messages up to size, in batches.
func (b *Bench) Grow(ctx context.Context, size int) (Step, error) {
	st := Step{Size: size}
	kept := filepath.Join(b.dir, strconv.Itoa(size))
	switch {
	case size < b.have:
		return st, fmt.Errorf("searchbench: index holds %d messages, more than %d", b.have, size)
	case b.keep && exists(kept):
		// The live index restarts from the kept one, the corpus after
		// its last message.
		if err := b.x.Close(); err != nil {
			return st, err
		}
		if err := replace(kept, b.live); err != nil {
			return st, err
		}
		b.corpus = NewCorpus()
		b.corpus.Skip(size)
		b.have = size
		if err := b.open(); err != nil {
			return st, err
		}
		// Summaries missing from the kept copy (one of an older
		// build) are built at open, in the background: not timed.
		for b.x.Summarizing() {
			select {
			case <-ctx.Done():
				return st, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	default:
		from, t0 := b.have, time.Now()
		last := t0
		for b.have < size {
			n := min(b.Batch, size-b.have)
			if err := b.x.Apply(ctx, b.corpus.Next(n), strconv.Itoa(b.have+n)); err != nil {
				return st, err
			}
			b.have += n
			if b.Progress != nil && time.Since(last) > 30*time.Second {
				last = time.Now()
				fmt.Fprintf(b.Progress, "searchbench: %d of %d indexed, %.0f messages/s\n", b.have, size, float64(b.have-from)/time.Since(t0).Seconds())
			}
		}
		t1 := time.Now()
		if err := b.settle(ctx); err != nil {
			return st, err
		}
		st.Indexed, st.Time, st.Settle = size-from, time.Since(t0), time.Since(t1)
		if b.keep {
			// Keep a copy of this size: close, copy, reopen.
			if err := b.x.Close(); err != nil {
				return st, err
			}
			if err := copyDir(b.live, kept); err != nil {
				return st, err
			}
			if err := b.open(); err != nil {
				return st, err
			}
		}
	}
	st.Bytes = dirSize(b.live)
	return st, nil
}

// settle waits until the index has persisted and merged what it holds,
// so that queries are timed on a quiet index.
func (b *Bench) settle(ctx context.Context) error {
	for !b.x.Settled() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Asker asks one query kind as the service does: within one server and
// its channels, newest first, a page of 25 (and one more, to know whether
// there is a next page). The server is drawn at random, the same sequence
// in every run, unless the query names one.
type Asker struct {
	x  *index.Index
	q  Query
	pq search.Query
	r  *rand.Rand
}

// Asker returns an asker of q.
func (b *Bench) Asker(q Query) (*Asker, error) {
	pq, err := search.Parse(q.Text)
	if err != nil {
		return nil, err
	}
	return &Asker{x: b.x, q: q, pq: pq, r: rand.New(rand.NewPCG(3, 4))}, nil
}

// Sample is one query's times.
type Sample struct {
	Wall, CPU time.Duration
	Hits      int64
}

// Time asks the query once and times it.
func (a *Asker) Time(ctx context.Context) (Sample, error) {
	var s Sample
	var err error
	t := time.Now()
	s.CPU, err = onThread(func() error {
		s.Hits, err = a.Ask(ctx)
		return err
	})
	s.Wall = time.Since(t)
	return s, err
}

// Ask asks the query once, returning how many messages match.
func (a *Asker) Ask(ctx context.Context) (int64, error) {
	server := a.q.Server
	if server == "" {
		server = ServerOf(a.r.IntN(Channels))
	}
	s, _ := strconv.Atoi(server[1:])
	chans := make([]string, 0, ChannelsPerServ)
	for c := s * ChannelsPerServ; c < (s+1)*ChannelsPerServ; c++ {
		chans = append(chans, ChannelName(c))
	}
	_, total, err := a.x.Search(ctx, search.IndexQuery{Query: a.pq, Servers: []string{server}, Channels: chans, Size: search.DefaultPageSize + 1})
	return total.N, err
}

// Time asks q samples times.
func (b *Bench) Time(ctx context.Context, q Query, samples int) (Latency, error) {
	a, err := b.Asker(q)
	if err != nil {
		return Latency{}, err
	}
	ss := make([]Sample, 0, samples)
	for range samples {
		s, err := a.Time(ctx)
		if err != nil {
			return Latency{}, err
		}
		ss = append(ss, s)
	}
	return Spread(q.Kind, ss), nil
}

// Spread is the p50 and p99 of samples.
func Spread(kind string, samples []Sample) Latency {
	l := Latency{Kind: kind}
	if len(samples) == 0 {
		return l
	}
	l.Hits = samples[len(samples)-1].Hits
	pct := func(d []time.Duration) (time.Duration, time.Duration) {
		slices.Sort(d)
		return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
	}
	wall := make([]time.Duration, len(samples))
	cpu := make([]time.Duration, len(samples))
	for i, s := range samples {
		wall[i], cpu[i] = s.Wall, s.CPU
	}
	l.P50, l.P99 = pct(wall)
	l.CPU50, l.CPU99 = pct(cpu)
	return l
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// replace makes dst a copy of src.
func replace(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return copyDir(src, dst)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			_ = out.Close()
			return err
		}
		return out.Close()
	})
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
