// Package redisx connects to Redis with go-redis v9: one server, or a Redis
// Cluster given as a list of addresses.
package redisx

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient returns a client for rawURL without connecting. rawURL is
// either one server, redis://[user:pass@]host:port[/db][?options] (rediss://
// for TLS), or a Redis Cluster: redis+cluster://host1:port1,host2:port2/
// [?options] (rediss+cluster:// for TLS), or a comma-separated list of
// host:port or redis:// addresses. The addresses of a cluster are seeds:
// the client learns the rest of the nodes from them. A cluster has no
// databases, so a path other than / or /0 is refused.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	o, err := parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if o.cluster != nil {
		o.cluster.MaxRetries = 3
		o.cluster.DialTimeout = 2 * time.Second
		return redis.NewClusterClient(o.cluster), nil
	}
	o.single.MaxRetries = 3
	o.single.DialTimeout = 2 * time.Second
	return redis.NewClient(o.single), nil
}

// IsCluster reports whether rawURL names a Redis Cluster (see NewClient).
func IsCluster(rawURL string) bool {
	o, err := parse(rawURL)
	return err == nil && o.cluster != nil
}

type parsed struct {
	single  *redis.Options
	cluster *redis.ClusterOptions
}

func parse(raw string) (parsed, error) {
	raw = strings.TrimSpace(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok && (scheme == "redis+cluster" || scheme == "rediss+cluster") {
		// redis+cluster://[user:pass@]h1:p1,h2:p2[/][?opts] becomes go-redis's
		// redis://[user:pass@]h1:p1?addr=h2:p2&... form.
		hosts, query, _ := strings.Cut(rest, "?")
		hosts, path, _ := strings.Cut(hosts, "/")
		if path != "" && path != "0" {
			return parsed{}, fmt.Errorf("a cluster has no database %q", path)
		}
		userinfo := ""
		if at := strings.LastIndex(hosts, "@"); at >= 0 {
			userinfo, hosts = hosts[:at+1], hosts[at+1:]
		}
		addrs := splitList(hosts)
		if len(addrs) == 0 {
			return parsed{}, fmt.Errorf("no address in %q", raw)
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return parsed{}, err
		}
		for _, a := range addrs[1:] {
			q.Add("addr", a)
		}
		u := strings.TrimSuffix(scheme, "+cluster") + "://" + userinfo + addrs[0]
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		o, err := redis.ParseClusterURL(u)
		if err != nil {
			return parsed{}, err
		}
		return parsed{cluster: o}, nil
	}
	if strings.Contains(raw, ",") {
		var addrs []string
		for _, item := range splitList(raw) {
			if strings.Contains(item, "://") {
				o, err := redis.ParseURL(item)
				if err != nil {
					return parsed{}, err
				}
				if o.DB != 0 {
					return parsed{}, fmt.Errorf("a cluster has no database %d (%s)", o.DB, item)
				}
				item = o.Addr
			}
			addrs = append(addrs, item)
		}
		return parsed{cluster: &redis.ClusterOptions{Addrs: addrs}}, nil
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return parsed{}, err
	}
	return parsed{single: o}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Connect opens a client for url (see NewClient) and waits for a ping,
// retrying with backoff until ctx ends. go-redis reconnects on its own after
// that. For a cluster it waits until every master answers.
func Connect(ctx context.Context, url string, log *slog.Logger) (redis.UniversalClient, error) {
	rdb, err := NewClient(url)
	if err != nil {
		return nil, err
	}
	backoff := 200 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = ping(pctx, rdb)
		cancel()
		if err == nil {
			return rdb, nil
		}
		log.Warn("redis not ready; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			_ = rdb.Close()
			return nil, fmt.Errorf("redis: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func ping(ctx context.Context, rdb redis.UniversalClient) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Ping(ctx).Err()
		})
	}
	return rdb.Ping(ctx).Err()
}

// Answers reports whether a Redis server (or every master of a cluster)
// answers at url within timeout.
func Answers(url string, timeout time.Duration) bool {
	o, err := parse(url)
	if err != nil {
		return false
	}
	var rdb redis.UniversalClient
	if o.cluster != nil {
		o.cluster.DialTimeout = timeout
		o.cluster.MaxRetries = -1
		rdb = redis.NewClusterClient(o.cluster)
	} else {
		o.single.DialTimeout = timeout
		o.single.MaxRetries = -1
		rdb = redis.NewClient(o.single)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return ping(ctx, rdb) == nil
}

// CheckURL reports whether rawURL is a Redis URL NewClient takes.
func CheckURL(rawURL string) error {
	_, err := parse(rawURL)
	return err
}
