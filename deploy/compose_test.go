package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/config"
)

// mongoNodes, appServices: the topology docker-compose.yml must have.
var (
	mongoNodes  = []string{"mongo1", "mongo2", "mongo3"}
	appServices = []string{"user", "server", "presence", "stats", "search"}
	// usesMongo tells which services keep data in MongoDB (the Spec's UsesMongo).
	usesMongo = map[string]bool{"user": true, "server": true, "presence": false, "stats": false, "search": false}
	// usesBlobs tells which services keep file bytes in the object store
	// (attachments in the server service, avatars in the user service) or
	// move them (the gateway reads and writes attachment bytes there
	// itself; the server service checks access and keeps the metadata).
	usesBlobs = map[string]bool{"user": true, "server": true, "gateway": true}
	// blobSecrets are the object store's credentials, the only secrets a
	// service other than Accord's may hold, and which of those holds each.
	blobSecrets = map[string][]string{
		"objectstore":      {"objectstore_identities"},
		"objectstore-init": {"blob_credentials"},
		"gateway":          {"blob_credentials"},
	}
	// peerEnv is the variable that names each service's address.
	peerEnv = map[string]string{"user": "ACCORD_USER_ADDR", "server": "ACCORD_SERVER_ADDR", "presence": "ACCORD_PRESENCE_ADDR", "stats": "ACCORD_STATS_ADDR", "search": "ACCORD_SEARCH_ADDR"}
)

// loadCompose loads docker-compose.yml the way `docker compose` does, with no
// variables from the environment, so the defaults are what is checked.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{}),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

// envOf returns a service's environment as a plain map.
func envOf(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// flagValue returns the value after flag in a command line.
func flagValue(cmd []string, flag string) string {
	if i := slices.Index(cmd, flag); i >= 0 && i+1 < len(cmd) {
		return cmd[i+1]
	}
	return ""
}

// healthDefault reads the address a service binary's health subcommand
// checks when ACCORD_HEALTH_ADDR is unset.
func healthDefault(t *testing.T, svc string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "services", svc, "cmd", svc, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	// The binary hands app.Main the default address its health subcommand asks.
	m := regexp.MustCompile(`app\.Main\("` + svc + `",\s*config\.(Default\w+Addr)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("services/%s/cmd/%s/main.go: cannot find the health subcommand's default address", svc, svc)
	}
	defaults := map[string]string{
		"DefaultUserAddr": config.DefaultUserAddr, "DefaultServerAddr": config.DefaultServerAddr,
		"DefaultPresenceAddr": config.DefaultPresenceAddr, "DefaultStatsAddr": config.DefaultStatsAddr,
		"DefaultSearchAddr": config.DefaultSearchAddr,
	}
	addr, ok := defaults[string(m[1])]
	if !ok {
		t.Fatalf("services/%s/cmd/%s/main.go: unknown default %s", svc, svc, m[1])
	}
	return addr
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}

var (
	secretKeyName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|(^|_)KEY$)`)
	tokenLike     = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{32,}$`)
)

// secretReason tells why an environment entry looks like a secret in plain
// text, or "" when it does not.
func secretReason(key, val string) string {
	if val == "" {
		return ""
	}
	if strings.Contains(val, "-----BEGIN") {
		return "holds a PEM block"
	}
	if u, err := url.Parse(val); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return "URL with a password"
		}
	}
	if tokenLike.MatchString(val) {
		return "looks like a key or token"
	}
	if secretKeyName.MatchString(key) && !strings.HasSuffix(key, "_FILE") {
		if _, err := time.ParseDuration(val); err == nil {
			return "" // a TTL, not a token
		}
		if strings.HasPrefix(val, "${") {
			return ""
		}
		return "its name says it is a secret; pass a file (…_FILE) instead"
	}
	return ""
}

func TestSecretReason(t *testing.T) {
	for _, tc := range []struct {
		key, val string
		secret   bool
	}{
		{"ACCORD_SIGNING_KEY_FILE", "/run/secrets/signing_key", false},
		{"ACCORD_VERIFY_KEY_FILE", "/run/secrets/verify_key", false},
		{"ACCORD_ACCESS_TOKEN_TTL", "15m", false},
		{"ACCORD_MONGO_URI", "mongodb://mongo1:27017,mongo2:27017/?replicaSet=rs0&w=majority", false},
		{"ACCORD_MONGO_URI", "mongodb://accord:hunter2@mongo1:27017/", true},
		{"ACCORD_REDIS_URL", "redis://:s3cret@redis:6379/0", true},
		{"ACCORD_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nMC4CAQ...", true},
		{"ACCORD_SIGNING_KEY", "MC4CAQAwBQYDK2VwBCIEIFj0Ym9", true},
		{"ANYTHING", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", true},
		{"MONGO_INITDB_ROOT_PASSWORD", "example", true},
		{"ACCORD_OPERATORS", "alice,bob", false},
	} {
		if got := secretReason(tc.key, tc.val) != ""; got != tc.secret {
			t.Errorf("secretReason(%s=%q) = %v, want %v", tc.key, tc.val, got, tc.secret)
		}
	}
}

// TestComposeTopology checks docker-compose.yml: a three-node replica set
// initiated by a one-shot job, Redis with an append-only file, every service
// with a health check and start-up conditions, the addresses and ports
// agreeing with what the binaries listen on and check, only the gateway
// published, nothing pinned that would stop scaling, and no secret in plain
// text.
func TestComposeTopology(t *testing.T) {
	p := loadCompose(t)
	d := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))

	t.Run("services", func(t *testing.T) {
		want := append(append(append([]string{}, mongoNodes...), "mongo-init", "redis", "objectstore", "objectstore-init", "gateway"), appServices...)
		var got []string
		for name := range p.Services {
			got = append(got, name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("services %v, want %v", got, want)
		}
	})

	t.Run("mongo replica set", func(t *testing.T) {
		replSet := ""
		volumes := map[string]string{}
		for _, name := range mongoNodes {
			s := service(t, p, name)
			if !strings.HasPrefix(s.Image, "mongo:") {
				t.Errorf("%s: image %q, want mongo:<version>", name, s.Image)
			}
			rs := flagValue(s.Command, "--replSet")
			if rs == "" {
				t.Errorf("%s: command %q has no --replSet", name, s.Command)
			}
			if replSet == "" {
				replSet = rs
			} else if rs != replSet {
				t.Errorf("%s: --replSet %s, others use %s", name, rs, replSet)
			}
			if !slices.Contains(s.Command, "--bind_ip_all") {
				t.Errorf("%s: mongod must listen beyond loopback (--bind_ip_all)", name)
			}
			data := ""
			for _, v := range s.Volumes {
				if v.Target == "/data/db" && v.Type == types.VolumeTypeVolume {
					data = v.Source
				}
			}
			if data == "" {
				t.Errorf("%s: no named volume at /data/db", name)
			} else if other, dup := volumes[data]; dup {
				t.Errorf("%s and %s share the volume %s", name, other, data)
			} else {
				volumes[data] = name
				if _, ok := p.Volumes[data]; !ok {
					t.Errorf("%s: volume %s is not declared", name, data)
				}
			}
			if s.HealthCheck == nil || len(s.HealthCheck.Test) < 2 || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "mongosh") {
				t.Errorf("%s: want a mongosh health check, got %v", name, s.HealthCheck)
			}
		}

		// The init script initiates exactly these nodes, in this set.
		script := ""
		init := service(t, p, "mongo-init")
		for _, c := range init.Configs {
			if flagValue(init.Command, "--file") == c.Target {
				script = p.Configs[c.Source].File
			}
		}
		if script == "" {
			t.Fatalf("mongo-init: command %q runs no script mounted from configs %v", init.Command, init.Configs)
		}
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		var hosts []string
		for _, m := range regexp.MustCompile(`host:\s*"([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
			hosts = append(hosts, m[1])
		}
		var want []string
		for _, n := range mongoNodes {
			want = append(want, n+":27017")
		}
		if !slices.Equal(hosts, want) {
			t.Errorf("%s: members %v, want %v", script, hosts, want)
		}
		if !regexp.MustCompile(`replSet\s*=\s*"` + regexp.QuoteMeta(replSet) + `"`).Match(b) {
			t.Errorf("%s: does not initiate %q", script, replSet)
		}
		for _, want := range []string{"rs.status()", "rs.initiate(", "PRIMARY", "quit(1)"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s: no %s (idempotent initiate, then wait for a primary)", script, want)
			}
		}

		t.Run("init job", func(t *testing.T) {
			if !strings.HasPrefix(init.Image, "mongo:") {
				t.Errorf("mongo-init: image %q, want mongo:<version> (for mongosh)", init.Image)
			}
			if init.Restart != "" && init.Restart != types.RestartPolicyNo {
				t.Errorf("mongo-init: restart %q, want no (one shot)", init.Restart)
			}
			if h := flagValue(init.Command, "--host"); !slices.Contains(want, h) {
				t.Errorf("mongo-init: --host %q, want one of %v", h, want)
			}
			for _, n := range mongoNodes {
				if c := init.DependsOn[n].Condition; c != types.ServiceConditionHealthy {
					t.Errorf("mongo-init: depends on %s with %q, want service_healthy", n, c)
				}
			}
		})

		t.Run("services connect to the whole set", func(t *testing.T) {
			for _, name := range appServices {
				env := envOf(service(t, p, name))
				uri := env["ACCORD_MONGO_URI"]
				if !usesMongo[name] && uri == "" {
					continue
				}
				o := options.Client().ApplyURI(uri)
				if err := o.Validate(); err != nil {
					t.Errorf("%s: ACCORD_MONGO_URI: %v", name, err)
					continue
				}
				if !slices.Equal(o.Hosts, want) {
					t.Errorf("%s: Mongo hosts %v, want %v", name, o.Hosts, want)
				}
				if o.ReplicaSet == nil || *o.ReplicaSet != replSet {
					t.Errorf("%s: replicaSet %q, want %s", name, deref(o.ReplicaSet), replSet)
				}
				if o.WriteConcern == nil || o.WriteConcern.W != "majority" {
					t.Errorf("%s: write concern %+v, want w=majority", name, o.WriteConcern)
				}
				if o.RetryWrites == nil || !*o.RetryWrites {
					t.Errorf("%s: retryWrites is not on", name)
				}
				if o.Direct != nil && *o.Direct {
					t.Errorf("%s: directConnection pins one node", name)
				}
			}
		})
	})

	t.Run("object store", func(t *testing.T) {
		checkObjectStore(t, p)
	})

	t.Run("redis persistence", func(t *testing.T) {
		s := service(t, p, "redis")
		if !strings.HasPrefix(s.Image, "redis:") {
			t.Errorf("redis: image %q", s.Image)
		}
		if flagValue(s.Command, "--appendonly") != "yes" || flagValue(s.Command, "--appendfsync") != "everysec" {
			t.Errorf("redis: command %q, want --appendonly yes --appendfsync everysec", s.Command)
		}
		if v := flagValue(s.Command, "--maxmemory-policy"); v != "" && v != "noeviction" {
			t.Errorf("redis: --maxmemory-policy %s would evict event streams", v)
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Target == "/data" && v.Type == types.VolumeTypeVolume
		}) {
			t.Error("redis: no named volume at /data")
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) < 2 {
			t.Error("redis: no health check")
		}
	})

	t.Run("accord services", func(t *testing.T) {
		for _, name := range append(append([]string{}, appServices...), "gateway") {
			s := service(t, p, name)
			if s.Build == nil || s.Build.Target != name {
				t.Errorf("%s: build %+v, want target %s of the Dockerfile", name, s.Build, name)
			} else {
				ctx, _ := filepath.Abs(repoRoot)
				if filepath.Clean(s.Build.Context) != ctx {
					t.Errorf("%s: build context %s, want the repository root", name, s.Build.Context)
				}
			}
			st := d.stage(name)
			if st == nil {
				t.Errorf("%s: no Dockerfile target %s", name, name)
				continue
			}
			var entry []string
			for _, in := range st.ins {
				if in.cmd == "ENTRYPOINT" {
					entry = in.args
				}
			}
			want := append([]string{"CMD"}, append(entry, "health")...)
			if s.HealthCheck == nil || !slices.Equal(s.HealthCheck.Test, want) || s.HealthCheck.Disable {
				t.Errorf("%s: health check %v, want %q", name, s.HealthCheck, want)
			}
			if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
				t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
			}
			if s.User == "0" || s.User == "root" {
				t.Errorf("%s: runs as root", name)
			}
		}
	})

	t.Run("start-up order", func(t *testing.T) {
		for _, name := range appServices {
			s := service(t, p, name)
			want := map[string]string{"redis": types.ServiceConditionHealthy}
			if usesMongo[name] {
				want["mongo-init"] = types.ServiceConditionCompletedSuccessfully
			}
			if usesBlobs[name] {
				want["objectstore-init"] = types.ServiceConditionCompletedSuccessfully
			}
			for dep, cond := range want {
				if got := s.DependsOn[dep].Condition; got != cond {
					t.Errorf("%s: depends on %s with %q, want %s", name, dep, got, cond)
				}
			}
		}
		gw := service(t, p, "gateway")
		for _, name := range appServices {
			if got := gw.DependsOn[name].Condition; got != types.ServiceConditionHealthy {
				t.Errorf("gateway: depends on %s with %q, want service_healthy", name, got)
			}
		}
	})

	t.Run("addresses agree with what the binaries listen on", func(t *testing.T) {
		for _, name := range appServices {
			env := envOf(service(t, p, name))
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			for peer, key := range peerEnv {
				addr := env[key]
				if host, _, _ := net.SplitHostPort(addr); host != peer {
					t.Errorf("%s: %s=%q, want the service name %s (DNS, so every replica is reached)", name, key, addr, peer)
				}
			}
			peer := env[peerEnv[name]]
			listen := cfg.ListenFor(peer)
			if port(listen) != port(peer) {
				t.Errorf("%s: listens on %s but peers call %s", name, listen, peer)
			}
			if h := env["ACCORD_HEALTH_ADDR"]; h == "" && port(healthDefault(t, name)) != port(listen) {
				t.Errorf("%s: listens on %s but its health check asks %s", name, listen, healthDefault(t, name))
			}
			if cfg.LogFormat != "json" {
				t.Errorf("%s: ACCORD_LOG_FORMAT %q, want json for log collectors", name, cfg.LogFormat)
			}
		}
		gw := envOf(service(t, p, "gateway"))
		for peer, key := range peerEnv {
			if want := envOf(service(t, p, peer))[key]; gw[key] != want {
				t.Errorf("gateway: %s=%q, but %s has %q", key, gw[key], peer, want)
			}
		}
	})

	t.Run("only the gateway is published", func(t *testing.T) {
		for name, s := range p.Services {
			if s.ContainerName != "" {
				t.Errorf("%s: container_name %q stops --scale", name, s.ContainerName)
			}
			if s.Hostname != "" && !slices.Contains(mongoNodes, name) {
				t.Errorf("%s: fixed hostname %q", name, s.Hostname)
			}
			if s.NetworkMode == "host" {
				t.Errorf("%s: network_mode host", name)
			}
			if name == "gateway" {
				continue
			}
			if len(s.Ports) > 0 {
				t.Errorf("%s: publishes %v; only the gateway may", name, s.Ports)
			}
			for n := range s.Networks {
				if !p.Networks[n].Internal {
					t.Errorf("%s: on network %s, which is not internal", name, n)
				}
			}
		}
		gw := service(t, p, "gateway")
		env := envOf(gw)
		if len(gw.Ports) != 1 || port(env["ACCORD_HTTP_ADDR"]) != "8080" || gw.Ports[0].Target != 8080 {
			t.Errorf("gateway: ports %+v with ACCORD_HTTP_ADDR=%q, want one port to 8080", gw.Ports, env["ACCORD_HTTP_ADDR"])
		}
		if env["ACCORD_WEB_DIR"] == "" {
			t.Error("gateway: ACCORD_WEB_DIR is not set")
		}
	})

	t.Run("no secret in plain text", func(t *testing.T) {
		for name, s := range p.Services {
			for k, v := range envOf(s) {
				if why := secretReason(k, v); why != "" {
					t.Errorf("%s: %s: %s", name, k, why)
				}
			}
			for _, sec := range s.Secrets {
				if _, ok := p.Secrets[sec.Source]; !ok {
					t.Errorf("%s: secret %s is not declared", name, sec.Source)
				}
			}
		}
		for name, sec := range p.Secrets {
			if sec.File == "" || sec.Content != "" || sec.Environment != "" {
				t.Errorf("secret %s: want a file, got %+v", name, sec)
			}
		}
		// mountedAt returns the secret mounted into s at path, if any.
		mountedAt := func(s types.ServiceConfig, path string) string {
			for _, sec := range s.Secrets {
				target := sec.Target
				if target == "" {
					target = sec.Source
				}
				if !strings.HasPrefix(target, "/") {
					target = "/run/secrets/" + target
				}
				if target == path {
					return sec.Source
				}
			}
			return ""
		}
		for _, name := range appServices {
			s := service(t, p, name)
			env := envOf(s)
			// Every service verifies user tokens and calls the others; without
			// a shared file each container would make its own key.
			for _, v := range []struct{ env, secret string }{
				{"ACCORD_VERIFY_KEY_FILE", "verify_key"},
				{"ACCORD_SERVICE_KEY_FILE", "service_key"},
			} {
				if got := mountedAt(s, env[v.env]); env[v.env] == "" || got != v.secret {
					t.Errorf("%s: %s=%q is not the mounted secret %s (got %q)", name, v.env, env[v.env], v.secret, got)
				}
			}
			// Only the user service holds the key that signs user tokens.
			signs := slices.ContainsFunc(s.Secrets, func(sec types.ServiceSecretConfig) bool { return sec.Source == "signing_key" })
			if name == "user" {
				if got := mountedAt(s, env["ACCORD_SIGNING_KEY_FILE"]); got != "signing_key" {
					t.Errorf("user: ACCORD_SIGNING_KEY_FILE=%q is not the mounted secret signing_key", env["ACCORD_SIGNING_KEY_FILE"])
				}
			} else if signs || env["ACCORD_SIGNING_KEY_FILE"] != "" {
				t.Errorf("%s: gets the signing key; only the user service may", name)
			}
		}
		// The gateway calls the server service's internal API (its shared
		// event feed) with the service key, and holds no other key.
		gw := service(t, p, "gateway")
		if env := envOf(gw); mountedAt(gw, env["ACCORD_SERVICE_KEY_FILE"]) != "service_key" {
			t.Errorf("gateway: ACCORD_SERVICE_KEY_FILE=%q is not the mounted secret service_key", env["ACCORD_SERVICE_KEY_FILE"])
		}
		for name, s := range p.Services {
			if slices.Contains(appServices, name) {
				continue
			}
			for _, sec := range s.Secrets {
				if name == "gateway" && sec.Source == "service_key" {
					continue
				}
				if !slices.Contains(blobSecrets[name], sec.Source) {
					t.Errorf("%s: has secret %s; only the Accord services need keys, and the object store its credentials", name, sec.Source)
				}
			}
		}
	})
}
