package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/accordchat/accord/suite/client"
)

// TestReactionsAndPinsOverREST drives reactions and pins through the
// gateway: emojis with sequences travel in bodies and query strings intact,
// bad input is a 400 naming the field, and nothing changes.
func TestReactionsAndPinsOverREST(t *testing.T) {
	rest, owner, ctx := atTheEdge(t, "reactor")
	_, channelID, err := rest.CreateServer(ctx, owner.token, "reactions")
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", owner.token, map[string]string{"content": "react here"}, &sent); err != nil {
		t.Fatal(err)
	}
	msgPath := "/v1/channels/" + channelID + "/messages/" + sent.Message.ID
	type summary struct {
		Emoji string `json:"emoji"`
		Count int    `json:"count"`
		Me    bool   `json:"me"`
	}
	history := func() (reactions []summary, pinned bool) {
		t.Helper()
		var got struct {
			Messages []struct {
				ID        string    `json:"id"`
				Reactions []summary `json:"reactions"`
				Pinned    bool      `json:"pinned"`
			} `json:"messages"`
		}
		if err := rest.Do(ctx, "GET", "/v1/channels/"+channelID+"/messages", owner.token, nil, &got); err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			if m.ID == sent.Message.ID {
				return m.Reactions, m.Pinned
			}
		}
		t.Fatal("message not in history")
		return nil, false
	}

	for _, e := range []string{"#️⃣", "👩🏽‍🚀", "🇯🇵"} {
		var r struct {
			Reaction summary `json:"reaction"`
		}
		if err := rest.Do(ctx, "POST", msgPath+"/reactions", owner.token, map[string]string{"emoji": e}, &r); err != nil {
			t.Fatalf("add %q: %v", e, err)
		}
		if r.Reaction != (summary{Emoji: e, Count: 1, Me: true}) {
			t.Fatalf("add %q = %+v", e, r.Reaction)
		}
	}
	for _, bad := range []string{"hello", "👍👍", "<script>alert(1)</script>"} {
		err := rest.Do(ctx, "POST", msgPath+"/reactions", owner.token, map[string]string{"emoji": bad}, nil)
		if he, ok := err.(*client.HTTPError); !ok || he.Status != http.StatusBadRequest || !strings.Contains(he.Body, `"field":"emoji"`) {
			t.Fatalf("add %q: %v, want 400 naming emoji", bad, err)
		}
	}
	if rs, _ := history(); len(rs) != 3 || rs[0].Emoji != "#️⃣" || !rs[1].Me {
		t.Fatalf("history reactions = %+v", rs)
	}
	var who struct {
		Reactors []struct {
			UserID string `json:"user_id"`
		} `json:"reactors"`
	}
	if err := rest.Do(ctx, "GET", msgPath+"/reactions?emoji="+url.QueryEscape("👩🏽‍🚀"), owner.token, nil, &who); err != nil || len(who.Reactors) != 1 || who.Reactors[0].UserID != owner.id {
		t.Fatalf("reactors = %+v, %v", who, err)
	}
	if err := rest.Do(ctx, "DELETE", msgPath+"/reactions?emoji="+url.QueryEscape("#️⃣"), owner.token, nil, nil); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if rs, _ := history(); len(rs) != 2 || rs[0].Emoji != "👩🏽‍🚀" {
		t.Fatalf("after remove = %+v", rs)
	}

	if err := rest.Do(ctx, "POST", msgPath+":pin", owner.token, map[string]string{}, nil); err != nil {
		t.Fatalf("pin: %v", err)
	}
	var pins struct {
		Pins []struct {
			MessageID string `json:"message_id"`
			PinnedBy  string `json:"pinned_by"`
			Message   struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"pins"`
	}
	if err := rest.Do(ctx, "GET", "/v1/channels/"+channelID+"/pins", owner.token, nil, &pins); err != nil || len(pins.Pins) != 1 ||
		pins.Pins[0].MessageID != sent.Message.ID || pins.Pins[0].PinnedBy != owner.id || pins.Pins[0].Message.Content != "react here" {
		t.Fatalf("pins = %+v, %v", pins, err)
	}
	if _, pinned := history(); !pinned {
		t.Fatal("history does not show the pin")
	}
	if err := rest.Do(ctx, "POST", msgPath+":unpin", owner.token, map[string]string{}, nil); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	if _, pinned := history(); pinned {
		t.Fatal("still pinned")
	}
}
