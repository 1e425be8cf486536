package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accordchat/accord/gateway"
)

// send makes a request with a body and returns the status and body.
func (w *filesWorld) send(ctx context.Context, t *testing.T, method, token, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

// Alice sets an avatar through REST (a photo with GPS in its EXIF): bob
// reads it squared and stripped at a cacheable URL and sees it in the
// member list; too large, not an image and no token are refused. She sets
// the server's icon, which bob (a member without the role) cannot change
// and carol (outside) cannot read. Both are removed again.
func TestAvatarsAndIconsThroughREST(t *testing.T) {
	w, ctx := startFiles(t)

	res, b := w.send(ctx, t, "PUT", w.alice.Token, "/v1/me/avatar", exifJPEG(t, 640, 480))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT avatar: %d %s", res.StatusCode, b)
	}
	var me struct {
		User struct {
			Avatar string `json:"avatar"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &me); err != nil || len(me.User.Avatar) != 32 {
		t.Fatalf("PUT avatar answer %s (%v)", b, err)
	}
	hash := me.User.Avatar

	path := "/v1/users/" + w.alice.ID + "/avatar"
	res, b = w.get(ctx, t, w.bob.Token, path+"?v="+hash, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET avatar: %d %s", res.StatusCode, b)
	}
	for k, want := range map[string]string{
		"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff", "ETag": `"` + hash + `"`,
		"Cache-Control": "private, max-age=31536000, immutable", "Content-Disposition": `inline; filename=avatar.jpg`,
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("avatar = %+v %v; want 256x256", cfg, err)
	}
	if bytes.Contains(b, []byte("GPSLatitude")) {
		t.Fatal("the avatar kept its EXIF")
	}
	// Without the version the URL is revalidated; the ETag answers 304.
	res, _ = w.get(ctx, t, w.bob.Token, path, map[string]string{"If-None-Match": `"` + hash + `"`})
	if res.StatusCode != http.StatusNotModified || res.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("revalidation = %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	// The member list carries the avatar.
	var members struct {
		Members []struct {
			UserID string `json:"user_id"`
			Avatar string `json:"avatar"`
		} `json:"members"`
	}
	res, b = w.get(ctx, t, w.bob.Token, "/v1/servers/"+w.serverID+"/members", nil)
	if err := json.Unmarshal(b, &members); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("members: %d %s", res.StatusCode, b)
	}
	found := false
	for _, m := range members.Members {
		found = found || (m.UserID == w.alice.ID && m.Avatar == hash)
	}
	if !found {
		t.Fatalf("members = %s; want alice with her avatar", b)
	}

	// Refusals: above 8 MiB (413 as the body passes the limit), not an
	// image (400 naming the field), no token (401), malformed id (400).
	res, b = w.send(ctx, t, "PUT", w.alice.Token, "/v1/me/avatar", make([]byte, 9<<20))
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("9 MiB avatar: %d %s", res.StatusCode, b)
	}
	res, b = w.send(ctx, t, "PUT", w.alice.Token, "/v1/me/avatar", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"avatar"`) {
		t.Fatalf("svg avatar: %d %s", res.StatusCode, b)
	}
	res, _ = w.send(ctx, t, "PUT", "", "/v1/me/avatar", exifJPEG(t, 10, 10))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("avatar without a token: %d", res.StatusCode)
	}
	res, _ = w.get(ctx, t, w.bob.Token, "/v1/users/nope/avatar", nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("avatar of a malformed id: %d", res.StatusCode)
	}

	// Server icon: bob is a member without the role, carol an outsider.
	icon := "/v1/servers/" + w.serverID + "/icon"
	res, _ = w.send(ctx, t, "PUT", w.bob.Token, icon, exifJPEG(t, 64, 64))
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("member sets the icon: %d", res.StatusCode)
	}
	res, _ = w.send(ctx, t, "PUT", w.carol.Token, icon, exifJPEG(t, 64, 64))
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("outsider sets the icon: %d", res.StatusCode)
	}
	res, b = w.send(ctx, t, "PUT", w.alice.Token, icon, exifJPEG(t, 64, 48))
	var srv struct {
		Server struct {
			Icon string `json:"icon"`
		} `json:"server"`
	}
	if err := json.Unmarshal(b, &srv); err != nil || res.StatusCode != http.StatusOK || len(srv.Server.Icon) != 32 {
		t.Fatalf("PUT icon: %d %s", res.StatusCode, b)
	}
	res, b = w.get(ctx, t, w.bob.Token, icon+"?v="+srv.Server.Icon, nil)
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); res.StatusCode != http.StatusOK || err != nil || cfg.Width != 48 || cfg.Height != 48 {
		t.Fatalf("GET icon: %d %+v %v", res.StatusCode, cfg, err)
	}
	res, _ = w.get(ctx, t, w.carol.Token, icon, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("outsider reads the icon: %d", res.StatusCode)
	}
	res, b = w.send(ctx, t, "DELETE", w.alice.Token, icon, nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(b), srv.Server.Icon) {
		t.Fatalf("DELETE icon: %d %s", res.StatusCode, b)
	}
	res, _ = w.get(ctx, t, w.bob.Token, icon, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("icon after removal: %d", res.StatusCode)
	}

	// Removing the avatar: initials again.
	res, b = w.send(ctx, t, "DELETE", w.alice.Token, "/v1/me/avatar", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(b), hash) {
		t.Fatalf("DELETE avatar: %d %s", res.StatusCode, b)
	}
	res, _ = w.get(ctx, t, w.bob.Token, path, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("avatar after removal: %d", res.StatusCode)
	}
}

// putStream sends a body of unknown length (no Content-Length), so that
// a limit can only be enforced while it streams.
func (w *filesWorld) putStream(ctx context.Context, t *testing.T, token, path string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "PUT", w.base+path, io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// Avatars and icons take the gateway's direct path (the suite's gateway
// shares the blob store): the body goes into the store, the owning service
// completes the upload, and downloads are served from the store with
// ETag, 304 and ranges after the service's access check. Refusals leave
// no object behind: above 8 MiB mid-stream (413), not an image (400).
// A gateway without the blob store still serves them through gRPC.
func TestPicturesServedByTheGateway(t *testing.T) {
	w, ctx := startFiles(t)
	objects, _ := w.stored(ctx, t)

	res, b := w.putStream(ctx, t, w.alice.Token, "/v1/me/avatar", bytes.NewReader(exifJPEG(t, 300, 200)))
	var me struct {
		User struct {
			Avatar string `json:"avatar"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &me); err != nil || res.StatusCode != http.StatusOK || len(me.User.Avatar) != 32 {
		t.Fatalf("PUT avatar: %d %s", res.StatusCode, b)
	}
	// Only the finished picture is kept: the written upload is gone.
	if o, _ := w.stored(ctx, t); o != objects+1 {
		t.Fatalf("an avatar upload left %d objects, want 1", o-objects)
	}
	path := "/v1/users/" + w.alice.ID + "/avatar"
	etag := `"` + me.User.Avatar + `"`
	res, full := w.get(ctx, t, w.carol.Token, path, nil) // any signed-in user
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(full)); res.StatusCode != http.StatusOK || err != nil || cfg.Width != 200 ||
		res.Header.Get("ETag") != etag || res.Header.Get("Content-Type") != "image/jpeg" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("GET avatar: %d %v %+v", res.StatusCode, res.Header, err)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
		if res, b := w.get(ctx, t, w.bob.Token, path, map[string]string{"If-None-Match": inm}); res.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Errorf("If-None-Match %s: %d, want 304", inm, res.StatusCode)
		}
	}
	if res, _ := w.get(ctx, t, w.bob.Token, path, map[string]string{"If-None-Match": `"other"`}); res.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match of another version: %d, want 200", res.StatusCode)
	}
	res, part := w.get(ctx, t, w.bob.Token, path, map[string]string{"Range": "bytes=10-19"})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, full[10:20]) {
		t.Errorf("range: %d, equal %v", res.StatusCode, bytes.Equal(part, full[10:20]))
	}
	if res, _ := w.get(ctx, t, "", path, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("avatar without a token: %d, want 401", res.StatusCode)
	}

	// Refusals of the direct path leave nothing in the store.
	objects, _ = w.stored(ctx, t)
	res, b = w.putStream(ctx, t, w.alice.Token, "/v1/me/avatar", &countingReader{n: 9 << 20})
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("9 MiB avatar of unknown length: %d %s", res.StatusCode, b)
	}
	res, b = w.putStream(ctx, t, w.alice.Token, "/v1/me/avatar", strings.NewReader("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"avatar"`) {
		t.Fatalf("svg avatar: %d %s", res.StatusCode, b)
	}
	icon := "/v1/servers/" + w.serverID + "/icon"
	res, b = w.putStream(ctx, t, w.alice.Token, icon, &countingReader{n: 9 << 20})
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("9 MiB icon of unknown length: %d %s", res.StatusCode, b)
	}
	res, b = w.putStream(ctx, t, w.alice.Token, icon, strings.NewReader("not an image at all"))
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"icon"`) {
		t.Fatalf("text icon: %d %s", res.StatusCode, b)
	}
	for _, c := range []struct {
		token string
		want  int
	}{{w.bob.Token, http.StatusForbidden}, {w.carol.Token, http.StatusNotFound}} {
		if res, b := w.putStream(ctx, t, c.token, icon, bytes.NewReader(exifJPEG(t, 32, 32))); res.StatusCode != c.want {
			t.Errorf("icon by a stranger: %d %s, want %d", res.StatusCode, b, c.want)
		}
	}
	if o, _ := w.stored(ctx, t); o != objects {
		t.Fatalf("refused pictures left %d objects", o-objects)
	}

	// The icon: members read it (304 on its version), outsiders get 404.
	res, b = w.putStream(ctx, t, w.alice.Token, icon, bytes.NewReader(exifJPEG(t, 64, 64)))
	var srv struct {
		Server struct {
			Icon string `json:"icon"`
		} `json:"server"`
	}
	if err := json.Unmarshal(b, &srv); err != nil || res.StatusCode != http.StatusOK || len(srv.Server.Icon) != 32 {
		t.Fatalf("PUT icon: %d %s", res.StatusCode, b)
	}
	res, b = w.get(ctx, t, w.bob.Token, icon+"?v="+srv.Server.Icon, nil)
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); res.StatusCode != http.StatusOK || err != nil || cfg.Width != 64 ||
		res.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Fatalf("GET icon: %d %v %v", res.StatusCode, res.Header, err)
	}
	if res, _ := w.get(ctx, t, w.bob.Token, icon, map[string]string{"If-None-Match": `"` + srv.Server.Icon + `"`}); res.StatusCode != http.StatusNotModified {
		t.Errorf("icon revalidation: %d, want 304", res.StatusCode)
	}
	for _, h := range []map[string]string{nil, {"If-None-Match": `"` + srv.Server.Icon + `"`}} {
		if res, b := w.get(ctx, t, w.carol.Token, icon, h); res.StatusCode != http.StatusNotFound {
			t.Errorf("outsider reads the icon (%v): %d %s, want 404", h, res.StatusCode, b)
		}
	}

	// The same through a gateway without the blob store: bytes over gRPC.
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	viaGRPC, err := gateway.New(gctx, gateway.Options{Peers: w.stack.Peers, WebDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(viaGRPC)
	defer hs.Close()
	g := *w
	g.base = hs.URL
	res, b = g.putStream(ctx, t, w.bob.Token, "/v1/me/avatar", bytes.NewReader(exifJPEG(t, 50, 50)))
	var bobMe struct {
		User struct {
			Avatar string `json:"avatar"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &bobMe); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT avatar through gRPC: %d %s", res.StatusCode, b)
	}
	for _, base := range []*filesWorld{w, &g} {
		res, b := base.get(ctx, t, w.alice.Token, "/v1/users/"+w.bob.ID+"/avatar", nil)
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); res.StatusCode != http.StatusOK || err != nil || cfg.Width != 50 ||
			res.Header.Get("ETag") != `"`+bobMe.User.Avatar+`"` {
			t.Errorf("GET avatar at %s: %d %v %v", base.base, res.StatusCode, res.Header, err)
		}
	}
	if res, b := g.putStream(ctx, t, w.alice.Token, icon, &countingReader{n: 9 << 20}); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MiB icon through gRPC: %d %s", res.StatusCode, b)
	}
}
