// Package search measures message search at scale against the product's
// own send rate, in one run:
//
//   - send: the whole suite in process (SQLite stores, the search service
//     following the message log as it does in production), 8 senders, one
//     channel each, posting through the REST API as the web app does, for
//     -search.sendfor, the per-user rate limit off; messages per second.
//   - index: the suite stopped, one on-disk bleve index grown through the
//     sizes (services/search/searchbench: 1,000 channels, batches of 500
//     as the log consumer applies them, persisted and merged), and at each
//     size p50/p99 of a one-word, a phrase and a from: + in: query asked
//     as the service asks them; indexing throughput against the send rate,
//     size on disk per million messages.
//
// Run (in bench/), 10,000 messages by default; the full run is
//
//	go test -run '^$' -bench Search -benchtime 500x ./search/ -search.sizes 10000,100000,1000000
//
// (ACCORD_SEARCH_BENCH_SIZES also sets the sizes; -search.keep <dir> keeps
// each size's index for the next run, which then times queries only.)
package search

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/search/searchbench"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

var (
	sizesFlag   = flag.String("search.sizes", "", "comma-separated ascending index sizes (default $ACCORD_SEARCH_BENCH_SIZES or 10000)")
	keepFlag    = flag.String("search.keep", "", "folder keeping each size's index across runs (default: a temporary folder)")
	sendForFlag = flag.Duration("search.sendfor", 5*time.Second, "how long the senders send")
)

const senders = 8

func benchSizes(b *testing.B) []int {
	s := *sizesFlag
	if s == "" {
		s = os.Getenv("ACCORD_SEARCH_BENCH_SIZES")
	}
	if s == "" {
		s = "10000"
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("bad index size %q", f)
		}
		out = append(out, n)
	}
	return out
}

// sendRate runs the suite and returns the messages per second that senders
// concurrent senders post for d, each into a channel of its own.
func sendRate(b *testing.B, d time.Duration) float64 {
	// The per-user rate limit off: the product's capacity, not the
	// limit's, is what the index must keep up with.
	s := suitetest.Start(b, func(c *config.Config) { c.MessageRateLimit = 0 })
	defer func() { _ = s.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	rest := &client.REST{Base: s.HTTP, HTTP: &http.Client{Timeout: 30 * time.Second}}
	acc, err := rest.Register(ctx, "bench"+strconv.FormatInt(time.Now().UnixNano()%1e9, 10), "password-bench")
	if err != nil {
		b.Fatal(err)
	}
	server, first, err := rest.CreateServer(ctx, acc.Token, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	channels := []string{first}
	for i := 1; i < senders; i++ {
		var res struct {
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		if err := rest.Do(ctx, "POST", "/v1/servers/"+server+"/channels", acc.Token, map[string]string{"name": fmt.Sprintf("c%d", i)}, &res); err != nil {
			b.Fatal(err)
		}
		channels = append(channels, res.Channel.ID)
	}
	corpus := searchbench.NewCorpus()
	texts := corpus.Next(1000)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
		errs []error
	)
	t0 := time.Now()
	end := t0.Add(d)
	for w, ch := range channels {
		wg.Go(func() {
			n := 0
			for ; time.Now().Before(end); n++ {
				body := map[string]any{"content": texts[(w*131+n)%len(texts)].Doc.Content}
				if err := rest.Do(ctx, "POST", "/v1/channels/"+ch+"/messages", acc.Token, body, nil); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			sent += n
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return float64(sent) / elapsed.Seconds()
}

func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	var send float64
	b.Run("send", func(b *testing.B) {
		if send == 0 {
			send = sendRate(b, *sendForFlag)
		}
		for b.Loop() {
		}
		b.ReportMetric(send, "sent-msgs/s")
	})
	if send == 0 {
		b.Fatal("no send rate")
	}
	dir, keep := *keepFlag, *keepFlag != ""
	if !keep {
		dir = filepath.Join(b.TempDir(), "index")
	}
	x, err := searchbench.Open(dir, keep)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := x.Close(); err != nil {
			b.Error(err)
		}
	}()
	x.Progress = os.Stderr
	var table strings.Builder
	fmt.Fprintf(&table, "\nsend rate, %d senders through the REST API: %.0f messages/s\n", senders, send)
	fmt.Fprintf(&table, "%-10s | %-19s | %-12s | %-19s | %-19s | %-19s\n", "messages", "indexed msgs/s", "MiB per 1M", "word p50/p99 ms", "phrase p50/p99 ms", "filtered p50/p99 ms")
	for _, size := range benchSizes(b) {
		st, err := x.Grow(ctx, size)
		if err != nil {
			b.Fatal(err)
		}
		rate := "(kept)"
		if st.Rate() > 0 {
			rate = fmt.Sprintf("%.0f (%.1fx send)", st.Rate(), st.Rate()/send)
		}
		fmt.Fprintf(&table, "%-10d | %-19s | %-12.0f", size, rate, st.BytesPerMillion()/(1<<20))
		for i, q := range searchbench.Queries {
			var l searchbench.Latency
			b.Run(fmt.Sprintf("size=%d/%s", size, q.Kind), func(b *testing.B) {
				a, err := x.Asker(q)
				if err != nil {
					b.Fatal(err)
				}
				var ss []searchbench.Sample
				for b.Loop() {
					s, err := a.Time(ctx)
					if err != nil {
						b.Fatal(err)
					}
					ss = append(ss, s)
				}
				l = searchbench.Spread(q.Kind, ss)
				b.ReportMetric(ms(l.P50), "p50-ms")
				b.ReportMetric(ms(l.P99), "p99-ms")
				b.ReportMetric(ms(l.CPU50), "cpu-p50-ms")
				b.ReportMetric(ms(l.CPU99), "cpu-p99-ms")
				if i == 0 {
					if r := st.Rate(); r > 0 {
						b.ReportMetric(r, "indexed-msgs/s")
						b.ReportMetric(r/send, "index/send-x")
					}
					b.ReportMetric(st.BytesPerMillion()/(1<<20), "MiB-per-1M-msgs")
				}
			})
			fmt.Fprintf(&table, " | %8.2f / %-8.2f", ms(l.P50), ms(l.P99))
		}
		table.WriteString("\n")
	}
	fmt.Print(table.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
