// Package peers holds the client connections to the Accord services. The
// gateway and the all-in-one runner dial them once; a service builds, from
// the connection of each peer it calls, the few methods it needs (an
// interface of its own), never the whole client.
package peers

import (
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/grpcx"
)

// Conns are client connections to the services, by role: over the network
// (Dial), or in process (a *grpcx.Local) for the services the process
// serves itself. A nil connection means the peer is not available.
type Conns struct {
	User, Server, Presence, Stats, Search grpc.ClientConnInterface
}

// Roles are the services' names, as app.Spec names them, in the order of
// Conns' fields.
var Roles = [...]string{"user", "server", "presence", "stats", "search"}

// Of returns the connection of role (one of Roles), nil for another name.
func (p *Conns) Of(role string) *grpc.ClientConnInterface {
	switch role {
	case "user":
		return &p.User
	case "server":
		return &p.Server
	case "presence":
		return &p.Presence
	case "stats":
		return &p.Stats
	case "search":
		return &p.Search
	}
	return nil
}

// Dial connects (lazily) to the services named in cfg.
func Dial(cfg config.Config) (*Conns, error) {
	return DialExcept(cfg, nil)
}

// DialExcept connects (lazily) to the services named in cfg, except those
// local has a connection for, which it takes from local.
func DialExcept(cfg config.Config, local map[string]grpc.ClientConnInterface) (*Conns, error) {
	var p Conns
	addrs := map[string]string{"user": cfg.UserAddr, "server": cfg.ServerAddr, "presence": cfg.PresenceAddr, "stats": cfg.StatsAddr, "search": cfg.SearchAddr}
	for _, role := range Roles {
		if c, ok := local[role]; ok {
			*p.Of(role) = c
			continue
		}
		conn, err := grpcx.Dial(addrs[role])
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("dial %s: %w", addrs[role], err)
		}
		*p.Of(role) = conn
	}
	return &p, nil
}

// Close closes every network connection.
func (p *Conns) Close() {
	for _, role := range Roles {
		if c, ok := (*p.Of(role)).(io.Closer); ok {
			_ = c.Close()
		}
	}
}
