package peers_test

import (
	"testing"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/servertest"
	"github.com/accordchat/accord/services/stats/internal/peers"
	"github.com/accordchat/accord/services/stats/internal/storetest"
)

// TestServerDataContract runs the rebuild source's contract over the server
// service's internal API, the service running on its own stores.
func TestServerDataContract(t *testing.T) {
	storetest.RunSource(t, func(t *testing.T, msgs []storetest.Message, servers []storetest.Server) (storetest.Source, []string) {
		env := platformtest.New(t)
		srv := servertest.Start(t, env)
		for _, m := range msgs {
			srv.AddMessage("", m.AuthorID, m.ServerID, servertest.NewID(), m.Created)
		}
		ids := make([]string, len(servers))
		for i, s := range servers {
			ids[i] = srv.AddServer("", s.Name, s.Kind)
		}
		return peers.NewServerData(srv.Conn, env.Deps("stats").ServiceCreds), ids
	})
}
