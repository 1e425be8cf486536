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

	"github.com/accordchat/accord/e2e/stack"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
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

// FuzzInputs throws arbitrary strings at every free-text and identifier
// field of the chat API: never a panic or INTERNAL, and a refused call
// stores nothing.
func FuzzInputs(f *testing.F) {
	for _, seed := range []string{"", " ", "hello", "\x00", "\xff\xfe", strings.Repeat("a", 4001), "{\"$gt\": \"\"}", "$where", "general", "a-b", "💬", "../..", "0123456789abcdef01234567"} {
		f.Add(seed)
	}
	s := stack.Start(f, nil)
	c := newClients(s)
	w := build(f, s, c)
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			// Protobuf strings are UTF-8: clients cannot send this (the
			// JSON edge turns bad bytes into U+FFFD).
			return
		}
		ctx, cancel := context.WithTimeout(w.owner.ctx(t), 10*time.Second)
		defer cancel()
		before := snapshot(t, s.Env.DB)
		calls := []struct {
			name string
			call func() error
		}{
			{"SendMessage.content", func() error {
				_, err := c.server.SendMessage(ctx, &serverv1.SendMessageRequest{ChannelId: w.channelID, Content: in, RequestId: "fuzz"})
				return err
			}},
			{"CreateChannel.name", func() error {
				_, err := c.server.CreateChannel(ctx, &serverv1.CreateChannelRequest{ServerId: w.serverID, Name: in})
				return err
			}},
			{"UpdateServer.name", func() error {
				_, err := c.server.UpdateServer(ctx, &serverv1.UpdateServerRequest{ServerId: w.serverID, Server: &serverv1.ServerUpdate{Name: in}, UpdateMask: mask("name")})
				return err
			}},
			{"ListServers.page_token", func() error {
				_, err := c.server.ListServers(ctx, &serverv1.ListServersRequest{PageToken: in})
				return err
			}},
			{"ListMembers.page_token", func() error {
				_, err := c.server.ListMembers(ctx, &serverv1.ListMembersRequest{ServerId: w.serverID, PageToken: in})
				return err
			}},
			{"GetInvite.code", func() error {
				_, err := c.server.GetInvite(ctx, &serverv1.GetInviteRequest{Code: in})
				return err
			}},
			{"AcceptInvite.code", func() error {
				_, err := c.server.AcceptInvite(w.outsider.ctx(t), &serverv1.AcceptInviteRequest{Code: in})
				return err
			}},
			{"StreamEvents.cursor", func() error {
				sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer scancel()
				st, err := c.server.StreamEvents(sctx, &serverv1.StreamEventsRequest{Cursors: []*serverv1.Cursor{{Scope: "server:" + w.serverID, Position: in}, {Scope: in, Position: "0-0"}}})
				if err != nil {
					return err
				}
				_, err = st.Recv()
				if status.Code(err) == codes.DeadlineExceeded {
					return nil
				}
				return err
			}},
			{"UpdateCurrentUser.display_name", func() error {
				_, err := c.user.UpdateCurrentUser(w.outsider.ctx(t), &userv1.UpdateCurrentUserRequest{User: &userv1.UserUpdate{DisplayName: in}, UpdateMask: mask("display_name")})
				return err
			}},
			{"Register.login", func() error {
				_, err := c.user.Register(ctx, &userv1.RegisterRequest{Login: in, Password: "fuzz-password-1"})
				return err
			}},
		}
		for _, cl := range calls {
			err := cl.call()
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

// TestOperatorsStayStrings sends MongoDB query operators where strings go:
// they are refused by the JSON decoder or validation, or stored verbatim.
func TestOperatorsStayStrings(t *testing.T) {
	s := stack.Start(t, nil)
	c := newClients(s)
	owner := signUp(t, c, "victim")
	rest := newREST()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An operator object as login: not a string, so the JSON decoder refuses it.
	err := rest.do(ctx, s.HTTP, "POST", "/v1/auth:login", "", map[string]any{"login": map[string]string{"$gt": ""}, "password": map[string]string{"$gt": ""}}, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusBadRequest {
		t.Fatalf("operator object as login: %v, want 400", err)
	}
	// Operator text as a login is a login that nobody has.
	err = rest.do(ctx, s.HTTP, "POST", "/v1/auth:login", "", map[string]any{"login": "$gt", "password": "password-victim"}, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusUnauthorized {
		t.Fatalf("operator text as login: %v, want 401", err)
	}
	// And it cannot be registered: it fails the login pattern.
	err = rest.do(ctx, s.HTTP, "POST", "/v1/auth:register", "", map[string]any{"login": "$gt", "password": "password-victim"}, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusBadRequest || !strings.Contains(he.Body, "login") {
		t.Fatalf("operator text as new login: %v, want 400 naming login", err)
	}
	// Operator text as a server name is just a name.
	name := `{"$ne": null} $where`
	var cs struct {
		Server struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"server"`
	}
	if err := rest.do(ctx, s.HTTP, "POST", "/v1/servers", owner.token, map[string]string{"name": name}, &cs); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Server struct {
			Name string `json:"name"`
		} `json:"server"`
	}
	if err := rest.do(ctx, s.HTTP, "GET", "/v1/servers/"+cs.Server.ID, owner.token, nil, &got); err != nil || got.Server.Name != name {
		t.Fatalf("stored name %q (%v), want %q", got.Server.Name, err, name)
	}
	// An operator as a path id is refused by validation, not matched.
	err = rest.do(ctx, s.HTTP, "GET", "/v1/servers/%7B%22%24ne%22%3Anull%7D", owner.token, nil, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusBadRequest {
		t.Fatalf("operator as server id: %v, want 400", err)
	}
}

// TestOversizedInputRefusedAtTheEdge checks size limits and that the
// connection is still usable after a refusal.
func TestOversizedInputRefusedAtTheEdge(t *testing.T) {
	s := stack.Start(t, nil)
	c := newClients(s)
	owner := signUp(t, c, "big")
	rest := newREST()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cs struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if err := rest.do(ctx, s.HTTP, "POST", "/v1/servers", owner.token, map[string]string{"name": "big"}, &cs); err != nil {
		t.Fatal(err)
	}
	path := "/v1/channels/" + cs.Channel.ID + "/messages"
	err := rest.do(ctx, s.HTTP, "POST", path, owner.token, map[string]string{"content": strings.Repeat("x", 4001)}, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusBadRequest || !strings.Contains(he.Body, "content") {
		t.Fatalf("4001 characters: %v, want 400 naming content", err)
	}
	err = rest.do(ctx, s.HTTP, "POST", path, owner.token, map[string]string{"content": strings.Repeat("x", 2<<20)}, nil)
	if he, ok := err.(*httpError); !ok || he.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: %v, want 413", err)
	}
	if err := rest.do(ctx, s.HTTP, "POST", path, owner.token, map[string]string{"content": "still here"}, nil); err != nil {
		t.Fatalf("after refusals: %v", err)
	}
}
