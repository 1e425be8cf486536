package deploy

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// blobURLParts splits an ACCORD_BLOB_URL of the s3 driver into its bucket
// and the host of its endpoint.
func blobURLParts(t *testing.T, who, raw string) (bucket string, endpoint *url.URL, q url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		t.Fatalf("%s: ACCORD_BLOB_URL %q: want s3://<bucket>?endpoint=...", who, raw)
	}
	q = u.Query()
	ep, err := url.Parse(q.Get("endpoint"))
	if err != nil || ep.Host == "" {
		t.Fatalf("%s: ACCORD_BLOB_URL %q: endpoint %q is not a URL", who, raw, q.Get("endpoint"))
	}
	return u.Host, ep, q
}

// checkObjectStore checks the object store of docker-compose.yml: a pinned
// S3-compatible image with a named volume and a health check, on the
// backend network only; a one-shot job that creates the bucket once the
// store is healthy; and the services that keep files pointed at that
// bucket with the same URL, starting only once the job has succeeded.
func checkObjectStore(t *testing.T, p *types.Project) {
	store := service(t, p, "objectstore")
	if img := store.Image; !strings.HasPrefix(img, "chrislusf/seaweedfs:") || strings.HasSuffix(img, ":latest") {
		t.Errorf("objectstore: image %q, want chrislusf/seaweedfs pinned to a release", img)
	}
	if !slices.Contains(store.Command, "-s3") {
		t.Errorf("objectstore: command %q does not serve the S3 API (-s3)", store.Command)
	}
	s3Port, dir := "8333", ""
	for _, a := range store.Command {
		if v, ok := strings.CutPrefix(a, "-s3.port="); ok {
			s3Port = v
		}
		if v, ok := strings.CutPrefix(a, "-dir="); ok {
			dir = v
		}
	}
	data := ""
	for _, v := range store.Volumes {
		if v.Type == types.VolumeTypeVolume && dir != "" && strings.HasPrefix(dir+"/", strings.TrimSuffix(v.Target, "/")+"/") {
			data = v.Source
		}
	}
	if data == "" {
		t.Errorf("objectstore: -dir is not on a named volume (volumes %v)", store.Volumes)
	} else if _, ok := p.Volumes[data]; !ok {
		t.Errorf("objectstore: volume %s is not declared", data)
	}
	if store.HealthCheck == nil || !strings.Contains(strings.Join(store.HealthCheck.Test, " "), ":"+s3Port+"/healthz") {
		t.Errorf("objectstore: health check %v, want the S3 port's /healthz", store.HealthCheck)
	}
	if store.Restart != types.RestartPolicyUnlessStopped {
		t.Errorf("objectstore: restart %q, want unless-stopped", store.Restart)
	}
	// Its identities file is the secret it is given.
	cfg := ""
	for _, a := range store.Command {
		if v, ok := strings.CutPrefix(a, "-s3.config="); ok {
			cfg = v
		}
	}
	if cfg != "/run/secrets/objectstore_identities" || !slices.ContainsFunc(store.Secrets, func(s types.ServiceSecretConfig) bool { return s.Source == "objectstore_identities" }) {
		t.Errorf("objectstore: -s3.config=%q, want the mounted secret objectstore_identities", cfg)
	}

	init := service(t, p, "objectstore-init")
	if init.Restart != "" && init.Restart != types.RestartPolicyNo {
		t.Errorf("objectstore-init: restart %q, want no (one shot)", init.Restart)
	}
	if c := init.DependsOn["objectstore"].Condition; c != types.ServiceConditionHealthy {
		t.Errorf("objectstore-init: depends on objectstore with %q, want service_healthy", c)
	}
	if !strings.HasPrefix(init.Image, "amazon/aws-cli:") || strings.HasSuffix(init.Image, ":latest") {
		t.Errorf("objectstore-init: image %q, want amazon/aws-cli pinned to a release", init.Image)
	}
	script := ""
	for _, c := range init.Configs {
		if slices.Contains(init.Entrypoint, c.Target) {
			script = p.Configs[c.Source].File
		}
	}
	if script == "" {
		t.Fatalf("objectstore-init: entrypoint %q runs no script mounted from configs %v", init.Entrypoint, init.Configs)
	}
	initEnv := envOf(init)
	bucket, ep, q := blobURLParts(t, "objectstore-init", initEnv["ACCORD_BLOB_URL"])
	if ep.Hostname() != "objectstore" || ep.Port() != s3Port || ep.Scheme != "http" {
		t.Errorf("objectstore-init: endpoint %s, want http://objectstore:%s", ep, s3Port)
	}
	if q.Get("use_path_style") != "true" || q.Get("region") == "" {
		t.Errorf("objectstore-init: ACCORD_BLOB_URL %q wants use_path_style=true and a region", initEnv["ACCORD_BLOB_URL"])
	}
	if q.Get("disable_https") != "true" {
		t.Errorf("objectstore-init: ACCORD_BLOB_URL over http wants disable_https=true")
	}

	for name, s := range p.Services {
		env := envOf(s)
		if !usesBlobs[name] {
			if env["ACCORD_BLOB_URL"] != "" && name != "objectstore-init" {
				t.Errorf("%s: has ACCORD_BLOB_URL but keeps no files", name)
			}
			continue
		}
		if env["ACCORD_BLOB_URL"] != initEnv["ACCORD_BLOB_URL"] {
			t.Errorf("%s: ACCORD_BLOB_URL %q, but the bucket job creates %q", name, env["ACCORD_BLOB_URL"], initEnv["ACCORD_BLOB_URL"])
		}
		creds := env["AWS_SHARED_CREDENTIALS_FILE"]
		if creds != "/run/secrets/blob_credentials" || !slices.ContainsFunc(s.Secrets, func(s types.ServiceSecretConfig) bool { return s.Source == "blob_credentials" }) {
			t.Errorf("%s: AWS_SHARED_CREDENTIALS_FILE=%q, want the mounted secret blob_credentials", name, creds)
		}
	}
	if initEnv["AWS_SHARED_CREDENTIALS_FILE"] != "/run/secrets/blob_credentials" {
		t.Errorf("objectstore-init: AWS_SHARED_CREDENTIALS_FILE=%q, want the mounted secret blob_credentials", initEnv["AWS_SHARED_CREDENTIALS_FILE"])
	}

	t.Run("bucket job", func(t *testing.T) {
		testCreateBucket(t, script, initEnv["ACCORD_BLOB_URL"], bucket, ep.String())
	})
}

// testCreateBucket runs the bucket job's script with an aws command that
// logs its arguments: first with no bucket there (it must create the one
// the URL names, on the endpoint it names), then with the bucket there (it
// must leave it), then with a store that never answers (it must fail).
func testCreateBucket(t *testing.T, script, blobURL, bucket, endpoint string) {
	for _, tc := range []struct {
		name, stub string
		fail       bool
		want       string
	}{
		{"creates the bucket", `case "$*" in *head-bucket*) [ -e "$STUB_DIR/made" ] ;; *create-bucket*) touch "$STUB_DIR/made" ;; esac`, false,
			"list-buckets\nhead-bucket --bucket B\ncreate-bucket --bucket B\nhead-bucket --bucket B\n"},
		{"finds the bucket", `true`, false, "list-buckets\nhead-bucket --bucket B\n"},
		{"fails without a store", `case "$*" in *list-buckets*) exit 1 ;; esac`, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := "#!/bin/sh\n" +
				`[ "$1 $2" = "--endpoint-url $WANT_ENDPOINT" ] || { echo "endpoint $2" >&2; exit 9; }` + "\n" +
				`[ "$AWS_REGION" = us-east-1 ] || { echo "region $AWS_REGION" >&2; exit 9; }` + "\n" +
				"shift 2\n" + `echo "${2:-} ${3:-} ${4:-}" | sed 's/ *$//' >>"$STUB_DIR/log"` + "\n" +
				// sleep is stubbed too: the retries take no time.
				tc.stub + "\n"
			if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sleep"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", script)
			cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "STUB_DIR=" + dir, "WANT_ENDPOINT=" + endpoint, "ACCORD_BLOB_URL=" + blobURL}
			out, err := cmd.CombinedOutput()
			if tc.fail {
				if err == nil {
					t.Fatalf("exits 0 with no store answering:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			if want := strings.ReplaceAll(tc.want, " B\n", " "+bucket+"\n"); string(log) != want {
				t.Errorf("aws calls:\n%s\nwant:\n%s", log, want)
			}
		})
	}
}
