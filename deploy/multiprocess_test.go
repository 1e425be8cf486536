package deploy

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/blobstore/blobtest"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/proc"
)

// buildBinaries builds what the Dockerfile's build stage builds, the way it
// builds it (static, trimmed paths), into a temporary folder, and returns
// the binaries by name.
func buildBinaries(t *testing.T) map[string]string {
	t.Helper()
	d := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	var pkgs []string
	for _, b := range goBuilds(t, d.stage("build")) {
		pkgs = append(pkgs, b.pkgs...)
	}
	root, _ := filepath.Abs(repoRoot)
	o := proc.Release
	o.Dir = root
	return proc.Build(t, o, pkgs...)
}

// envList turns env into KEY=value pairs.
func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// TestMultiProcess runs the suite as docker compose does, one process per
// container, on loopback: the binaries the Dockerfile builds, each with the
// environment its compose service gets (container names and ports mapped to
// loopback ports, the Mongo replica set to an `accord devdb` process, Redis
// to the test Redis with a prefix of its own, the secrets to key files). The
// database starts last, once the services have found it missing. Then it
// waits for every health check, the same commands the containers run, plays
// a sign-up-and-chat scenario through the gateway, restarts the database and
// crashes a service to see the suite recover, and checks that every process
// drains and exits 0 on SIGTERM.
func TestMultiProcess(t *testing.T) {
	project := loadCompose(t)
	bins := buildBinaries(t)
	_, redisPrefix := platformtest.Redis(t)
	tmp := t.TempDir()

	// The compose secrets as files: the user-token key, its public half
	// and the service key.
	userKey := auth.GenerateKey()
	keyFiles := map[string][]byte{
		"signing_key": auth.MarshalKey(userKey),
		"verify_key":  auth.MarshalPublicKey(userKey.Public().(ed25519.PublicKey)),
		"service_key": auth.MarshalKey(auth.GenerateKey()),
		// The object store's key pair, as the services read it (AWS shared
		// credentials) and as the store would (unused: the fake checks no
		// signature).
		"blob_credentials": fmt.Appendf(nil, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
			blobtest.Env["AWS_ACCESS_KEY_ID"], blobtest.Env["AWS_SECRET_ACCESS_KEY"]),
		"objectstore_identities": fmt.Appendf(nil, `{"identities": [{"name": "accord", "credentials": [{"accessKey": %q, "secretKey": %q}], "actions": ["Admin"]}]}`,
			blobtest.Env["AWS_ACCESS_KEY_ID"], blobtest.Env["AWS_SECRET_ACCESS_KEY"]),
	}
	devdbAddr := proc.FreeAddr(t)
	grpcAddr := map[string]string{}
	metricsAddr := map[string]string{}
	for _, name := range appServices {
		grpcAddr[name] = proc.FreeAddr(t)
		metricsAddr[name] = proc.FreeAddr(t)
	}
	httpAddr := proc.FreeAddr(t)

	// Container addresses in the compose file -> loopback addresses here.
	remap := map[string]string{}
	for _, name := range appServices {
		remap[envOf(project.Services[name])[peerEnv[name]]] = grpcAddr[name]
	}
	secretFiles := map[string]string{}
	for name := range project.Secrets {
		b, ok := keyFiles[name]
		if !ok {
			t.Fatalf("docker-compose.yml declares secret %s, which this test does not make", name)
		}
		path := filepath.Join(tmp, name+".pem")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		secretFiles["/run/secrets/"+name] = path
	}
	// The object store: the bucket URL of the compose file, its endpoint
	// an S3-compatible fake on loopback with the same bucket.
	composeBlobURL := envOf(project.Services["server"])["ACCORD_BLOB_URL"]
	bucket, composeEndpoint, q := blobURLParts(t, "server", composeBlobURL)
	q.Set("endpoint", blobtest.StartS3Endpoint(t, bucket))
	remap[composeBlobURL] = (&url.URL{Scheme: "s3", Host: bucket, RawQuery: q.Encode()}).String()
	composeHosts := []string{"redis:6379", "mongo-init", composeEndpoint.Host}
	composeHosts = append(composeHosts, mongoNodes...)
	for from := range remap {
		composeHosts = append(composeHosts, from)
	}
	// One database for the whole suite, as in compose.
	dbName := "deploy_" + platformtest.RandomHex(4)
	envFor := func(name string, extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range envOf(project.Services[name]) {
			switch {
			case k == "ACCORD_MONGO_URI":
				v = "mongodb://" + devdbAddr + "/"
			case k == "ACCORD_REDIS_URL":
				v = platformtest.RedisURL()
			case secretFiles[v] != "":
				v = secretFiles[v]
			case remap[v] != "":
				v = remap[v]
			case k == "ACCORD_WEB_DIR":
				v = filepath.Join(tmp, "web") // absent: the gateway serves its placeholder
			}
			env[k] = v
		}
		env["ACCORD_MONGO_DB"] = dbName
		env["ACCORD_REDIS_PREFIX"] = redisPrefix
		env["ACCORD_DATA_DIR"] = filepath.Join(tmp, "data-"+name) // must stay unused: the keys come from the secrets
		env["ACCORD_SHUTDOWN_TIMEOUT"] = "5s"
		for k, v := range extra {
			env[k] = v
		}
		for k, v := range env {
			for _, h := range composeHosts {
				if strings.Contains(v, h) {
					t.Fatalf("%s: %s=%q still names the container address %s", name, k, v, h)
				}
			}
		}
		return env
	}
	// Every process, in start order: they drain in the reverse.
	var all []*proc.Proc
	start := func(name, bin string, env map[string]string, args ...string) *proc.Proc {
		p := proc.Start(t, name, bin, envList(env), args...)
		all = append(all, p)
		return p
	}

	// Gateway first and the database last: start order must not matter.
	procs := map[string]*proc.Proc{
		"gateway": start("gateway", bins["gateway"], envFor("gateway", map[string]string{"ACCORD_HTTP_ADDR": httpAddr})),
	}
	for _, name := range slices.Backward(appServices) {
		env := envFor(name, map[string]string{
			"ACCORD_LISTEN_ADDR":  grpcAddr[name],
			"ACCORD_METRICS_ADDR": metricsAddr[name],
		})
		procs[name] = start(name, bins[name], env)
	}
	// Only once the services that use MongoDB have found it missing does the
	// database start: they must recover on their own.
	for _, name := range appServices {
		if !usesMongo[name] {
			continue
		}
		p := procs[name]
		platformtest.Eventually(t, 60*time.Second, func() bool {
			if p.Exited() {
				t.Fatalf("%s exited while the database was missing: %v\n%s", name, p.Err(), p.Output())
			}
			return strings.Contains(p.Output(), "mongo not ready")
		}, name, "to retry the missing database")
	}
	devdbEnv := map[string]string{
		"ACCORD_DEVDB_ADDR": devdbAddr,
		"ACCORD_DATA_DIR":   filepath.Join(tmp, "devdb"),
		"ACCORD_LOG_FORMAT": "json",
	}
	devdb := start("devdb", bins["accord"], devdbEnv, "devdb")

	// The health checks the containers run: "<binary> health".
	health := func(name string) error {
		env := []string{"PATH=" + os.Getenv("PATH")}
		bin := bins[name]
		if name == "gateway" {
			env = append(env, "ACCORD_HTTP_ADDR="+httpAddr)
		} else {
			env = append(env, "ACCORD_HEALTH_ADDR="+grpcAddr[name])
		}
		cmd := exec.Command(bin, "health")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	waitHealthy := func(t *testing.T, name string) {
		t.Helper()
		var last error
		var tried time.Time
		defer func() {
			if t.Failed() && last != nil {
				t.Logf("%s health: last answer: %v", name, last)
			}
		}()
		platformtest.Eventually(t, 90*time.Second, func() bool {
			for n, p := range procs {
				if p.Exited() {
					t.Fatalf("%s exited: %v", n, p.Err())
				}
			}
			// Each try runs a process; a few a second are enough.
			if time.Since(tried) < 200*time.Millisecond {
				return false
			}
			tried = time.Now()
			last = health(name)
			return last == nil
		}, name, "health check")
	}
	for _, name := range append(slices.Clone(appServices), "gateway") {
		waitHealthy(t, name)
	}
	for _, name := range appServices {
		res, err := http.Get("http://" + metricsAddr[name] + "/healthz")
		if err != nil {
			t.Fatalf("%s /healthz: %v", name, err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s /healthz: %s", name, res.Status)
		}
	}

	var chat *chatSession
	t.Run("sign-up and chat through the gateway", func(t *testing.T) {
		chat = chatScenario(t, "http://"+httpAddr)
	})
	if chat == nil {
		t.FailNow()
	}

	// The database goes away and comes back (as during a failover): the
	// services reconnect by themselves and writes succeed again.
	t.Run("rides out a database restart", func(t *testing.T) {
		if !devdb.Stop(10 * time.Second) {
			t.Fatalf("devdb did not stop cleanly: %v", devdb.Err())
		}
		devdb.Restart()
		chat.sendEventually(t, "after the database restart", 60*time.Second)
	})

	// A service crashes and its replacement takes the same address (as a
	// restarted container does): the gateway reconnects to it.
	t.Run("rides out a service crash", func(t *testing.T) {
		procs["server"].Kill()
		// The container health checks must notice: the gateway's reports
		// the missing service, the service's own fails.
		if err := health("server"); err == nil {
			t.Error("server health passes with the server killed")
		}
		var tried time.Time
		platformtest.Eventually(t, 30*time.Second, func() bool {
			if time.Since(tried) < 200*time.Millisecond {
				return false
			}
			tried = time.Now()
			return health("gateway") != nil
		}, "the gateway health check to fail without the server")
		procs["server"].Restart()
		waitHealthy(t, "server")
		chat.sendEventually(t, "after the server crash", 60*time.Second)
		chat.expectHistory(t, "after the server crash", "after the database restart", "hi bob, carol here", "hello from bob")
	})

	// Drain as docker stop does; every process must exit 0 in time.
	if unclean := proc.StopAll(10*time.Second, all...); len(unclean) > 0 {
		t.Errorf("did not drain and exit 0 on SIGTERM: %v", unclean)
	}
	for _, name := range appServices {
		_, err := os.Stat(filepath.Join(tmp, "data-"+name))
		switch {
		case name == "search" && err != nil:
			t.Errorf("search keeps its index in its data folder, but there is none: %v", err)
		case name != "search" && err == nil:
			t.Errorf("%s wrote to its data folder; with key secrets it must write nothing", name)
		}
	}
}
