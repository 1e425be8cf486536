// Command server runs the Accord server service alone.
package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/server"
)

func main() {
	app.Main("server", config.DefaultServerAddr, func(c config.Config) string { return c.ServerAddr }, server.Spec)
}
