package config_test

import (
	"strings"
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

func TestStore(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{env: nil, want: config.StoreSQLite},
		{env: map[string]string{"ACCORD_MONGO_URI": "mongodb://db:27017"}, want: config.StoreMongo},
		{env: map[string]string{"ACCORD_STORE": "SQLite", "ACCORD_MONGO_URI": "mongodb://db:27017"}, want: config.StoreSQLite},
		{env: map[string]string{"ACCORD_STORE": "mongo"}, want: config.StoreMongo},
		{env: map[string]string{"ACCORD_STORE": "postgres"}, wantErr: true},
	} {
		got, err := config.Load(func(k string) string { return c.env[k] })
		if c.wantErr {
			if err == nil || !strings.Contains(err.Error(), "ACCORD_STORE") {
				t.Errorf("%v: err = %v, want one naming ACCORD_STORE", c.env, err)
			}
			continue
		}
		if err != nil || got.Store != c.want {
			t.Errorf("%v: store = %q, %v; want %q", c.env, got.Store, err, c.want)
		}
	}
}

func TestRedisURL(t *testing.T) {
	for url, ok := range map[string]bool{
		"redis://127.0.0.1:6379/0":                true,
		"redis+cluster://h1:7001,h2:7002,h3:7003": true,
		"h1:7001,h2:7002,h3:7003":                 true,
		"redis+cluster://h1:7001/2":               false,
		"mongodb://h1:27017":                      false,
	} {
		c, err := config.Load(func(k string) string { return map[string]string{"ACCORD_REDIS_URL": url}[k] })
		if ok && (err != nil || c.RedisURL != url) {
			t.Errorf("ACCORD_REDIS_URL=%s: %v", url, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "ACCORD_REDIS_URL")) {
			t.Errorf("ACCORD_REDIS_URL=%s: err = %v, want one naming ACCORD_REDIS_URL", url, err)
		}
	}
}

func TestDrainDelay(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{{"", 0, true}, {"0s", 0, true}, {"5s", 5 * time.Second, true}, {"-1s", 0, false}, {"soon", 0, false}} {
		c, err := config.Load(func(k string) string {
			if k == "ACCORD_DRAIN_DELAY" {
				return tc.v
			}
			return ""
		})
		if (err == nil) != tc.ok || tc.ok && c.DrainDelay != tc.want {
			t.Errorf("ACCORD_DRAIN_DELAY=%q: got %v, %v; want %v, ok %v", tc.v, c.DrainDelay, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "ACCORD_DRAIN_DELAY") {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}

func TestOnByDefaultSwitches(t *testing.T) {
	for _, sw := range []struct {
		name string
		get  func(config.Config) bool
	}{
		{"ACCORD_WS_SHARED_FEED", func(c config.Config) bool { return c.WSSharedFeed }},
		{"ACCORD_LOCAL_PEERS", func(c config.Config) bool { return c.LocalPeers }},
	} {
		for _, tc := range []struct {
			v        string
			want, ok bool
		}{{"", true, true}, {"1", true, true}, {"true", true, true}, {"0", false, true}, {"false", false, true}, {"maybe", false, false}} {
			c, err := config.Load(func(k string) string {
				if k == sw.name {
					return tc.v
				}
				return ""
			})
			if (err == nil) != tc.ok || tc.ok && sw.get(c) != tc.want {
				t.Errorf("%s=%q: got %v, %v; want %v, ok %v", sw.name, tc.v, sw.get(c), err, tc.want, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), sw.name) {
				t.Errorf("error %q does not name the variable", err)
			}
		}
	}
}

func TestWSWriteDelay(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{{"", config.DefaultWSWriteDelay, true}, {"0", 0, true}, {"2ms", 2 * time.Millisecond, true}, {"1s", time.Second, true},
		{"2s", 0, false}, {"-1ms", 0, false}, {"soon", 0, false}} {
		c, err := config.Load(func(k string) string {
			if k == "ACCORD_WS_WRITE_DELAY" {
				return tc.v
			}
			return ""
		})
		if (err == nil) != tc.ok || tc.ok && c.WSWriteDelay != tc.want {
			t.Errorf("ACCORD_WS_WRITE_DELAY=%q: got %v, %v; want %v, ok %v", tc.v, c.WSWriteDelay, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "ACCORD_WS_WRITE_DELAY") {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}
