package presence

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
)

// Visibility decides whose presence a user may see: not of those who
// blocked them (or whom they blocked), and only of friends or of users they
// share a server or a conversation with. Users always see themselves.
type Visibility interface {
	// Visible returns the subset of ids whose presence viewer may see.
	Visible(ctx context.Context, viewer string, ids []string) (map[string]bool, error)
}

// PeerVisibility asks the user service (friends, blocks) and the server
// service (shared servers and conversations).
type PeerVisibility struct {
	Users   userv1.UserInternalServiceClient
	Servers serverv1.ServerInternalServiceClient
	// Creds authenticate presence to the peers' internal APIs.
	Creds credentials.PerRPCCredentials
}

// NewPeerVisibility returns a PeerVisibility over the given connections.
func NewPeerVisibility(users, servers grpc.ClientConnInterface, creds credentials.PerRPCCredentials) *PeerVisibility {
	return &PeerVisibility{
		Users:   userv1.NewUserInternalServiceClient(users),
		Servers: serverv1.NewServerInternalServiceClient(servers),
		Creds:   creds,
	}
}

// Limits of the peers' batch calls.
const (
	relationshipsBatch = 1000
	sharedBatch        = 10000
)

// Visible implements Visibility with two kinds of calls made concurrently.
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
	creds := grpc.PerRPCCredentials(p.Creds)
	var (
		wg              sync.WaitGroup
		relErr, shErr   error
		friend, blocked = map[string]bool{}, map[string]bool{}
		shared          = map[string]bool{}
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for start := 0; start < len(others); start += relationshipsBatch {
			chunk := others[start:min(start+relationshipsBatch, len(others))]
			resp, err := p.Users.CheckRelationships(ctx, &userv1.CheckRelationshipsRequest{UserId: viewer, OtherIds: chunk}, creds)
			if err != nil {
				relErr = fmt.Errorf("check relationships: %w", err)
				return
			}
			for _, c := range resp.GetChecks() {
				friend[c.GetOtherId()] = c.GetFriend()
				blocked[c.GetOtherId()] = c.GetBlocked()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for start := 0; start < len(others); start += sharedBatch {
			chunk := others[start:min(start+sharedBatch, len(others))]
			resp, err := p.Servers.FilterSharedUsers(ctx, &serverv1.FilterSharedUsersRequest{UserId: viewer, UserIds: chunk}, creds)
			if err != nil {
				shErr = fmt.Errorf("filter shared users: %w", err)
				return
			}
			for _, id := range resp.GetUserIds() {
				shared[id] = true
			}
		}
	}()
	wg.Wait()
	if relErr != nil {
		return nil, relErr
	}
	if shErr != nil {
		return nil, shErr
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
