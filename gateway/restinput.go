package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// requestJSON is the REST body codec: grpc-gateway's protojson marshaler with
// a stricter decoder. A body must be exactly one JSON value (trailing data is
// refused, not ignored), and the string form of a google.protobuf.FieldMask
// accepts the proto field names ("display_name") as well as the lowerCamel
// JSON names ("displayName") that protojson alone understands.
type requestJSON struct {
	runtime.JSONPb
}

// NewDecoder implements runtime.Marshaler.
func (j *requestJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF
		}
		if err := oneJSONValue(data); err != nil {
			return err
		}
		if m, ok := v.(proto.Message); ok {
			if data, err = camelMasks(data, m.ProtoReflect().Descriptor()); err != nil {
				return err
			}
		}
		return j.JSONPb.Unmarshal(data, v)
	})
}

// oneJSONValue fails unless data holds exactly one JSON value (with
// surrounding white space).
func oneJSONValue(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("the body is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body must be exactly one JSON value; data follows it")
	}
	return nil
}

// camelMasks rewrites the string value of every top-level FieldMask field of
// the JSON object data (a message of type md) so that each path is in
// lowerCamel case, the form protojson parses; other bodies are returned as is.
func camelMasks(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	var masks []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask" && !fd.IsList() && !fd.IsMap() {
			masks = append(masks, fd)
		}
	}
	if len(masks) == 0 {
		return data, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return data, nil // not an object: protojson reports it
	}
	changed := false
	for _, fd := range masks {
		for _, key := range []string{string(fd.Name()), fd.JSONName()} {
			raw, ok := obj[key]
			var s string
			if !ok || json.Unmarshal(raw, &s) != nil {
				continue
			}
			if c := lowerCamelPaths(s); c != s {
				b, _ := json.Marshal(c)
				obj[key] = b
				changed = true
			}
		}
	}
	if !changed {
		return data, nil
	}
	return json.Marshal(obj)
}

// lowerCamelPaths turns "display_name,status_text" into
// "displayName,statusText"; paths already in lowerCamel are kept.
func lowerCamelPaths(s string) string {
	paths := strings.Split(s, ",")
	for i, p := range paths {
		segs := strings.Split(strings.TrimSpace(p), ".")
		for k, seg := range segs {
			segs[k] = lowerCamel(seg)
		}
		paths[i] = strings.Join(segs, ".")
	}
	return strings.Join(paths, ",")
}

func lowerCamel(name string) string {
	if !strings.Contains(name, "_") {
		return name
	}
	var b strings.Builder
	up := false
	for _, r := range name {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkParams is a grpc-gateway middleware that refuses path and query
// parameters that are not valid UTF-8 before any service is called: protobuf
// strings must be UTF-8, and such a request is the caller's mistake.
func checkParams(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if name, bad := badParam(r, params); bad {
			writeError(w, http.StatusBadRequest, ErrorBody{
				Code:    "INVALID_ARGUMENT",
				Message: name + ": must be valid UTF-8",
				Field:   name,
				Reason:  "INVALID_ARGUMENT",
				Details: []json.RawMessage{},
			}, 0)
			return
		}
		next(w, r, params)
	}
}

// badParam names the first path or query parameter that is not valid UTF-8.
func badParam(r *http.Request, params map[string]string) (string, bool) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !utf8.ValidString(params[k]) {
			return k, true
		}
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return strings.ToValidUTF8(k, "\uFFFD"), true
		}
		for _, v := range q[k] {
			if !utf8.ValidString(v) {
				return k, true
			}
		}
	}
	return "", false
}
