// Package storetest is the contract of search.Index, written once and run
// against every implementation (the bleve index on disk and in memory).
package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/services/search/internal/search"
)

var base = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// Doc is message i (created i hours after a fixed time) as a change.
func Doc(i int, server, channel, author, content string) search.Change {
	id := fmt.Sprintf("%024x", i)
	return search.Change{ID: id, Doc: search.NewDoc(search.Doc{
		ID: id, ServerID: server, ChannelID: channel, AuthorID: author, AuthorName: author,
		Content: content, Created: base.Add(time.Duration(i) * time.Hour),
	})}
}

func ids(hits []search.Hit) []int {
	var out []int
	for _, h := range hits {
		var n int
		fmt.Sscanf(h.ID, "%x", &n)
		out = append(out, n)
	}
	return out
}

func mustSearch(t *testing.T, x search.Index, q search.IndexQuery) []int {
	t.Helper()
	if q.Size == 0 {
		q.Size = 50
	}
	if q.Servers == nil {
		q.Servers = []string{"s1"}
	}
	hits, _, err := x.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ids(hits)
}

func parse(t *testing.T, s string) search.Query {
	t.Helper()
	q, err := search.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func matching(t *testing.T, x search.Index) {
	var err error
	ctx := context.Background()
	err = x.Apply(ctx, []search.Change{
		Doc(1, "s1", "c1", "alice", "La réunion de demain est annulée"),
		Doc(2, "s1", "c1", "bob", "The MEETINGS are boring"),
		Doc(3, "s1", "c2", "alice", "see https://example.com for the meeting notes"),
		Doc(4, "s2", "c9", "alice", "réunion secrète dans un autre serveur"),
		Doc(5, "s1", "c2", "bob", "demain la réunion, hey @Alice"),
		Doc(6, "s1", "c1", "carol", "nous avons des réunions chaque semaine"),
	}, "1-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		want  []int
	}{
		{"reunion", []int{6, 5, 1}},
		{"RÉUNION", []int{6, 5, 1}},
		{"meeting", []int{3, 2}},
		{"annulee", []int{1}},
		{`"réunion de demain"`, []int{1}},
		{`"demain la reunion"`, []int{5}},
		{"reunion from:alice", []int{1}},
		{"in:c2", []int{5, 3}},
		{"has:link", []int{3}},
		{"mentions:alice", []int{5}},
		{"before:2026-03-10", nil},
		{"during:2026-03-10", []int{6, 5, 3, 2, 1}},
		{"after:2026-03-10", nil},
		{"pinned:true", nil},
		{"nothing-like-this", nil},
		{"weird:filter", nil},
	} {
		t.Run(tt.query, func(t *testing.T) {
			if got := mustSearch(t, x, search.IndexQuery{Query: parse(t, tt.query)}); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := mustSearch(t, x, search.IndexQuery{Query: parse(t, "reunion"), Servers: []string{"s2"}}); !slices.Equal(got, []int{4}) {
		t.Errorf("other server: got %v", got)
	}
}

func editsDeletesAndPosition(t *testing.T, x search.Index) {
	ctx := context.Background()
	if pos, err := x.Position(ctx); err != nil || pos != "" {
		t.Fatalf("new index at %q (%v)", pos, err)
	}
	if err := x.Apply(ctx, []search.Change{Doc(1, "s1", "c1", "a", "old words"), Doc(2, "s1", "c1", "a", "gone soon")}, "5-0"); err != nil {
		t.Fatal(err)
	}
	edited := Doc(1, "s1", "c1", "a", "new text")
	gone := search.Change{Delete: true, ID: fmt.Sprintf("%024x", 2)}
	// Twice: applying again is harmless.
	for range 2 {
		if err := x.Apply(ctx, []search.Change{edited, gone}, "6-0"); err != nil {
			t.Fatal(err)
		}
	}
	if pos, err := x.Position(ctx); err != nil || pos != "6-0" {
		t.Fatalf("position %q %v", pos, err)
	}
	for q, want := range map[string][]int{"old": nil, "new": {1}, "gone": nil} {
		if got := mustSearch(t, x, search.IndexQuery{Query: parse(t, q)}); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
}

func pagingAndOrder(t *testing.T, x search.Index) {
	ctx := context.Background()
	var cs []search.Change
	for i := 1; i <= 23; i++ {
		text := "ping and many other words that make it longer"
		if i%5 == 0 {
			text = "ping"
		}
		cs = append(cs, Doc(i, "s1", "c1", "a", text))
	}
	if err := x.Apply(ctx, cs, "1-0"); err != nil {
		t.Fatal(err)
	}
	for _, order := range []search.Order{search.Newest, search.Relevance} {
		var all []int
		var after []string
		for range 10 {
			hits, total, err := x.Search(ctx, search.IndexQuery{Query: parse(t, "ping"), Servers: []string{"s1"}, Order: order, Size: 7, After: after})
			if err != nil {
				t.Fatal(err)
			}
			// An index may stop once the page is full and estimate
			// the total; a total it calls exact is.
			if (!total.Estimate && total.N != 23) || total.N < int64(len(hits)) {
				t.Fatalf("total %+v", total)
			}
			all = append(all, ids(hits)...)
			if len(hits) < 7 {
				break
			}
			after = hits[len(hits)-1].Sort
		}
		sorted := slices.Clone(all)
		slices.Sort(sorted)
		if len(all) != 23 || len(slices.Compact(sorted)) != 23 {
			t.Fatalf("order %v: pages gave %v", order, all)
		}
		if order == search.Newest && all[0] != 23 {
			t.Errorf("newest first: %v", all)
		}
		if order == search.Relevance && all[0]%5 != 0 {
			t.Errorf("best match first: %v", all)
		}
	}
}

// phrasesPageExactly: a phrase matches its words in order only, the total
// counts those, and pages (newest first and by relevance) give each once.
func phrasesPageExactly(t *testing.T, x search.Index) {
	ctx := context.Background()
	var cs []search.Change
	want := map[search.Order][]int{}
	for i := 1; i <= 30; i++ {
		text := "deploy the release now"
		switch i % 3 {
		case 1:
			text = "the release, deploy it" // the words, not the phrase
		case 2:
			text = "Deploy THE Réléase twice: deploy the release"
		}
		if i%3 != 1 {
			want[search.Newest] = append([]int{i}, want[search.Newest]...)
		}
		cs = append(cs, Doc(i, "s1", "c1", "a", text))
	}
	cs = append(cs, Doc(31, "s2", "c9", "a", "deploy the release elsewhere"))
	if err := x.Apply(ctx, cs, "1-0"); err != nil {
		t.Fatal(err)
	}
	for _, order := range []search.Order{search.Newest, search.Relevance} {
		var all []int
		var after []string
		for range 20 {
			hits, total, err := x.Search(ctx, search.IndexQuery{Query: parse(t, `"deploy the release"`), Servers: []string{"s1"}, Order: order, Size: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			if (!total.Estimate && total.N != 20) || total.N < int64(len(hits)) {
				t.Fatalf("order %v: total %+v, want 20", order, total)
			}
			for _, h := range hits {
				if len(h.Matches) == 0 {
					t.Errorf("order %v: %s without matches", order, h.ID)
				}
			}
			all = append(all, ids(hits)...)
			if len(hits) < 3 {
				break
			}
			after = hits[len(hits)-1].Sort
		}
		if order == search.Newest {
			if !slices.Equal(all, want[search.Newest]) {
				t.Errorf("newest first: got %v, want %v", all, want[search.Newest])
			}
			continue
		}
		sorted := slices.Sorted(slices.Values(all))
		if len(all) != 20 || len(slices.Compact(sorted)) != 20 || slices.ContainsFunc(all, func(i int) bool { return i%3 == 1 }) {
			t.Errorf("by relevance: got %v", all)
		}
	}
}

// Run runs the contract against the indexes newIndex makes, each empty and
// of its own.
func Run(t *testing.T, newIndex func(t *testing.T) search.Index) {
	for name, f := range map[string]func(*testing.T, search.Index){
		"matching":                  matching,
		"edits, deletes, position":  editsDeletesAndPosition,
		"paging and order":          pagingAndOrder,
		"phrases page exactly":      phrasesPageExactly,
		"only the servers asked":    onlyServers,
		"deleted channels, servers": deletedChannelsAndServers,
		"channels in scope exactly": channelsInScope,
	} {
		t.Run(name, func(t *testing.T) { f(t, newIndex(t)) })
	}
}

func onlyServers(t *testing.T, x search.Index) {
	ctx := context.Background()
	if err := x.Apply(ctx, []search.Change{Doc(1, "s1", "c1", "a", "same"), Doc(2, "s2", "c2", "a", "same"), Doc(3, "s3", "c3", "a", "same")}, "1-0"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		servers []string
		want    []int
	}{{[]string{"s1"}, []int{1}}, {[]string{"s3", "s1"}, []int{3, 1}}, {[]string{"nope"}, nil}} {
		if got := mustSearch(t, x, search.IndexQuery{Query: parse(t, "same"), Servers: tt.servers}); !slices.Equal(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.servers, got, tt.want)
		}
	}
	for _, tt := range []struct {
		channels []string
		want     []int
	}{{nil, []int{3, 2, 1}}, {[]string{"c2", "c3"}, []int{3, 2}}, {[]string{}, nil}} {
		q := search.IndexQuery{Query: parse(t, "same"), Servers: []string{"s1", "s2", "s3"}, Channels: tt.channels}
		if got := mustSearch(t, x, q); !slices.Equal(got, tt.want) {
			t.Errorf("channels %v: got %v, want %v", tt.channels, got, tt.want)
		}
	}
	if hits, _, err := x.Search(ctx, search.IndexQuery{Query: parse(t, "same"), Size: 10}); err != nil || len(hits) != 0 {
		t.Errorf("no servers: %d hits (%v)", len(hits), err)
	}
}

func deletedChannelsAndServers(t *testing.T, x search.Index) {
	ctx := context.Background()
	all := search.IndexQuery{Query: parse(t, "same"), Servers: []string{"s1", "s2"}}
	if err := x.Apply(ctx, []search.Change{
		Doc(1, "s1", "c1", "a", "same"), Doc(2, "s1", "c2", "a", "same"), Doc(3, "s2", "c3", "a", "same"),
	}, "1-0"); err != nil {
		t.Fatal(err)
	}
	// A message written just before its channel's deletion, in the same
	// batch, goes with it; one in another channel stays.
	if err := x.Apply(ctx, []search.Change{
		Doc(4, "s1", "c1", "a", "same"),
		{DeleteChannel: true, ServerID: "s1", ChannelID: "c1"},
		Doc(5, "s1", "c9", "a", "same"),
	}, "2-0"); err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, x, all); !slices.Equal(got, []int{5, 3, 2}) {
		t.Errorf("after deleting channel c1: got %v, want [5 3 2]", got)
	}
	if err := x.Apply(ctx, []search.Change{{DeleteServer: true, ServerID: "s1"}}, "3-0"); err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, x, all); !slices.Equal(got, []int{3}) {
		t.Errorf("after deleting server s1: got %v, want [3]", got)
	}
	if pos, err := x.Position(ctx); err != nil || pos != "3-0" {
		t.Errorf("position %q, %v; want 3-0", pos, err)
	}
	// Deleting again (a replay after a crash) changes nothing.
	if err := x.Apply(ctx, []search.Change{{DeleteServer: true, ServerID: "s1"}}, "3-0"); err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, x, all); !slices.Equal(got, []int{3}) {
		t.Errorf("after replaying: got %v, want [3]", got)
	}
}

// channelsInScope: a query restricted to some of a server's channels (the
// others deleted, their deletion not yet indexed) returns and counts the
// messages of those channels only, on every page, with words, phrases and
// in:, whether the out-of-scope messages come first or not.
func channelsInScope(t *testing.T, x search.Index) {
	ctx := context.Background()
	var cs []search.Change
	for i := 1; i <= 30; i++ {
		ch := "c1"
		if i%2 == 0 {
			ch = "c2"
		}
		cs = append(cs, Doc(i, "s1", ch, "a", "the same thing"))
	}
	if err := x.Apply(ctx, cs, "1-0"); err != nil {
		t.Fatal(err)
	}
	odd := func(from, n int) []int {
		var out []int
		for i := from; len(out) < n && i >= 1; i-- {
			if i%2 == 1 {
				out = append(out, i)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name      string
		text      string
		channels  []string
		size      int
		after     []string
		order     search.Order
		want      []int
		wantTotal int64
	}{
		{"all in a page", "same", []string{"c1"}, 50, nil, search.Newest, odd(30, 15), 15},
		{"out of scope first", "same", []string{"c1"}, 5, nil, search.Newest, odd(30, 5), 15},
		{"later page", "same", []string{"c1"}, 5, []string{fmt.Sprintf("%024x", 21)}, search.Newest, odd(20, 5), 15},
		{"every channel, a page of more", "same", []string{"c1", "c2"}, 5, nil, search.Newest, []int{30, 29, 28, 27, 26}, 30},
		{"phrase", `"same thing"`, []string{"c1"}, 5, nil, search.Newest, odd(30, 5), 15},
		{"in: out of scope", "same in:c2", []string{"c1"}, 5, nil, search.Newest, nil, 0},
		{"in: within scope", "same in:c1", []string{"c1", "c2"}, 5, nil, search.Newest, odd(30, 5), 15},
		{"by relevance", "same", []string{"c1"}, 50, nil, search.Relevance, nil, 15},
	} {
		q := search.IndexQuery{Query: parse(t, tt.text), Servers: []string{"s1"}, Channels: tt.channels, Size: tt.size, After: tt.after, Order: tt.order}
		hits, total, err := x.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ids(hits)
		if tt.order == search.Relevance {
			slices.Sort(got)
			slices.Reverse(got)
			tt.want = odd(30, 15)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		// A partitioned index estimates past the partitions it asked; an
		// exact total must be the number in scope.
		if !total.Estimate && total.N != tt.wantTotal {
			t.Errorf("%s: total %+v, want %d", tt.name, total, tt.wantTotal)
		}
	}
}
