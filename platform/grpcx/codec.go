package grpcx

import (
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Encoded is a message marshaled once and sent as is, with SendMsg, on any
// number of server streams: a feed event fanned out to a thousand
// subscribers costs one encoding instead of a thousand. Its bytes are
// shared and never modified.
type Encoded struct{ b []byte }

// Encode marshals m for sending with SendMsg.
func Encode(m proto.Message) (*Encoded, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &Encoded{b: b}, nil
}

// codec is the servers' codec: protobuf, except that an *Encoded goes out
// as the bytes it already holds.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2(protocodec.Name)} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(*Encoded); ok {
		// A SliceBuffer is never recycled, so the shared bytes stay intact.
		return mem.BufferSlice{mem.SliceBuffer(e.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c codec) Name() string { return protocodec.Name }
