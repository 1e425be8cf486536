package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
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
