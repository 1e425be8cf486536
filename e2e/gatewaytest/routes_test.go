package gatewaytest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
)

// route is one HTTP binding of an RPC.
type route struct {
	method, path, rpc string
	body              bool
}

// protoRoutes walks the google.api.http options of every public service.
func protoRoutes(t *testing.T) []route {
	t.Helper()
	var out []route
	for _, fd := range []protoreflect.FileDescriptor{
		userv1.File_accord_user_v1_user_service_proto,
		serverv1.File_accord_server_v1_server_service_proto,
		eventsv1.File_accord_events_v1_event_service_proto,
		presencev1.File_accord_presence_v1_presence_service_proto,
		statsv1.File_accord_stats_v1_stats_service_proto,
		searchv1.File_accord_search_v1_search_service_proto,
	} {
		svcs := fd.Services()
		for i := range svcs.Len() {
			sd := svcs.Get(i)
			ms := sd.Methods()
			for j := range ms.Len() {
				md := ms.Get(j)
				rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				rules := append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...)
				for _, r := range rules {
					var method, path string
					switch p := r.GetPattern().(type) {
					case *annotations.HttpRule_Get:
						method, path = "GET", p.Get
					case *annotations.HttpRule_Post:
						method, path = "POST", p.Post
					case *annotations.HttpRule_Patch:
						method, path = "PATCH", p.Patch
					case *annotations.HttpRule_Put:
						method, path = "PUT", p.Put
					case *annotations.HttpRule_Delete:
						method, path = "DELETE", p.Delete
					default:
						t.Fatalf("%s: unsupported binding %v", md.FullName(), r)
					}
					out = append(out, route{method: method, path: path, rpc: string(md.FullName()), body: r.GetBody() != ""})
				}
			}
		}
	}
	if len(out) < 40 {
		t.Fatalf("only %d routes found in the protos", len(out))
	}
	return out
}

var param = regexp.MustCompile(`\{([a-z_]+)(=[^}]*)?\}`)

// TestOpenAPIListsEveryRoute checks /openapi.json against the protos.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	res, err := http.Get(sys.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Swagger string                                `json:"swagger"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.Swagger != "2.0" {
		t.Fatalf("swagger = %q, want 2.0", doc.Swagger)
	}
	var want, got []string
	for _, r := range protoRoutes(t) {
		want = append(want, r.method+" "+param.ReplaceAllString(r.path, "{$1}"))
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "patch", "put", "delete":
				got = append(got, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("openapi routes differ from the protos:\n got  %v\n want %v", got, want)
	}
	// The readable page lists them too.
	page, err := http.Get(sys.base + "/api")
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := page.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	for _, r := range protoRoutes(t) {
		if !strings.Contains(b.String(), param.ReplaceAllString(r.path, "{$1}")) {
			t.Errorf("/api lacks %s %s", r.method, r.path)
		}
	}
}

// TestEveryRouteNeedsAToken calls every HTTP route of the protos without a
// token: all but sign-up, sign-in and refresh answer 401.
func TestEveryRouteNeedsAToken(t *testing.T) {
	open := map[string]bool{
		"accord.user.v1.UserService.Register":     true,
		"accord.user.v1.UserService.Login":        true,
		"accord.user.v1.UserService.RefreshToken": true,
	}
	streaming := map[string]bool{
		"accord.events.v1.EventService.StreamEvents":       true,
		"accord.presence.v1.PresenceService.WatchPresence": true,
	}
	values := map[string]string{"report": "REPORT_ACTIVITY", "code": "abcdefgh12"}
	for _, r := range protoRoutes(t) {
		if open[r.rpc] {
			continue
		}
		path := param.ReplaceAllStringFunc(r.path, func(m string) string {
			name := param.FindStringSubmatch(m)[1]
			if v, ok := values[name]; ok {
				return v
			}
			return "0123456789abcdef01234567"
		})
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			var body any
			if r.body {
				body = "{}"
			}
			code, m := rest(t, r.method, path, "", body)
			if e, ok := m["error"].(obj); ok && streaming[r.rpc] {
				// Streaming routes answer newline-delimited JSON; their
				// errors are grpc-gateway's {"error": google.rpc.Status}.
				m = obj{"code": map[bool]string{true: "UNAUTHENTICATED"}[e["code"] == float64(16)]}
			}
			if code != http.StatusUnauthorized || str(m, "code") != "UNAUTHENTICATED" {
				t.Errorf("%s %s without a token = %d %v, want 401", r.method, path, code, m)
			}
		})
	}
}
