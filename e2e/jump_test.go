package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/accordchat/accord/suite/client"
)

// TestHistoryAroundAMessageOverREST opens a channel's history at one message
// through the gateway (jump to a message): the page and both cursors in the
// JSON, and refusals as 400 naming around or 404.
func TestHistoryAroundAMessageOverREST(t *testing.T) {
	rest, owner, ctx := atTheEdge(t, "jumper")
	_, channelID, err := rest.CreateServer(ctx, owner.token, "jumps")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/channels/" + channelID + "/messages"
	var ids []string
	for i := range 9 {
		var sent struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		if err := rest.Do(ctx, "POST", path, owner.token, map[string]string{"content": fmt.Sprint("m", i)}, &sent); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sent.Message.ID)
	}

	var page struct {
		Messages []struct {
			ID      string `json:"id"`
			Content string `json:"content"`
		} `json:"messages"`
		HasMore     bool   `json:"has_more"`
		OlderCursor string `json:"older_cursor"`
		NewerCursor string `json:"newer_cursor"`
	}
	if err := rest.Do(ctx, "GET", path+"?page_size=2&around="+ids[4], owner.token, nil, &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.Content)
	}
	if strings.Join(got, " ") != "m6 m5 m4 m3 m2" || !page.HasMore || page.OlderCursor != ids[2] || page.NewerCursor != ids[6] {
		t.Fatalf("around m4: %v, more %v, older %q, newer %q", got, page.HasMore, page.OlderCursor, page.NewerCursor)
	}

	for name, tc := range map[string]struct {
		query  string
		status int
		field  string
	}{
		"not an id":         {"around=nope", http.StatusBadRequest, "around"},
		"with before":       {"around=" + ids[4] + "&before=" + ids[5], http.StatusBadRequest, "around"},
		"no such message":   {"around=" + strings.Repeat("0", 24), http.StatusNotFound, ""},
		"channel's id used": {"around=" + channelID, http.StatusNotFound, ""},
	} {
		err := rest.Do(ctx, "GET", path+"?"+tc.query, owner.token, nil, nil)
		he, ok := err.(*client.HTTPError)
		if !ok || he.Status != tc.status || !strings.Contains(he.Body, tc.field) {
			t.Errorf("%s: %v, want %d naming %q", name, err, tc.status, tc.field)
		}
	}
}
