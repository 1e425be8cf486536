package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
)

// Limits of client frames (docs/websocket.md).
const (
	maxFrameBytes    = 64 << 10
	maxCursors       = 2000
	maxWatchedUsers  = 5000
	maxCursorField   = 128
	maxTokenBytes    = 4096
	maxNonceBytes    = 128
	maxClientNameLen = 32
)

// Client frame types.
const (
	frameHello         = "hello"
	framePing          = "ping"
	frameTyping        = "typing"
	frameSetStatus     = "set_status"
	frameMarkRead      = "mark_read"
	frameWatchPresence = "watch_presence"
	frameToken         = "token"
)

// clientCursor is a resume position as the client sends it.
type clientCursor struct {
	Scope    string `json:"scope"`
	Position string `json:"position"`
}

// clientFrame is any client -> server frame; which fields count depends on Type.
type clientFrame struct {
	Type      string          `json:"type"`
	Token     string          `json:"token,omitempty"`
	Cursors   []clientCursor  `json:"cursors,omitempty"`
	Client    string          `json:"client,omitempty"`
	Nonce     json.RawMessage `json:"nonce,omitempty"`
	ChannelID string          `json:"channel_id,omitempty"`
	Status    string          `json:"status,omitempty"`
	MessageID string          `json:"message_id,omitempty"`
	UserIDs   []string        `json:"user_ids,omitempty"`
}

// errBadFrame is a frame the socket cannot survive: close 4002.
var errBadFrame = errors.New("bad frame")

// fieldError is a well-formed frame with a bad field: answered by an error
// frame, the socket stays open.
type fieldError struct {
	Field, Message string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Message }

// parseClientFrame decodes one text frame. Errors wrapping errBadFrame mean
// the frame is not JSON, not an object, has no known type or is too large;
// a *fieldError means a known frame whose fields are invalid.
func parseClientFrame(data []byte) (*clientFrame, error) {
	if len(data) > maxFrameBytes {
		return nil, fmt.Errorf("%w: frame over %d bytes", errBadFrame, maxFrameBytes)
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON", errBadFrame)
	}
	switch f.Type {
	case frameHello, framePing, frameTyping, frameSetStatus, frameMarkRead, frameWatchPresence, frameToken:
	case "":
		return nil, fmt.Errorf("%w: missing type", errBadFrame)
	default:
		return nil, fmt.Errorf("%w: unknown type %q", errBadFrame, truncate(f.Type, 32))
	}
	if err := f.validate(); err != nil {
		return &f, err
	}
	return &f, nil
}

// validate checks the fields the frame's type uses.
func (f *clientFrame) validate() *fieldError {
	switch f.Type {
	case frameHello:
		if len(f.Token) > maxTokenBytes {
			return &fieldError{"token", "too long"}
		}
		if len(f.Cursors) > maxCursors {
			return &fieldError{"cursors", fmt.Sprintf("at most %d cursors", maxCursors)}
		}
		for i, c := range f.Cursors {
			if c.Scope == "" || len(c.Scope) > maxCursorField || len(c.Position) > maxCursorField {
				return &fieldError{fmt.Sprintf("cursors[%d]", i), "scope must be 1-128 characters and position at most 128"}
			}
		}
		if len(f.Client) > maxClientNameLen || !isClientName(f.Client) {
			return &fieldError{"client", "1-32 characters of a-z, 0-9, '_' and '-'"}
		}
	case frameToken:
		if f.Token == "" || len(f.Token) > maxTokenBytes {
			return &fieldError{"token", "required, at most 4096 bytes"}
		}
	case framePing:
		if len(f.Nonce) > 0 && !isScalarJSON(f.Nonce) {
			return &fieldError{"nonce", "a string or a number of at most 128 bytes"}
		}
	case frameTyping:
		if !isID(f.ChannelID) {
			return &fieldError{"channel_id", "must be 24 lower-case hex characters"}
		}
	case frameMarkRead:
		if !isID(f.ChannelID) {
			return &fieldError{"channel_id", "must be 24 lower-case hex characters"}
		}
		if !isID(f.MessageID) {
			return &fieldError{"message_id", "must be 24 lower-case hex characters"}
		}
	case frameSetStatus:
		if _, ok := settableStatus(f.Status); !ok {
			return &fieldError{"status", "one of STATUS_ONLINE, STATUS_IDLE, STATUS_DND, STATUS_INVISIBLE"}
		}
	case frameWatchPresence:
		if len(f.UserIDs) > maxWatchedUsers {
			return &fieldError{"user_ids", fmt.Sprintf("at most %d users", maxWatchedUsers)}
		}
		for i, id := range f.UserIDs {
			if !isID(id) {
				return &fieldError{fmt.Sprintf("user_ids[%d]", i), "must be 24 lower-case hex characters"}
			}
		}
	}
	return nil
}

// settableStatus parses a status a user may choose.
func settableStatus(s string) (presencev1.Status, bool) {
	switch s {
	case "STATUS_ONLINE":
		return presencev1.Status_STATUS_ONLINE, true
	case "STATUS_IDLE":
		return presencev1.Status_STATUS_IDLE, true
	case "STATUS_DND":
		return presencev1.Status_STATUS_DND, true
	case "STATUS_INVISIBLE":
		return presencev1.Status_STATUS_INVISIBLE, true
	}
	return 0, false
}

func isID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isClientName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// isScalarJSON reports a short JSON string or number.
func isScalarJSON(b json.RawMessage) bool {
	if len(b) > maxNonceBytes {
		return false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Server -> client frames. Resources are protobuf JSON with proto field
// names, exactly as the REST API renders them.

var pj = protojson.MarshalOptions{UseProtoNames: true}

// frameBuilder writes one JSON object frame.
type frameBuilder struct {
	b     bytes.Buffer
	first bool
}

func newFrame(typ string) *frameBuilder {
	f := &frameBuilder{}
	f.b.Grow(256)
	f.b.WriteString(`{"type":`)
	f.b.WriteString(strconv.Quote(typ))
	return f
}

func (f *frameBuilder) raw(key string, v []byte) *frameBuilder {
	f.b.WriteByte(',')
	f.b.WriteString(strconv.Quote(key))
	f.b.WriteByte(':')
	f.b.Write(v)
	return f
}

func (f *frameBuilder) str(key, v string) *frameBuilder {
	j, _ := json.Marshal(v)
	return f.raw(key, j)
}

func (f *frameBuilder) msg(key string, m proto.Message) *frameBuilder {
	j, err := pj.Marshal(m)
	if err != nil {
		j = []byte("{}")
	}
	return f.raw(key, j)
}

func (f *frameBuilder) bytes() []byte {
	f.b.WriteByte('}')
	return f.b.Bytes()
}

func readyFrame(u *userv1.User, sessionID string, heartbeatMS int64) []byte {
	return newFrame("ready").msg("user", u).str("session_id", sessionID).
		raw("heartbeat_interval_ms", strconv.AppendInt(nil, heartbeatMS, 10)).bytes()
}

func eventFrame(ev *eventsv1.Event) []byte {
	return newFrame("event").msg("event", ev).bytes()
}

// feedEvent is one upstream feed event as a socket needs it: where it
// moves the socket's cursors, and its frame.
type feedEvent struct {
	scope, cursor string
	frame         []byte // nil for a response without an event; shared, never modified
	// created is the event's create_time in unix nanoseconds (0 when
	// unset), the start of its delivery latency.
	created int64
}

// frameCache shares decoded feed events between sockets: the sockets of one
// channel's members each receive the same message event, and decoding it
// plus protobuf JSON cost far more than a map lookup. Entries are keyed by
// the response's bytes as received (the server encodes each event once for
// all its subscribers), so events that differ in any field (a
// personalized payload) never share an entry.
type frameCache struct {
	mu   sync.Mutex
	m    map[string]*feedEvent
	keys []string
	next int
}

func newFrameCache(size int) *frameCache {
	return &frameCache{m: make(map[string]*feedEvent, size), keys: make([]string, size)}
}

// event decodes a StreamEventsResponse given as its wire bytes, which it
// does not keep.
func (c *frameCache) event(wire []byte) (*feedEvent, error) {
	c.mu.Lock()
	e, ok := c.m[string(wire)]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	var res eventsv1.StreamEventsResponse
	if err := proto.Unmarshal(wire, &res); err != nil {
		return nil, err
	}
	e = &feedEvent{}
	if ev := res.GetEvent(); ev != nil {
		e.scope, e.cursor, e.frame = ev.GetScope(), ev.GetCursor(), renderEvent(ev)
		if ct := ev.GetCreateTime(); ct != nil {
			e.created = ct.AsTime().UnixNano()
		}
	}
	key := string(wire)
	c.mu.Lock()
	if _, ok := c.m[key]; !ok {
		if old := c.keys[c.next]; old != "" {
			delete(c.m, old)
		}
		c.keys[c.next] = key
		c.m[key] = e
		c.next = (c.next + 1) % len(c.keys)
	}
	c.mu.Unlock()
	return e, nil
}

// feedMsg receives one StreamEventsResponse through feedCodec.
type feedMsg struct {
	cache *frameCache
	ev    *feedEvent
}

// feedCodec is the codec of the gateway's StreamEvents calls: responses
// received into a *feedMsg are looked up in its frame cache straight from
// the received bytes; everything else is plain protobuf.
type feedCodec struct{}

var protoCodec = encoding.GetCodecV2(protocodec.Name)

func (feedCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (feedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*feedMsg)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData() // valid until we return, which is all it needs
	} else {
		b = data.Materialize()
	}
	var err error
	m.ev, err = m.cache.event(b)
	return err
}

func (feedCodec) Name() string { return protocodec.Name }

// UnmarshalWire implements grpcx.WireMessage: in process, where no codec
// runs, the response comes as its encoding.
func (m *feedMsg) UnmarshalWire(b []byte) error {
	return feedCodec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}

func presenceFrame(snapshot bool, ps []*presencev1.Presence) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		j, err := pj.Marshal(p)
		if err != nil {
			j = []byte("{}")
		}
		b.Write(j)
	}
	b.WriteByte(']')
	return newFrame("presence").raw("snapshot", strconv.AppendBool(nil, snapshot)).raw("presences", b.Bytes()).bytes()
}

func pongFrame(nonce json.RawMessage) []byte {
	f := newFrame("pong")
	if len(nonce) > 0 {
		f.raw("nonce", nonce)
	}
	return f.bytes()
}

func errorFrame(code codes.Code, message, field, request string) []byte {
	f := newFrame("error").str("code", codeName(code)).str("message", message)
	if field != "" {
		f.str("field", field)
	}
	if request != "" {
		f.str("request", request)
	}
	return f.bytes()
}
