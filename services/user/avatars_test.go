package user_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"
	"testing"

	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc/codes"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
	domain "github.com/accordchat/accord/services/user/internal/account"
)

// announced records the profiles the service announced to the servers.
type announced struct {
	mu    sync.Mutex
	users []domain.User
}

func (a *announced) AnnounceProfile(_ context.Context, u domain.User) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users = append(a.users, u)
	return nil
}

func (a *announced) last() domain.User {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.users) == 0 {
		return domain.User{}
	}
	return a.users[len(a.users)-1]
}

// photo is a w x h JPEG carrying an EXIF segment with a GPS-like marker.
func photo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 90, A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS-SECRET-52.37N-4.89E")
	seg := append([]byte{0xff, 0xe1, 0, byte(len(exif) + 2)}, exif...)
	out := append([]byte{}, b.Bytes()[:2]...)
	out = append(out, seg...)
	return append(out, b.Bytes()[2:]...)
}

// uploadAvatar streams data in chunks of 100 KiB.
func (f *fixture) uploadAvatar(ctx context.Context, data []byte) (*userv1.User, error) {
	st, err := f.users.UploadAvatar(ctx)
	if err != nil {
		return nil, err
	}
	for len(data) > 0 {
		n := min(len(data), 100<<10)
		if err := st.Send(&userv1.UploadAvatarRequest{Chunk: data[:n]}); err != nil {
			break // the service ended the call: CloseAndRecv says why
		}
		data = data[n:]
	}
	res, err := st.CloseAndRecv()
	return res.GetUser(), err
}

func TestAvatars(t *testing.T) {
	bucket := blobstore.New(memblob.OpenBucket(nil))
	ann := &announced{}
	f := newFixture(t, func(o *user.Options, _ *platformtest.Env) { o.Blobs, o.Profiles = bucket, ann })
	alice, bob := f.register("alice"), f.register("bob")

	// A JPEG photo becomes a 256 px square JPEG without its EXIF segment.
	u, err := f.uploadAvatar(alice.ctx(f), photo(t, 900, 600))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.GetAvatar()) != 32 {
		t.Fatalf("avatar = %q; want a 32-digit hash", u.GetAvatar())
	}
	if got := ann.last(); got.ID != alice.user.GetId() || got.Avatar != u.GetAvatar() {
		t.Fatalf("announced %+v; want alice with the new avatar", got)
	}
	// Anyone signed in reads it; the profile carries the hash.
	av, err := f.users.GetAvatar(bob.ctx(f), &userv1.GetAvatarRequest{UserId: alice.user.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(av.GetData()))
	if err != nil || cfg.Width != 256 || cfg.Height != 256 || av.GetContentType() != "image/jpeg" || av.GetAvatar() != u.GetAvatar() {
		t.Fatalf("avatar read = %dx%d %v (%s, %q)", cfg.Width, cfg.Height, err, av.GetContentType(), av.GetAvatar())
	}
	if bytes.Contains(av.GetData(), []byte("GPS-SECRET")) || bytes.Contains(av.GetData(), []byte("Exif")) {
		t.Fatal("the stored avatar kept the EXIF segment")
	}
	got, err := f.users.GetUser(bob.ctx(f), &userv1.GetUserRequest{UserId: alice.user.GetId()})
	if err != nil || got.GetUser().GetAvatar() != u.GetAvatar() {
		t.Fatalf("profile = %v, %v", got, err)
	}

	// A new picture gets a new hash and the old bytes go.
	var pb bytes.Buffer
	if err := png.Encode(&pb, image.NewRGBA(image.Rect(0, 0, 30, 40))); err != nil {
		t.Fatal(err)
	}
	u2, err := f.uploadAvatar(alice.ctx(f), pb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if u2.GetAvatar() == u.GetAvatar() || u2.GetAvatar() == "" {
		t.Fatalf("second avatar = %q, first %q", u2.GetAvatar(), u.GetAvatar())
	}
	first, second := "avatars/"+alice.user.GetId()+"/"+u.GetAvatar(), "avatars/"+alice.user.GetId()+"/"+u2.GetAvatar()
	if stored(t, bucket, first) || !stored(t, bucket, second) {
		t.Fatal("after a replacement the blob store should hold the second avatar only")
	}

	// Refused uploads change nothing.
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"not an image", []byte("just some text, no picture"), ""},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"empty", nil, ""},
		{"above 8 MiB", append(pb.Bytes(), make([]byte, 8<<20)...), "FILE_TOO_LARGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.uploadAvatar(alice.ctx(f), tc.data)
			wantInvalid(t, err, "avatar")
			if tc.reason != "" && reason(err) != tc.reason {
				t.Fatalf("reason = %q; want %s", reason(err), tc.reason)
			}
		})
	}
	if me, err := f.users.GetCurrentUser(alice.ctx(f), &userv1.GetCurrentUserRequest{}); err != nil || me.GetUser().GetAvatar() != u2.GetAvatar() {
		t.Fatalf("after refused uploads = %v, %v", me, err)
	}

	// Removing it leaves initials: no hash, no picture, no bytes.
	del, err := f.users.DeleteAvatar(alice.ctx(f), &userv1.DeleteAvatarRequest{})
	if err != nil || del.GetUser().GetAvatar() != "" {
		t.Fatalf("delete = %v, %v", del, err)
	}
	if got := ann.last(); got.Avatar != "" {
		t.Fatalf("announced %+v after removal", got)
	}
	_, err = f.users.GetAvatar(bob.ctx(f), &userv1.GetAvatarRequest{UserId: alice.user.GetId()})
	wantCode(t, err, codes.NotFound)
	if stored(t, bucket, second) {
		t.Fatal("the removed avatar's bytes are still stored")
	}
	// Removing twice is fine; an unknown user has no avatar; no token, no avatar.
	if _, err := f.users.DeleteAvatar(alice.ctx(f), &userv1.DeleteAvatarRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.GetAvatar(bob.ctx(f), &userv1.GetAvatarRequest{UserId: "0123456789abcdef01234567"})
	wantCode(t, err, codes.NotFound)
	_, err = f.users.GetAvatar(bob.ctx(f), &userv1.GetAvatarRequest{UserId: "nope"})
	wantInvalid(t, err, "user_id")
	_, err = f.users.GetAvatar(f.ctx(""), &userv1.GetAvatarRequest{UserId: alice.user.GetId()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = f.uploadAvatar(f.ctx(""), pb.Bytes())
	wantCode(t, err, codes.Unauthenticated)
}

func stored(t *testing.T, s *blobstore.Store, key string) bool {
	t.Helper()
	_, err := s.Size(context.Background(), key)
	if errors.Is(err, errs.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// The gateway's direct path: CreateAvatarUpload hands out a key under the
// caller's own prefix, the gateway writes the bytes there and
// CompleteAvatarUpload checks and stores them as UploadAvatar does,
// deleting what was written whatever the outcome; LocateAvatar returns the
// key of the stored picture.
func TestAvatarUploadsWrittenByTheGateway(t *testing.T) {
	bucket := blobstore.New(memblob.OpenBucket(nil))
	f := newFixture(t, func(o *user.Options, _ *platformtest.Env) { o.Blobs, o.Profiles = bucket, &announced{} })
	alice, bob := f.register("alice"), f.register("bob")
	ctx := context.Background()

	up, err := f.users.CreateAvatarUpload(alice.ctx(f), &userv1.CreateAvatarUploadRequest{})
	if err != nil || len(up.GetUploadId()) != 32 || up.GetMaxBytes() != 8<<20 ||
		up.GetBlobKey() != "avatars/"+alice.user.GetId()+"/upload-"+up.GetUploadId() {
		t.Fatalf("CreateAvatarUpload = %v, %v", up, err)
	}
	if _, err := bucket.Put(ctx, up.GetBlobKey(), "application/octet-stream", bytes.NewReader(photo(t, 400, 300))); err != nil {
		t.Fatal(err)
	}
	// Bob cannot complete alice's upload: his id names his own key.
	_, err = f.users.CompleteAvatarUpload(bob.ctx(f), &userv1.CompleteAvatarUploadRequest{UploadId: up.GetUploadId()})
	wantCode(t, err, codes.NotFound)
	done, err := f.users.CompleteAvatarUpload(alice.ctx(f), &userv1.CompleteAvatarUploadRequest{UploadId: up.GetUploadId()})
	if err != nil || len(done.GetUser().GetAvatar()) != 32 {
		t.Fatalf("CompleteAvatarUpload = %v, %v", done, err)
	}
	if stored(t, bucket, up.GetBlobKey()) {
		t.Fatal("the written upload is still stored")
	}
	_, err = f.users.CompleteAvatarUpload(alice.ctx(f), &userv1.CompleteAvatarUploadRequest{UploadId: up.GetUploadId()})
	wantCode(t, err, codes.NotFound)

	loc, err := f.users.LocateAvatar(bob.ctx(f), &userv1.LocateAvatarRequest{UserId: alice.user.GetId()})
	if err != nil || loc.GetAvatar() != done.GetUser().GetAvatar() || !stored(t, bucket, loc.GetBlobKey()) {
		t.Fatalf("LocateAvatar = %v, %v", loc, err)
	}
	_, err = f.users.LocateAvatar(alice.ctx(f), &userv1.LocateAvatarRequest{UserId: bob.user.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = f.users.LocateAvatar(ctx, &userv1.LocateAvatarRequest{UserId: alice.user.GetId()})
	wantCode(t, err, codes.Unauthenticated)

	// A refused picture is deleted too, and the avatar stays.
	bad, err := f.users.CreateAvatarUpload(alice.ctx(f), &userv1.CreateAvatarUploadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bucket.Put(ctx, bad.GetBlobKey(), "text/plain", bytes.NewReader([]byte("<svg/>"))); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.CompleteAvatarUpload(alice.ctx(f), &userv1.CompleteAvatarUploadRequest{UploadId: bad.GetUploadId()})
	wantInvalid(t, err, "avatar")
	if stored(t, bucket, bad.GetBlobKey()) {
		t.Fatal("a refused upload is still stored")
	}
	_, err = f.users.CompleteAvatarUpload(alice.ctx(f), &userv1.CompleteAvatarUploadRequest{UploadId: "../x"})
	wantInvalid(t, err, "upload_id")
	if me, err := f.users.GetCurrentUser(alice.ctx(f), &userv1.GetCurrentUserRequest{}); err != nil || me.GetUser().GetAvatar() != done.GetUser().GetAvatar() {
		t.Fatalf("after a refused upload = %v, %v", me, err)
	}
}
