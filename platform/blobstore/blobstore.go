// Package blobstore keeps opaque byte objects (attachment files, their
// thumbnails) in a bucket: a folder on disk in the one-command run
// (gocloud.dev/blob/fileblob under <data>/blobs) or an S3-compatible store in
// production (gocloud.dev/blob/s3blob, ACCORD_BLOB_URL). Every write and read
// streams: nothing holds a whole object in memory.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
	"gocloud.dev/gcerrors"

	"github.com/accordchat/accord/platform/errs"
)

// Store is a bucket of objects named by keys.
type Store struct {
	b *blob.Bucket
}

// Open opens the bucket at rawURL (a gocloud.dev/blob URL: s3://bucket?...,
// file:///path, mem://), or, when rawURL is empty, the folder
// <dataDir>/blobs, created when missing.
func Open(ctx context.Context, rawURL, dataDir string) (*Store, error) {
	if rawURL == "" {
		dir, err := filepath.Abs(filepath.Join(dataDir, "blobs"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		// Metadata stays in the database; no .attrs file beside each object.
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
		if err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		return &Store{b: b}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("blobstore: ACCORD_BLOB_URL is not a URL: %q", rawURL)
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s://%s: %w", u.Scheme, u.Host, err)
	}
	return &Store{b: b}, nil
}

// New wraps an open bucket (tests).
func New(b *blob.Bucket) *Store { return &Store{b: b} }

// Put streams r into the object key, replacing any object there, and
// returns how many bytes it wrote. When r fails (an upload over its limit,
// a client gone) the write is abandoned and nothing is left under key.
func (s *Store) Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	if err != nil {
		cancel() // a cancelled context makes Close abandon the object
		_ = w.Close()
		return n, err
	}
	if err := w.Close(); err != nil {
		return n, err
	}
	return n, nil
}

// Open reads length bytes of the object from offset (length < 0: to the
// end). It returns NotFound when there is no such object.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, errs.NotFound("object not found")
		}
		return nil, err
	}
	return r, nil
}

// Content is an open object for serving: Body reads and seeks (what
// http.ServeContent needs for ranges). For the folder driver Body is the
// *os.File itself, so that copying it to a TCP connection uses sendfile.
type Content struct {
	Body    io.ReadSeeker
	Size    int64
	ModTime time.Time
	r       *blob.Reader
}

// Close releases the object.
func (c *Content) Close() error { return c.r.Close() }

// OpenContent opens the whole object for serving, or returns NotFound.
func (s *Store) OpenContent(ctx context.Context, key string) (*Content, error) {
	var f *os.File
	r, err := s.b.NewRangeReader(ctx, key, 0, -1, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		as(&f) // fileblob hands out its *os.File; other drivers do not
		return nil
	}})
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, errs.NotFound("object not found")
		}
		return nil, err
	}
	c := &Content{Body: r, Size: r.Size(), ModTime: r.ModTime(), r: r}
	if f != nil {
		c.Body = f // r reads f directly when reading the whole object
	}
	return c, nil
}

// Size returns the size of the object, or NotFound.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return 0, errs.NotFound("object not found")
		}
		return 0, err
	}
	return a.Size, nil
}

// Delete removes the object; a missing object is not an error (deletes are
// retried by sweepers).
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.b.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// Close releases the bucket.
func (s *Store) Close() error {
	if s == nil || s.b == nil {
		return nil
	}
	return s.b.Close()
}

// IsNotFound reports whether err is a missing object.
func IsNotFound(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Kind == errs.KindNotFound || errors.Is(err, os.ErrNotExist)
}
