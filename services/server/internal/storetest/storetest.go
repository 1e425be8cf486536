// Package storetest holds the contract suites of the server service's
// stores: one exported function per store interface, written against the
// interface alone, so every backend (internal/mongo today) runs the same
// suite from its own tests:
//
//	func TestMessages(t *testing.T) { storetest.TestMessages(t, newStore) }
//
// The factory gives each call a fresh, empty store. Suites use ids from
// package ids, as the domain does.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got error %v, want %v", what, err, kind)
	}
}

// now is a time as stores keep it: UTC, to the millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func checkList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// concurrently runs f n times at once and returns how many returned nil.
func concurrently(n int, f func(i int) error) (ok int, errList []error) {
	res := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() { <-start; res <- f(i) }()
	}
	close(start)
	for range n {
		if err := <-res; err == nil {
			ok++
		} else {
			errList = append(errList, err)
		}
	}
	return ok, errList
}

// newIDs returns n ids in ascending order.
func newIDs(n int) []string {
	out := make([]string, n)
	last := ""
	for i := range out {
		last = ids.After(last)
		out[i] = last
	}
	return out
}

func fmtIDs[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

// guildServer returns a guild record owned by owner.
func guildServer(owner string) guild.Server {
	return guild.Server{ID: ids.New(), Name: "s", Kind: guild.KindGuild, OwnerID: owner, MemberCount: 1, CreatedAt: now()}
}

// Option adjusts a suite to a backend.
type Option func(*options)

type options struct {
	nonAtomicUpdates string
}

// NonAtomicConditionalUpdates skips the checks that concurrent conditional
// updates of one record (SwapOwner, SetMemberRole, AdvanceReadMarker,
// AddMemberCount) exclude each other, giving the reason. Embedded FerretDB needs it: its
// conditional updates are not atomic, only unique inserts are. A backend
// that passes those checks must not use it; the domain relies on them in
// production (MongoDB).
func NonAtomicConditionalUpdates(reason string) Option {
	return func(o *options) { o.nonAtomicUpdates = reason }
}

func apply(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// atomicUpdates skips t unless the backend's conditional updates are atomic.
func (o options) atomicUpdates(t *testing.T) {
	t.Helper()
	if o.nonAtomicUpdates != "" {
		t.Skip("conditional updates are not atomic on this backend: " + o.nonAtomicUpdates)
	}
}

// Stores is the whole storage of the service, for suites that test what
// spans stores (cascading deletes).
type Stores struct {
	Guild      guild.Store
	Messages   chat.MessageStore
	ReadStates chat.ReadStateStore
	// Mentions, when set, must lose a channel's entries with its data.
	Mentions chat.MentionIndex
	// Reactions and Pins, when set, are checked to go with their channel.
	Reactions chat.ReactionStore
	Pins      chat.PinStore
}
