package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	statsv1 "github.com/accordchat/accord/gen/accord/stats/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/platformtest"
)

func TestRESTRefusesBadInputAtTheEdge(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newFakeWorld(t, WSOptions{}, func(o *Options) { o.Registry = reg })
	base := fw.srv.URL
	tok := fw.env.UserToken(platformtest.NewID())
	id := platformtest.NewID()

	for _, tc := range []struct {
		name, method, path, token, body string
		field, reason                   string
	}{
		{"path parameter not UTF-8", "GET", "/v1/servers/%FF", tok, "", "server_id", "INVALID_ARGUMENT"},
		{"path parameter not UTF-8 without a token", "GET", "/v1/servers/%C3%28", "", "", "server_id", "INVALID_ARGUMENT"},
		{"query parameter not UTF-8", "GET", "/v1/servers?page_token=%FF%FE", tok, "", "page_token", "INVALID_ARGUMENT"},
		{"query parameter of a body route not UTF-8", "DELETE", "/v1/servers/" + id + "?x=%FF", tok, "", "x", "INVALID_ARGUMENT"},
		{"trailing text after the body", "POST", "/v1/servers", tok, `{"name":"a"} trailing`, "", "MALFORMED_REQUEST"},
		{"two JSON values", "POST", "/v1/servers", tok, `{"name":"first"}{"name":"second"}`, "", "MALFORMED_REQUEST"},
		{"a value after white space", "POST", "/v1/servers", tok, "{\"name\":\"a\"}\n\n[]", "", "MALFORMED_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := httpDo(t, tc.method, base+tc.path, tc.token, tc.body)
			if res.StatusCode != 400 {
				t.Fatalf("status = %d, want 400; body %s", res.StatusCode, b)
			}
			e := decodeError(t, b)
			if e.Code != "INVALID_ARGUMENT" || e.Field != tc.field || e.Reason != tc.reason {
				t.Errorf("error = %+v, want field %q reason %s", e, tc.field, tc.reason)
			}
			if tc.field != "" && !strings.Contains(e.Message, tc.field) {
				t.Errorf("message %q does not name %s", e.Message, tc.field)
			}
		})
	}
	if n := testutil.CollectAndCount(reg, "accord_gateway_upstream_errors_total"); n != 0 {
		t.Errorf("bad input counted as %d upstream error series", n)
	}

	t.Run("one JSON value with white space around it is fine", func(t *testing.T) {
		res, b := httpDo(t, "POST", base+"/v1/servers", tok, " \n{\"name\":\"Guild\"}\n ")
		if res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
	})
}

func TestRESTResponsesAreNotCached(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	tok := fw.env.UserToken(platformtest.NewID())
	for _, tc := range []struct{ method, path, token, body string }{
		{"POST", "/v1/auth:register", "", `{"login":"newbie","password":"longenough"}`},
		{"GET", "/v1/me", tok, ""},
		{"POST", "/v1/servers", tok, `{"name":"Guild"}`},
	} {
		res, b := httpDo(t, tc.method, fw.srv.URL+tc.path, tc.token, tc.body)
		if res.StatusCode != 200 {
			t.Fatalf("%s %s = %d %s", tc.method, tc.path, res.StatusCode, b)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control = %q, want no-store", tc.method, tc.path, got)
		}
	}
}

// TestUpdateMasksTakeProtoNames decodes, for every RPC of the API that takes
// a FieldMask, a REST body naming every updatable field by its proto name,
// then by its lowerCamel JSON name: both give the proto paths.
func TestUpdateMasksTakeProtoNames(t *testing.T) {
	dec := &requestJSON{}
	n := 0
	for _, fd := range []protoreflect.FileDescriptor{
		userv1.File_accord_user_v1_user_service_proto,
		serverv1.File_accord_server_v1_server_service_proto,
		presencev1.File_accord_presence_v1_presence_service_proto,
		statsv1.File_accord_stats_v1_stats_service_proto,
	} {
		for i := range fd.Services().Len() {
			ms := fd.Services().Get(i).Methods()
			for j := range ms.Len() {
				in := ms.Get(j).Input()
				var mask, update protoreflect.FieldDescriptor
				for k := range in.Fields().Len() {
					f := in.Fields().Get(k)
					switch {
					case f.Message() != nil && f.Message().FullName() == "google.protobuf.FieldMask":
						mask = f
					case f.Message() != nil:
						update = f
					}
				}
				if mask == nil || update == nil {
					continue
				}
				n++
				var snake, camel []string
				for k := range update.Message().Fields().Len() {
					f := update.Message().Fields().Get(k)
					snake = append(snake, string(f.Name()))
					camel = append(camel, f.JSONName())
				}
				mt, err := protoregistry.GlobalTypes.FindMessageByName(in.FullName())
				if err != nil {
					t.Fatal(err)
				}
				for _, paths := range [][]string{snake, camel} {
					for _, key := range []string{string(mask.Name()), mask.JSONName()} {
						body := `{"` + key + `":"` + strings.Join(paths, ",") + `"}`
						m := mt.New().Interface()
						if err := dec.NewDecoder(strings.NewReader(body)).Decode(m); err != nil {
							t.Errorf("%s %s: %v", ms.Get(j).FullName(), body, err)
							continue
						}
						got := m.ProtoReflect().Get(mask).Message().Interface().(*fieldmaskpb.FieldMask).GetPaths()
						if strings.Join(got, ",") != strings.Join(snake, ",") {
							t.Errorf("%s %s: paths %v, want %v", ms.Get(j).FullName(), body, got, snake)
						}
					}
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("only %d update methods found", n)
	}
}

func TestSecurityHeaders(t *testing.T) {
	dir := t.TempDir()
	fw := newFakeWorld(t, WSOptions{}, func(o *Options) { o.WebDir = dir })
	tok := fw.env.UserToken(platformtest.NewID())
	check := func(path, token, csp string) {
		t.Helper()
		res, b := httpDo(t, "GET", fw.srv.URL+path, token, "")
		if res.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, res.StatusCode, b)
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": csp,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: the policy allows framing", path)
		}
	}
	check("/", "", cspStaticPage) // the placeholder: not built yet
	check("/api", "", cspStaticPage)
	check("/v1/me", tok, cspAPI)
	check("/openapi.json", "", cspAPI)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>app</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("/", "", cspWebApp)
	check("/servers/x", "", cspWebApp)
	if strings.Contains(cspWebApp, "unsafe-inline") || strings.Contains(cspWebApp, "unsafe-eval") {
		t.Errorf("the web app's policy allows inline script or eval: %s", cspWebApp)
	}
	// Attachments are fetched with the token and shown through object URLs: images
	// may come from blob: (and data: for the app's own icons), nothing wider; other
	// media, scripts and connections stay on the app's origin.
	directives := map[string]string{}
	for _, d := range strings.Split(cspWebApp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{"img-src": "'self' data: blob:", "default-src": "'self'", "connect-src": "'self'", "script-src": "'self'"} {
		if got := directives[name]; got != want {
			t.Errorf("web app policy %s = %q, want %q", name, got, want)
		}
	}
	if v, ok := directives["media-src"]; ok {
		t.Errorf("web app policy has media-src %q; video is not shown inline", v)
	}
}
