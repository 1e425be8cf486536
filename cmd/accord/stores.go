package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/presence"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/stats"
	"github.com/accordchat/accord/services/user"
)

// anyOnMongo reports whether a service of the all-in-one keeps its data in
// MongoDB under cfg: those without SQLite stores yet do whatever
// ACCORD_STORE says (app.Run logs the store of each).
func anyOnMongo(cfg config.Config) bool {
	for _, s := range []func(listen, metrics string) app.Spec{user.Spec, server.Spec, presence.Spec, stats.Spec} {
		if s("", "").Store(cfg) == config.StoreMongo {
			return true
		}
	}
	return false
}
