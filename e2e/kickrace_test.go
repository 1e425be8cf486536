package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

// kickEvent is the part of an event frame the kick race reads.
type kickEvent struct {
	Scope          string `json:"scope"`
	Cursor         string `json:"cursor"`
	MessageCreated *struct {
		ID       string `json:"id"`
		ServerID string `json:"server_id"`
		Content  string `json:"content"`
	} `json:"message_created"`
	ServerLeft *struct {
		ServerID string `json:"server_id"`
	} `json:"server_left"`
}

// logID parses an event cursor ("<ms>-<seq>") for comparison.
func logID(t *testing.T, s string) [2]uint64 {
	t.Helper()
	a, b, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("bad cursor %q", s)
	}
	return [2]uint64{ms, seq}
}

// TestKickRaceThroughGateway: a member kicked while several senders pour
// messages into the server's channel receives on their socket, through the
// gateway, no message logged after their server_left event, and receives
// the server_left itself. It runs on both feeds: one stream per socket, and
// the gateway's shared feed.
func TestKickRaceThroughGateway(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			// The channel's rate limit would stop the burst, not the feed.
			s := suitetest.StartWith(t, suitetest.Options{PerSocketFeed: !shared, Mutate: func(c *config.Config) { c.MessageRateLimit = 0 }})
			rest := client.NewREST(s.HTTP)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for round := range 3 {
				kickRace(ctx, t, s, rest, round)
			}
		})
	}
}

func kickRace(ctx context.Context, t *testing.T, s *suitetest.Stack, rest *client.REST, round int) {
	t.Helper()
	tag := fmt.Sprintf("%d%d", time.Now().UnixNano()%1e9, round)
	owner, err := rest.Register(ctx, "own"+tag, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	victim, err := rest.Register(ctx, "vic"+tag, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	srv, ch, err := rest.CreateServer(ctx, owner.Token, "race")
	if err != nil {
		t.Fatal(err)
	}
	if err := rest.Do(ctx, "POST", "/v1/servers/"+srv+"/members", owner.Token, map[string]string{"login": victim.Login}, nil); err != nil {
		t.Fatal(err)
	}
	ws, _, err := client.Dial(ctx, s.HTTP, client.DialOptions{Token: victim.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.CloseNow() }()
	ws.Background(1 << 14)

	// The socket is live once a message sent now reaches it.
	send := func(content string) error {
		return rest.Do(ctx, "POST", "/v1/channels/"+ch+"/messages", owner.Token, map[string]string{"content": content}, nil)
	}
	var got []kickEvent
	next := func(timeout time.Duration) (kickEvent, bool) {
		f, err := ws.Next(timeout)
		if err != nil {
			return kickEvent{}, false
		}
		var ev kickEvent
		if f.Type == "event" {
			if err := json.Unmarshal(f.Event, &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev)
		}
		return ev, true
	}
	// A socket without cursors starts live, so a message sent before its
	// feed is subscribed never reaches it: send until one does.
	for live, i := false, 0; !live; i++ {
		if i == 10 {
			t.Fatal("the socket never went live")
		}
		if err := send("warm-up"); err != nil {
			t.Fatal(err)
		}
		for !live {
			ev, ok := next(3 * time.Second)
			if !ok {
				break
			}
			live = ev.MessageCreated != nil && ev.MessageCreated.Content == "warm-up"
		}
	}

	// Four senders; the kick lands in the middle of their burst.
	const senders, each = 4, 40
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := send(fmt.Sprint(g, "-", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Vary where the kick lands: after 0, 15, 30 ... of the burst arrived.
	for n := 0; n < round*15; {
		ev, ok := next(30 * time.Second)
		if !ok {
			t.Fatal("the burst does not arrive")
		}
		if ev.MessageCreated != nil {
			n++
		}
	}
	if err := rest.Do(ctx, "DELETE", "/v1/servers/"+srv+"/members/"+victim.ID, owner.Token, nil, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// Wait for server_left, then for the socket to go quiet: everything the
	// gateway was going to relay has come by then.
	var left string
	for left == "" {
		ev, ok := next(30 * time.Second)
		if !ok {
			t.Fatal("no server_left")
		}
		if ev.ServerLeft != nil && ev.ServerLeft.ServerID == srv {
			left = ev.Cursor
		}
	}
	for {
		if _, ok := next(time.Second); !ok {
			break
		}
	}
	leftID := logID(t, left)
	seenLeft := false
	for _, ev := range got {
		if ev.ServerLeft != nil && ev.ServerLeft.ServerID == srv {
			seenLeft = true
			continue
		}
		m := ev.MessageCreated
		if m == nil || m.ServerID != srv {
			continue
		}
		if seenLeft {
			t.Fatalf("round %d: message %q relayed after server_left", round, m.Content)
		}
		// Each stream numbers its own entries, so a message of the same
		// millisecond as server_left (another stream) has no order against
		// it; one of a later millisecond was logged after the kick.
		if logID(t, ev.Cursor)[0] > leftID[0] {
			t.Fatalf("round %d: message %q logged at %s, after server_left at %s", round, m.Content, ev.Cursor, left)
		}
	}
}
