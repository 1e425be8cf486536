package deploy

import (
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo/options"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/accordchat/accord/platform/config"
)

// The Secrets that deploy/k8s expects to be created out of band (they hold
// credentials and are never committed), with the keys the pods read.
var externalSecrets = map[string][]string{
	"accord-signing-key": {"signing_key.pem"},
	"accord-keys":        {"verify_key.pem", "service_key.pem"},
	"accord-datastores":  {"mongo-uri", "redis-url", "blob-url", "blob-access-key-id", "blob-secret-access-key"},
}

// signingKeyUsers are the components that load the private key signing user
// tokens: the user service alone, which issues them (platform/app refuses
// to start any other service that is given it). Every service loads the
// public verify key and the service key; the gateway holds the service
// key alone (its shared event feed calls the server service with it).
var signingKeyUsers = map[string]bool{"user": true}

// statefulComponents keep local state on a volume of their own per replica:
// search's index under ACCORD_DATA_DIR (docs/search.md). They are
// StatefulSets; the others are Deployments.
var statefulComponents = map[string]bool{"search": true}

// k8sComponents are the workloads every overlay must have.
var k8sComponents = append(slices.Clone(appServices), "gateway")

// workload is what the checks need of a Deployment or a StatefulSet.
type workload struct {
	kind, name string
	replicas   *int32
	selector   *metav1.LabelSelector
	template   corev1.PodTemplateSpec
	claims     []corev1.PersistentVolumeClaim
}

// k8sObjects is one built overlay, decoded into the Kubernetes API types.
type k8sObjects struct {
	workloads  map[string]*workload
	services   map[string]*corev1.Service
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	pdbs       []*policyv1.PodDisruptionBudget
	hpas       []*autoscalingv2.HorizontalPodAutoscaler
}

// buildOverlay runs kustomize on dir as `kubectl kustomize` does and decodes
// every object strictly: a field the API type does not have fails.
func buildOverlay(t *testing.T, dir string) *k8sObjects {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := &k8sObjects{
		workloads: map[string]*workload{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
	}
	for _, r := range m.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(b, &tm); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			obj = d
			defer func() {
				o.workloads[d.Name] = &workload{kind: "Deployment", name: d.Name, replicas: d.Spec.Replicas, selector: d.Spec.Selector, template: d.Spec.Template}
			}()
		case "apps/v1 StatefulSet":
			st := &appsv1.StatefulSet{}
			obj = st
			defer func() {
				o.workloads[st.Name] = &workload{kind: "StatefulSet", name: st.Name, replicas: st.Spec.Replicas, selector: st.Spec.Selector, template: st.Spec.Template, claims: st.Spec.VolumeClaimTemplates}
			}()
		case "v1 Service":
			s := &corev1.Service{}
			obj = s
			defer func() { o.services[s.Name] = s }()
		case "v1 ConfigMap":
			c := &corev1.ConfigMap{}
			obj = c
			defer func() { o.configMaps[c.Name] = c }()
		case "v1 Secret":
			s := &corev1.Secret{}
			obj = s
			defer func() { o.secrets[s.Name] = s }()
		case "policy/v1 PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			obj = p
			o.pdbs = append(o.pdbs, p)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			obj = h
			o.hpas = append(o.hpas, h)
		default:
			t.Errorf("%s: %s %s: a kind this test does not check", dir, tm.APIVersion, tm.Kind)
			continue
		}
		if err := yaml.UnmarshalStrict(b, obj); err != nil {
			t.Errorf("%s: %s %s: %v", dir, tm.Kind, r.GetName(), err)
		}
	}
	return o
}

// overlays lists deploy/k8s/overlays/*.
func overlays(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "k8s", "overlays", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "kustomization.yaml")); err == nil {
			out = append(out, d)
		}
	}
	if len(out) < 2 {
		t.Fatalf("overlays %v: want one per environment (dev, production)", out)
	}
	return out
}

// containerEnv resolves a container's environment the way the kubelet does
// (envFrom, then env); values from a Secret created out of band are
// placeholders of the right shape. It fails on a reference to a missing
// ConfigMap, Secret or key.
func (o *k8sObjects) containerEnv(t *testing.T, who string, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, ok := o.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not in the build", who, ef.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				env[ef.Prefix+k] = v
			}
		default:
			t.Errorf("%s: envFrom %+v: only ConfigMaps are expected", who, ef)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			env[e.Name] = o.secretValue(t, who, ref.Name, ref.Key)
		default:
			t.Errorf("%s: %s: unexpected valueFrom %+v", who, e.Name, e.ValueFrom)
		}
	}
	return env
}

// secretValue returns a key of a Secret in the build, or a placeholder for
// a Secret created out of band.
func (o *k8sObjects) secretValue(t *testing.T, who, name, key string) string {
	if s, ok := o.secrets[name]; ok {
		if v, ok := s.StringData[key]; ok {
			return v
		}
		if v, ok := s.Data[key]; ok {
			return string(v)
		}
		t.Errorf("%s: Secret %s has no key %q", who, name, key)
		return ""
	}
	keys, ok := externalSecrets[name]
	if !ok || !slices.Contains(keys, key) {
		t.Errorf("%s: Secret %s key %q is neither in the build nor an expected external Secret", who, name, key)
		return ""
	}
	switch key {
	case "mongo-uri":
		return "mongodb://db1.example:27017,db2.example:27017/?replicaSet=rs0"
	case "redis-url":
		return "redis://redis.example:6379/0"
	case "blob-url":
		return "s3://accord?region=eu-west-1"
	}
	return "placeholder"
}

// peerAddr is the address a role's clients dial, from a loaded config.
func peerAddr(cfg config.Config, role string) string {
	return map[string]string{"user": cfg.UserAddr, "server": cfg.ServerAddr, "presence": cfg.PresenceAddr, "stats": cfg.StatsAddr, "search": cfg.SearchAddr}[role]
}

// containerPort resolves a probe's or Service's port (a number or a name)
// to the container's port number, or 0.
func containerPort(c corev1.Container, p intstr.IntOrString) int32 {
	for _, cp := range c.Ports {
		if (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) || (p.Type == intstr.String && cp.Name == p.StrVal) {
			return cp.ContainerPort
		}
	}
	return 0
}

func portOf(t *testing.T, who, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: address %q: %v", who, addr, err)
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Errorf("%s: address %q: %v", who, addr, err)
	}
	return int32(n)
}

// selects tells whether a label selector picks the workload's pods.
func selects(t *testing.T, sel *metav1.LabelSelector, d *workload) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("selector %v: %v", sel, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(d.template.Labels))
}

// TestKubernetesOverlays builds every overlay in deploy/k8s with the
// kustomize library, decodes each object strictly into the Kubernetes API
// types, and checks the topology: each component reachable at the address
// the others dial, probes and Services on ports the binaries listen on, the
// keys and datastore credentials only where they are used, search's index on
// a volume per replica, and a PodDisruptionBudget and a CPU autoscaler for
// every workload.
func TestKubernetesOverlays(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			o := buildOverlay(t, dir)
			checkOverlay(t, o)
		})
	}
}

func checkOverlay(t *testing.T, o *k8sObjects) {
	var names []string
	for n := range o.workloads {
		names = append(names, n)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(k8sComponents))
	if !slices.Equal(names, want) {
		t.Fatalf("Deployments %v, want %v", names, want)
	}

	// Load each component's configuration from its resolved environment
	// with the binaries' own loader.
	cfgs := map[string]config.Config{}
	envs := map[string]map[string]string{}
	for _, name := range k8sComponents {
		d := o.workloads[name]
		if len(d.template.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", name, len(d.template.Spec.Containers))
		}
		env := o.containerEnv(t, name, d.template.Spec.Containers[0])
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		cfgs[name], envs[name] = cfg, env
		// A service with a MongoDB store must use it: the SQLite default
		// would write to the pod's read-only filesystem.
		if name != "gateway" && usesMongo[name] && cfg.Store != config.StoreMongo {
			t.Errorf("%s: store %q, want %s (ACCORD_STORE, or ACCORD_MONGO_URI set)", name, cfg.Store, config.StoreMongo)
		}
	}

	t.Run("images and pods", func(t *testing.T) {
		for _, name := range k8sComponents {
			d := o.workloads[name]
			ps := d.template.Spec
			c := ps.Containers[0]
			if repo, _, _ := strings.Cut(c.Image, ":"); repo != "accord/"+name {
				t.Errorf("%s: image %q, want accord/%s:<tag> (a Dockerfile target)", name, c.Image, name)
			}
			if !selects(t, d.selector, d) {
				t.Errorf("%s: the selector does not match the pod template", name)
			}
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: want a read-only root filesystem and no privilege escalation", name)
			}
			if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
				t.Errorf("%s: want runAsNonRoot (the images run as uid 65532)", name)
			}
			req, lim := c.Resources.Requests, c.Resources.Limits
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				q, ok := req[r]
				l, lok := lim[r]
				if !ok || !lok || q.IsZero() {
					t.Errorf("%s: want a %s request and limit, got requests %v limits %v", name, r, req, lim)
				} else if q.Cmp(l) > 0 {
					t.Errorf("%s: %s request %s above its limit %s", name, r, q.String(), l.String())
				}
			}
			if ps.TerminationGracePeriodSeconds == nil || float64(*ps.TerminationGracePeriodSeconds) <= cfgs[name].ShutdownTimeout.Seconds()+preStopSeconds(c) {
				t.Errorf("%s: terminationGracePeriodSeconds must exceed the preStop pause plus ACCORD_SHUTDOWN_TIMEOUT (%s)", name, cfgs[name].ShutdownTimeout)
			}
		}
	})

	t.Run("listen ports and probes", func(t *testing.T) {
		for _, name := range k8sComponents {
			c := o.workloads[name].template.Spec.Containers[0]
			cfg := cfgs[name]
			// What the binary serves, by port: gRPC (with grpc.health.v1)
			// and HTTP paths.
			grpcPort := int32(0)
			httpPaths := map[int32][]string{}
			if name == "gateway" {
				httpPaths[portOf(t, name, cfg.HTTPAddr)] = []string{"/healthz", "/metrics", "/openapi.json", "/api"}
			} else {
				grpcPort = portOf(t, name, cfg.ListenFor(peerAddr(cfg, name)))
				m := cfg.MetricsFor(peerAddr(cfg, name))
				if m == "" {
					t.Errorf("%s: metrics are off; the readiness probe and Prometheus need them", name)
				} else {
					httpPaths[portOf(t, name, m)] = []string{"/healthz", "/metrics"}
				}
			}
			declared := map[int32]bool{}
			for _, p := range c.Ports {
				declared[p.ContainerPort] = true
			}
			if grpcPort != 0 && !declared[grpcPort] {
				t.Errorf("%s: listens for gRPC on %d, not a container port", name, grpcPort)
			}
			for p := range httpPaths {
				if !declared[p] {
					t.Errorf("%s: serves HTTP on %d, not a container port", name, p)
				}
			}
			for _, pr := range []struct {
				kind  string
				probe *corev1.Probe
			}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}, {"startup", c.StartupProbe}} {
				if pr.probe == nil {
					if pr.kind != "startup" {
						t.Errorf("%s: no %s probe", name, pr.kind)
					}
					continue
				}
				switch h := pr.probe.ProbeHandler; {
				case h.GRPC != nil:
					if h.GRPC.Port != grpcPort || grpcPort == 0 {
						t.Errorf("%s: %s probe asks gRPC health on %d, the binary serves gRPC on %d", name, pr.kind, h.GRPC.Port, grpcPort)
					}
				case h.HTTPGet != nil:
					p := containerPort(c, h.HTTPGet.Port)
					if !slices.Contains(httpPaths[p], h.HTTPGet.Path) {
						t.Errorf("%s: %s probe GET %s on port %v (%d): the binary serves %v there", name, pr.kind, h.HTTPGet.Path, h.HTTPGet.Port.String(), p, httpPaths[p])
					}
				default:
					t.Errorf("%s: %s probe: want gRPC health or an HTTP GET", name, pr.kind)
				}
			}
			if r := c.ReadinessProbe; r != nil && (r.HTTPGet == nil || r.HTTPGet.Path != "/healthz") {
				t.Errorf("%s: readiness must follow /healthz (it turns 503 when the process drains)", name)
			}
		}
	})

	t.Run("services", func(t *testing.T) {
		for sname, s := range o.services {
			if s.Spec.Type == corev1.ServiceTypeExternalName {
				continue
			}
			var picked []string
			for _, d := range o.workloads {
				if selects(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d) {
					picked = append(picked, d.name)
				}
			}
			if len(picked) != 1 {
				t.Errorf("Service %s selects Deployments %v, want exactly one", sname, picked)
				continue
			}
			c := o.workloads[picked[0]].template.Spec.Containers[0]
			for _, p := range s.Spec.Ports {
				cp := containerPort(c, p.TargetPort)
				if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
					cp = containerPort(c, intstr.FromInt32(p.Port))
				}
				if cp == 0 {
					t.Errorf("Service %s port %s: target %s is not a port of %s", sname, p.Name, p.TargetPort.String(), picked[0])
				}
				// A headless Service's DNS names the pods: clients connect
				// to the Service port on the pod itself.
				if s.Spec.ClusterIP == corev1.ClusterIPNone && cp != p.Port {
					t.Errorf("headless Service %s: port %d, but the pods listen on %d", sname, p.Port, cp)
				}
			}
		}
		for _, name := range k8sComponents {
			if _, ok := o.services[name]; !ok {
				t.Errorf("no Service for %s", name)
			}
		}
	})

	t.Run("peers reachable by the names the others dial", func(t *testing.T) {
		for _, name := range k8sComponents {
			for _, role := range appServices {
				addr := peerAddr(cfgs[name], role)
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					t.Errorf("%s: %s=%q: %v", name, peerEnv[role], addr, err)
					continue
				}
				port := portOf(t, name, addr)
				s, ok := o.services[host]
				if !ok {
					t.Errorf("%s: %s=%s: no Service %q", name, peerEnv[role], addr, host)
					continue
				}
				target := o.workloads[role]
				if !selects(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, target) {
					t.Errorf("%s: %s=%s: Service %s does not select the %s pods", name, peerEnv[role], addr, host, role)
				}
				// Client-side round robin needs every pod's address.
				if s.Spec.ClusterIP != corev1.ClusterIPNone {
					t.Errorf("Service %s: want headless (clusterIP: None) so gRPC clients balance over the pods", host)
				}
				tc := cfgs[role]
				if listen := portOf(t, role, tc.ListenFor(peerAddr(tc, role))); listen != port {
					t.Errorf("%s dials %s at %s, but %s listens on %d", name, role, addr, role, listen)
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port }) {
					t.Errorf("%s: %s=%s: Service %s has no port %d", name, peerEnv[role], addr, host, port)
				}
			}
		}
	})

	t.Run("keys only where they are loaded", func(t *testing.T) {
		for _, name := range k8sComponents {
			ps := o.workloads[name].template.Spec
			c := ps.Containers[0]
			// The files mounted from Secrets, by path: "<secret>/<key>".
			mounted := map[string]string{}
			for _, v := range ps.Volumes {
				if v.Secret == nil {
					continue
				}
				// The gateway mounts accord-keys too, for the service key
				// alone (checked below).
				keyHolder := slices.Contains(appServices, name) || name == "gateway" && v.Secret.SecretName == "accord-keys"
				if _, ok := externalSecrets[v.Secret.SecretName]; !ok || v.Secret.SecretName == "accord-datastores" || !keyHolder {
					t.Errorf("%s: has a volume of Secret %s", name, v.Secret.SecretName)
				}
				if v.Secret.SecretName == "accord-signing-key" && !signingKeyUsers[name] {
					t.Errorf("%s: has a volume of the signing key, which only %v may hold", name, slices.Sorted(maps.Keys(signingKeyUsers)))
				}
				for _, m := range c.VolumeMounts {
					if m.Name != v.Name {
						continue
					}
					if !m.ReadOnly {
						t.Errorf("%s: Secret %s is mounted writable", name, v.Secret.SecretName)
					}
					for _, it := range v.Secret.Items {
						mounted[filepath.Join(m.MountPath, it.Path)] = v.Secret.SecretName + "/" + it.Key
					}
				}
			}
			service := slices.Contains(appServices, name)
			for _, k := range []struct {
				env, from string
				want      bool
			}{
				{"ACCORD_SIGNING_KEY_FILE", "accord-signing-key/signing_key.pem", signingKeyUsers[name]},
				{"ACCORD_VERIFY_KEY_FILE", "accord-keys/verify_key.pem", service},
				{"ACCORD_SERVICE_KEY_FILE", "accord-keys/service_key.pem", service || name == "gateway"},
			} {
				file := envs[name][k.env]
				has := slices.Contains(slices.Collect(maps.Values(mounted)), k.from)
				switch {
				case !k.want && (has || file != ""):
					t.Errorf("%s: gets %s (%s=%q) but must not", name, k.from, k.env, file)
				case k.want && mounted[file] != k.from:
					t.Errorf("%s: %s=%q, but %s is mounted at %v", name, k.env, file, k.from, mounted)
				}
			}
		}
	})

	t.Run("local state on a volume per replica", func(t *testing.T) {
		for _, name := range k8sComponents {
			w := o.workloads[name]
			want := "Deployment"
			if statefulComponents[name] {
				want = "StatefulSet"
			}
			if w.kind != want {
				t.Errorf("%s: a %s, want a %s", name, w.kind, want)
				continue
			}
			if !statefulComponents[name] {
				continue
			}
			// The data folder must be a claim of the StatefulSet's own,
			// writable, so the index and its replica id survive the pod.
			dir := cfgs[name].DataDir
			c := w.template.Spec.Containers[0]
			i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
			if !filepath.IsAbs(dir) || i < 0 {
				t.Errorf("%s: ACCORD_DATA_DIR=%q is not a mounted volume", name, dir)
				continue
			}
			m := c.VolumeMounts[i]
			if m.ReadOnly {
				t.Errorf("%s: the data volume is mounted read-only", name)
			}
			if !slices.ContainsFunc(w.claims, func(pvc corev1.PersistentVolumeClaim) bool {
				return pvc.Name == m.Name && slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOnce) && !pvc.Spec.Resources.Requests.Storage().IsZero()
			}) {
				t.Errorf("%s: the data volume %s is no ReadWriteOnce volumeClaimTemplate with a size", name, m.Name)
			}
			if slices.ContainsFunc(w.template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
				t.Errorf("%s: the data volume %s is a pod volume, shared or lost with the pod; want a claim per replica", name, m.Name)
			}
		}
	})

	t.Run("datastores only where they are used", func(t *testing.T) {
		for _, name := range k8sComponents {
			env := envs[name]
			for _, e := range o.workloads[name].template.Spec.Containers[0].Env {
				if e.Value != "" && secretReason(e.Name, e.Value) != "" {
					t.Errorf("%s: %s looks like a secret in plain text", name, e.Name)
				}
			}
			mongoURI, redisURL := env["ACCORD_MONGO_URI"], env["ACCORD_REDIS_URL"]
			if got := mongoURI != ""; got != (name != "gateway" && usesMongo[name]) {
				t.Errorf("%s: ACCORD_MONGO_URI set %v, uses MongoDB %v", name, got, usesMongo[name])
			}
			if got := redisURL != ""; got != (name != "gateway") {
				t.Errorf("%s: ACCORD_REDIS_URL set %v, want it on every service and not on the gateway", name, got)
			}
			if mongoURI != "" {
				mo := options.Client().ApplyURI(mongoURI)
				if err := mo.Validate(); err != nil {
					t.Errorf("%s: ACCORD_MONGO_URI: %v", name, err)
				}
				o.checkHosts(t, name, mo.Hosts)
			}
			// The object store: where files are kept, a bucket URL of the
			// s3 driver; its key pair only from the Secret.
			blobURL := env["ACCORD_BLOB_URL"]
			if got := blobURL != ""; got != usesBlobs[name] {
				t.Errorf("%s: ACCORD_BLOB_URL set %v, keeps files %v", name, got, usesBlobs[name])
			}
			if blobURL != "" {
				u, err := url.Parse(blobURL)
				if err != nil || u.Scheme != "s3" || u.Host == "" {
					t.Errorf("%s: ACCORD_BLOB_URL %q: want s3://<bucket>?...", name, blobURL)
				} else if ep := u.Query().Get("endpoint"); ep != "" {
					eu, err := url.Parse(ep)
					if err != nil || eu.Host == "" {
						t.Errorf("%s: ACCORD_BLOB_URL endpoint %q is not a URL", name, ep)
					} else {
						o.checkHosts(t, name, []string{eu.Host})
					}
				}
			}
			for _, e := range o.workloads[name].template.Spec.Containers[0].Env {
				if strings.HasPrefix(e.Name, "AWS_") && strings.Contains(e.Name, "KEY") && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
					t.Errorf("%s: %s is not from a Secret", name, e.Name)
				}
			}
			if redisURL != "" {
				u, err := url.Parse(redisURL)
				if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
					t.Errorf("%s: ACCORD_REDIS_URL %q: want redis:// or rediss://", name, redisURL)
				} else {
					o.checkHosts(t, name, []string{u.Host})
				}
			}
		}
	})

	t.Run("disruption budgets and autoscalers", func(t *testing.T) {
		for _, name := range k8sComponents {
			d := o.workloads[name]
			var pdbs []string
			for _, p := range o.pdbs {
				if selects(t, p.Spec.Selector, d) {
					pdbs = append(pdbs, p.Name)
					if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
						t.Errorf("PDB %s: neither maxUnavailable nor minAvailable", p.Name)
					}
					// minAvailable equal to the replicas would block every
					// node drain; maxUnavailable 1 never does.
					if p.Spec.MinAvailable != nil && d.replicas != nil && p.Spec.MinAvailable.IntValue() >= int(*d.replicas) {
						t.Errorf("PDB %s: minAvailable %s blocks draining %d replicas", p.Name, p.Spec.MinAvailable.String(), *d.replicas)
					}
				}
			}
			if len(pdbs) != 1 {
				t.Errorf("%s: PodDisruptionBudgets %v, want one", name, pdbs)
			}
			var hpas []*autoscalingv2.HorizontalPodAutoscaler
			for _, h := range o.hpas {
				if r := h.Spec.ScaleTargetRef; r.Kind == d.kind && r.APIVersion == "apps/v1" && r.Name == name {
					hpas = append(hpas, h)
				}
			}
			if len(hpas) != 1 {
				t.Errorf("%s: %d autoscalers, want one", name, len(hpas))
				continue
			}
			h := hpas[0]
			if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
				t.Errorf("%s: autoscaler replicas %v..%d", name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
			}
			if d.replicas != nil && h.Spec.MinReplicas != nil && *d.replicas < *h.Spec.MinReplicas {
				t.Errorf("%s: %d replicas, below the autoscaler's minimum %d", name, *d.replicas, *h.Spec.MinReplicas)
			}
			cpu := slices.ContainsFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
				return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
					m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil
			})
			if !cpu {
				t.Errorf("%s: the autoscaler does not scale on CPU utilization", name)
			}
		}
	})
}

// checkHosts: datastore hosts that are bare names must be Services of the
// build (the dev overlay's ExternalName pointers); qualified names are
// outside the cluster or the namespace.
func (o *k8sObjects) checkHosts(t *testing.T, who string, hosts []string) {
	t.Helper()
	for _, h := range hosts {
		host, _, err := net.SplitHostPort(h)
		if err != nil {
			host = h
		}
		if strings.Contains(host, ".") {
			continue
		}
		s, ok := o.services[host]
		if !ok {
			t.Errorf("%s: datastore host %q is no Service of the build", who, host)
		} else if s.Spec.Type != corev1.ServiceTypeExternalName || s.Spec.ExternalName == "" {
			t.Errorf("%s: datastore Service %s: want an ExternalName pointer", who, host)
		}
	}
}

// preStopSeconds is how long a container's preStop hook pauses.
func preStopSeconds(c corev1.Container) float64 {
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		return float64(c.Lifecycle.PreStop.Sleep.Seconds)
	}
	return 0
}
