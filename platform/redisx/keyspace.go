package redisx

// Keyspace is the part of a Redis server one Accord deployment uses: every
// key and channel of it starts with the same prefix (ACCORD_REDIS_PREFIX),
// so that deployments and tests can share a server. app.Run builds it once
// and hands it to every service in app.Deps.
type Keyspace struct {
	prefix string
}

// NewKeyspace returns the keyspace whose keys start with prefix ("" for
// the whole server).
func NewKeyspace(prefix string) Keyspace { return Keyspace{prefix: prefix} }

// Key returns the key made of the keyspace's prefix and parts, joined
// without separator: Key("ev:", scope).
func (k Keyspace) Key(parts ...string) string {
	n := len(k.prefix)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, k.prefix...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return string(b)
}

// Prefix returns the prefix of every key of the keyspace, for code that
// composes keys itself and for SCAN patterns.
func (k Keyspace) Prefix() string { return k.prefix }
