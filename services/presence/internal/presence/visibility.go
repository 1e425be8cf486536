package presence

import (
	"context"
	"sync"
)

// Visibility decides whose presence a user may see: not of those who
// blocked them (or whom they blocked), and only of friends or of users they
// share a server or a conversation with. Users always see themselves.
type Visibility interface {
	// Visible returns the subset of ids whose presence viewer may see.
	Visible(ctx context.Context, viewer string, ids []string) (map[string]bool, error)
}

// Relationships is what presence asks the user service: which of others
// are viewer's friends, and which are blocked either way.
type Relationships interface {
	CheckRelationships(ctx context.Context, viewer string, others []string) (friends, blocked map[string]bool, err error)
}

// SharedUsers is what presence asks the server service: which of ids share
// a server or a conversation with viewer.
type SharedUsers interface {
	FilterSharedUsers(ctx context.Context, viewer string, ids []string) ([]string, error)
}

// PeerVisibility applies the rule with the answers of the user service
// (friends, blocks) and the server service (shared servers and
// conversations), asked concurrently.
type PeerVisibility struct {
	Relationships Relationships
	Shared        SharedUsers
}

// Visible implements Visibility.
func (p *PeerVisibility) Visible(ctx context.Context, viewer string, ids []string) (map[string]bool, error) {
	others := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != viewer && !seen[id] {
			seen[id] = true
			others = append(others, id)
		}
	}
	out := map[string]bool{viewer: true}
	if len(others) == 0 {
		return out, nil
	}
	var (
		wg              sync.WaitGroup
		relErr, shErr   error
		friend, blocked map[string]bool
		sharedIDs       []string
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		friend, blocked, relErr = p.Relationships.CheckRelationships(ctx, viewer, others)
	}()
	go func() {
		defer wg.Done()
		sharedIDs, shErr = p.Shared.FilterSharedUsers(ctx, viewer, others)
	}()
	wg.Wait()
	if relErr != nil {
		return nil, relErr
	}
	if shErr != nil {
		return nil, shErr
	}
	shared := make(map[string]bool, len(sharedIDs))
	for _, id := range sharedIDs {
		shared[id] = true
	}
	for _, id := range others {
		if !blocked[id] && (friend[id] || shared[id]) {
			out[id] = true
		}
	}
	return out, nil
}

// StaticVisibility is an in-memory Visibility for tests and single-user
// setups: pairs in Allowed see each other, unless one blocked the other.
// With allowAll, everyone sees everyone (except blocks).
type StaticVisibility struct {
	mu       sync.RWMutex
	allowAll bool
	allowed  map[[2]string]bool
	blocked  map[[2]string]bool
}

// NewStaticVisibility returns an empty StaticVisibility.
func NewStaticVisibility(allowAll bool) *StaticVisibility {
	return &StaticVisibility{allowAll: allowAll, allowed: map[[2]string]bool{}, blocked: map[[2]string]bool{}}
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Allow makes a and b visible to each other (friends, or a shared server).
func (s *StaticVisibility) Allow(a, b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed[pair(a, b)] = true
}

// Block hides a and b from each other.
func (s *StaticVisibility) Block(a, b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[pair(a, b)] = true
}

// Unblock lifts a block between a and b.
func (s *StaticVisibility) Unblock(a, b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blocked, pair(a, b))
}

// Visible implements Visibility.
func (s *StaticVisibility) Visible(_ context.Context, viewer string, ids []string) (map[string]bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]bool{viewer: true}
	for _, id := range ids {
		p := pair(viewer, id)
		if id == viewer || (!s.blocked[p] && (s.allowAll || s.allowed[p])) {
			out[id] = true
		}
	}
	return out, nil
}
