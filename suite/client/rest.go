// Package client is the test client of Accord's public API, as a browser
// or a script sees it: REST calls to the gateway (JSON, or the generated
// messages in their JSON form) and WebSockets on /v1/events
// (docs/websocket.md). End-to-end tests, deployment tests and load tools
// share it; it imports no Accord module, so any of them can.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// REST calls the REST API of the gateway at Base.
type REST struct {
	// Base is the gateway's base URL ("http://127.0.0.1:port").
	Base string
	// HTTP sends the requests.
	HTTP *http.Client
}

// NewREST returns a client of the gateway at base whose calls time out
// after 15 s.
func NewREST(base string) *REST {
	return &REST{Base: base, HTTP: &http.Client{Timeout: 15 * time.Second}}
}

// At returns a client of the gateway at base that shares c's HTTP client.
func (c *REST) At(base string) *REST { return &REST{Base: base, HTTP: c.HTTP} }

// Response is an answer as it came.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// IsJSON reports whether the answer says it is JSON.
func (r *Response) IsJSON() bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// Decode decodes the body into out: a generated message with protojson
// (unknown fields ignored), anything else with encoding/json.
func (r *Response) Decode(out any) error {
	if m, ok := out.(proto.Message); ok {
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(r.Body, m)
	}
	return json.Unmarshal(r.Body, out)
}

// HTTPError is an answer other than 2xx.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// Send sends method path with body and returns the answer whatever its
// status. body is nil (no body), a string or []byte (sent as is), a
// generated message (protojson with the proto field names) or any value
// encoding/json takes. token, when set, is sent as the bearer.
func (c *REST) Send(ctx context.Context, method, path, token string, body any) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case proto.Message:
		j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// Do is Send for calls that must succeed: an answer other than 2xx is an
// *HTTPError, and a 2xx body is decoded into out (unless out is nil).
func (c *REST) Do(ctx context.Context, method, path, token string, body, out any) error {
	res, err := c.Send(ctx, method, path, token, body)
	if err != nil {
		return err
	}
	if res.Status/100 != 2 {
		return &HTTPError{Status: res.Status, Body: string(res.Body)}
	}
	if out != nil {
		return res.Decode(out)
	}
	return nil
}
