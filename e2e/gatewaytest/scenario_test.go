package gatewaytest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/client"
)

// account is a registered user.
type account struct {
	id, login, name, token string
}

func register(t *testing.T, name string) account {
	t.Helper()
	login := name + platformtest.RandomHex(3)
	m := must(t, "POST", "/v1/auth:register", "", obj{"login": login, "password": "correct horse battery", "display_name": name, "client": "web"})
	a := account{id: str(m, "user", "id"), login: login, name: name, token: str(m, "tokens", "access_token")}
	if a.id == "" || a.token == "" {
		t.Fatalf("register: %v", m)
	}
	return a
}

// wantFields checks that got has every key of want with an equal value
// (compared through fmt, after JSON decoding).
func wantFields(t *testing.T, what string, got obj, want obj) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %v, want %v (in %v)", what, k, got[k], v, got)
		}
	}
}

// since is a cursor of scope at the current time: a socket opened with it
// gets every event of the scope from now on, even those that come before
// its feed is live.
func since(scope string) map[string]string {
	return map[string]string{scope: fmt.Sprintf("%d-0", time.Now().UnixMilli())}
}

// TestScenario walks the product as two browsers would: REST calls and one
// WebSocket per user, asserting the exact frames each socket receives.
func TestScenario(t *testing.T) {
	alice, bob := register(t, "alice"), register(t, "bob")
	aliceScope, bobScope := "user:"+alice.id, "user:"+bob.id

	// A socket without cursors starts its feed live once the gateway's
	// upstream stream is open, which is after ready (docs/websocket.md
	// promises only that replay follows ready). The scenario acts at once,
	// so each socket resumes its user's scope from just before it opened,
	// as a client does that must not miss the first events.
	aws, ready := dial(t, alice.token, false, since(aliceScope))
	wantFields(t, "alice ready", ready["user"].(obj), obj{"id": alice.id, "login": alice.login, "display_name": "alice"})
	if str(ready, "session_id") == "" || ready["heartbeat_interval_ms"].(float64) <= 0 {
		t.Fatalf("ready = %v", ready)
	}
	bws, ready := dial(t, bob.token, true, since(bobScope))
	wantFields(t, "bob ready", ready["user"].(obj), obj{"id": bob.id, "login": bob.login})

	// Friends: request, then accept; both sides see each step live.
	must(t, "POST", "/v1/relationships:sendFriendRequest", alice.token, obj{"login": bob.login})
	ev, rel := aws.event("relationship_updated")
	wantFields(t, "alice request", rel, obj{"user_id": bob.id, "type": "RELATIONSHIP_TYPE_OUTGOING_REQUEST"})
	wantFields(t, "alice request event", ev, obj{"scope": aliceScope})
	ev, rel = bws.event("relationship_updated")
	wantFields(t, "bob request", rel, obj{"user_id": alice.id, "type": "RELATIONSHIP_TYPE_INCOMING_REQUEST"})
	wantFields(t, "bob request event", ev, obj{"scope": bobScope})
	must(t, "POST", "/v1/relationships/"+alice.id+":accept", bob.token, obj{})
	_, rel = aws.event("relationship_updated")
	wantFields(t, "alice friend", rel, obj{"user_id": bob.id, "type": "RELATIONSHIP_TYPE_FRIEND"})
	_, rel = bws.event("relationship_updated")
	wantFields(t, "bob friend", rel, obj{"user_id": alice.id, "type": "RELATIONSHIP_TYPE_FRIEND"})

	// Presence of friends: a snapshot, then live changes.
	aws.send(obj{"type": "watch_presence", "user_ids": []string{bob.id}})
	snap := aws.expect("presence")
	if snap["snapshot"] != true || len(snap["presences"].([]any)) != 1 {
		t.Fatalf("snapshot = %v", snap)
	}
	wantFields(t, "bob in snapshot", snap["presences"].([]any)[0].(obj), obj{"user_id": bob.id, "status": "STATUS_ONLINE"})

	// A private conversation appears on both sides.
	conv := must(t, "POST", "/v1/conversations", alice.token, obj{"user_id": bob.id})
	dmID, dmChan := str(conv, "server", "id"), str(conv, "channel", "id")
	for _, w := range []*ws{aws, bws} {
		ev, srv := w.event("server_joined")
		wantFields(t, "conversation joined", srv, obj{"id": dmID, "kind": "SERVER_KIND_DM"})
		if !strings.HasPrefix(str(ev, "scope"), "user:") || str(ev, "cursor") == "" {
			t.Errorf("server_joined event = %v", ev)
		}
	}
	dm1 := must(t, "POST", "/v1/channels/"+dmChan+"/messages", alice.token, obj{"content": "hi bob", "request_id": "dm-1"})
	for _, w := range []*ws{aws, bws} {
		ev, msg := w.event("message_created")
		wantFields(t, "dm message", msg, obj{"id": str(dm1, "message", "id"), "server_id": dmID, "channel_id": dmChan, "author_id": alice.id, "author_name": "alice", "content": "hi bob", "request_id": "dm-1"})
		wantFields(t, "dm event", ev, obj{"scope": "server:" + dmID})
	}

	// A server, an invite, a join.
	created := must(t, "POST", "/v1/servers", alice.token, obj{"name": "Guild"})
	guildID, general := str(created, "server", "id"), str(created, "channel", "id")
	_, srv := aws.event("server_joined")
	wantFields(t, "guild joined", srv, obj{"id": guildID, "name": "Guild", "kind": "SERVER_KIND_GUILD", "my_role": "ROLE_OWNER", "owner_id": alice.id})
	inv := must(t, "POST", "/v1/servers/"+guildID+"/invites", alice.token, obj{"ttl_seconds": 3600, "max_uses": 5})
	code := str(inv, "invite", "code")
	shown := must(t, "GET", "/v1/invites/"+code, bob.token, nil)
	if !strings.Contains(fmt.Sprint(shown), guildID) {
		t.Errorf("invite shows %v", shown)
	}
	must(t, "POST", "/v1/invites/"+code+":accept", bob.token, obj{})
	_, srv = bws.event("server_joined")
	wantFields(t, "bob joined", srv, obj{"id": guildID, "name": "Guild", "my_role": "ROLE_MEMBER"})
	_, mem := bws.event("member_added") // replayed from the join on
	wantFields(t, "bob sees himself added", mem, obj{"server_id": guildID, "user_id": bob.id, "role": "ROLE_MEMBER"})
	_, mem = aws.event("member_added")
	wantFields(t, "alice sees bob added", mem, obj{"server_id": guildID, "user_id": bob.id, "role": "ROLE_MEMBER", "login": bob.login})

	// Send, edit, delete: both sockets see each change.
	sent := must(t, "POST", "/v1/channels/"+general+"/messages", bob.token, obj{"content": "hello guild"})
	msgID := str(sent, "message", "id")
	for _, w := range []*ws{aws, bws} {
		_, msg := w.event("message_created")
		wantFields(t, "guild message", msg, obj{"id": msgID, "server_id": guildID, "channel_id": general, "author_id": bob.id, "content": "hello guild"})
	}
	must(t, "PATCH", "/v1/channels/"+general+"/messages/"+msgID, bob.token, obj{"content": "hello guild!"})
	for _, w := range []*ws{aws, bws} {
		_, msg := w.event("message_updated")
		wantFields(t, "edited", msg, obj{"id": msgID, "content": "hello guild!"})
		if msg["edit_time"] == nil {
			t.Errorf("edited message without edit_time: %v", msg)
		}
	}
	keep := must(t, "POST", "/v1/channels/"+general+"/messages", alice.token, obj{"content": "welcome", "reply_to_id": msgID})
	for _, w := range []*ws{aws, bws} {
		_, msg := w.event("message_created")
		wantFields(t, "reply", msg, obj{"content": "welcome", "author_id": alice.id})
		wantFields(t, "reply preview", msg["reply_to"].(obj), obj{"id": msgID, "author_id": bob.id})
	}
	must(t, "DELETE", "/v1/channels/"+general+"/messages/"+msgID, bob.token, nil)
	for _, w := range []*ws{aws, bws} {
		_, del := w.event("message_deleted")
		wantFields(t, "deleted", del, obj{"server_id": guildID, "channel_id": general, "message_id": msgID})
	}
	hist := must(t, "GET", "/v1/channels/"+general+"/messages?page_size=10", bob.token, nil)
	msgs, _ := hist["messages"].([]any)
	if len(msgs) != 1 || str(msgs[0].(obj), "id") != str(keep, "message", "id") {
		t.Fatalf("history = %v, want only the reply", hist)
	}

	// Typing reaches the other member only.
	bws.send(obj{"type": "typing", "channel_id": general})
	ev, typing := aws.event("typing")
	wantFields(t, "typing", typing, obj{"server_id": guildID, "channel_id": general, "user_id": bob.id, "display_name": "bob"})
	if ev["cursor"] != nil {
		t.Errorf("typing event with a cursor: %v", ev)
	}
	bws.quiet("no-own-typing")

	// Read markers move on the reader's sockets.
	aws.send(obj{"type": "mark_read", "channel_id": general, "message_id": str(keep, "message", "id")})
	_, rs := aws.event("read_state_updated")
	wantFields(t, "read state", rs, obj{"channel_id": general, "last_read_message_id": str(keep, "message", "id"), "unread_count": nil}) // zero values are omitted

	// Presence changes live: a chosen status, then the socket going away.
	bws.send(obj{"type": "set_status", "status": "STATUS_DND"})
	p := aws.expect("presence")
	wantFields(t, "dnd", p["presences"].([]any)[0].(obj), obj{"user_id": bob.id, "status": "STATUS_DND"})
	if p["snapshot"] != false {
		t.Errorf("change flagged as snapshot: %v", p)
	}
	bobCursors := bws.Cursors()
	if err := bws.Conn().Close(websocket.StatusNormalClosure, "tab closed"); err != nil {
		t.Fatal(err)
	}
	p = aws.expect("presence")
	wantFields(t, "offline", p["presences"].([]any)[0].(obj), obj{"user_id": bob.id, "status": "STATUS_OFFLINE"})
	// bob's tab comes back and resumes after what it saw, so its feed
	// misses nothing while it opens.
	bws, _ = dial(t, bob.token, false, bobCursors)
	p = aws.expect("presence")
	wantFields(t, "back, still dnd", p["presences"].([]any)[0].(obj), obj{"user_id": bob.id, "status": "STATUS_DND"})
	bws.send(obj{"type": "set_status", "status": "STATUS_ONLINE"})
	p = aws.expect("presence")
	wantFields(t, "online again", p["presences"].([]any)[0].(obj), obj{"user_id": bob.id, "status": "STATUS_ONLINE"})

	// Refresh: alice's tab reloads, and the load balancer sends it to the
	// other gateway; what happened meanwhile arrives once, in order, after
	// the cursors she kept.
	cursors := aws.Cursors()
	if len(cursors) != 3 || cursors[aliceScope] == "" || cursors["server:"+guildID] == "" || cursors["server:"+dmID] == "" {
		t.Fatalf("alice's cursors = %v", cursors)
	}
	if err := aws.Conn().Close(websocket.StatusNormalClosure, "refresh"); err != nil {
		t.Fatal(err)
	}
	var missed []string
	for i := range 3 {
		m := must(t, "POST", "/v1/channels/"+general+"/messages", bob.token, obj{"content": fmt.Sprint("while away ", i)})
		missed = append(missed, str(m, "message", "id"))
	}
	dmMissed := must(t, "POST", "/v1/channels/"+dmChan+"/messages", bob.token, obj{"content": "dm while away"})
	must(t, "PATCH", "/v1/channels/"+general+"/messages/"+missed[0], bob.token, obj{"content": "while away 0 (edited)"})
	wantGuild := []string{"created " + missed[0], "created " + missed[1], "created " + missed[2], "updated " + missed[0] + " while away 0 (edited)"}
	wantDM := []string{"created " + str(dmMissed, "message", "id")}
	// The feed orders events within a scope, not across scopes: the dm
	// message may come before, between or after the guild's.
	byScope := func(w *ws, what string) {
		t.Helper()
		var guildGot, dmGot []string
		for len(guildGot)+len(dmGot) < 5 {
			f := w.next(10 * time.Second)
			kind := frameKind(f)
			ev, _ := f["event"].(obj)
			switch {
			case kind == "message_created" && str(ev, "scope") == "server:"+guildID:
				guildGot = append(guildGot, "created "+str(ev, "message_created", "id"))
			case kind == "message_updated" && str(ev, "scope") == "server:"+guildID:
				guildGot = append(guildGot, "updated "+str(ev, "message_updated", "id")+" "+str(ev, "message_updated", "content"))
			case kind == "message_created" && str(ev, "scope") == "server:"+dmID:
				dmGot = append(dmGot, "created "+str(ev, "message_created", "id"))
			default:
				t.Fatalf("%s: unexpected frame %v", what, f)
			}
		}
		if fmt.Sprint(guildGot) != fmt.Sprint(wantGuild) || fmt.Sprint(dmGot) != fmt.Sprint(wantDM) {
			t.Fatalf("%s: got %v %v, want %v and %v", what, guildGot, dmGot, wantGuild, wantDM)
		}
	}
	// bob's own socket sees everything live.
	byScope(bws, "bob live")

	aws, _ = dialAt(t, sys.base2, alice.token, true, cursors)
	byScope(aws, "alice after refresh")
	aws.quiet("nothing-more")
	// And live again.
	live := must(t, "POST", "/v1/channels/"+general+"/messages", bob.token, obj{"content": "live"})
	_, msg := aws.event("message_created")
	wantFields(t, "live after refresh", msg, obj{"id": str(live, "message", "id")})
}

// TestSocketRefusesBadTokens checks the close codes of refused sockets
// against the real user service (a revoked session cannot open a socket).
func TestSocketRefusesBadTokens(t *testing.T) {
	a := register(t, "carol")
	must(t, "POST", "/v1/auth:logout", a.token, obj{})
	for _, tok := range []string{a.token, "not-a-token"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err := client.Dial(ctx, sys.base, client.DialOptions{Token: tok})
		cancel()
		if code := websocket.CloseStatus(err); code != 4001 {
			t.Errorf("token %.10s...: closed with %d (%v), want 4001", tok, code, err)
		}
	}
}

// TestRESTErrors checks the error mapping against the real services.
func TestRESTErrors(t *testing.T) {
	owner, stranger := register(t, "dave"), register(t, "erin")
	created := must(t, "POST", "/v1/servers", owner.token, obj{"name": "Private"})
	sid, ch := str(created, "server", "id"), str(created, "channel", "id")
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, field               string
	}{
		{"non-member reads a server", "GET", "/v1/servers/" + sid, stranger.token, nil, 404, "NOT_FOUND", ""},
		{"non-member reads history", "GET", "/v1/channels/" + ch + "/messages", stranger.token, nil, 404, "NOT_FOUND", ""},
		{"non-member posts", "POST", "/v1/channels/" + ch + "/messages", stranger.token, obj{"content": "x"}, 404, "NOT_FOUND", ""},
		{"non-member deletes", "DELETE", "/v1/servers/" + sid, stranger.token, nil, 404, "NOT_FOUND", ""},
		{"non-member lists members", "GET", "/v1/servers/" + sid + "/members", stranger.token, nil, 404, "NOT_FOUND", ""},
		{"no token", "GET", "/v1/servers/" + sid, "", nil, 401, "UNAUTHENTICATED", ""},
		{"bad field", "POST", "/v1/servers", owner.token, obj{"name": ""}, 400, "INVALID_ARGUMENT", "name"},
		{"malformed JSON", "POST", "/v1/servers", owner.token, `{"name": "x"`, 400, "INVALID_ARGUMENT", ""},
		{"oversized body", "POST", "/v1/channels/" + ch + "/messages", owner.token, `{"content":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "RESOURCE_EXHAUSTED", ""},
		{"duplicate login", "POST", "/v1/auth:register", "", obj{"login": owner.login, "password": "correct horse battery"}, 409, "ALREADY_EXISTS", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := rest(t, tc.method, tc.path, tc.token, tc.body)
			if code != tc.status || str(m, "code") != tc.code || str(m, "field") != tc.field || str(m, "message") == "" {
				t.Errorf("got %d %v, want %d %s field %q", code, m, tc.status, tc.code, tc.field)
			}
		})
	}
	// A member without the role is refused with 403.
	inv := must(t, "POST", "/v1/servers/"+sid+"/invites", owner.token, obj{})
	must(t, "POST", "/v1/invites/"+str(inv, "invite", "code")+":accept", stranger.token, obj{})
	if code, m := rest(t, "DELETE", "/v1/servers/"+sid, stranger.token, nil); code != 403 || str(m, "code") != "PERMISSION_DENIED" {
		t.Errorf("member deletes server: %d %v", code, m)
	}
	// The chart is an SVG image.
	res, err := sys.rest.Send(context.Background(), "GET", "/v1/stats/charts/REPORT_ACTIVITY?metric=METRIC_MESSAGES&user_id="+owner.id, owner.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("chart: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	// Rate limits come with Retry-After.
	var last *client.Response
	for range 30 {
		r, err := sys.rest.Send(context.Background(), "POST", "/v1/auth:login", "", `{"login":"`+owner.login+`","password":"wrong password"}`)
		if err != nil {
			t.Fatal(err)
		}
		last = r
		if r.Status == http.StatusTooManyRequests {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("login flood: last answer %d, Retry-After %q", last.Status, last.Header.Get("Retry-After"))
	}
}
