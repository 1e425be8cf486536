// Command search runs the Accord search service alone.
package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/search"
)

func main() {
	app.Main("search", config.DefaultSearchAddr, func(c config.Config) string { return c.SearchAddr }, search.Spec)
}
