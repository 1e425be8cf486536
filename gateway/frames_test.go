package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
)

const hexID = "0123456789abcdef01234567"

func TestParseClientFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		bad   bool   // closes the socket (4002)
		field string // answered by an error frame naming this field
	}{
		{"hello minimal", `{"type":"hello"}`, false, ""},
		{"hello full", `{"type":"hello","token":"a.b.c","client":"web","cursors":[{"scope":"user:1","position":"1-0"}]}`, false, ""},
		{"hello unknown fields ignored", `{"type":"hello","future":true}`, false, ""},
		{"hello bad client", `{"type":"hello","client":"Web App"}`, false, "client"},
		{"hello empty scope", `{"type":"hello","cursors":[{"scope":"","position":"1"}]}`, false, "cursors[0]"},
		{"hello too many cursors", `{"type":"hello","cursors":[` + strings.Repeat(`{"scope":"s","position":"1"},`, 2000) + `{"scope":"s","position":"1"}]}`, false, "cursors"},
		{"ping", `{"type":"ping"}`, false, ""},
		{"ping string nonce", `{"type":"ping","nonce":"n1"}`, false, ""},
		{"ping number nonce", `{"type":"ping","nonce":17}`, false, ""},
		{"ping object nonce", `{"type":"ping","nonce":{}}`, false, "nonce"},
		{"typing", `{"type":"typing","channel_id":"` + hexID + `"}`, false, ""},
		{"typing upper-case id", `{"type":"typing","channel_id":"` + strings.ToUpper(hexID) + `"}`, false, "channel_id"},
		{"typing no channel", `{"type":"typing"}`, false, "channel_id"},
		{"set_status", `{"type":"set_status","status":"STATUS_IDLE"}`, false, ""},
		{"set_status offline refused", `{"type":"set_status","status":"STATUS_OFFLINE"}`, false, "status"},
		{"set_status number refused", `{"type":"set_status","status":2}`, true, ""},
		{"mark_read", `{"type":"mark_read","channel_id":"` + hexID + `","message_id":"` + hexID + `"}`, false, ""},
		{"mark_read no message", `{"type":"mark_read","channel_id":"` + hexID + `"}`, false, "message_id"},
		{"watch_presence", `{"type":"watch_presence","user_ids":["` + hexID + `"]}`, false, ""},
		{"watch_presence empty", `{"type":"watch_presence","user_ids":[]}`, false, ""},
		{"watch_presence bad id", `{"type":"watch_presence","user_ids":["` + hexID + `","x"]}`, false, "user_ids[1]"},
		{"token", `{"type":"token","token":"abc"}`, false, ""},
		{"token empty", `{"type":"token"}`, false, "token"},
		{"not JSON", `hello`, true, ""},
		{"array", `[]`, true, ""},
		{"no type", `{}`, true, ""},
		{"unknown type", `{"type":"dance"}`, true, ""},
		{"type not a string", `{"type":1}`, true, ""},
		{"null", `null`, true, ""},
		{"too large", `{"type":"ping","nonce":"` + strings.Repeat("x", maxFrameBytes) + `"}`, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseClientFrame([]byte(tc.in))
			if tc.bad {
				if !errors.Is(err, errBadFrame) {
					t.Fatalf("err = %v, want a bad frame", err)
				}
				return
			}
			var fe *fieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.field != "" && !errors.As(err, &fe):
				t.Fatalf("err = %v, want a field error on %s", err, tc.field)
			case tc.field != "" && fe.Field != tc.field:
				t.Fatalf("field = %q, want %q", fe.Field, tc.field)
			}
			if f == nil || f.Type == "" {
				t.Fatalf("frame = %+v", f)
			}
		})
	}
}

func TestServerFrames(t *testing.T) {
	decode := func(b []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}
	r := decode(readyFrame(&userv1.User{Id: hexID, DisplayName: "Ann"}, "sess", 20000))
	if r["type"] != "ready" || r["session_id"] != "sess" || r["heartbeat_interval_ms"] != float64(20000) || r["user"].(map[string]any)["display_name"] != "Ann" {
		t.Errorf("ready = %v", r)
	}
	ev := decode(eventFrame(&eventsv1.Event{Scope: "server:1", Cursor: "5-0", CreateTime: timestamppb.New(timestamppb.Now().AsTime()),
		Payload: &eventsv1.Event_MessageDeleted{MessageDeleted: &eventsv1.MessageDeleted{ServerId: "1", ChannelId: "2", MessageId: "3"}}}))
	e := ev["event"].(map[string]any)
	if ev["type"] != "event" || e["scope"] != "server:1" || e["cursor"] != "5-0" || e["message_deleted"].(map[string]any)["message_id"] != "3" {
		t.Errorf("event = %v", ev)
	}
	p := decode(presenceFrame(false, []*presencev1.Presence{{UserId: "u", Status: presencev1.Status_STATUS_DND}}))
	if p["snapshot"] != false || p["presences"].([]any)[0].(map[string]any)["status"] != "STATUS_DND" {
		t.Errorf("presence = %v", p)
	}
	if got := string(pongFrame(json.RawMessage(`"x"`))); got != `{"type":"pong","nonce":"x"}` {
		t.Errorf("pong = %s", got)
	}
	if got := string(errorFrame(codes.NotFound, `no "such" channel`, "channel_id", "typing")); got != `{"type":"error","code":"NOT_FOUND","message":"no \"such\" channel","field":"channel_id","request":"typing"}` {
		t.Errorf("error = %s", got)
	}
}

// FuzzClientFrame checks that no input panics the parser, that anything it
// accepts is a known frame within limits, and that the pong echo of an
// accepted nonce is valid JSON.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","token":"t","cursors":[{"scope":"server:1","position":"1-0"}],"client":"web"}`,
		`{"type":"ping","nonce":"1"}`,
		`{"type":"ping","nonce":1e3}`,
		`{"type":"typing","channel_id":"` + hexID + `"}`,
		`{"type":"set_status","status":"STATUS_DND"}`,
		`{"type":"mark_read","channel_id":"` + hexID + `","message_id":"` + hexID + `"}`,
		`{"type":"watch_presence","user_ids":["` + hexID + `"]}`,
		`{"type":"token","token":"x"}`,
		`{"type":"nope"}`,
		`{"type":"ping","nonce":{"a":[1,2]}}`,
		`[1,2,3]`,
		`{"type":"hello","cursors":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseClientFrame(data)
		if errors.Is(err, errBadFrame) {
			if fr != nil {
				t.Fatalf("bad frame returned a frame")
			}
			return
		}
		if fr == nil {
			t.Fatalf("no frame and no bad-frame error: %v", err)
		}
		switch fr.Type {
		case frameHello, framePing, frameTyping, frameSetStatus, frameMarkRead, frameWatchPresence, frameToken:
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
		if err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		switch fr.Type {
		case framePing:
			var v any
			if err := json.Unmarshal(pongFrame(fr.Nonce), &v); err != nil {
				t.Fatalf("pong for %q is not JSON: %v", fr.Nonce, err)
			}
		case frameTyping, frameMarkRead:
			if !isID(fr.ChannelID) {
				t.Fatalf("accepted channel id %q", fr.ChannelID)
			}
		case frameWatchPresence:
			if len(fr.UserIDs) > maxWatchedUsers {
				t.Fatalf("accepted %d users", len(fr.UserIDs))
			}
		case frameHello:
			if len(fr.Cursors) > maxCursors {
				t.Fatalf("accepted %d cursors", len(fr.Cursors))
			}
		}
	})
}

func TestFrameCacheSharesOnlyIdenticalEvents(t *testing.T) {
	c := newFrameCache(2)
	wire := func(ev *eventsv1.Event) []byte {
		b, err := proto.Marshal(&eventsv1.StreamEventsResponse{Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mk := func(cursor, content string) []byte {
		return wire(&eventsv1.Event{Scope: "server:1", Cursor: cursor,
			Payload: &eventsv1.Event_MessageCreated{MessageCreated: &serverv1.Message{Id: "m" + cursor, Content: content}}})
	}
	get := func(b []byte) *feedEvent {
		t.Helper()
		e, err := c.event(b)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a1, a2 := get(mk("1", "hi")), get(mk("1", "hi"))
	if a1 != a2 || a1.scope != "server:1" || a1.cursor != "1" {
		t.Errorf("identical events decoded twice or wrongly: %+v %+v", a1, a2)
	}
	// Same scope and cursor but another payload (as a personalized event
	// would be): never the cached frame.
	if b := get(mk("1", "other")); strings.Contains(string(b.frame), `"hi"`) {
		t.Errorf("different event got the cached frame: %s", b.frame)
	}
	get(mk("2", "x"))
	get(mk("3", "y")) // evicts the oldest
	if len(c.m) != 2 {
		t.Errorf("cache holds %d entries, want 2", len(c.m))
	}
	typing := wire(&eventsv1.Event{Scope: "server:1", Payload: &eventsv1.Event_Typing{Typing: &eventsv1.Typing{UserId: "u"}}})
	for _, b := range [][]byte{mk("1", "hi"), mk("2", "x"), typing} {
		var m map[string]any
		if err := json.Unmarshal(get(b).frame, &m); err != nil || m["type"] != "event" {
			t.Errorf("frame %v: %v", m, err)
		}
	}
	// A response without an event moves nothing and has no frame.
	if e := get(wire(nil)); e.frame != nil || e.scope != "" {
		t.Errorf("empty response gave %+v", e)
	}
	if _, err := c.event([]byte{0xff}); err == nil {
		t.Error("garbage decoded without an error")
	}
}

// TestEventFramesHideTheTraceParent: the internal trace parent of a feed
// event reaches neither a socket's frame nor the REST stream.
func TestEventFramesHideTheTraceParent(t *testing.T) {
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ev := &eventsv1.Event{Scope: "server:1", Cursor: "5-0", TraceParent: tp,
		Payload: &eventsv1.Event_ChannelDeleted{ChannelDeleted: &eventsv1.ChannelDeleted{ChannelId: "c"}}}
	if f := string(renderEvent(proto.CloneOf(ev))); strings.Contains(f, "trace") || !strings.Contains(f, `"channel_id":"c"`) {
		t.Errorf("frame %s", f)
	}
	shared := &eventsv1.StreamEventsResponse{Event: ev}
	got, err := withoutTraceParent(context.Background(), shared)
	if err != nil || got.(*eventsv1.StreamEventsResponse).GetEvent().GetTraceParent() != "" {
		t.Errorf("rewritten: %v (%v)", got, err)
	}
	if shared.GetEvent().GetTraceParent() != tp {
		t.Error("the shared response was changed")
	}
}
