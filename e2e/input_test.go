package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

// acceptable are the codes a bad input may get: refused cleanly or served.
func acceptable(err error) bool {
	switch status.Code(err) {
	case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.FailedPrecondition, codes.ResourceExhausted, codes.Unauthenticated:
		return true
	}
	return false
}

// callTimeout bounds one fuzzed call: far above what any of them needs,
// even on a loaded machine, so that only a request that hangs reaches it.
const callTimeout = 10 * time.Second

// FuzzInputs throws arbitrary strings at every free-text and identifier
// field of the chat API: never a panic or INTERNAL, and a refused call
// stores nothing.
func FuzzInputs(f *testing.F) {
	for _, seed := range []string{"", " ", "hello", "\x00", "\xff\xfe", strings.Repeat("a", 4001), "{\"$gt\": \"\"}", "$where", "general", "a-b", "💬", "../..", "0123456789abcdef01234567", "<@0123456789abcdef01234567> <#0123456789abcdef01234567> @everyone @here", "👍🏽", "👨‍👩‍👧", "🇫🇷", "#️⃣", "SPOILER_x.png", "0123456789abcdef0123456789abcdef", "<svg onload=alert(1)>", "a/b\\c.txt"} {
		f.Add(seed)
	}
	s := suitetest.Start(f, nil)
	c := newClients(s)
	w := build(f, s, c)
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			// Protobuf strings are UTF-8: clients cannot send this (the
			// JSON edge turns bad bytes into U+FFFD).
			return
		}
		// Each call gets its own deadline, set when it starts: the store
		// snapshots between calls read the whole database, which grows
		// with every execution, and must not use up the calls' time. A
		// request that really hangs still fails here, named.
		owner := auth.WithBearer(context.Background(), w.owner.token)
		outsider := auth.WithBearer(context.Background(), w.outsider.token)
		before := snapshot(t, s.Env.DB)
		calls := []struct {
			name     string
			outsider bool // called as the outsider, else as the owner
			call     func(ctx context.Context) error
		}{
			{"SendMessage.content", false, func(ctx context.Context) error {
				_, err := c.server.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: in, RequestId: "fuzz"})
				return err
			}},
			{"ListMentions.page_token", false, func(ctx context.Context) error {
				_, err := c.server.ListMentions(ctx, &serverv1.ListMentionsRequest{PageToken: in})
				return err
			}},
			{"CreateChannel.name", false, func(ctx context.Context) error {
				_, err := c.server.CreateChannel(ctx, &serverv1.CreateChannelRequest{ServerId: w.serverID, Name: in})
				return err
			}},
			{"UpdateServer.name", false, func(ctx context.Context) error {
				_, err := c.server.UpdateServer(ctx, &serverv1.UpdateServerRequest{ServerId: w.serverID, Server: &serverv1.ServerUpdate{Name: in}, UpdateMask: mask("name")})
				return err
			}},
			{"ListMessages.around", false, func(ctx context.Context) error {
				_, err := c.server.ListMessages(ctx, &serverv1.ListMessagesRequest{ChannelId: w.channelID, Around: in})
				return err
			}},
			{"ListServers.page_token", false, func(ctx context.Context) error {
				_, err := c.server.ListServers(ctx, &serverv1.ListServersRequest{PageToken: in})
				return err
			}},
			{"ListMembers.page_token", false, func(ctx context.Context) error {
				_, err := c.server.ListMembers(ctx, &serverv1.ListMembersRequest{ServerId: w.serverID, PageToken: in})
				return err
			}},
			{"GetInvite.code", false, func(ctx context.Context) error {
				_, err := c.server.GetInvite(ctx, &serverv1.GetInviteRequest{Code: in})
				return err
			}},
			{"AcceptInvite.code", true, func(ctx context.Context) error {
				_, err := c.server.AcceptInvite(ctx, &serverv1.AcceptInviteRequest{Code: in})
				return err
			}},
			{"StreamEvents.cursor", false, func(ctx context.Context) error {
				sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer scancel()
				st, err := c.events.StreamEvents(sctx, &eventsv1.StreamEventsRequest{Cursors: []*eventsv1.Cursor{{Scope: "server:" + w.serverID, Position: in}, {Scope: in, Position: "0-0"}}})
				if err == nil {
					_, err = st.Recv()
				}
				// A valid cursor leaves the stream open and quiet until its
				// short deadline; on a busy machine that deadline may pass
				// before the stream was even set up.
				if sctx.Err() != nil && status.Code(err) == codes.DeadlineExceeded {
					return nil
				}
				return err
			}},
			{"UpdateCurrentUser.display_name", true, func(ctx context.Context) error {
				_, err := c.user.UpdateCurrentUser(ctx, &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: in}, UpdateMask: mask("display_name")})
				return err
			}},
			{"ChangePassword.current_password", true, func(ctx context.Context) error {
				_, err := c.user.ChangePassword(ctx, &userv1.ChangePasswordRequest{CurrentPassword: in, NewPassword: "fuzz-password-1"})
				return err
			}},
			{"ChangePassword.new_password", true, func(ctx context.Context) error {
				// A wrong current password: nothing changes whatever the input.
				_, err := c.user.ChangePassword(ctx, &userv1.ChangePasswordRequest{CurrentPassword: "not-the-password", NewPassword: in})
				return err
			}},
			{"SearchMessages.query", false, func(ctx context.Context) error {
				_, err := c.search.SearchMessages(ctx, &searchv1.SearchMessagesRequest{ServerId: w.serverID, Query: in})
				return err
			}},
			{"SearchMessages.page_token", false, func(ctx context.Context) error {
				_, err := c.search.SearchMessages(ctx, &searchv1.SearchMessagesRequest{ServerId: w.serverID, Query: "hi", PageToken: in})
				return err
			}},
			{"AddReaction.emoji", false, func(ctx context.Context) error {
				_, err := c.server.AddReaction(ctx, &serverv1.AddReactionRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Emoji: in})
				return err
			}},
			{"ListReactions.page_token", false, func(ctx context.Context) error {
				_, err := c.server.ListReactions(ctx, &serverv1.ListReactionsRequest{ChannelId: w.channelID, MessageId: w.ownerMsgID, Emoji: "👍", PageToken: in})
				return err
			}},
			{"UploadAttachment.name", false, func(ctx context.Context) error {
				st, err := c.server.UploadAttachment(ctx)
				if err != nil {
					return err
				}
				_ = st.Send(&serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Header{
					Header: &serverv1.UploadAttachmentHeader{ChannelId: w.channelID, Name: in}}})
				_ = st.Send(&serverv1.UploadAttachmentRequest{Part: &serverv1.UploadAttachmentRequest_Chunk{Chunk: []byte(in + "x")}})
				_, err = st.CloseAndRecv()
				return err
			}},
			{"ReadAttachment.attachment_id", false, func(ctx context.Context) error {
				st, err := c.server.ReadAttachment(ctx, &serverv1.ReadAttachmentRequest{ChannelId: w.channelID, AttachmentId: in})
				if err == nil {
					_, err = st.Recv()
				}
				return err
			}},
			{"LocateAttachment.attachment_id", false, func(ctx context.Context) error {
				_, err := c.server.LocateAttachment(ctx, &serverv1.LocateAttachmentRequest{ChannelId: w.channelID, AttachmentId: in})
				return err
			}},
			{"CreateUpload.name", false, func(ctx context.Context) error {
				_, err := c.server.CreateUpload(ctx, &serverv1.CreateUploadRequest{ChannelId: w.channelID, Name: in})
				return err
			}},
			{"CompleteUpload.attachment_id", false, func(ctx context.Context) error {
				_, err := c.server.CompleteUpload(ctx, &serverv1.CompleteUploadRequest{ChannelId: w.channelID, AttachmentId: in})
				return err
			}},
			{"SendMessage.attachment_ids", false, func(ctx context.Context) error {
				_, err := c.server.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: "files", AttachmentIds: []string{in}})
				return err
			}},
			{"UploadAvatar.chunk", false, func(ctx context.Context) error {
				st, err := c.user.UploadAvatar(ctx)
				if err != nil {
					return err
				}
				_ = st.Send(&userv1.UploadAvatarRequest{Chunk: []byte(in)})
				_, err = st.CloseAndRecv()
				return err
			}},
			{"GetAvatar.user_id", false, func(ctx context.Context) error {
				_, err := c.user.GetAvatar(ctx, &userv1.GetAvatarRequest{UserId: in})
				return err
			}},
			{"LocateAvatar.user_id", false, func(ctx context.Context) error {
				_, err := c.user.LocateAvatar(ctx, &userv1.LocateAvatarRequest{UserId: in})
				return err
			}},
			{"CompleteAvatarUpload.upload_id", false, func(ctx context.Context) error {
				_, err := c.user.CompleteAvatarUpload(ctx, &userv1.CompleteAvatarUploadRequest{UploadId: in})
				return err
			}},
			{"CreateServerIconUpload.server_id", false, func(ctx context.Context) error {
				_, err := c.server.CreateServerIconUpload(ctx, &serverv1.CreateServerIconUploadRequest{ServerId: in})
				return err
			}},
			{"CompleteServerIconUpload.upload_id", false, func(ctx context.Context) error {
				_, err := c.server.CompleteServerIconUpload(ctx, &serverv1.CompleteServerIconUploadRequest{ServerId: w.serverID, UploadId: in})
				return err
			}},
			{"LocateServerIcon.server_id", false, func(ctx context.Context) error {
				_, err := c.server.LocateServerIcon(ctx, &serverv1.LocateServerIconRequest{ServerId: in})
				return err
			}},
			{"UploadServerIcon.server_id", false, func(ctx context.Context) error {
				st, err := c.server.UploadServerIcon(ctx)
				if err != nil {
					return err
				}
				_ = st.Send(&serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Header{
					Header: &serverv1.UploadServerIconHeader{ServerId: in}}})
				_ = st.Send(&serverv1.UploadServerIconRequest{Part: &serverv1.UploadServerIconRequest_Chunk{Chunk: []byte(in + "x")}})
				_, err = st.CloseAndRecv()
				return err
			}},
			{"GetServerIcon.server_id", true, func(ctx context.Context) error {
				_, err := c.server.GetServerIcon(ctx, &serverv1.GetServerIconRequest{ServerId: in})
				return err
			}},
			{"Register.login", false, func(ctx context.Context) error {
				_, err := c.user.Register(ctx, &userv1.RegisterRequest{Login: in, Password: "fuzz-password-1"})
				return err
			}},
		}
		for _, cl := range calls {
			as := owner
			if cl.outsider {
				as = outsider
			}
			ctx, cancel := context.WithTimeout(as, callTimeout)
			err := cl.call(ctx)
			cancel()
			if !acceptable(err) {
				t.Fatalf("%s(%q): %v", cl.name, in, err)
			}
			if err != nil && status.Code(err) != codes.OK {
				after := snapshot(t, s.Env.DB)
				for coll, h := range before {
					if after[coll] != h {
						t.Fatalf("%s(%q) was refused (%v) but changed %s", cl.name, in, status.Code(err), coll)
					}
				}
			} else {
				before = snapshot(t, s.Env.DB)
			}
		}
	})
}

// atTheEdge starts a suite with one signed-up user and returns a REST
// client of its gateway and a context that ends with the test.
func atTheEdge(t *testing.T, login string) (*client.REST, actor, context.Context) {
	t.Helper()
	s := suitetest.Start(t, nil)
	owner := signUp(t, newClients(s), login)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return newREST(s.HTTP), owner, ctx
}

// TestOperatorsStayStrings sends MongoDB query operators where strings go:
// they are refused by the JSON decoder or validation, or stored verbatim.
func TestOperatorsStayStrings(t *testing.T) {
	rest, owner, ctx := atTheEdge(t, "victim")

	// An operator object as login: not a string, so the JSON decoder refuses it.
	err := rest.Do(ctx, "POST", "/v1/auth:login", "", map[string]any{"login": map[string]string{"$gt": ""}, "password": map[string]string{"$gt": ""}}, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusBadRequest {
		t.Fatalf("operator object as login: %v, want 400", err)
	}
	// Operator text as a login is a login that nobody has.
	err = rest.Do(ctx, "POST", "/v1/auth:login", "", map[string]any{"login": "$gt", "password": "password-victim"}, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusUnauthorized {
		t.Fatalf("operator text as login: %v, want 401", err)
	}
	// And it cannot be registered: it fails the login pattern.
	err = rest.Do(ctx, "POST", "/v1/auth:register", "", map[string]any{"login": "$gt", "password": "password-victim"}, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusBadRequest || !strings.Contains(he.Body, "login") {
		t.Fatalf("operator text as new login: %v, want 400 naming login", err)
	}
	// Operator text as a server name is just a name.
	name := `{"$ne": null} $where`
	serverID, _, err := rest.CreateServer(ctx, owner.token, name)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Server struct {
			Name string `json:"name"`
		} `json:"server"`
	}
	if err := rest.Do(ctx, "GET", "/v1/servers/"+serverID, owner.token, nil, &got); err != nil || got.Server.Name != name {
		t.Fatalf("stored name %q (%v), want %q", got.Server.Name, err, name)
	}
	// An operator as a path id is refused by validation, not matched.
	err = rest.Do(ctx, "GET", "/v1/servers/%7B%22%24ne%22%3Anull%7D", owner.token, nil, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusBadRequest {
		t.Fatalf("operator as server id: %v, want 400", err)
	}
}

// TestOversizedInputRefusedAtTheEdge checks size limits and that the
// connection is still usable after a refusal.
func TestOversizedInputRefusedAtTheEdge(t *testing.T) {
	rest, owner, ctx := atTheEdge(t, "big")
	_, channelID, err := rest.CreateServer(ctx, owner.token, "big")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/channels/" + channelID + "/messages"
	err = rest.Do(ctx, "POST", path, owner.token, map[string]string{"content": strings.Repeat("x", 4001)}, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusBadRequest || !strings.Contains(he.Body, "content") {
		t.Fatalf("4001 characters: %v, want 400 naming content", err)
	}
	err = rest.Do(ctx, "POST", path, owner.token, map[string]string{"content": strings.Repeat("x", 2<<20)}, nil)
	if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: %v, want 413", err)
	}
	if err := rest.Do(ctx, "POST", path, owner.token, map[string]string{"content": "still here"}, nil); err != nil {
		t.Fatalf("after refusals: %v", err)
	}
}
