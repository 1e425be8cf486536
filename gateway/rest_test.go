package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/accordchat/accord/platform/grpcx"
	"github.com/accordchat/accord/platform/peers"
	"github.com/accordchat/accord/platform/platformtest"
)

func TestStatusBody(t *testing.T) {
	withDetails := func(c codes.Code, msg string, d ...any) *status.Status {
		s := status.New(c, msg)
		for _, x := range d {
			var err error
			switch x := x.(type) {
			case *errdetails.ErrorInfo:
				s, err = s.WithDetails(x)
			case *errdetails.BadRequest:
				s, err = s.WithDetails(x)
			case *errdetails.RetryInfo:
				s, err = s.WithDetails(x)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	for _, tc := range []struct {
		name       string
		s          *status.Status
		httpStatus int
		body       string
		retry      int
	}{
		{"not found", withDetails(codes.NotFound, "server not found", &errdetails.ErrorInfo{Reason: "NOT_FOUND", Domain: "accord.chat"}),
			404, `{"code":"NOT_FOUND","message":"server not found","reason":"NOT_FOUND"}`, 0},
		{"unauthenticated", status.New(codes.Unauthenticated, "missing access token"), 401, `{"code":"UNAUTHENTICATED","message":"missing access token"}`, 0},
		{"permission", status.New(codes.PermissionDenied, "admins only"), 403, `{"code":"PERMISSION_DENIED","message":"admins only"}`, 0},
		{"conflict", status.New(codes.AlreadyExists, "taken"), 409, `{"code":"ALREADY_EXISTS","message":"taken"}`, 0},
		{"invalid with field", withDetails(codes.InvalidArgument, "name: too long",
			&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT"},
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "name", Description: "too long"}}}),
			400, `{"code":"INVALID_ARGUMENT","message":"name: too long","field":"name","reason":"INVALID_ARGUMENT"}`, 0},
		{"rate limited", withDetails(codes.ResourceExhausted, "slow down",
			&errdetails.ErrorInfo{Reason: "RATE_LIMITED"}, &errdetails.RetryInfo{RetryDelay: durationpb.New(1200 * time.Millisecond)}),
			429, `{"code":"RESOURCE_EXHAUSTED","message":"slow down","reason":"RATE_LIMITED"}`, 2},
		{"sub-second retry rounds up", withDetails(codes.ResourceExhausted, "x", &errdetails.RetryInfo{RetryDelay: durationpb.New(10 * time.Millisecond)}),
			429, `{"code":"RESOURCE_EXHAUSTED","message":"x"}`, 1},
		{"unavailable", status.New(codes.Unavailable, "down"), 503, `{"code":"UNAVAILABLE","message":"down"}`, 0},
		{"failed precondition", status.New(codes.FailedPrecondition, "owner must transfer"), 400, `{"code":"FAILED_PRECONDITION","message":"owner must transfer"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, retry := statusBody(tc.s)
			if got := httpStatus(tc.s.Code()); got != tc.httpStatus {
				t.Errorf("HTTP status = %d, want %d", got, tc.httpStatus)
			}
			if retry != tc.retry {
				t.Errorf("retry = %d, want %d", retry, tc.retry)
			}
			if len(b.Details) != len(tc.s.Details()) {
				t.Errorf("details = %d, want %d", len(b.Details), len(tc.s.Details()))
			}
			for _, d := range b.Details {
				if !strings.Contains(string(d), `"@type"`) {
					t.Errorf("detail without @type: %s", d)
				}
			}
			b.Details = nil
			j, _ := json.Marshal(b)
			if got := strings.Replace(string(j), `,"details":null`, "", 1); got != tc.body {
				t.Errorf("body = %s, want %s", got, tc.body)
			}
		})
	}
}

func decodeError(t *testing.T, b []byte) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	if e.Code == "" || e.Message == "" || e.Details == nil {
		t.Fatalf("error body lacks code, message or details: %s", b)
	}
	return e
}

func TestRESTThroughFakes(t *testing.T) {
	reg := prometheus.NewRegistry()
	fw := newFakeWorld(t, WSOptions{}, func(o *Options) { o.Registry = reg; o.MaxBodyBytes = 4096 })
	base := fw.srv.URL
	tok := fw.env.UserToken(platformtest.NewID())
	id := platformtest.NewID()

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		code, field, reason             string
		retryAfter                      string
	}{
		{"no token", "GET", "/v1/servers/" + id, "", "", 401, "UNAUTHENTICATED", "", "TOKEN_MISSING", ""},
		{"bad token", "GET", "/v1/servers/" + id, "garbage", "", 401, "UNAUTHENTICATED", "", "", ""},
		{"not found", "GET", "/v1/servers/" + id, tok, "", 404, "NOT_FOUND", "", "NOT_FOUND", ""},
		{"forbidden", "DELETE", "/v1/servers/" + id, tok, "", 403, "PERMISSION_DENIED", "", "PERMISSION_DENIED", ""},
		{"conflict", "POST", "/v1/auth:register", "", `{"login":"taken","password":"longenough"}`, 409, "ALREADY_EXISTS", "", "LOGIN_TAKEN", ""},
		{"rate limited", "POST", "/v1/auth:login", "", `{"login":"a","password":"b"}`, 429, "RESOURCE_EXHAUSTED", "", "LOGIN_RATE_LIMITED", "2"},
		{"validation names the field", "POST", "/v1/servers", tok, `{"name":""}`, 400, "INVALID_ARGUMENT", "name", "INVALID_ARGUMENT", ""},
		{"path parameter validated", "GET", "/v1/servers/xyz", tok, "", 400, "INVALID_ARGUMENT", "server_id", "INVALID_ARGUMENT", ""},
		{"malformed JSON", "POST", "/v1/servers", tok, `{"name":`, 400, "INVALID_ARGUMENT", "", "MALFORMED_REQUEST", ""},
		{"wrong JSON type", "POST", "/v1/servers", tok, `{"name":5}`, 400, "INVALID_ARGUMENT", "", "MALFORMED_REQUEST", ""},
		{"unknown field", "POST", "/v1/servers", tok, `{"nmae":"x"}`, 400, "INVALID_ARGUMENT", "", "MALFORMED_REQUEST", ""},
		{"bad query parameter", "GET", "/v1/servers?page_size=abc", tok, "", 400, "INVALID_ARGUMENT", "", "MALFORMED_REQUEST", ""},
		{"oversized body", "POST", "/v1/servers", tok, `{"name":"` + strings.Repeat("a", 5000) + `"}`, 413, "RESOURCE_EXHAUSTED", "", "REQUEST_TOO_LARGE", ""},
		{"unknown route", "GET", "/v1/nothing/here", tok, "", 404, "NOT_FOUND", "", "", ""},
		{"wrong method", "PUT", "/v1/servers", tok, "{}", 405, "UNIMPLEMENTED", "", "", ""},
		{"upstream failure", "GET", "/v1/servers", tok, "", 504, "DEADLINE_EXCEEDED", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := httpDo(t, tc.method, base+tc.path, tc.token, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tc.status, b)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			e := decodeError(t, b)
			if e.Code != tc.code || e.Field != tc.field || (tc.reason != "" && e.Reason != tc.reason) {
				t.Errorf("error = %+v, want code %s field %q reason %q", e, tc.code, tc.field, tc.reason)
			}
			if got := res.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}

	t.Run("success uses proto field names", func(t *testing.T) {
		res, b := httpDo(t, "POST", base+"/v1/servers", tok, `{"name":"Guild"}`)
		if res.StatusCode != 200 || !strings.Contains(string(b), `"name":"Guild"`) {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
		res, b = httpDo(t, "POST", base+"/v1/auth:register", "", `{"login":"newbie","password":"longenough","display_name":"N"}`)
		if res.StatusCode != 200 || !strings.Contains(string(b), `"login":"newbie"`) {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
	})

	t.Run("client address forwarded, spoofed header dropped", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+"/v1/auth:register", strings.NewReader(`{"login":"xff","password":"longenough"}`))
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		fw.user.mu.Lock()
		xff := fw.user.xff
		fw.user.mu.Unlock()
		if fmt.Sprint(xff) != "[127.0.0.1]" {
			t.Errorf("x-forwarded-for = %v, want [127.0.0.1]", xff)
		}
	})

	t.Run("chart is served as SVG", func(t *testing.T) {
		res, b := httpDo(t, "GET", base+"/v1/stats/charts/REPORT_ACTIVITY?metric=METRIC_MESSAGES", tok, "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("%d %q %s", res.StatusCode, res.Header.Get("Content-Type"), b)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		res, b := httpDo(t, "GET", base+"/metrics", "", "")
		if res.StatusCode != 200 {
			t.Fatalf("metrics %d", res.StatusCode)
		}
		for _, want := range []string{
			`accord_gateway_http_requests_total{code="404",method="GET",route="/v1/servers/{server_id=*}"}`,
			`accord_gateway_http_requests_total{code="413",method="POST",route="unmatched"}`,
			`accord_gateway_http_request_duration_seconds_bucket`,
			`accord_gateway_upstream_errors_total{code="DEADLINE_EXCEEDED",service="server"} 1`,
			`accord_gateway_websockets_open 0`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s in\n%s", want, b)
			}
		}
		if n := testutil.CollectAndCount(reg, "accord_gateway_http_requests_total"); n < 10 {
			t.Errorf("only %d request series", n)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		res, b := httpDo(t, "GET", base+"/healthz", "", "")
		if res.StatusCode != 200 || string(b) != "ok\n" {
			t.Errorf("%d %s", res.StatusCode, b)
		}
	})

	t.Run("api page and openapi", func(t *testing.T) {
		res, b := httpDo(t, "GET", base+"/api", "", "")
		if res.StatusCode != 200 || !strings.Contains(string(b), "/v1/servers/{server_id}") || strings.Contains(string(b), "http://") && strings.Contains(string(b), "<script src") {
			t.Errorf("api page: %d", res.StatusCode)
		}
		res, b = httpDo(t, "GET", base+"/openapi.json", "", "")
		var doc map[string]any
		if res.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || doc["swagger"] != "2.0" {
			t.Fatalf("openapi: %d", res.StatusCode)
		}
		errSchema, _ := doc["definitions"].(map[string]any)["googleRpcStatus"].(map[string]any)
		props, _ := errSchema["properties"].(map[string]any)
		if props["field"] == nil || props["reason"] == nil {
			t.Errorf("the error schema does not describe the gateway's errors: %v", errSchema)
		}
	})
}

func TestHealthzReportsDownUpstream(t *testing.T) {
	env := platformtest.New(t)
	up := env.Serve(func(*grpc.Server) {})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	down, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	h, err := New(t.Context(), Options{Peers: &peers.Conns{User: up, Server: up, Presence: up, Stats: down, Search: up}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "stats") {
		t.Errorf("healthz = %d %q, want 503 naming stats", rec.Code, rec.Body.String())
	}
}

func TestWebApp(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := web(dir)
	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}

	// Before the app is built: a placeholder for every page.
	for _, p := range []string{"/", "/servers/abc"} {
		rec := get("GET", p)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "not built") {
			t.Errorf("placeholder %s: %d", p, rec.Code)
		}
	}

	write("index.html", "<!doctype html><title>app</title>")
	write("assets/index-3f2a1b.js", "console.log(1)")
	write("favicon.svg", "<svg/>")
	for _, tc := range []struct {
		method, path string
		status       int
		cache, ctype string
		body         string
	}{
		{"GET", "/", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"GET", "/index.html", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"GET", "/assets/index-3f2a1b.js", 200, cacheImmutable, "text/javascript; charset=utf-8", "console.log(1)"},
		{"HEAD", "/assets/index-3f2a1b.js", 200, cacheImmutable, "text/javascript; charset=utf-8", ""},
		{"GET", "/favicon.svg", 200, cacheRevalidate, "image/svg+xml", "<svg/>"},
		{"GET", "/servers/abc/channels/def", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"GET", "/login", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"GET", "/../../etc/passwd", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"GET", "/assets/missing-000.js", 404, "", "", ""},
		{"GET", "/assets", 200, cacheRevalidate, "text/html; charset=utf-8", "<title>app</title>"},
		{"POST", "/login", 405, "", "", ""},
	} {
		rec := get(tc.method, tc.path)
		if rec.Code != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if got := rec.Header().Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s Cache-Control = %q, want %q", tc.path, got, tc.cache)
		}
		if got := rec.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s Content-Type = %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s body = %q", tc.path, rec.Body.String())
		}
	}
	// Conditional requests work for the revalidated files.
	rec := get("GET", "/")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-Modified-Since", rec.Header().Get("Last-Modified"))
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec2.Code)
	}
}

func TestCORSOffByDefault(t *testing.T) {
	fw := newFakeWorld(t, WSOptions{})
	req, _ := http.NewRequest("OPTIONS", fw.srv.URL+"/v1/servers", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header set by default")
	}
	fw2 := newFakeWorld(t, WSOptions{}, func(o *Options) { o.AllowedOrigins = []string{"app.example"} })
	req, _ = http.NewRequest("OPTIONS", fw2.srv.URL+"/v1/servers", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight = %d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}
