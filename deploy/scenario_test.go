package deploy

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/client"
)

// restClient calls the gateway's REST API with the generated messages, so
// the scenario follows the protos: a renamed field fails to compile here.
type restClient struct {
	t    *testing.T
	rest *client.REST
}

// call sends in (nil for no body) and decodes a 2xx answer into out. It
// returns the HTTP status. A status other than want (0 means 200) fails the
// test; a negative want accepts any.
func (c restClient) call(method, path, token string, in, out proto.Message, want int) int {
	c.t.Helper()
	var body any
	if in != nil {
		body = in
	}
	res, err := c.rest.Send(context.Background(), method, path, token, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if want == 0 {
		want = http.StatusOK
	}
	if want > 0 && res.Status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	if out != nil && res.Status < 300 {
		if err := res.Decode(out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, res.Body, err)
		}
	}
	return res.Status
}

// chatScenario signs three people up and has them chat in a server, every
// call crossing process boundaries: gateway -> user/server, and server ->
// user for logins.
func chatScenario(t *testing.T, base string) *chatSession {
	c := restClient{t: t, rest: client.NewREST(base)}

	register := func(login string) *userv1.RegisterResponse {
		t.Helper()
		var res userv1.RegisterResponse
		c.call("POST", "/v1/auth:register", "", &userv1.RegisterRequest{Login: login, Password: "correct horse " + login, Client: "cli"}, &res, 0)
		if res.GetUser().GetId() == "" || res.GetTokens().GetAccessToken() == "" {
			t.Fatalf("register %s: %v", login, &res)
		}
		return &res
	}
	alice, bob, carol := register("alice"), register("bob"), register("carol")

	// A fresh login works too, and its token is honoured by other services.
	var login userv1.LoginResponse
	c.call("POST", "/v1/auth:login", "", &userv1.LoginRequest{Login: "BOB", Password: "correct horse bob", Client: "cli"}, &login, 0)
	if login.GetUser().GetId() != bob.GetUser().GetId() {
		t.Fatalf("login bob: user %v, want %s", login.GetUser(), bob.GetUser().GetId())
	}
	bobToken := login.GetTokens().GetAccessToken()
	aliceToken, carolToken := alice.GetTokens().GetAccessToken(), carol.GetTokens().GetAccessToken()

	var me userv1.GetCurrentUserResponse
	c.call("GET", "/v1/me", aliceToken, nil, &me, 0)
	if me.GetUser().GetLogin() != "alice" {
		t.Errorf("GET /v1/me: %v, want alice", me.GetUser())
	}
	c.call("GET", "/v1/me", "", nil, nil, http.StatusUnauthorized)

	var created serverv1.CreateServerResponse
	c.call("POST", "/v1/servers", aliceToken, &serverv1.CreateServerRequest{Name: "Deploy check"}, &created, 0)
	srv, ch := created.GetServer(), created.GetChannel()
	if srv.GetId() == "" || ch.GetId() == "" || srv.GetOwnerId() != alice.GetUser().GetId() {
		t.Fatalf("create server: %v", &created)
	}

	// Adding by login makes the server service ask the user service.
	var added serverv1.AddMemberResponse
	c.call("POST", "/v1/servers/"+srv.GetId()+"/members", aliceToken, &serverv1.AddMemberRequest{Login: "bob"}, &added, 0)
	if added.GetMember().GetUserId() != bob.GetUser().GetId() {
		t.Fatalf("add bob: %v", &added)
	}

	// Carol is not a member yet: the channel is closed to her.
	if code := c.call("GET", "/v1/channels/"+ch.GetId()+"/messages", carolToken, nil, nil, -1); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("non-member reads history: %d, want 403 or 404", code)
	}
	var invite serverv1.CreateInviteResponse
	c.call("POST", "/v1/servers/"+srv.GetId()+"/invites", aliceToken, &serverv1.CreateInviteRequest{TtlSeconds: 3600, MaxUses: 5}, &invite, 0)
	var joined serverv1.AcceptInviteResponse
	c.call("POST", "/v1/invites/"+invite.GetInvite().GetCode()+":accept", carolToken, &serverv1.AcceptInviteRequest{}, &joined, 0)
	if joined.GetServer().GetId() != srv.GetId() {
		t.Fatalf("accept invite: %v, want server %s", &joined, srv.GetId())
	}

	send := func(token, content, replyTo, requestID string) *serverv1.Message {
		t.Helper()
		var res serverv1.SendMessageResponse
		c.call("POST", "/v1/channels/"+ch.GetId()+"/messages", token, &serverv1.SendMessageRequest{Content: content, ReplyToId: replyTo, RequestId: requestID}, &res, 0)
		return res.GetMessage()
	}
	hello := send(bobToken, "hello from bob", "", "deploy-1")
	if again := send(bobToken, "hello from bob", "", "deploy-1"); again.GetId() != hello.GetId() {
		t.Errorf("retried send made message %s, want the original %s", again.GetId(), hello.GetId())
	}
	reply := send(carolToken, "hi bob, carol here", hello.GetId(), "deploy-2")

	var history serverv1.ListMessagesResponse
	c.call("GET", "/v1/channels/"+ch.GetId()+"/messages?page_size=10", aliceToken, nil, &history, 0)
	var got []string
	for _, m := range history.GetMessages() {
		got = append(got, fmt.Sprintf("%s:%s", m.GetAuthorId(), m.GetContent()))
	}
	want := []string{
		carol.GetUser().GetId() + ":hi bob, carol here",
		bob.GetUser().GetId() + ":hello from bob",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history (newest first) %q, want %q", got, want)
	}
	if len(history.GetMessages()) > 0 && history.GetMessages()[0].GetReplyTo().GetId() != hello.GetId() {
		t.Errorf("reply %s: reply_to %v, want %s", reply.GetId(), history.GetMessages()[0].GetReplyTo(), hello.GetId())
	}

	var members serverv1.ListMembersResponse
	c.call("GET", "/v1/servers/"+srv.GetId()+"/members", bobToken, nil, &members, 0)
	if n := len(members.GetMembers()); n != 3 {
		t.Errorf("members: %d, want 3", n)
	}
	return &chatSession{base: base, token: bobToken, channelID: ch.GetId()}
}

// chatSession is a signed-in member of a channel, for the steps that follow
// the scenario.
type chatSession struct {
	base, token, channelID string
}

func (s *chatSession) client(t *testing.T) restClient {
	return restClient{t: t, rest: client.NewREST(s.base)}
}

// sendEventually sends content until the suite accepts it (with one
// request id, so retries cannot duplicate it) or timeout passes.
func (s *chatSession) sendEventually(t *testing.T, content string, timeout time.Duration) {
	t.Helper()
	c := s.client(t)
	req := &serverv1.SendMessageRequest{Content: content, RequestId: fmt.Sprintf("deploy-%d", time.Now().UnixNano())}
	var code int
	var tried time.Time
	platformtest.Eventually(t, timeout, func() bool {
		if time.Since(tried) < 250*time.Millisecond {
			return false
		}
		tried = time.Now()
		code = c.call("POST", "/v1/channels/"+s.channelID+"/messages", s.token, req, nil, -1)
		return code == http.StatusOK
	}, "sending", fmt.Sprintf("%q", content))
}

// expectHistory checks the newest messages of the channel, newest first.
func (s *chatSession) expectHistory(t *testing.T, newestFirst ...string) {
	t.Helper()
	var history serverv1.ListMessagesResponse
	s.client(t).call("GET", fmt.Sprintf("/v1/channels/%s/messages?page_size=%d", s.channelID, len(newestFirst)), s.token, nil, &history, 0)
	var got []string
	for _, m := range history.GetMessages() {
		got = append(got, m.GetContent())
	}
	if fmt.Sprint(got) != fmt.Sprint(newestFirst) {
		t.Errorf("history %q, want %q", got, newestFirst)
	}
}
