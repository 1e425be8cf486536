package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accordchat/accord/services/stats/internal/reports"
)

// Message is a stored message as a rebuild counts it.
type Message struct {
	AuthorID, ServerID string
	Created            time.Time
}

// Server is a server as reports name it.
type Server struct {
	ID         string
	Name, Kind string
}

// Source is what a rebuild and the reports read from the server
// service's data.
type Source interface {
	reports.RebuildSource
	reports.Servers
}

// NewSource returns a source that holds exactly msgs and servers, isolated
// from every other one; it makes the ids of servers (as the server service
// would) and returns them in order.
type NewSource func(t *testing.T, msgs []Message, servers []Server) (Source, []string)

// RunSource runs the contract of reports.RebuildSource and reports.Servers
// against the sources newSource makes.
func RunSource(t *testing.T, newSource NewSource) {
	ctx := context.Background()
	t.Run("nothing stored", func(t *testing.T) {
		s, _ := newSource(t, nil, nil)
		if _, ok, err := s.Oldest(ctx); err != nil || ok {
			t.Fatalf("Oldest: %v, %v; want none", ok, err)
		}
		if rows, err := s.Count(ctx, time.Unix(0, 0), time.Now()); err != nil || len(rows) != 0 {
			t.Fatalf("Count: %v, %v; want none", rows, err)
		}
	})
	t.Run("messages are counted per author and server in half-open ranges", func(t *testing.T) {
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		var msgs []Message
		add := func(author, server string, at time.Time, n int) {
			for range n {
				msgs = append(msgs, Message{author, server, at})
			}
		}
		add("a", "s1", base, 3)
		add("a", "s2", base.Add(2*time.Hour), 1)
		add("b", "s1", base.Add(24*time.Hour), 2) // the end is left out
		add("c", "s1", base.Add(-time.Millisecond), 5)
		s, _ := newSource(t, msgs, nil)
		oldest, ok, err := s.Oldest(ctx)
		if err != nil || !ok || !oldest.Equal(base.Add(-time.Millisecond)) {
			t.Fatalf("Oldest: %v %v %v", oldest, ok, err)
		}
		rows, err := s.Count(ctx, base, base.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range rows {
			got[r.UserID+"/"+r.ServerID] = r.N
		}
		if want := map[string]int64{"a/s1": 3, "a/s2": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Count: got %v, want %v", got, want)
		}
	})
	t.Run("servers are named and kinded; unknown ids are left out", func(t *testing.T) {
		s, ids := newSource(t, nil, []Server{{Name: "General", Kind: "guild"}, {Kind: reports.KindDM}})
		if len(ids) != 2 {
			t.Fatalf("got %d server ids", len(ids))
		}
		infos, err := s.Servers(ctx, []string{ids[0], ids[1], "not-an-id"})
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 2 || infos[ids[0]] != (reports.ServerInfo{Name: "General", Kind: "guild"}) || infos[ids[1]].Kind != reports.KindDM {
			t.Errorf("Servers: %v", infos)
		}
		if infos, err := s.Servers(ctx, nil); err != nil || len(infos) != 0 {
			t.Errorf("Servers of none: %v, %v", infos, err)
		}
	})
}
