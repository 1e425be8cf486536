// Command user runs the Accord user service alone.
package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/user"
)

func main() {
	app.Main("user", config.DefaultUserAddr, func(c config.Config) string { return c.UserAddr }, user.Spec)
}
