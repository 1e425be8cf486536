// Package files measures attachments end to end: upload and download
// throughput through the gateway against writing and reading the same bytes
// to the same disk directly, and the process's peak RSS during a 25 MiB
// upload. The suite's gateway moves the bytes to and from the blob store
// itself; a second gateway over the same services without the blob store
// (the bytes through gRPC, as a standalone gateway without ACCORD_BLOB_URL)
// is measured in the same run for comparison (the -grpc metrics).
//
// Downloads are read as a downloader reads them, in reads of readBuf
// (1 MiB), and compared with reading the same file from disk in reads of
// the same size; the ratios are medians over the iterations, each taken
// back to back. Also reported, from the same iterations: the same file
// served on loopback by a bare net/http server (download/loopback: what
// the gateway's own work costs) and both reads done with io.Copy's 8 KiB
// buffers (download-8k/disk-read-8k: the first version's method).
// Run: go test -run '^$' -bench . -benchtime 5x -count 5 ./files/
package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

const size = 25 << 20

// readBuf is the size of every read of a download and of the disk read it
// is compared with.
const readBuf = 1 << 20

// vm reads a "VmXXX:   123 kB" line of /proc/self/status, in bytes.
func vm(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return -1
}

func BenchmarkFiles(b *testing.B) {
	s := suitetest.Start(b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rest := &client.REST{Base: s.HTTP, HTTP: &http.Client{Timeout: time.Minute}}
	acc, err := rest.Register(ctx, "bench"+strconv.FormatInt(time.Now().UnixNano()%1e9, 10), "password-bench")
	if err != nil {
		b.Fatal(err)
	}
	_, ch, err := rest.CreateServer(ctx, acc.Token, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	hc := &http.Client{Timeout: time.Minute}
	gctx, gcancel := context.WithCancel(ctx)
	defer gcancel()
	viaGRPC, err := gateway.New(gctx, gateway.Options{Peers: s.Peers, WebDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	grpcSrv := httptest.NewServer(viaGRPC)
	defer grpcSrv.Close()
	base := s.HTTP
	upload := func() string {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/channels/"+ch+"/attachments?name=f.bin", io.NopCloser(bytes.NewReader(data)))
		req.Header.Set("Authorization", "Bearer "+acc.Token)
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Attachment struct {
				ID string `json:"id"`
			} `json:"attachment"`
		}
		if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil {
			b.Fatalf("upload: %d", res.StatusCode)
		}
		return out.Attachment.ID
	}
	// A download reads the body as a real downloader (a browser, curl)
	// does: large reads straight from the socket (bufio hands a read at
	// least its own size to the connection directly), not io.Copy's 8 KiB.
	dl := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		Proxy:          http.ProxyFromEnvironment,
		ReadBufferSize: readBuf, WriteBufferSize: 64 << 10, DisableCompression: true,
	}}
	buf := make([]byte, readBuf)
	drain := func(r io.Reader) int64 {
		var n int64
		for {
			m, err := r.Read(buf)
			n += int64(m)
			if err != nil {
				return n
			}
		}
	}
	// small reads the body as the first version of this benchmark did
	// (io.Copy into io.Discard: 8 KiB reads through the Transport's 4 KiB
	// buffer), for the download-8k metrics.
	small := false
	get := func(url string, auth bool) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+acc.Token)
		}
		res, err := dl.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		if small {
			n, _ = io.Copy(io.Discard, res.Body)
		} else {
			n = drain(res.Body)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || n != size {
			b.Fatalf("download %s: %d, %d bytes", url, res.StatusCode, n)
		}
	}
	download := func(id string) { get(base+"/v1/channels/"+ch+"/attachments/"+id, true) }
	// The baseline: the same bytes to and from a file on the same disk
	// (the blob folder is under the suite's data dir, a temp dir too).
	dir := b.TempDir()
	disk := func(i int) {
		p := filepath.Join(dir, fmt.Sprint(i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	// The same reads of the same bytes from the same disk: plain read(2)
	// calls of the same size, no sendfile, no mmap.
	diskRead := func(i int) {
		f, err := os.Open(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		if small {
			n, _ = io.Copy(io.Discard, f)
		} else {
			n = drain(f)
		}
		_ = f.Close()
		if n != size {
			b.Fatalf("disk read: %d bytes", n)
		}
	}
	// The same bytes read from the disk itself: O_DIRECT reads of the same
	// size into an aligned buffer, past the page cache, as a cold read
	// (the download/disk-read-direct metric). The page-cache read above is
	// a memory copy, faster than loopback TCP can carry any download.
	dbuf := alignedBuf(readBuf)
	diskDirect := func(i int) {
		f, err := openDirect(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			m, err := f.Read(dbuf)
			n += int64(m)
			if err != nil {
				break
			}
		}
		_ = f.Close()
		if n != size {
			b.Fatalf("direct disk read: %d bytes", n)
		}
	}

	// The loopback ceiling: the same file served by a bare net/http server
	// (http.ServeContent, sendfile) to the same client, with no Accord
	// code on the way. download/loopback tells what the gateway itself
	// costs; loopback/disk-read what TCP on loopback costs.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, r.URL.Path))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	}))
	defer bare.Close()

	// Peak RSS during one upload: reset the high-water mark, upload, read it.
	rssBefore := vm("VmRSS")
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	id := upload()
	peak := vm("VmHWM")

	// A warm-up download: the client's connection to each server is open
	// before the timer starts.
	download(id)
	disk(-1)
	get(bare.URL+"/-1", false)

	// Each iteration times every path once, back to back, so that each
	// ratio compares samples taken under the same load; the ratios are
	// reported as the median over the iterations (and the sums as totals).
	var up, down, dw, dr, gup, gdown, lo time.Duration
	var upR, downR, loR, gdownR, small8, directR []float64
	var dd time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		disk(i)
		w := time.Since(t0)
		base = s.HTTP
		t0 = time.Now()
		id = upload()
		u := time.Since(t0)
		base = grpcSrv.URL
		t0 = time.Now()
		gid := upload()
		gup += time.Since(t0)
		t0 = time.Now()
		diskRead(i)
		r := time.Since(t0)
		var x time.Duration
		if haveDirect {
			t0 = time.Now()
			diskDirect(i)
			x = time.Since(t0)
			dd += x
		}
		t0 = time.Now()
		get(bare.URL+"/"+fmt.Sprint(i), false)
		l := time.Since(t0)
		base = s.HTTP
		t0 = time.Now()
		download(id)
		d := time.Since(t0)
		base = grpcSrv.URL
		t0 = time.Now()
		download(gid)
		g := time.Since(t0)
		small = true
		base = s.HTTP
		t0 = time.Now()
		diskRead(i)
		r8 := time.Since(t0)
		t0 = time.Now()
		download(id)
		d8 := time.Since(t0)
		small = false
		up, dw, dr, lo, down, gdown = up+u, dw+w, dr+r, lo+l, down+d, gdown+g
		small8 = append(small8, r8.Seconds()/d8.Seconds())
		upR = append(upR, w.Seconds()/u.Seconds())
		downR = append(downR, r.Seconds()/d.Seconds())
		loR = append(loR, l.Seconds()/d.Seconds())
		if haveDirect {
			directR = append(directR, x.Seconds()/d.Seconds())
		}
		gdownR = append(gdownR, r.Seconds()/g.Seconds())
		b.Logf("iteration %d: download/disk-read %.2f, download/loopback %.2f, loopback/disk-read %.2f, upload/disk-write %.2f",
			i, r.Seconds()/d.Seconds(), l.Seconds()/d.Seconds(), r.Seconds()/l.Seconds(), w.Seconds()/u.Seconds())
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(b.N) * size / (1 << 20) / d.Seconds() }
	b.ReportMetric(mbps(up), "upload-MiB/s")
	b.ReportMetric(mbps(down), "download-MiB/s")
	b.ReportMetric(mbps(dw), "disk-write-MiB/s")
	b.ReportMetric(mbps(dr), "disk-read-MiB/s")
	b.ReportMetric(mbps(lo), "loopback-MiB/s")
	if haveDirect {
		b.ReportMetric(mbps(dd), "disk-read-direct-MiB/s")
		b.ReportMetric(median(directR), "download/disk-read-direct")
	}
	b.ReportMetric(median(upR), "upload/disk-write")
	b.ReportMetric(median(downR), "download/disk-read")
	b.ReportMetric(median(loR), "download/loopback")
	b.ReportMetric(median(small8), "download-8k/disk-read-8k")
	b.ReportMetric(dw.Seconds()/gup.Seconds(), "upload-grpc/disk-write")
	b.ReportMetric(median(gdownR), "download-grpc/disk-read")
	if peak > 0 && rssBefore > 0 {
		b.ReportMetric(float64(peak-rssBefore)/(1<<20), "peak-RSS-growth-MiB")
		b.ReportMetric(float64(peak-rssBefore)/size, "peak-RSS-growth/file")
	}
}

// alignedBuf returns n bytes starting at a 4 KiB boundary, as O_DIRECT
// reads need.
func alignedBuf(n int) []byte {
	const align = 4096
	b := make([]byte, n+align)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % align); r != 0 {
		off = align - r
	}
	return b[off : off+n]
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
