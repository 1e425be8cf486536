// Package peers holds the client connections to the Accord services. The
// gateway and the all-in-one runner dial them once; a service builds, from
// the connection of each peer it calls, the few methods it needs (an
// interface of its own), never the whole client.
package peers

import (
	"fmt"

	"google.golang.org/grpc"

	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/grpcx"
)

// Conns are client connections to the services, by role. A nil connection
// means the peer is not available.
type Conns struct {
	User, Server, Presence, Stats, Search *grpc.ClientConn
}

// Dial connects (lazily) to the services named in cfg.
func Dial(cfg config.Config) (*Conns, error) {
	var p Conns
	for _, c := range []struct {
		conn **grpc.ClientConn
		addr string
	}{{&p.User, cfg.UserAddr}, {&p.Server, cfg.ServerAddr}, {&p.Presence, cfg.PresenceAddr}, {&p.Stats, cfg.StatsAddr}, {&p.Search, cfg.SearchAddr}} {
		conn, err := grpcx.Dial(c.addr)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("dial %s: %w", c.addr, err)
		}
		*c.conn = conn
	}
	return &p, nil
}

// Close closes every connection.
func (p *Conns) Close() {
	for _, c := range []*grpc.ClientConn{p.User, p.Server, p.Presence, p.Stats, p.Search} {
		if c != nil {
			_ = c.Close()
		}
	}
}
