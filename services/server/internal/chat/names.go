package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Names resolves user ids to display names. Ids it cannot resolve are left
// out of the map; callers show an empty name rather than fail.
type Names interface {
	DisplayNames(ctx context.Context, ids []string) (map[string]string, error)
}

// StaticNames is an in-memory Names for tests and tools.
type StaticNames struct {
	mu sync.RWMutex
	m  map[string]string
}

// NewStaticNames returns an empty StaticNames.
func NewStaticNames() *StaticNames { return &StaticNames{m: map[string]string{}} }

// Set records a user's display name.
func (s *StaticNames) Set(id, name string) {
	s.mu.Lock()
	s.m[id] = name
	s.mu.Unlock()
}

// DisplayNames implements Names.
func (s *StaticNames) DisplayNames(_ context.Context, ids []string) (map[string]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if n, ok := s.m[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

// CachedNames keeps resolved names for a while so that sending a message
// does not cost a call to the user service each time. A renamed user shows
// the old name in new messages for at most ttl.
type CachedNames struct {
	next Names
	log  *slog.Logger
	ttl  time.Duration
	max  int

	mu sync.Mutex
	m  map[string]cachedName
}

type cachedName struct {
	name    string
	expires time.Time
}

// NewCachedNames wraps next with a cache of at most max entries kept for ttl.
func NewCachedNames(next Names, log *slog.Logger, ttl time.Duration, max int) *CachedNames {
	return &CachedNames{next: next, log: log, ttl: ttl, max: max, m: map[string]cachedName{}}
}

// DisplayNames implements Names. Lookup failures are logged and leave the
// names out: a message is still worth sending without its author's name.
func (c *CachedNames) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var missing []string
	now := time.Now()
	c.mu.Lock()
	for _, id := range ids {
		if e, ok := c.m[id]; ok && now.Before(e.expires) {
			out[id] = e.name
		} else if _, seen := out[id]; !seen {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.next.DisplayNames(ctx, dedupe(missing))
	if err != nil {
		c.log.WarnContext(ctx, "display name lookup failed", "err", err)
	}
	c.mu.Lock()
	if len(c.m)+len(got) > c.max {
		// Dropping everything is crude but bounded and rare; the cache refills
		// from the next calls.
		c.m = map[string]cachedName{}
	}
	for id, n := range got {
		c.m[id] = cachedName{name: n, expires: now.Add(c.ttl)}
		out[id] = n
	}
	c.mu.Unlock()
	return out, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
