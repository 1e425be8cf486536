package gateway

import (
	"bytes"
	"encoding/json"
	"html/template"
	"sort"
	"strings"
)

// spec is the part of an OpenAPI 2 document the API page shows.
type spec struct {
	Swagger string `json:"swagger"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths map[string]map[string]struct {
		Summary     string   `json:"summary"`
		Description string   `json:"description"`
		OperationID string   `json:"operationId"`
		Tags        []string `json:"tags"`
		Parameters  []struct {
			Name     string `json:"name"`
			In       string `json:"in"`
			Required bool   `json:"required"`
			Type     string `json:"type"`
		} `json:"parameters"`
	} `json:"paths"`
}

type pageRoute struct {
	Method, Path, Summary, Operation, Params string
}

type pageGroup struct {
	Tag    string
	Routes []pageRoute
}

var pageTemplate = template.Must(template.New("api").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;line-height:1.45;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}
td{padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
code{font-size:.95em}
.m{font-weight:600;font-family:monospace;width:5rem}
.GET{color:#1565c0}.POST{color:#2e7d32}.PATCH{color:#ef6c00}.DELETE{color:#c62828}.PUT{color:#6a1b9a}
.p{color:#666;font-size:.9em}
</style></head><body>
<h1>Accord API</h1>
<p>REST over JSON with protobuf field names. Send <code>Authorization: Bearer &lt;access token&gt;</code>
on every call except sign-up, sign-in and token refresh. Errors are JSON
<code>{"code": "NOT_FOUND", "message": "...", "field": "...", "reason": "...", "details": [...]}</code>
with the usual HTTP status (400, 401, 403, 404, 409, 413, 429 with <code>Retry-After</code>).
Live events, presence and typing come over one WebSocket, <code>/v1/events</code>
(see <code>docs/websocket.md</code>). Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 2).</p>
<p>Contents: {{range .}}<a href="#{{.Tag}}">{{.Tag}}</a> {{end}}</p>
{{range .}}<h2 id="{{.Tag}}">{{.Tag}}</h2>
<table>{{range .Routes}}<tr><td class="m {{.Method}}">{{.Method}}</td><td><code>{{.Path}}</code>{{if .Params}}<div class="p">{{.Params}}</div>{{end}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{end}}</body></html>
`))

// servedSpec returns the OpenAPI document as the gateway serves it: the
// generated one, with the error schema describing the gateway's JSON errors
// (ErrorBody) rather than the google.rpc.Status the generator assumes.
func servedSpec(doc []byte) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	defs, _ := d["definitions"].(map[string]any)
	if defs == nil {
		return doc, nil
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	defs["googleRpcStatus"] = map[string]any{
		"type":        "object",
		"description": "An error. The HTTP status follows the code: 400, 401, 403, 404, 409, 413, 429 (with Retry-After), 5xx.",
		"required":    []string{"code", "message", "details"},
		"properties": map[string]any{
			"code":    str("gRPC code name, e.g. NOT_FOUND"),
			"message": str("what went wrong, for people"),
			"field":   str("the request field at fault, when there is one"),
			"reason":  str("machine-readable reason (ErrorInfo.reason), e.g. SESSION_REVOKED"),
			"details": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/protobufAny"}},
		},
	}
	return json.MarshalIndent(d, "", "  ")
}

// apiPage renders a readable page of the API's routes from an OpenAPI 2 document.
func apiPage(doc []byte) ([]byte, error) {
	var s spec
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, err
	}
	groups := map[string]*pageGroup{}
	for p, ops := range s.Paths {
		for method, op := range ops {
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g := groups[tag]
			if g == nil {
				g = &pageGroup{Tag: tag}
				groups[tag] = g
			}
			var params []string
			for _, prm := range op.Parameters {
				if prm.In == "query" {
					params = append(params, prm.Name)
				}
			}
			summary := op.Summary
			if summary == "" {
				summary = op.Description
			}
			r := pageRoute{Method: strings.ToUpper(method), Path: p, Summary: summary, Operation: op.OperationID}
			if len(params) > 0 {
				r.Params = "query: " + strings.Join(params, ", ")
			}
			g.Routes = append(g.Routes, r)
		}
	}
	var list []pageGroup
	for _, g := range groups {
		sort.Slice(g.Routes, func(i, j int) bool {
			if g.Routes[i].Path != g.Routes[j].Path {
				return g.Routes[i].Path < g.Routes[j].Path
			}
			return g.Routes[i].Method < g.Routes[j].Method
		})
		list = append(list, *g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Tag < list[j].Tag })
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, list); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
