package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

type attachmentJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ContentType     string `json:"content_type"`
	Size            string `json:"size"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	ThumbnailWidth  int    `json:"thumbnail_width"`
	ThumbnailHeight int    `json:"thumbnail_height"`
	Spoiler         bool   `json:"spoiler"`
}

// exifJPEG is a JPEG whose APP1 segment carries EXIF with a GPS marker.
func exifJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := []byte("Exif\x00\x00GPSLatitude=48.8584N;GPSLongitude=2.2945E")
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	b := buf.Bytes()
	out := append([]byte{}, b[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, b[2:]...)
}

type filesWorld struct {
	base              string
	http              *http.Client
	alice, bob, carol client.Account
	serverID          string
	channelID         string
	stack             *suitetest.Stack
}

func startFiles(t *testing.T) (*filesWorld, context.Context) {
	s := suitetest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	rest := newREST(s.HTTP)
	w := &filesWorld{base: s.HTTP, http: &http.Client{Timeout: time.Minute}, stack: s}
	var err error
	for i, a := range []*client.Account{&w.alice, &w.bob, &w.carol} {
		login := fmt.Sprintf("%s%d", []string{"alice", "bob", "carol"}[i], time.Now().UnixNano()%1e9)
		if *a, err = rest.Register(ctx, login, "password-"+login); err != nil {
			t.Fatal(err)
		}
	}
	serverID, channelID, err := rest.CreateServer(ctx, w.alice.Token, "Gallery")
	if err != nil {
		t.Fatal(err)
	}
	w.serverID, w.channelID = serverID, channelID
	var inv struct {
		Invite struct {
			Code string `json:"code"`
		} `json:"invite"`
	}
	if err := rest.Do(ctx, "POST", "/v1/servers/"+serverID+"/invites", w.alice.Token, map[string]any{}, &inv); err != nil {
		t.Fatal(err)
	}
	if err := rest.Do(ctx, "POST", "/v1/invites/"+inv.Invite.Code+":accept", w.bob.Token, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	return w, ctx
}

func (w *filesWorld) upload(ctx context.Context, token, name string, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", w.base+"/v1/channels/"+w.channelID+"/attachments?name="+url.QueryEscape(name), body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := w.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func (w *filesWorld) mustUpload(t *testing.T, ctx context.Context, name string, body []byte) attachmentJSON {
	t.Helper()
	res, b, err := w.upload(ctx, w.alice.Token, name, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, res.StatusCode, b)
	}
	var out struct {
		Attachment attachmentJSON `json:"attachment"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Attachment
}

func (w *filesWorld) get(ctx context.Context, t *testing.T, token, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", w.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// Alice uploads a photo (with GPS in its EXIF) and a page of HTML, sends
// them with a message; bob sees both in history and downloads them (the
// photo without its EXIF, ranges served, a thumbnail), the page only as a
// plain-text download; carol, outside the server, gets 404.
func TestAttachmentsThroughREST(t *testing.T) {
	w, ctx := startFiles(t)
	photo := w.mustUpload(t, ctx, "holiday.jpg", exifJPEG(t, 900, 600))
	if photo.ContentType != "image/jpeg" || photo.Width != 900 || photo.Height != 600 || photo.ThumbnailWidth != 400 || photo.ThumbnailHeight != 266 {
		t.Fatalf("photo = %+v", photo)
	}
	page := w.mustUpload(t, ctx, "SPOILER_page.svg", []byte(`<html><body><script>alert(document.cookie)</script></body></html>`))
	if !strings.HasPrefix(page.ContentType, "text/plain") || !page.Spoiler {
		t.Fatalf("page = %+v", page)
	}
	rest := newREST(w.base)
	var sent struct {
		Message struct {
			ID          string           `json:"id"`
			Attachments []attachmentJSON `json:"attachments"`
		} `json:"message"`
	}
	if err := rest.Do(ctx, "POST", "/v1/channels/"+w.channelID+"/messages", w.alice.Token,
		map[string]any{"attachment_ids": []string{photo.ID, page.ID}}, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Message.Attachments) != 2 {
		t.Fatalf("sent message carries %d files", len(sent.Message.Attachments))
	}
	// An upload goes with one message only.
	if err := rest.Do(ctx, "POST", "/v1/channels/"+w.channelID+"/messages", w.alice.Token,
		map[string]any{"content": "again", "attachment_ids": []string{photo.ID}}, nil); err == nil {
		t.Fatal("an upload was sent twice")
	}
	var hist struct {
		Messages []struct {
			Attachments []attachmentJSON `json:"attachments"`
		} `json:"messages"`
	}
	if err := rest.Do(ctx, "GET", "/v1/channels/"+w.channelID+"/messages", w.bob.Token, nil, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Messages) != 1 || len(hist.Messages[0].Attachments) != 2 || hist.Messages[0].Attachments[0].ID != photo.ID {
		t.Fatalf("history = %+v", hist)
	}

	photoPath := "/v1/channels/" + w.channelID + "/attachments/" + photo.ID
	res, body := w.get(ctx, t, w.bob.Token, photoPath, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
		t.Fatalf("photo: %d %v", res.StatusCode, res.Header)
	}
	if bytes.Contains(body, []byte("Exif")) || bytes.Contains(body, []byte("GPS")) {
		t.Error("the served photo still carries its EXIF")
	}
	if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
		t.Errorf("the served photo does not decode: %v", err)
	}
	if fmt.Sprint(len(body)) != res.Header.Get("Content-Length") {
		t.Errorf("Content-Length %s for %d bytes", res.Header.Get("Content-Length"), len(body))
	}
	res, part := w.get(ctx, t, w.bob.Token, photoPath, map[string]string{"Range": "bytes=100-199"})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[100:200]) {
		t.Errorf("range: %d, %d bytes, equal %v", res.StatusCode, len(part), bytes.Equal(part, body[100:200]))
	}
	res, part = w.get(ctx, t, w.bob.Token, photoPath, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(body)-10)})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[len(body)-10:]) {
		t.Errorf("suffix range: %d, %d bytes", res.StatusCode, len(part))
	}
	res, thumb := w.get(ctx, t, w.bob.Token, photoPath+"/thumbnail", nil)
	if res.StatusCode != 200 {
		t.Fatalf("thumbnail: %d %s", res.StatusCode, thumb)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb)); err != nil || cfg.Width != 400 || cfg.Height != 266 {
		t.Errorf("thumbnail %+v %v", cfg, err)
	}

	res, pageBody := w.get(ctx, t, w.bob.Token, "/v1/channels/"+w.channelID+"/attachments/"+page.ID, nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") || !bytes.Contains(pageBody, []byte("<script>")) {
		t.Errorf("page: %d %v", res.StatusCode, res.Header)
	}

	for _, p := range []string{photoPath, photoPath + "/thumbnail", "/v1/channels/" + w.channelID + "/attachments/" + page.ID} {
		if res, _ := w.get(ctx, t, w.carol.Token, p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("carol got %s: %d, want 404", p, res.StatusCode)
		}
		if res, _ := w.get(ctx, t, "", p, nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("no token got %s: %d, want 401", p, res.StatusCode)
		}
	}
	if res, b, err := w.upload(ctx, w.carol.Token, "x.txt", strings.NewReader("hello")); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("carol's upload: %v %v %s", res.StatusCode, err, b)
	}
}

// countingReader produces n bytes without holding them and counts what was
// read.
type countingReader struct {
	n, read int64
	total   *atomic.Int64
	// gate, when set, holds the reader at gateAt bytes until it closes.
	gate   chan struct{}
	gateAt int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	if c.gate != nil && c.read >= c.gateAt {
		select {
		case <-c.gate:
		case <-time.After(time.Minute):
			return 0, fmt.Errorf("the gateway did not answer before the end of the body")
		}
	} else if c.gate != nil {
		p = p[:min(int64(len(p)), c.gateAt-c.read)]
	}
	k := min(int64(len(p)), c.n-c.read)
	for i := range p[:k] {
		p[i] = byte(c.read + int64(i))
	}
	c.read += k
	if c.total != nil {
		c.total.Add(k)
	}
	return int(k), nil
}

// A 30 MiB upload of unknown length is refused with 413 once it passes the
// 25 MiB limit, and a 24 MiB upload streams through without the process's
// heap growing by the file's size.
func TestUploadLimitAndMemory(t *testing.T) {
	w, ctx := startFiles(t)
	var sent atomic.Int64
	// The body stops at 26 MiB until the answer is in: the gateway must
	// refuse it mid-stream, never after reading the whole body.
	gate := make(chan struct{})
	body := io.NopCloser(&countingReader{n: 30 << 20, total: &sent, gate: gate, gateAt: 26 << 20}) // NopCloser hides the length: chunked
	res, b, err := w.upload(ctx, w.alice.Token, "big.bin", body)
	close(gate)
	if err != nil {
		t.Fatalf("30 MiB upload: %v (after %d bytes)", err, sent.Load())
	}
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "REQUEST_TOO_LARGE") {
		t.Fatalf("30 MiB upload: %d %s", res.StatusCode, b)
	}
	t.Logf("30 MiB upload refused after the client sent %d MiB", sent.Load()>>20)

	// A low GC target makes the heap in use follow the live heap, so the
	// peak shows what the upload holds, not garbage awaiting collection.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	size := int64(24 << 20)
	var peak atomic.Uint64
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	res, b, err = w.upload(ctx, w.alice.Token, "fits.bin", io.NopCloser(&countingReader{n: size}))
	close(done)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("24 MiB upload: %v %v %s", res.StatusCode, err, b)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by %.1f MiB at most during a %d MiB upload (ratio %.2f)", float64(growth)/(1<<20), size>>20, float64(growth)/float64(size))
	if growth > size/2 {
		t.Errorf("heap grew by %d bytes during a %d byte upload", growth, size)
	}
}

// stored counts the attachment objects in the blob folder and, on
// MongoDB, the attachment records, pending uploads included (-1 on SQLite:
// the service tests count those).
func (w *filesWorld) stored(ctx context.Context, t *testing.T) (objects int, records int64) {
	t.Helper()
	_ = filepath.WalkDir(filepath.Join(w.stack.Config.DataDir, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			objects++
		}
		return nil
	})
	if w.stack.Config.Store != config.StoreMongo {
		return objects, -1
	}
	records, err := w.stack.Env.DB.Collection("attachments").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return objects, records
}

// The gateway serves files from the blob store itself, after the server
// service has checked the caller on every request: conditional and
// multi-range requests work, strangers get 404, a refused upload leaves no
// object or record behind, and a member who logs out loses access at once.
func TestFilesServedByTheGateway(t *testing.T) {
	w, ctx := startFiles(t)
	data := make([]byte, 3<<20+5)
	for i := range data {
		data[i] = byte(i * 7)
	}
	objects, records := w.stored(ctx, t)
	f := w.mustUpload(t, ctx, "data.bin", data)
	if f.ContentType != "application/octet-stream" || f.Size != fmt.Sprint(len(data)) {
		t.Fatalf("upload = %+v", f)
	}
	if o, r := w.stored(ctx, t); o != objects+1 || (r >= 0 && r != records+1) {
		t.Fatalf("one upload stored %d objects and %d records", o-objects, r-records)
	}
	rest := newREST(w.base)
	if err := rest.Do(ctx, "POST", "/v1/channels/"+w.channelID+"/messages", w.alice.Token,
		map[string]any{"attachment_ids": []string{f.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	path := "/v1/channels/" + w.channelID + "/attachments/" + f.ID

	res, body := w.get(ctx, t, w.bob.Token, path, nil)
	if res.StatusCode != 200 || !bytes.Equal(body, data) || res.Header.Get("ETag") == "" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d, equal %v, %v", res.StatusCode, bytes.Equal(body, data), res.Header)
	}
	etag := res.Header.Get("ETag")
	if res, _ := w.get(ctx, t, w.bob.Token, path, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}
	res, part := w.get(ctx, t, w.bob.Token, path, map[string]string{"Range": "bytes=1048576-2097151", "If-Range": etag})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, data[1<<20:2<<20]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes 1048576-2097151/%d", len(data)) {
		t.Errorf("range: %d %q, equal %v", res.StatusCode, res.Header.Get("Content-Range"), bytes.Equal(part, data[1<<20:2<<20]))
	}
	res, multi := w.get(ctx, t, w.bob.Token, path, map[string]string{"Range": "bytes=0-9,20-29"})
	if res.StatusCode != http.StatusPartialContent || !strings.HasPrefix(res.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(multi, data[20:30]) {
		t.Errorf("multi-range: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := w.get(ctx, t, w.bob.Token, path, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)+1)}); res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d, want 416", res.StatusCode)
	}

	// Strangers: an outsider, a wrong channel, an unknown id, all 404 alike.
	other := "/v1/channels/" + w.channelID + "/attachments/" + strings.Repeat("0", 24)
	for _, c := range []struct{ token, path string }{{w.carol.Token, path}, {w.bob.Token, other}} {
		res, b := w.get(ctx, t, c.token, c.path, nil)
		if res.StatusCode != http.StatusNotFound || bytes.Contains(b, data[:64]) {
			t.Errorf("%s: %d, want 404", c.path, res.StatusCode)
		}
	}

	// A refused upload (over the limit, or empty) leaves nothing behind.
	objects, records = w.stored(ctx, t)
	big := io.NopCloser(&countingReader{n: 26 << 20}) // no length: refused mid-stream
	if res, b, err := w.upload(ctx, w.alice.Token, "big.bin", big); err != nil || res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("26 MiB upload: %v %v %s", res.StatusCode, err, b)
	}
	if res, b, err := w.upload(ctx, w.alice.Token, "empty.bin", strings.NewReader("")); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty upload: %v %v %s", res.StatusCode, err, b)
	}
	if o, r := w.stored(ctx, t); o != objects || r != records {
		t.Errorf("refused uploads left %d objects and %d records", o-objects, r-records)
	}

	// Bob logs out: his token no longer reads the file, nor uploads.
	if err := rest.Do(ctx, "POST", "/v1/auth:logout", w.bob.Token, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	if res, _ := w.get(ctx, t, w.bob.Token, path, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", res.StatusCode)
	}
	if res, _, err := w.upload(ctx, w.bob.Token, "x.txt", strings.NewReader("x")); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("upload with a revoked token: %v %v, want 401", res.StatusCode, err)
	}
}
