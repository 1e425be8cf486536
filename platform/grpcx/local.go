package grpcx

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/fullstorydev/grpchan/inprocgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Local is a connection to services served in this very process, without
// a network in between: a call runs the server's interceptor chain and
// handler on a goroutine of its own, as over TCP, with its messages copied
// rather than encoded, framed and sent through the kernel. The all-in-one
// runner (platform/app.Run) gives each service its peers in the process
// this way; the services' TCP listeners stay for grpcurl and for the
// peers in other processes.
//
// A Local is usable at once; calls made before the server it stands for
// serves (Server.ServeLocal) or after it stopped fail with UNAVAILABLE, as
// a call to a server not listening does.
type Local struct {
	ch atomic.Pointer[inprocgrpc.Channel]
}

var _ grpc.ClientConnInterface = (*Local)(nil)

// Invoke implements grpc.ClientConnInterface.
func (l *Local) Invoke(ctx context.Context, method string, req, resp any, opts ...grpc.CallOption) error {
	ch := l.ch.Load()
	if ch == nil {
		return status.Errorf(codes.Unavailable, "%s: the service is not serving", method)
	}
	return ch.Invoke(ctx, method, req, resp, opts...)
}

// NewStream implements grpc.ClientConnInterface.
func (l *Local) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ch := l.ch.Load()
	if ch == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the service is not serving", method)
	}
	return ch.NewStream(ctx, desc, method, opts...)
}

// cloner copies messages between an in-process client and server. An
// *Encoded (a feed event encoded once for many streams) is decoded into
// the receiver's message; its bytes are never modified, so every stream
// may share it.
type cloner struct{}

func (cloner) Copy(out, in any) error {
	if w, ok := out.(WireMessage); ok {
		b, err := wire(in)
		if err != nil {
			return err
		}
		return w.UnmarshalWire(b)
	}
	dst, ok := out.(proto.Message)
	if !ok {
		return fmt.Errorf("in-process call: %T is not a protobuf message", out)
	}
	if e, ok := in.(*Encoded); ok {
		return proto.Unmarshal(e.b, dst)
	}
	src, ok := in.(proto.Message)
	if !ok {
		return fmt.Errorf("in-process call: %T is not a protobuf message", in)
	}
	proto.Reset(dst)
	proto.Merge(dst, src)
	return nil
}

// WireMessage is what a client receives into through a codec of its own
// (grpc.ForceCodecV2) when that is not a protobuf message, such as a
// gateway decoding a feed event straight into the frame it sends. No codec
// runs on an in-process channel, so such a type is handed the message's
// protobuf encoding instead, as its codec would be.
type WireMessage interface {
	UnmarshalWire(b []byte) error
}

// wire is the protobuf encoding of a message sent in process.
func wire(in any) ([]byte, error) {
	switch m := in.(type) {
	case *Encoded:
		return m.b, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("in-process call: %T is not a protobuf message", in)
}

func (cloner) Clone(in any) (any, error) {
	switch m := in.(type) {
	case *Encoded:
		return m, nil
	case proto.Message:
		return proto.Clone(m), nil
	}
	return nil, fmt.Errorf("in-process call: %T is not a protobuf message", in)
}
