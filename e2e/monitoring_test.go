package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

// monitoringDir holds the Grafana dashboard and the Prometheus rules.
const monitoringDir = "../deploy/monitoring"

// exported is what the running suite exports: each metric family's type and
// label names (from the collectors' descriptions, so metrics without a
// sample yet count), and the label values seen after a scenario.
type exported struct {
	labels map[string][]string            // family -> variable label names
	types  map[string]dto.MetricType      // family -> type, for families with samples
	values map[string]map[string][]string // family -> label -> values seen
}

var descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

func scrape(t *testing.T, suiteReg *prometheus.Registry) exported {
	t.Helper()
	// The binaries (app.Run, the gateway's main) add the Go runtime and
	// process collectors to the suite's metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(suiteReg, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := exported{labels: map[string][]string{}, types: map[string]dto.MetricType{}, values: map[string]map[string][]string{}}
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the description %s", d)
		}
		var ls []string
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				ls = append(ls, l)
			}
		}
		e.labels[m[1]] = ls
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		e.types[f.GetName()] = f.GetType()
		vals := map[string][]string{}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !slices.Contains(vals[lp.GetName()], lp.GetValue()) {
					vals[lp.GetName()] = append(vals[lp.GetName()], lp.GetValue())
				}
			}
		}
		e.values[f.GetName()] = vals
	}
	return e
}

// family resolves a series name to its metric family: histograms export
// name_bucket, name_sum and name_count.
func (e exported) family(name string) (fam string, ok bool) {
	if _, ok := e.labels[name]; ok {
		return name, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suf)
		if t, ok := e.types[base]; cut && ok && (t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY) {
			return base, true
		}
	}
	return "", false
}

// selector is one vector selector of a PromQL expression.
type selector struct {
	metric   string
	matchers []matcher
}

type matcher struct{ label, op, value string }

var (
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{((?:"(?:[^"\\]|\\.)*"|[^{}"])*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	// Parts of an expression that name no metric: range and subquery
	// brackets, grouping and matching label lists, offsets, strings and
	// Grafana variables.
	noMetricRE = regexp.MustCompile(`\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|\boffset\s+\S+|"(?:[^"\\]|\\.)*"|\$\w+`)
	tokenRE    = regexp.MustCompile(`[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords   = []string{"and", "or", "unless", "bool", "inf", "nan"}
)

// selectors returns every vector selector in a PromQL expression, with the
// matchers written in braces. It reads the subset of PromQL the dashboard and
// rules use; a selector it cannot read fails the test rather than passing.
func selectors(t *testing.T, expr string) []selector {
	t.Helper()
	var out []selector
	rest := selectorRE.ReplaceAllStringFunc(expr, func(s string) string {
		m := selectorRE.FindStringSubmatch(s)
		sel := selector{metric: m[1]}
		body := matcherRE.ReplaceAllStringFunc(m[2], func(ms string) string {
			mm := matcherRE.FindStringSubmatch(ms)
			sel.matchers = append(sel.matchers, matcher{mm[1], mm[2], mm[3]})
			return ""
		})
		if strings.Trim(body, " ,\n") != "" {
			t.Errorf("%s: cannot read the matchers %q", expr, m[2])
		}
		if sel.metric == "" {
			t.Errorf("%s: a selector without a metric name", expr)
		}
		out = append(out, sel)
		return " "
	})
	rest = noMetricRE.ReplaceAllString(rest, " ")
	for _, m := range tokenRE.FindAllStringSubmatch(rest, -1) {
		tok := m[0]
		if m[1] != "" || tok[0] >= '0' && tok[0] <= '9' || slices.Contains(keywords, tok) {
			continue // a function or aggregation, a number, a keyword
		}
		out = append(out, selector{metric: tok})
	}
	if len(out) == 0 {
		t.Errorf("%s: no metric", expr)
	}
	return out
}

// rpcNames are the gRPC services and methods the suite serves.
func rpcNames() (services, methods map[string]bool) {
	services, methods = map[string]bool{}, map[string]bool{}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "accord.") {
			return true
		}
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			services[string(s.FullName())] = true
			for j := 0; j < s.Methods().Len(); j++ {
				methods[string(s.Methods().Get(j).Name())] = true
			}
		}
		return true
	})
	return services, methods
}

// valueOK tells whether a label of a family can take value: values the
// scenario produced, or values from the label's known domain.
func (e exported) valueOK(fam, label, value string) bool {
	if slices.Contains(e.values[fam][label], value) {
		return true
	}
	services, methods := rpcNames()
	switch label {
	case "service":
		return services[value]
	case "method":
		if strings.HasPrefix(fam, "accord_grpc_") {
			return methods[value]
		}
		return slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, value)
	case "code":
		if fam == "accord_gateway_websockets_closed_total" {
			n, err := strconv.Atoi(value)
			return value == "client" || err == nil && n >= 1000 && n <= 4999
		}
		if fam == "accord_gateway_http_requests_total" {
			n, err := strconv.Atoi(value)
			return err == nil && n >= 100 && n <= 599
		}
		for c := codes.OK; c <= codes.Unauthenticated; c++ {
			if c.String() == value {
				return true
			}
		}
	}
	return false
}

// literalAlternatives splits a regexp matcher into its alternatives when
// each is a plain string; otherwise it returns nil (not checked).
func literalAlternatives(re string) []string {
	alts := strings.Split(re, "|")
	for _, a := range alts {
		if regexp.QuoteMeta(a) != a {
			return nil
		}
	}
	return alts
}

// checkExpr checks that every metric, matcher label and literal matcher
// value in a PromQL expression is one the suite exports.
func (e exported) checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	var names []string
	for _, sel := range selectors(t, expr) {
		fam, ok := e.family(sel.metric)
		if !ok {
			t.Errorf("%s: %s is not exported by Accord (in %s)", where, sel.metric, expr)
			continue
		}
		names = append(names, fam)
		for _, m := range sel.matchers {
			if m.label == "le" && strings.HasSuffix(sel.metric, "_bucket") {
				continue
			}
			if !slices.Contains(e.labels[fam], m.label) {
				t.Errorf("%s: %s has no label %q (it has %v)", where, fam, m.label, e.labels[fam])
				continue
			}
			vals := []string{m.value}
			if m.op == "=~" || m.op == "!~" {
				vals = literalAlternatives(m.value)
			}
			for _, v := range vals {
				if !e.valueOK(fam, m.label, v) {
					t.Errorf("%s: %s{%s%s%q}: %q is no value %s takes (seen: %q)", where, fam, m.label, m.op, m.value, v, m.label, e.values[fam][m.label])
				}
			}
		}
	}
	return names
}

// TestMonitoringNamesExportedMetrics boots the suite, plays a send and a
// delivery through the gateway, and checks that the Grafana dashboard and
// the Prometheus alert rules in deploy/monitoring name only metrics, labels
// and label values the suite exports.
func TestMonitoringNamesExportedMetrics(t *testing.T) {
	s := suitetest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rest := client.NewREST(s.HTTP)
	acc, err := rest.Register(ctx, "watcher", "password-watcher")
	if err != nil {
		t.Fatal(err)
	}
	_, channelID, err := rest.CreateServer(ctx, acc.Token, "Observatory")
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := client.Dial(ctx, s.HTTP, client.DialOptions{Token: acc.Token})
	if err != nil {
		t.Fatal(err)
	}
	// A socket without cursors starts live: a message sent before its feed
	// reaches the stream is not replayed. Send until one is delivered.
	ws.Background(100)
	delivered := false
	for i := 0; !delivered && i < 10; i++ {
		if err := rest.Do(ctx, "POST", "/v1/channels/"+channelID+"/messages", acc.Token, map[string]string{"content": "hello " + strconv.Itoa(i)}, nil); err != nil {
			t.Fatal(err)
		}
		for !delivered {
			f, err := ws.Next(3 * time.Second)
			if errors.Is(err, client.ErrTimeout) {
				break
			}
			if err != nil {
				t.Fatalf("waiting for the message event: %v", err)
			}
			ev, err := client.DecodeEvent(f)
			delivered = f.Type == "event" && err == nil && ev.MessageCreated != nil
		}
	}
	if !delivered {
		t.Fatal("no message event reached the socket")
	}
	_ = ws.Close()
	// The gateway counts the close once the socket's goroutines end.
	platformtest.Eventually(t, 10*time.Second, func() bool {
		return slices.Contains(scrape(t, s.Registry).values["accord_gateway_websockets_closed_total"]["code"], "client")
	}, "the socket close is counted")
	e := scrape(t, s.Registry)

	used := map[string]bool{}
	t.Run("alert rules", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(monitoringDir, "alerts.yml"))
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Name  string `yaml:"name"`
				Rules []struct {
					Alert       string            `yaml:"alert"`
					Expr        string            `yaml:"expr"`
					For         string            `yaml:"for"`
					Labels      map[string]string `yaml:"labels"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&rules); err != nil {
			t.Fatalf("alerts.yml: %v", err)
		}
		n := 0
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				n++
				if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" {
					t.Errorf("%s: a rule needs alert, expr and a summary: %+v", g.Name, r)
				}
				if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
					t.Errorf("%s: severity %q, want critical or warning", r.Alert, sev)
				}
				if _, err := time.ParseDuration(r.For); r.For != "" && err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
				for _, name := range e.checkExpr(t, r.Alert, r.Expr) {
					used[name] = true
				}
			}
		}
		if n == 0 {
			t.Error("alerts.yml has no rules")
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(monitoringDir, "grafana-dashboard.json"))
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			UID    string `json:"uid"`
			Panels []struct {
				ID      int    `json:"id"`
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr  string `json:"expr"`
					RefID string `json:"refId"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Fatalf("grafana-dashboard.json: %v", err)
		}
		if dash.UID == "" {
			t.Error("the dashboard has no uid (links and provisioning need one)")
		}
		ids := map[int]bool{}
		graphs := 0
		for _, p := range dash.Panels {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			graphs++
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				for _, name := range e.checkExpr(t, "panel "+strconv.Quote(p.Title), q.Expr) {
					used[name] = true
				}
			}
		}
		if graphs == 0 {
			t.Error("the dashboard has no panels")
		}
	})

	// What the issue asks to watch: delivery latency, sockets, send rate
	// and errors, feed lag, outbox depth, presence sessions.
	for _, want := range []string{
		"accord_gateway_websockets_open", "accord_gateway_events_delivered_total",
		"accord_grpc_server_handled_total", "accord_grpc_server_handling_seconds",
		"accord_gateway_http_requests_total", "accord_gateway_upstream_errors_total",
		"accord_gateway_delivery_latency_seconds", "accord_server_feed_lag_seconds",
		"accord_server_outbox_messages", "accord_presence_sessions",
	} {
		if !used[want] {
			t.Errorf("neither the dashboard nor the alerts watch %s", want)
		}
	}
	if t.Failed() {
		t.Logf("exported: %v", slices.Sorted(maps.Keys(e.labels)))
	}
}

// TestPromQLSelectors pins the expression reader on the shapes the
// monitoring files use.
func TestPromQLSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum(accord_gateway_websockets_open)`, []string{"accord_gateway_websockets_open"}},
		{`histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{route="/v1/{a}", method="POST"}[$__rate_interval])))`, []string{"x_bucket"}},
		{`a > 0 and sum(b offset 10m) > 100 or c{code=~"1|2"} / d`, []string{"c", "a", "b", "d"}},
		{`absent(up)`, []string{"up"}},
	} {
		var got []string
		for _, s := range selectors(t, tc.expr) {
			got = append(got, s.metric)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("selectors(%s) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
