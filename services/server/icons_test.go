package server_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"google.golang.org/grpc/codes"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/events"
)

func iconPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (h *harness) uploadIcon(ctx context.Context, serverID string, data []byte) (*serverv1.Server, error) {
	st, err := h.api.UploadServerIcon(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Header{
		Header: &serverv1.UploadServerIconHeader{ServerId: serverID}}}); err == nil {
		for len(data) > 0 {
			n := min(len(data), 100<<10)
			if err := st.Send(&serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Chunk{Chunk: data[:n]}}); err != nil {
				break // the service ended the call: CloseAndRecv says why
			}
			data = data[n:]
		}
	}
	res, err := st.CloseAndRecv()
	return res.GetServer(), err
}

func TestServerIcons(t *testing.T) {
	h := newHarness(t)
	owner, admin, member, outsider := h.newUser("owner"), h.newUser("admin"), h.newUser("member"), h.newUser("outsider")
	srv, _ := h.createServer(owner, "iconic")
	for _, u := range []acct{admin, member} {
		h.addMember(owner, srv.GetId(), u)
	}
	h.setRole(owner, srv.GetId(), admin, serverv1.Role_ROLE_ADMIN)
	pic := iconPNG(t, 512, 300)

	// Refused before any byte is stored: a member without the role, an
	// outsider (as if the server did not exist), a conversation.
	before := h.snapshot()
	_, err := h.uploadIcon(member.ctx, srv.GetId(), pic)
	wantCode(t, err, codes.PermissionDenied, "member sets the icon")
	_, err = h.uploadIcon(outsider.ctx, srv.GetId(), pic)
	wantCode(t, err, codes.NotFound, "outsider sets the icon")
	_, err = h.api.DeleteServerIcon(member.ctx, &serverv1.DeleteServerIconRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.PermissionDenied, "member removes the icon")
	_, err = h.uploadIcon(owner.ctx, srv.GetId(), []byte("plain text, not a picture"))
	wantCode(t, err, codes.InvalidArgument, "text as an icon")
	_, err = h.uploadIcon(owner.ctx, srv.GetId(), append(iconPNG(t, 4, 4), make([]byte, 8<<20)...))
	wantCode(t, err, codes.InvalidArgument, "icon above 8 MiB")
	if after := h.snapshot(); after != before {
		t.Fatalf("refused icon calls changed state:\n%s\nvs\n%s", before, after)
	}
	_, err = h.api.GetServerIcon(member.ctx, &serverv1.GetServerIconRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.NotFound, "icon of a server without one")

	// An admin sets it: squared to 256 px, announced as server_updated.
	got, err := h.uploadIcon(admin.ctx, srv.GetId(), pic)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetIcon()) != 32 || got.GetName() != "iconic" {
		t.Fatalf("server after upload = %v", got)
	}
	ic, err := h.api.GetServerIcon(member.ctx, &serverv1.GetServerIconRequest{ServerId: srv.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(ic.GetData()))
	if err != nil || cfg.Width != 256 || cfg.Height != 256 || ic.GetIcon() != got.GetIcon() || ic.GetContentType() != "image/png" {
		t.Fatalf("icon = %dx%d %v %s %s", cfg.Width, cfg.Height, err, ic.GetIcon(), ic.GetContentType())
	}
	evs := h.events(events.ServerScope(srv.GetId()))
	last := evs[len(evs)-1].GetServerUpdated()
	if last == nil || last.GetIcon() != got.GetIcon() {
		t.Fatalf("last server event = %v; want server_updated with the icon", evs[len(evs)-1])
	}
	// Members see it on the server; an outsider cannot read it.
	gs, err := h.api.GetServer(member.ctx, &serverv1.GetServerRequest{ServerId: srv.GetId()})
	if err != nil || gs.GetServer().GetIcon() != got.GetIcon() {
		t.Fatalf("GetServer = %v, %v", gs, err)
	}
	_, err = h.api.GetServerIcon(outsider.ctx, &serverv1.GetServerIconRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.NotFound, "outsider reads the icon")

	// The owner removes it.
	del, err := h.api.DeleteServerIcon(owner.ctx, &serverv1.DeleteServerIconRequest{ServerId: srv.GetId()})
	if err != nil || del.GetServer().GetIcon() != "" {
		t.Fatalf("delete = %v, %v", del, err)
	}
	_, err = h.api.GetServerIcon(member.ctx, &serverv1.GetServerIconRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.NotFound, "icon after removal")
}

func TestAnnounceProfile(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.newUser("alice"), h.newUser("bob")
	a, _ := h.createServer(alice, "one")
	b, _ := h.createServer(bob, "two")
	h.addMember(bob, b.GetId(), alice)
	lone, _ := h.createServer(bob, "without alice")

	req := &serverv1.AnnounceProfileRequest{UserId: alice.id, Login: alice.login, DisplayName: "Alice", Avatar: "0123456789abcdef0123456789abcdef"}
	_, err := h.internal.AnnounceProfile(alice.ctx, req)
	wantCode(t, err, codes.PermissionDenied, "a user announces a profile")
	if _, err := h.internal.AnnounceProfile(h.service, req); err != nil {
		t.Fatal(err)
	}
	// Every server alice is in hears member_updated with her avatar; others nothing.
	for _, id := range []string{a.GetId(), b.GetId()} {
		evs := h.events(events.ServerScope(id))
		m := evs[len(evs)-1].GetMemberUpdated()
		if m.GetUserId() != alice.id || m.GetAvatar() != req.Avatar || m.GetDisplayName() != "Alice" {
			t.Fatalf("last event of %s = %v", id, evs[len(evs)-1])
		}
	}
	for _, e := range h.events(events.ServerScope(lone.GetId())) {
		if e.GetMemberUpdated() != nil {
			t.Fatalf("a server without alice heard %v", e)
		}
	}
}

// The gateway's direct path: CreateServerIconUpload checks the role and
// hands out a key under the server's prefix, the gateway writes the bytes
// there and CompleteServerIconUpload checks the role again and stores
// them as UploadServerIcon does, deleting what was written whatever the
// outcome; LocateServerIcon answers members only.
func TestServerIconUploadsWrittenByTheGateway(t *testing.T) {
	h := newHarness(t)
	owner, member, outsider := h.newUser("owner"), h.newUser("member"), h.newUser("outsider")
	srv, _ := h.createServer(owner, "direct")
	h.addMember(owner, srv.GetId(), member)
	ctx := context.Background()
	has := func(key string) bool {
		_, err := h.blobs.Size(ctx, key)
		return err == nil
	}

	_, err := h.api.CreateServerIconUpload(member.ctx, &serverv1.CreateServerIconUploadRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.PermissionDenied, "member starts an icon upload")
	_, err = h.api.CreateServerIconUpload(outsider.ctx, &serverv1.CreateServerIconUploadRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.NotFound, "outsider starts an icon upload")
	up, err := h.api.CreateServerIconUpload(owner.ctx, &serverv1.CreateServerIconUploadRequest{ServerId: srv.GetId()})
	if err != nil || up.GetBlobKey() != "icons/"+srv.GetId()+"/upload-"+up.GetUploadId() || up.GetMaxBytes() != 8<<20 {
		t.Fatalf("CreateServerIconUpload = %v, %v", up, err)
	}
	if _, err := h.blobs.Put(ctx, up.GetBlobKey(), "image/png", bytes.NewReader(iconPNG(t, 300, 300))); err != nil {
		t.Fatal(err)
	}
	_, err = h.api.CompleteServerIconUpload(member.ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: srv.GetId(), UploadId: up.GetUploadId()})
	wantCode(t, err, codes.PermissionDenied, "member completes an icon upload")
	done, err := h.api.CompleteServerIconUpload(owner.ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: srv.GetId(), UploadId: up.GetUploadId()})
	if err != nil || len(done.GetServer().GetIcon()) != 32 {
		t.Fatalf("CompleteServerIconUpload = %v, %v", done, err)
	}
	if has(up.GetBlobKey()) {
		t.Fatal("the written upload is still stored")
	}
	_, err = h.api.CompleteServerIconUpload(owner.ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: srv.GetId(), UploadId: up.GetUploadId()})
	wantCode(t, err, codes.NotFound, "completing twice")

	loc, err := h.api.LocateServerIcon(member.ctx, &serverv1.LocateServerIconRequest{ServerId: srv.GetId()})
	if err != nil || loc.GetIcon() != done.GetServer().GetIcon() || !has(loc.GetBlobKey()) {
		t.Fatalf("LocateServerIcon = %v, %v", loc, err)
	}
	_, err = h.api.LocateServerIcon(outsider.ctx, &serverv1.LocateServerIconRequest{ServerId: srv.GetId()})
	wantCode(t, err, codes.NotFound, "outsider locates the icon")

	// A refused picture is deleted too, and the icon stays.
	bad, err := h.api.CreateServerIconUpload(owner.ctx, &serverv1.CreateServerIconUploadRequest{ServerId: srv.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.blobs.Put(ctx, bad.GetBlobKey(), "text/plain", bytes.NewReader([]byte("not a picture"))); err != nil {
		t.Fatal(err)
	}
	_, err = h.api.CompleteServerIconUpload(owner.ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: srv.GetId(), UploadId: bad.GetUploadId()})
	wantCode(t, err, codes.InvalidArgument, "text as an icon")
	if has(bad.GetBlobKey()) {
		t.Fatal("a refused upload is still stored")
	}
	if loc2, err := h.api.LocateServerIcon(member.ctx, &serverv1.LocateServerIconRequest{ServerId: srv.GetId()}); err != nil || loc2.GetIcon() != loc.GetIcon() {
		t.Fatalf("after a refused upload = %v, %v", loc2, err)
	}
}
