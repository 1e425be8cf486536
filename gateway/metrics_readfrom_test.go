package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readFromRecorder is a ResponseWriter whose ReadFrom (net/http's, which
// uses sendfile for files) says it was used.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	used bool
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.used = true
	return io.Copy(r.ResponseRecorder, src)
}

// The metrics wrapper must not hide the connection's ReadFrom: without it
// files are copied through a buffer instead of sent with sendfile.
func TestStatusWriterKeepsReadFrom(t *testing.T) {
	rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	sw := &statusWriter{ResponseWriter: rec}
	var w http.ResponseWriter = sw
	n, err := io.Copy(w, io.LimitReader(strings.NewReader("hello world"), 5))
	if err != nil || n != 5 || !rec.used || rec.Body.String() != "hello" {
		t.Fatalf("io.Copy = %d, %v; ReadFrom used %v; body %q", n, err, rec.used, rec.Body.String())
	}
	if sw.code != http.StatusOK {
		t.Errorf("code %d, want 200", sw.code)
	}
}
