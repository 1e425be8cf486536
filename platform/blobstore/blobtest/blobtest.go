// Package blobtest starts an S3-compatible server for tests.
package blobtest

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/accordchat/accord/platform/blobstore"
)

// StartS3 starts an S3-compatible server (gofakes3, in memory) on loopback
// for the test, creates a bucket there and returns the Store opened through
// an s3:// URL, the way ACCORD_BLOB_URL configures production.
func StartS3(t testing.TB) *blobstore.Store {
	t.Helper()
	s, err := blobstore.Open(context.Background(), StartS3URL(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// StartS3URL starts the S3-compatible server with an "accord" bucket and
// returns its ACCORD_BLOB_URL. The credentials the SDK needs are in the
// test's environment (Env lists them for child processes).
func StartS3URL(t testing.TB) string {
	t.Helper()
	q := url.Values{
		"endpoint": {StartS3Endpoint(t, "accord")}, "region": {"us-east-1"},
		"use_path_style": {"true"}, "disable_https": {"true"},
	}
	return "s3://accord?" + q.Encode()
}

// StartS3Endpoint starts the S3-compatible server with the bucket and
// returns its endpoint (http://127.0.0.1:<port>), for a test that builds
// its ACCORD_BLOB_URL from another one's shape. It sets Env in the test's
// environment.
func StartS3Endpoint(t testing.TB, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	// The fake server checks no signature; the SDK needs some credentials.
	for k, v := range Env {
		t.Setenv(k, v)
	}
	return srv.URL
}

// Env is the environment a process needs to reach the test S3 server.
var Env = map[string]string{
	"AWS_ACCESS_KEY_ID":         "accord-test",
	"AWS_SECRET_ACCESS_KEY":     "accord-test-secret",
	"AWS_EC2_METADATA_DISABLED": "true",
}
