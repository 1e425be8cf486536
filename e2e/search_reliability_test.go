package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/platformtest"
)

// TestSearchCatchesUpAfterRestarts sends messages at the product's 50 a
// second while the search service is killed (no drain) and, later, stopped
// gracefully and started again: afterwards every message is found exactly
// once, no more, no fewer, across all pages.
func TestSearchCatchesUpAfterRestarts(t *testing.T) {
	s := startSuite(t, suiteOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rest := s.rest.At(s.gateways[0])
	acct, err := rest.Register(ctx, "searcher_"+platformtest.RandomHex(3), "password-searcher")
	if err != nil {
		t.Fatal(err)
	}
	serverID, channelID, err := rest.CreateServer(ctx, acct.Token, "loaded")
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	sent := map[string]bool{}
	tick := time.NewTicker(time.Second / 50)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		switch i {
		case n / 4:
			s.procs["search"].Kill()
		case n / 2:
			s.procs["search"].Restart()
		case 3 * n / 4:
			s.procs["search"].Stop(5 * time.Second)
			s.procs["search"].Restart()
		}
		var res struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		body := map[string]string{"content": fmt.Sprintf("surge %d", i), "request_id": fmt.Sprintf("surge-%d", i)}
		if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", acct.Token, body, &res); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		sent[res.Message.ID] = true
	}

	// all pages through the search "surge" and counts each message found.
	all := func() (map[string]int, error) {
		found := map[string]int{}
		token := ""
		for range 50 {
			var res struct {
				Results []struct {
					MessageID string `json:"message_id"`
				} `json:"results"`
				NextPageToken string `json:"next_page_token"`
			}
			q := url.Values{"server_id": {serverID}, "query": {"surge"}, "page_size": {"100"}, "page_token": {token}}
			if err := rest.Do(ctx, "GET", "/v1/search/messages?"+q.Encode(), acct.Token, nil, &res); err != nil {
				return nil, err
			}
			for _, r := range res.Results {
				found[r.MessageID]++
			}
			if token = res.NextPageToken; token == "" {
				break
			}
		}
		return found, nil
	}
	var found map[string]int
	var lastErr error
	platformtest.Eventually(t, 60*time.Second, func() bool {
		found, lastErr = all()
		return lastErr == nil && len(found) == n
	}, "every message found after the restarts")
	for id, c := range found {
		if !sent[id] {
			t.Errorf("found %s, never sent", id)
		}
		if c != 1 {
			t.Errorf("found %s %d times", id, c)
		}
	}
}
