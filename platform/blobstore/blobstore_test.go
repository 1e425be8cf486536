package blobstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/blobstore/blobtest"
)

// The contract every bucket meets, run on the folder driver and on a real
// S3 server (gofakes3 on loopback, spoken to by the s3blob driver through
// its URL, exactly as ACCORD_BLOB_URL configures production).

func TestFolder(t *testing.T) {
	s, err := blobstore.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	contract(t, s)
	t.Run("content is the file itself, for sendfile", func(t *testing.T) {
		if _, err := s.Put(context.Background(), "f", "text/plain", bytes.NewReader([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		c, err := s.OpenContent(context.Background(), "f")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		if _, ok := c.Body.(*os.File); !ok {
			t.Errorf("Body is a %T, want *os.File", c.Body)
		}
	})
}

func TestS3(t *testing.T) {
	s := blobtest.StartS3(t)
	contract(t, s)
}

func contract(t *testing.T, s *blobstore.Store) {
	ctx := context.Background()
	t.Run("put then read whole and ranges", func(t *testing.T) {
		data := make([]byte, 3<<20+17)
		_, _ = rand.Read(data)
		n, err := s.Put(ctx, "a/obj1", "application/octet-stream", bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Put = %d, %v", n, err)
		}
		size, err := s.Size(ctx, "a/obj1")
		if err != nil || size != int64(len(data)) {
			t.Fatalf("Size = %d, %v", size, err)
		}
		for _, c := range []struct{ off, n int64 }{{0, -1}, {0, 10}, {1 << 20, 4096}, {int64(len(data)) - 5, -1}} {
			r, err := s.Open(ctx, "a/obj1", c.off, c.n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil {
				t.Fatal(err)
			}
			end := int64(len(data))
			if c.n >= 0 {
				end = c.off + c.n
			}
			if !bytes.Equal(got, data[c.off:end]) {
				t.Errorf("range %d+%d: got %d bytes, want %d", c.off, c.n, len(got), end-c.off)
			}
		}
	})
	t.Run("open content, seek and read", func(t *testing.T) {
		data := make([]byte, 1<<20+3)
		_, _ = rand.Read(data)
		if _, err := s.Put(ctx, "a/content", "application/octet-stream", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		c, err := s.OpenContent(ctx, "a/content")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		if c.Size != int64(len(data)) || c.ModTime.IsZero() {
			t.Fatalf("Size, ModTime = %d, %v; want %d and a time", c.Size, c.ModTime, len(data))
		}
		for _, off := range []int64{1 << 19, 0, int64(len(data)) - 7} {
			if _, err := c.Body.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(io.LimitReader(c.Body, 4096))
			if err != nil {
				t.Fatal(err)
			}
			if want := data[off:min(off+4096, int64(len(data)))]; !bytes.Equal(got, want) {
				t.Errorf("at %d: got %d bytes, want %d equal ones", off, len(got), len(want))
			}
		}
		if _, err := s.OpenContent(ctx, "nothing-here"); !blobstore.IsNotFound(err) {
			t.Errorf("OpenContent missing = %v, want not found", err)
		}
	})
	t.Run("replace", func(t *testing.T) {
		if _, err := s.Put(ctx, "obj2", "text/plain", bytes.NewReader([]byte("one"))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "obj2", "text/plain", bytes.NewReader([]byte("second"))); err != nil {
			t.Fatal(err)
		}
		r, err := s.Open(ctx, "obj2", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		_ = r.Close()
		if string(got) != "second" {
			t.Errorf("got %q, want second", got)
		}
	})
	t.Run("a failed write leaves nothing", func(t *testing.T) {
		boom := errors.New("client went away")
		r := io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), errReader{boom})
		if _, err := s.Put(ctx, "obj3", "application/octet-stream", r); !errors.Is(err, boom) {
			t.Fatalf("Put error = %v, want %v", err, boom)
		}
		if _, err := s.Size(ctx, "obj3"); !blobstore.IsNotFound(err) {
			t.Errorf("Size after a failed write = %v, want not found", err)
		}
	})
	t.Run("missing and delete", func(t *testing.T) {
		if _, err := s.Open(ctx, "nothing-here", 0, -1); !blobstore.IsNotFound(err) {
			t.Errorf("Open missing = %v, want not found", err)
		}
		if err := s.Delete(ctx, "nothing-here"); err != nil {
			t.Errorf("Delete missing = %v, want nil", err)
		}
		if _, err := s.Put(ctx, "obj4", "text/plain", bytes.NewReader([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "obj4"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Size(ctx, "obj4"); !blobstore.IsNotFound(err) {
			t.Errorf("Size after delete = %v, want not found", err)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
