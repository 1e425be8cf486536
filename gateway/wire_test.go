package gateway

import "github.com/accordchat/accord/platform/grpcx"

// The feeds' receive types decode in process too (ACCORD_LOCAL_PEERS),
// where their codecs do not run: the e2e tests run the all-in-one that way.
var (
	_ grpcx.WireMessage = (*followMsg)(nil)
	_ grpcx.WireMessage = (*feedMsg)(nil)
)
