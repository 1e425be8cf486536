package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/accordchat/accord/suite/client"
)

// TestMentionsOverREST walks mentions and notification settings through the
// gateway: a mention of a member counts for them and lands in their inbox,
// a mention of a stranger stays plain and reaches nobody, and the settings
// routes refuse bad input with 400 and strangers with 404.
func TestMentionsOverREST(t *testing.T) {
	rest, owner, ctx := atTheEdge(t, "mowner")
	member, err := rest.Register(ctx, "mmember", "password-mmember")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := rest.Register(ctx, "mstranger", "password-mstranger")
	if err != nil {
		t.Fatal(err)
	}
	serverID, channelID, err := rest.CreateServer(ctx, owner.token, "mentions")
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		Invite struct {
			Code string `json:"code"`
		} `json:"invite"`
	}
	if err := rest.Do(ctx, "POST", "/v1/servers/"+serverID+"/invites", owner.token, map[string]any{}, &inv); err != nil {
		t.Fatal(err)
	}
	if err := rest.Do(ctx, "POST", "/v1/invites/"+inv.Invite.Code+":accept", member.Token, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}

	type message struct {
		ID              string   `json:"id"`
		Content         string   `json:"content"`
		MentionUserIDs  []string `json:"mention_user_ids"`
		MentionEveryone bool     `json:"mention_everyone"`
	}
	var sent struct {
		Message message `json:"message"`
	}
	content := "hi <@" + member.ID + "> and <@" + stranger.ID + "> @everyone"
	if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", owner.token, map[string]string{"content": content}, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Message.Content != content || !slices.Equal(sent.Message.MentionUserIDs, []string{member.ID}) || !sent.Message.MentionEveryone {
		t.Fatalf("sent = %+v", sent.Message)
	}

	var states struct {
		ReadStates []struct {
			ChannelID    string `json:"channel_id"`
			MentionCount int    `json:"mention_count"`
			Muted        bool   `json:"muted"`
			Level        string `json:"notification_level"`
		} `json:"read_states"`
	}
	if err := rest.Do(ctx, "GET", "/v1/readStates", member.Token, nil, &states); err != nil {
		t.Fatal(err)
	}
	if len(states.ReadStates) != 1 || states.ReadStates[0].MentionCount != 1 || states.ReadStates[0].Level != "NOTIFICATION_LEVEL_ALL" {
		t.Fatalf("member's read states = %+v", states)
	}

	var inbox struct {
		Messages      []message `json:"messages"`
		NextPageToken string    `json:"next_page_token"`
	}
	if err := rest.Do(ctx, "GET", "/v1/me/mentions", member.Token, nil, &inbox); err != nil {
		t.Fatal(err)
	}
	if len(inbox.Messages) != 1 || inbox.Messages[0].ID != sent.Message.ID || inbox.NextPageToken != "" {
		t.Fatalf("member's inbox = %+v", inbox)
	}
	inbox.Messages = nil
	if err := rest.Do(ctx, "GET", "/v1/me/mentions", stranger.Token, nil, &inbox); err != nil || len(inbox.Messages) != 0 {
		t.Fatalf("the stranger's inbox = %+v, %v", inbox, err)
	}

	var settings struct {
		Settings struct {
			Level string   `json:"level"`
			Muted []string `json:"muted_channel_ids"`
		} `json:"settings"`
	}
	if err := rest.Do(ctx, "PATCH", "/v1/channels/"+channelID+"/notificationSettings", member.Token, map[string]any{"muted": true}, &settings); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(settings.Settings.Muted, []string{channelID}) {
		t.Fatalf("after muting = %+v", settings)
	}
	if err := rest.Do(ctx, "PATCH", "/v1/servers/"+serverID+"/notificationSettings", member.Token, map[string]any{"level": "NOTIFICATION_LEVEL_MENTIONS"}, &settings); err != nil {
		t.Fatal(err)
	}
	if settings.Settings.Level != "NOTIFICATION_LEVEL_MENTIONS" {
		t.Fatalf("after setting the level = %+v", settings)
	}
	var all struct {
		Servers []struct {
			ServerID string `json:"server_id"`
			Level    string `json:"level"`
		} `json:"servers"`
	}
	if err := rest.Do(ctx, "GET", "/v1/me/notificationSettings", member.Token, nil, &all); err != nil || len(all.Servers) != 1 || all.Servers[0].ServerID != serverID {
		t.Fatalf("member's settings = %+v, %v", all, err)
	}

	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"undefined level", "PATCH", "/v1/servers/" + serverID + "/notificationSettings", member.Token, map[string]any{"level": 9}, http.StatusBadRequest, "level"},
		{"bad page token", "GET", "/v1/me/mentions?page_token=nope", member.Token, nil, http.StatusBadRequest, "page_token"},
		{"negative page size", "GET", "/v1/me/mentions?page_size=-1", member.Token, nil, http.StatusBadRequest, "page_size"},
		{"stranger sets a level", "PATCH", "/v1/servers/" + serverID + "/notificationSettings", stranger.Token, map[string]any{"level": "NOTIFICATION_LEVEL_NOTHING"}, http.StatusNotFound, ""},
		{"stranger mutes", "PATCH", "/v1/channels/" + channelID + "/notificationSettings", stranger.Token, map[string]any{"muted": true}, http.StatusNotFound, ""},
	} {
		err := rest.Do(ctx, tc.method, tc.path, tc.token, tc.body, nil)
		he, ok := err.(*client.HTTPError)
		if !ok || he.Status != tc.status || !strings.Contains(he.Body, tc.field) {
			t.Errorf("%s: %v, want %d naming %q", tc.name, err, tc.status, tc.field)
		}
	}
	// The refusals changed nothing.
	if err := rest.Do(ctx, "GET", "/v1/me/notificationSettings", member.Token, nil, &all); err != nil || len(all.Servers) != 1 || all.Servers[0].Level != "NOTIFICATION_LEVEL_MENTIONS" {
		t.Fatalf("member's settings after refusals = %+v, %v", all, err)
	}
}
