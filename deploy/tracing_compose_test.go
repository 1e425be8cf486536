package deploy

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/accordchat/accord/platform/tracing"
)

// TestComposeTracingProfile checks the tracing backend in docker-compose.yml:
// off by default (no jaeger, no exporter in any process), and with the
// tracing profile and the documented endpoint a Jaeger on the backend
// network that every service and the gateway export to.
func TestComposeTracingProfile(t *testing.T) {
	{
		p := loadCompose(t)
		if _, ok := p.Services["jaeger"]; ok {
			t.Error("jaeger runs without the tracing profile")
		}
		for _, name := range append(slices.Clone(appServices), "gateway") {
			env := envOf(service(t, p, name))
			if tracing.Enabled(func(k string) string { return env[k] }) {
				t.Errorf("%s: exports traces by default", name)
			}
		}
	}

	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	const endpoint = "http://jaeger:4318"
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint}),
		cli.WithProfiles([]string{"tracing"}),
		cli.WithInterpolation(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := service(t, p, "jaeger")
	if _, ok := j.Networks["backend"]; !ok {
		t.Error("jaeger is not on the backend network, where the services are")
	}
	for _, pc := range j.Ports {
		if pc.HostIP != "127.0.0.1" {
			t.Errorf("jaeger publishes %s on %q, want loopback only", pc.Published, pc.HostIP)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() != j.Name {
		t.Fatalf("endpoint %s does not name the jaeger service", endpoint)
	}
	for _, name := range append(slices.Clone(appServices), "gateway") {
		env := envOf(service(t, p, name))
		if !tracing.Enabled(func(k string) string { return env[k] }) || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != endpoint {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT=%q, want %s", name, env["OTEL_EXPORTER_OTLP_ENDPOINT"], endpoint)
		}
	}
}
