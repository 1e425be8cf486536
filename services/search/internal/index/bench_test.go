package index_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/services/search/searchbench"
)

// The index sizes BenchmarkSearch grows one index through: -search.sizes
// or ACCORD_SEARCH_BENCH_SIZES, 10,000 by default so that a plain
// go test -bench stays quick. The full run is
// 10000,100000,1000000 (about ten minutes of indexing and half a gigabyte
// on disk); -search.keep <dir> keeps each size's index there for the next
// run.
var (
	sizesFlag = flag.String("search.sizes", "", "comma-separated ascending index sizes (default $ACCORD_SEARCH_BENCH_SIZES or 10000)")
	keepFlag  = flag.String("search.keep", "", "folder keeping each size's index across runs (default: a temporary folder)")
)

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

// BenchmarkSearch grows one on-disk index through the sizes (bleve
// batches of 500, as the log consumer applies them), reporting indexing
// throughput and size on disk, and times a one-word, a phrase and a
// from: + in: query at each, as the service asks them, reporting p50 and
// p99 (ns/op is the mean). Each size is indexed once, whatever b.N, and
// shared by the query kinds.
//
//	go test -run '^$' -bench Search -benchtime 200x ./internal/index/ -search.sizes 10000,100000,1000000
//
// bench/search runs the same measurement beside the product's send rate.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
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
	for _, size := range benchSizes(b) {
		st, err := x.Grow(ctx, size)
		if err != nil {
			b.Fatal(err)
		}
		for i, q := range searchbench.Queries {
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
				l := searchbench.Spread(q.Kind, ss)
				b.ReportMetric(ms(l.P50), "p50-ms")
				b.ReportMetric(ms(l.P99), "p99-ms")
				b.ReportMetric(ms(l.CPU50), "cpu-p50-ms")
				b.ReportMetric(ms(l.CPU99), "cpu-p99-ms")
				b.ReportMetric(float64(l.Hits), "hits")
				if i == 0 {
					if rate := st.Rate(); rate > 0 {
						b.ReportMetric(rate, "indexed-msgs/s")
					}
					b.ReportMetric(st.BytesPerMillion()/(1<<20), "MiB-per-1M-msgs")
				}
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
