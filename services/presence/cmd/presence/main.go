// Command presence runs the Accord presence service alone.
package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/presence"
)

func main() {
	app.Main("presence", config.DefaultPresenceAddr, func(c config.Config) string { return c.PresenceAddr }, presence.Spec)
}
