// Package files measures attachments end to end: upload and download
// throughput through the gateway against writing and reading the same bytes
// to the same disk directly, and the process's peak RSS during a 25 MiB
// upload. The suite's gateway moves the bytes to and from the blob store
// itself; a second gateway over the same services without the blob store
// (the bytes through gRPC, as a standalone gateway without ACCORD_BLOB_URL)
// is measured in the same run for comparison (the -grpc metrics).
// Run: go test -run '^$' -bench . -benchtime 3x ./files/
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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/gateway"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

const size = 25 << 20

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
	download := func(id string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/channels/"+ch+"/attachments/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+acc.Token)
		res, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if n != size {
			b.Fatalf("download: %d bytes", n)
		}
	}
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
	diskRead := func(i int) {
		f, err := os.Open(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, f)
		_ = f.Close()
	}

	// Peak RSS during one upload: reset the high-water mark, upload, read it.
	rssBefore := vm("VmRSS")
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	id := upload()
	peak := vm("VmHWM")

	var up, down, dw, dr, gup, gdown time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		disk(i)
		dw += time.Since(t0)
		base = s.HTTP
		t0 = time.Now()
		id = upload()
		up += time.Since(t0)
		base = grpcSrv.URL
		t0 = time.Now()
		gid := upload()
		gup += time.Since(t0)
		t0 = time.Now()
		diskRead(i)
		dr += time.Since(t0)
		base = s.HTTP
		t0 = time.Now()
		download(id)
		down += time.Since(t0)
		base = grpcSrv.URL
		t0 = time.Now()
		download(gid)
		gdown += time.Since(t0)
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(b.N) * size / (1 << 20) / d.Seconds() }
	b.ReportMetric(mbps(up), "upload-MiB/s")
	b.ReportMetric(mbps(down), "download-MiB/s")
	b.ReportMetric(mbps(dw), "disk-write-MiB/s")
	b.ReportMetric(mbps(dr), "disk-read-MiB/s")
	b.ReportMetric(dw.Seconds()/up.Seconds(), "upload/disk-write")
	b.ReportMetric(dr.Seconds()/down.Seconds(), "download/disk-read")
	b.ReportMetric(dw.Seconds()/gup.Seconds(), "upload-grpc/disk-write")
	b.ReportMetric(dr.Seconds()/gdown.Seconds(), "download-grpc/disk-read")
	if peak > 0 && rssBefore > 0 {
		b.ReportMetric(float64(peak-rssBefore)/(1<<20), "peak-RSS-growth-MiB")
		b.ReportMetric(float64(peak-rssBefore)/size, "peak-RSS-growth/file")
	}
}
