// Command stats runs the Accord stats service alone.
package main

import (
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/stats"
)

func main() {
	app.Main("stats", config.DefaultStatsAddr, func(c config.Config) string { return c.StatsAddr }, stats.Spec)
}
