package config_test

import (
	"testing"
	"time"

	"github.com/accordchat/accord/platform/config"
)

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.UserAddr != "127.0.0.1:50051" || c.HTTPAddr != ":8080" || c.AccessTokenTTL != 15*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	if got := c.ListenFor(c.StatsAddr); got != ":50054" {
		t.Errorf("ListenFor = %q", got)
	}
	if got := c.MetricsFor(c.UserAddr); got != ":9051" {
		t.Errorf("MetricsFor = %q", got)
	}
}

func TestLoadOverridesAndErrors(t *testing.T) {
	env := map[string]string{
		"ACCORD_OPERATORS":        " Alice, bob ,,",
		"ACCORD_ACCESS_TOKEN_TTL": "5m",
		"ACCORD_METRICS_ADDR":     "off",
	}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Operators) != 2 || c.Operators[0] != "alice" || c.Operators[1] != "bob" {
		t.Errorf("operators = %q", c.Operators)
	}
	if c.AccessTokenTTL != 5*time.Minute || c.MetricsFor(c.UserAddr) != "" {
		t.Errorf("got %+v", c)
	}
	env["ACCORD_ACCESS_TOKEN_TTL"] = "soon"
	if _, err := config.Load(func(k string) string { return env[k] }); err == nil {
		t.Error("bad duration accepted")
	}
}
