package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "golang.org/x/image/webp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/services/server"
)

// fileWorld is a chat world whose files go to a folder the test can count.
type fileWorld struct {
	*world
	dir   string
	svc   *server.Service
	c     client
	store *blobstore.Store
	// direct uploads as the gateway does with a shared blob store:
	// CreateUpload, the bytes written into the store, CompleteUpload.
	direct bool
}

// uploadPaths runs a test once per upload path: through the
// UploadAttachment stream, and written into the blob store by the caller.
func uploadPaths(t *testing.T, test func(t *testing.T, direct bool)) {
	t.Run("stream", func(t *testing.T) { test(t, false) })
	t.Run("direct", func(t *testing.T) { test(t, true) })
}

func newFileWorld(t *testing.T, direct ...bool) *fileWorld {
	dir := t.TempDir()
	blobs, err := blobstore.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, func(o *server.Options) {
		cfg := *o.Chat
		cfg.MaxUploadBytes = 1 << 20
		cfg.MaxImagePixels = 4_000_000
		o.Chat = &cfg
		o.Blobs = blobs
	})
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := server.NewWithOptions(ctx, w.env.Deps("server"), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	conn := w.env.Serve(func(s *grpc.Server) { serverv1.RegisterServerServiceServer(s, chatOnly{ChatAPI: svc.ChatAPI()}) })
	t.Cleanup(cancel)
	return &fileWorld{world: w, dir: filepath.Join(dir, "blobs"), svc: svc, c: client{ServerServiceClient: serverv1.NewServerServiceClient(conn)},
		store: blobs, direct: len(direct) > 0 && direct[0]}
}

// uploadDirect uploads as the gateway does with a shared blob store.
func (w *fileWorld) uploadDirect(userID, channelID, name string, data []byte) (*serverv1.Attachment, error) {
	u, err := w.c.CreateUpload(w.ctx(userID), &serverv1.CreateUploadRequest{ChannelId: channelID, Name: name})
	if err != nil {
		return nil, err
	}
	if _, err := w.store.Put(context.Background(), u.GetBlobKey(), "application/octet-stream", bytes.NewReader(data)); err != nil {
		return nil, err
	}
	res, err := w.c.CompleteUpload(w.ctx(userID), &serverv1.CompleteUploadRequest{ChannelId: channelID, AttachmentId: u.GetAttachmentId()})
	return res.GetAttachment(), err
}

// blobs counts the objects in the folder.
func (w *fileWorld) blobs() int {
	n := 0
	_ = filepath.WalkDir(w.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (w *fileWorld) upload(userID, channelID, name string, data []byte) (*serverv1.Attachment, error) {
	if w.direct {
		return w.uploadDirect(userID, channelID, name, data)
	}
	st, err := w.c.UploadAttachment(w.ctx(userID))
	if err != nil {
		return nil, err
	}
	if err := st.Send(&serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Header{
		Header: &serverv1.UploadAttachmentHeader{ChannelId: channelID, Name: name}}}); err != nil {
		_, err = st.CloseAndRecv()
		return nil, err
	}
	for len(data) > 0 {
		k := min(len(data), 100_000)
		if err := st.Send(&serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Chunk{Chunk: data[:k]}}); err != nil {
			break // the status comes with CloseAndRecv
		}
		data = data[k:]
	}
	res, err := st.CloseAndRecv()
	return res.GetAttachment(), err
}

func (w *fileWorld) read(userID, channelID, id string, thumb bool) ([]byte, string, error) {
	st, err := w.c.ReadAttachment(w.ctx(userID), &serverv1.ReadAttachmentRequest{ChannelId: channelID, AttachmentId: id, Thumbnail: thumb})
	if err != nil {
		return nil, "", err
	}
	var out []byte
	ct := ""
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out, ct, nil
		}
		if err != nil {
			return nil, "", err
		}
		if m.GetAttachment() != nil {
			ct = m.GetContentType()
		}
		out = append(out, m.GetChunk()...)
	}
}

func pngOf(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func animatedGIF() []byte {
	g := &gif.GIF{}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 40, 30), palette.Plan9)
		f.Set(i, i, color.White)
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	_ = gif.EncodeAll(&b, g)
	return b.Bytes()
}

// gifWithXMP is animatedGIF with an XMP application extension holding
// gpsEXIF and a comment before its trailer, where editors append them.
func gifWithXMP() []byte {
	clean := animatedGIF()
	packet := slices.Concat([]byte("<x:xmpmeta>GPSLatitude "), gpsEXIF(), []byte("</x:xmpmeta>"))
	ext := append([]byte{0x21, 0xFF, 11}, "XMP DataXMP"...)
	for len(packet) > 0 {
		k := min(len(packet), 255)
		ext = append(append(ext, byte(k)), packet[:k]...)
		packet = packet[k:]
	}
	ext = append(ext, 0, 0x21, 0xFE, 4, 'n', 'o', 't', 'e', 0)
	return slices.Concat(clean[:len(clean)-1], ext, clean[len(clean)-1:])
}

// bombGIF is a GIF header announcing 65535 x 65535 pixels.
func bombGIF() []byte {
	return append([]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), make([]byte, 64)...)
}

func wantReason(t *testing.T, err error, code codes.Code, field string) {
	t.Helper()
	got, f := fieldOf(err)
	if got != code || (field != "" && f != field) {
		t.Fatalf("got %v on %q (%v), want %v on %q", got, f, err, code, field)
	}
}

func TestAttachmentUploadRules(t *testing.T) {
	uploadPaths(t, func(t *testing.T, direct bool) {
		w := newFileWorld(t, direct)
		alice, bob := w.user("alice"), w.user("bob")
		srv := w.server(alice)
		ch := w.channel(srv)

		t.Run("the type is sniffed from the bytes", func(t *testing.T) {
			a, err := w.upload(alice, ch, "notes.txt", pngOf(30, 20))
			if err != nil {
				t.Fatal(err)
			}
			if a.GetContentType() != "image/png" || a.GetWidth() != 30 || a.GetHeight() != 20 || a.GetThumbnailWidth() != 30 {
				t.Errorf("png named .txt: %+v", a)
			}
			h, err := w.upload(alice, ch, "cat.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"))
			if err != nil {
				t.Fatal(err)
			}
			if h.GetContentType() != "text/plain; charset=utf-8" || h.GetThumbnailWidth() != 0 {
				t.Errorf("html named .png: %+v", h)
			}
			p, err := w.upload(alice, ch, `..\..\etc/SPOILER_passwd`, []byte("root:x:0:0"))
			if err != nil {
				t.Fatal(err)
			}
			if p.GetName() != "SPOILER_passwd" || !p.GetSpoiler() {
				t.Errorf("name %q spoiler %v", p.GetName(), p.GetSpoiler())
			}
		})
		t.Run("limits", func(t *testing.T) {
			before := w.blobs()
			_, err := w.upload(alice, ch, "big.bin", make([]byte, 1<<20+1))
			wantReason(t, err, codes.InvalidArgument, "file")
			_, err = w.upload(alice, ch, "empty.bin", nil)
			wantReason(t, err, codes.InvalidArgument, "file")
			_, err = w.upload(alice, ch, "bomb.gif", bombGIF())
			wantReason(t, err, codes.InvalidArgument, "file")
			_, err = w.upload(alice, ch, "broken.png", append(pngOf(10, 10)[:40], make([]byte, 100)...))
			wantReason(t, err, codes.InvalidArgument, "file")
			if got := w.blobs(); got != before {
				t.Errorf("refused uploads left %d objects", got-before)
			}
			exact, err := w.upload(alice, ch, "exact.bin", make([]byte, 1<<20))
			if err != nil || exact.GetSize() != 1<<20 {
				t.Fatalf("an upload at the limit: %v %v", exact, err)
			}
			var many []string
			for range 11 {
				a, err := w.upload(alice, ch, "f.txt", []byte("x"))
				if err != nil {
					t.Fatal(err)
				}
				many = append(many, a.GetId())
			}
			_, err = w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: many})
			wantReason(t, err, codes.InvalidArgument, "attachment_ids")
			_, err = w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: many[:10]})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("animated GIFs are served as uploaded", func(t *testing.T) {
			data := animatedGIF()
			a, err := w.upload(alice, ch, "dance.gif", data)
			if err != nil {
				t.Fatal(err)
			}
			got, ct, err := w.read(alice, ch, a.GetId(), false)
			if err != nil || ct != "image/gif" || !bytes.Equal(got, data) {
				t.Fatalf("gif: %s %v equal %v", ct, err, bytes.Equal(got, data))
			}
			g, err := gif.DecodeAll(bytes.NewReader(got))
			if err != nil || len(g.Image) != 3 {
				t.Errorf("frames: %v %v", err, g)
			}
			thumb, ct, err := w.read(alice, ch, a.GetId(), true)
			if err != nil || ct != "image/png" {
				t.Fatalf("thumb: %s %v", ct, err)
			}
			if _, err := png.Decode(bytes.NewReader(thumb)); err != nil {
				t.Error(err)
			}
		})
		t.Run("permissions", func(t *testing.T) {
			carol := w.user("carol")
			_, err := w.upload(carol, ch, "x.txt", []byte("x"))
			wantReason(t, err, codes.NotFound, "")
			a, err := w.upload(alice, ch, "secret.txt", []byte("unsent"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = w.read(carol, ch, a.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
			w.join(srv, bob)
			// Bob may not read nor send alice's upload before she sends it.
			_, _, err = w.read(bob, ch, a.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
			_, err = w.c.SendMessage(w.ctx(bob), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{a.GetId()}})
			wantReason(t, err, codes.InvalidArgument, "attachment_ids")
			// Another channel's id does not reach it.
			other := w.channel(srv)
			_, _, err = w.read(alice, other, a.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
			m, err := w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, Content: "look", AttachmentIds: []string{a.GetId()}})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.GetMessage().GetAttachments()) != 1 {
				t.Fatalf("message carries %d files", len(m.GetMessage().GetAttachments()))
			}
			got, _, err := w.read(bob, ch, a.GetId(), false)
			if err != nil || string(got) != "unsent" {
				t.Fatalf("bob reads the sent file: %q %v", got, err)
			}
			w.kick(srv, bob)
			_, _, err = w.read(bob, ch, a.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
		})
	})
}

func TestAttachmentCleanup(t *testing.T) {
	uploadPaths(t, func(t *testing.T, direct bool) {
		w := newFileWorld(t, direct)
		alice := w.user("alice")
		ch := w.channel(w.server(alice))
		ctx := context.Background()

		t.Run("deleting a message deletes its files", func(t *testing.T) {
			before := w.blobs()
			img, err := w.upload(alice, ch, "a.png", pngOf(500, 300))
			if err != nil {
				t.Fatal(err)
			}
			txt, err := w.upload(alice, ch, "b.txt", []byte("bye"))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.blobs() - before; got != 3 { // the image, its thumbnail, the text
				t.Fatalf("%d objects for two files", got)
			}
			m, err := w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{img.GetId(), txt.GetId()}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.c.DeleteMessage(w.ctx(alice), &serverv1.DeleteMessageRequest{ChannelId: ch, MessageId: m.GetMessage().GetId()}); err != nil {
				t.Fatal(err)
			}
			_, _, err = w.read(alice, ch, img.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
			if got := w.blobs(); got != before {
				t.Errorf("%d objects left after the delete", got-before)
			}
		})
		t.Run("deleting a channel or a server deletes its files", func(t *testing.T) {
			guildConn := w.env.Serve(func(s *grpc.Server) { w.svc.Register(s) })
			gc := serverv1.NewServerServiceClient(guildConn)
			srv := w.server(alice)
			ch1, ch2 := w.channel(srv), w.channel(srv)
			other := w.channel(w.server(alice))
			before := w.blobs()
			up := func(ch, name string, data []byte, send bool) *serverv1.Attachment {
				t.Helper()
				a, err := w.upload(alice, ch, name, data)
				if err != nil {
					t.Fatal(err)
				}
				if send {
					if _, err := w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{a.GetId()}}); err != nil {
						t.Fatal(err)
					}
				}
				return a
			}
			// Channel 1: a sent image (and its thumbnail), an upload not sent
			// yet; channel 2: a sent file; another server: a sent file.
			inCh1 := []*serverv1.Attachment{up(ch1, "a.png", pngOf(64, 48), true), up(ch1, "draft.txt", []byte("draft"), false)}
			inCh2 := up(ch2, "b.txt", []byte("b"), true)
			kept := up(other, "k.txt", []byte("kept"), true)
			if got := w.blobs() - before; got != 5 {
				t.Fatalf("%d objects for four files, one an image", got)
			}
			gone := func(what string, as ...*serverv1.Attachment) {
				t.Helper()
				for _, a := range as {
					if _, err := w.db.Attachments.Attachment(ctx, a.GetId()); !errors.Is(err, errs.ErrNotFound) {
						t.Errorf("%s: %s's metadata: %v, want NotFound", what, a.GetName(), err)
					}
				}
			}
			if _, err := gc.DeleteChannel(w.ctx(alice), &serverv1.DeleteChannelRequest{ChannelId: ch1}); err != nil {
				t.Fatal(err)
			}
			gone("channel deleted", inCh1...)
			if got := w.blobs() - before; got != 2 {
				t.Errorf("%d objects after the channel's deletion, want 2 (one file in each other channel)", got)
			}
			if _, err := gc.DeleteServer(w.ctx(alice), &serverv1.DeleteServerRequest{ServerId: srv}); err != nil {
				t.Fatal(err)
			}
			gone("server deleted", inCh2)
			if got := w.blobs() - before; got != 1 {
				t.Errorf("%d objects after the server's deletion, want the other server's 1", got)
			}
			if got, _, err := w.read(alice, other, kept.GetId(), false); err != nil || string(got) != "kept" {
				t.Errorf("another server's file: %q %v", got, err)
			}
		})
		t.Run("unsent uploads are swept after the grace period", func(t *testing.T) {
			before := w.blobs()
			orphan, err := w.upload(alice, ch, "o.png", pngOf(20, 20))
			if err != nil {
				t.Fatal(err)
			}
			kept, err := w.upload(alice, ch, "k.txt", []byte("kept"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{kept.GetId()}}); err != nil {
				t.Fatal(err)
			}
			// Within the grace period nothing goes.
			n, err := w.svc.SweepOrphans(ctx, time.Now().Add(-time.Hour))
			if err != nil || n != 0 {
				t.Fatalf("sweep within the grace period: %d %v", n, err)
			}
			n, err = w.svc.SweepOrphans(ctx, time.Now().Add(time.Second))
			if err != nil || n != 1 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			_, _, err = w.read(alice, ch, orphan.GetId(), false)
			wantReason(t, err, codes.NotFound, "")
			if got, _, err := w.read(alice, ch, kept.GetId(), false); err != nil || string(got) != "kept" {
				t.Errorf("a sent file was swept: %v", err)
			}
			if got := w.blobs() - before; got != 1 {
				t.Errorf("%d objects after the sweep, want the sent file's 1", got)
			}
		})
	})
}

// gpsEXIF is an EXIF block (TIFF, little-endian) whose GPS IFD places the
// picture at 48°51'23.76"N.
func gpsEXIF() []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, 1) // IFD0: GPSInfo -> the GPS IFD at 26
	b = append(le.AppendUint32(le.AppendUint16(le.AppendUint16(b, 0x8825), 4), 1), 26, 0, 0, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 2) // GPS IFD: latitude ref, latitude
	b = append(le.AppendUint32(le.AppendUint16(le.AppendUint16(b, 1), 2), 2), 'N', 0, 0, 0)
	b = le.AppendUint32(le.AppendUint32(le.AppendUint16(le.AppendUint16(b, 2), 5), 3), 56)
	b = le.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {2376, 100}} {
		b = le.AppendUint32(le.AppendUint32(b, r[0]), r[1])
	}
	return b
}

// jpegWithEXIF is a JPEG with gpsEXIF in an APP1 segment after SOI.
func jpegWithEXIF(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 40, 30)), nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), gpsEXIF()...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	b := buf.Bytes()
	return slices.Concat(b[:2], seg, payload, b[2:])
}

// pngWithEXIF is a PNG with gpsEXIF in an eXIf chunk after IHDR.
func pngWithEXIF() []byte {
	b := pngOf(40, 30)
	data := gpsEXIF()
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "eXIf"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	const afterIHDR = 8 + 8 + 13 + 4
	return slices.Concat(b[:afterIHDR], chunk, b[afterIHDR:])
}

// TestAttachmentMetadataStripped uploads an image of every type that can
// carry EXIF with a GPS position in it (a JPEG's APP1, a PNG's eXIf, a
// WebP's EXIF and XMP chunks: testdata/exif-gps.webp is Go's
// x/image/testdata/blue-purple-pink.lossy.webp with both added by libwebp's
// webpmux) and checks that the bytes served carry none of it while the
// picture is the same.
func TestAttachmentMetadataStripped(t *testing.T) {
	uploadPaths(t, func(t *testing.T, direct bool) {
		w := newFileWorld(t, direct)
		alice := w.user("alice")
		ch := w.channel(w.server(alice))
		webpFile, err := os.ReadFile("testdata/exif-gps.webp")
		if err != nil {
			t.Fatal(err)
		}
		gps := gpsEXIF()[26:] // the GPS IFD and its values
		for _, tc := range []struct {
			name, ct string
			data     []byte
			w, h     int
		}{
			{"photo.jpg", "image/jpeg", jpegWithEXIF(t), 40, 30},
			{"shot.png", "image/png", pngWithEXIF(), 40, 30},
			{"pic.webp", "image/webp", webpFile, 150, 100},
			{"dance.gif", "image/gif", gifWithXMP(), 40, 30},
		} {
			t.Run(tc.ct, func(t *testing.T) {
				if !bytes.Contains(tc.data, gps) {
					t.Fatal("the upload carries no GPS block")
				}
				a, err := w.upload(alice, ch, tc.name, tc.data)
				if err != nil {
					t.Fatal(err)
				}
				if a.GetContentType() != tc.ct || a.GetWidth() != int32(tc.w) || a.GetHeight() != int32(tc.h) {
					t.Errorf("attachment %+v", a)
				}
				got, ct, err := w.read(alice, ch, a.GetId(), false)
				if err != nil {
					t.Fatal(err)
				}
				if ct != tc.ct || int64(len(got)) != a.GetSize() {
					t.Errorf("served %s, %d bytes; attachment says %s, %d", ct, len(got), a.GetContentType(), a.GetSize())
				}
				for _, leak := range [][]byte{gps, []byte("II*\x00"), []byte("Exif\x00"), []byte("eXIf"), []byte("GPSLatitude"), []byte("xmpmeta")} {
					if bytes.Contains(got, leak) {
						t.Errorf("the served file still holds %q", leak)
					}
				}
				img, format, err := image.Decode(bytes.NewReader(got))
				if err != nil || "image/"+format != tc.ct {
					t.Fatalf("the served file does not decode as %s: %s %v", tc.ct, format, err)
				}
				if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
					t.Errorf("served %dx%d", b.Dx(), b.Dy())
				}
				if tc.ct == "image/gif" {
					// No re-encoding: every frame, the extensions gone.
					if g, err := gif.DecodeAll(bytes.NewReader(got)); err != nil || len(g.Image) != 3 || !bytes.Equal(got, animatedGIF()) {
						t.Errorf("the served GIF is not the upload without its metadata: %v", err)
					}
				}
				if tc.ct == "image/webp" {
					// No re-encoding: the same pixels, the chunks gone.
					orig, _, err := image.Decode(bytes.NewReader(tc.data))
					if err != nil {
						t.Fatal(err)
					}
					if !samePixels(orig, img) {
						t.Error("the served WebP's pixels differ from the upload's")
					}
					for _, cc := range []string{"EXIF", "XMP "} {
						if !bytes.Contains(tc.data, []byte(cc)) {
							t.Fatalf("the fixture has no %q chunk", cc)
						}
						if bytes.Contains(got, []byte(cc)) {
							t.Errorf("the served WebP has a %q chunk", cc)
						}
					}
					if len(got) >= len(tc.data) {
						t.Errorf("served %d bytes of %d", len(got), len(tc.data))
					}
				}
			})
		}
	})
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// TestDirectUploads covers what is particular to uploads written into the
// blob store by the gateway: a pending upload is invisible until
// completed, only its uploader completes it, and one abandoned (no bytes,
// or never completed) leaves nothing behind.
func TestDirectUploads(t *testing.T) {
	w := newFileWorld(t, true)
	alice, bob, carol := w.user("alice"), w.user("bob"), w.user("carol")
	srv := w.server(alice)
	ch := w.channel(srv)
	w.join(srv, bob)
	ctx := context.Background()
	create := func(user string) *serverv1.CreateUploadResponse {
		t.Helper()
		u, err := w.c.CreateUpload(w.ctx(user), &serverv1.CreateUploadRequest{ChannelId: ch, Name: "f.txt"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	complete := func(user, id string) (*serverv1.Attachment, error) {
		res, err := w.c.CompleteUpload(w.ctx(user), &serverv1.CompleteUploadRequest{ChannelId: ch, AttachmentId: id})
		return res.GetAttachment(), err
	}

	t.Run("strangers cannot start one", func(t *testing.T) {
		_, err := w.c.CreateUpload(w.ctx(carol), &serverv1.CreateUploadRequest{ChannelId: ch, Name: "x.txt"})
		wantReason(t, err, codes.NotFound, "")
		_, err = w.c.CreateUpload(w.ctx(alice), &serverv1.CreateUploadRequest{ChannelId: ch, Name: "../"})
		wantReason(t, err, codes.InvalidArgument, "name")
	})
	t.Run("pending until completed, by its uploader only", func(t *testing.T) {
		u := create(alice)
		if u.GetMaxBytes() != 1<<20 || u.GetBlobKey() == "" {
			t.Fatalf("CreateUpload = %+v", u)
		}
		if _, err := w.store.Put(ctx, u.GetBlobKey(), "", bytes.NewReader([]byte("hello"))); err != nil {
			t.Fatal(err)
		}
		_, _, err := w.read(alice, ch, u.GetAttachmentId(), false)
		wantReason(t, err, codes.NotFound, "")
		_, err = w.c.LocateAttachment(w.ctx(alice), &serverv1.LocateAttachmentRequest{ChannelId: ch, AttachmentId: u.GetAttachmentId()})
		wantReason(t, err, codes.NotFound, "")
		_, err = w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{u.GetAttachmentId()}})
		wantReason(t, err, codes.InvalidArgument, "attachment_ids")
		_, err = complete(bob, u.GetAttachmentId())
		wantReason(t, err, codes.NotFound, "")
		_, err = complete(carol, u.GetAttachmentId())
		wantReason(t, err, codes.NotFound, "")
		a, err := complete(alice, u.GetAttachmentId())
		if err != nil || a.GetSize() != 5 || a.GetContentType() != "text/plain; charset=utf-8" {
			t.Fatalf("CompleteUpload = %+v, %v", a, err)
		}
		_, err = complete(alice, u.GetAttachmentId())
		wantReason(t, err, codes.NotFound, "")
		loc, err := w.c.LocateAttachment(w.ctx(alice), &serverv1.LocateAttachmentRequest{ChannelId: ch, AttachmentId: a.GetId()})
		if err != nil || loc.GetBlobKey() != u.GetBlobKey() || loc.GetContentType() != a.GetContentType() {
			t.Fatalf("LocateAttachment = %+v, %v", loc, err)
		}
		// Bob may not locate it before it is sent, then may.
		_, err = w.c.LocateAttachment(w.ctx(bob), &serverv1.LocateAttachmentRequest{ChannelId: ch, AttachmentId: a.GetId()})
		wantReason(t, err, codes.NotFound, "")
		if _, err := w.c.SendMessage(w.ctx(alice), &serverv1.SendMessageRequest{ChannelId: ch, AttachmentIds: []string{a.GetId()}}); err != nil {
			t.Fatal(err)
		}
		if _, err = w.c.LocateAttachment(w.ctx(bob), &serverv1.LocateAttachmentRequest{ChannelId: ch, AttachmentId: a.GetId()}); err != nil {
			t.Fatal(err)
		}
		_, err = w.c.LocateAttachment(w.ctx(carol), &serverv1.LocateAttachmentRequest{ChannelId: ch, AttachmentId: a.GetId()})
		wantReason(t, err, codes.NotFound, "")
	})
	t.Run("an abandoned upload leaves nothing", func(t *testing.T) {
		before := w.blobs()
		u := create(alice)
		_, err := complete(alice, u.GetAttachmentId()) // no bytes were written
		wantReason(t, err, codes.NotFound, "")
		if _, err := w.db.Attachments.Attachment(ctx, u.GetAttachmentId()); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("metadata of an abandoned upload: %v, want NotFound", err)
		}
		// One never completed is swept with its bytes after the grace period.
		u = create(alice)
		if _, err := w.store.Put(ctx, u.GetBlobKey(), "", bytes.NewReader(pngOf(10, 10))); err != nil {
			t.Fatal(err)
		}
		n, err := w.svc.SweepOrphans(ctx, time.Now().Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if got := w.blobs(); got != before {
			t.Errorf("%d objects left by abandoned uploads", got-before)
		}
		_, err = complete(alice, u.GetAttachmentId())
		wantReason(t, err, codes.NotFound, "")
	})
}
