// Package gatewaytest runs the gateway end to end: TestMain starts the four
// services (real FerretDB and Redis) and two gateways over them on loopback,
// and the tests drive them over REST and WebSockets only, as a browser would.
package gatewaytest

import (
	"net/http"
	"os"
	"testing"

	"github.com/accordchat/accord/suite/client"
	"github.com/accordchat/accord/suite/suitetest"
)

// system is the running suite, shared by the tests of this package.
type system struct {
	base string // http://127.0.0.1:port
	// base2 is a second gateway over the same services, as behind a load
	// balancer: a client may reconnect to either.
	base2 string
	rest  *client.REST
}

// the suite TestMain started; read-only once tests run.
var sys *system

func TestMain(m *testing.M) {
	os.Exit(suitetest.Main(m, suitetest.Options{Gateways: 2}, func(s *suitetest.Stack) {
		sys = &system{base: s.Gateways[0], base2: s.Gateways[1], rest: &client.REST{Base: s.Gateways[0], HTTP: http.DefaultClient}}
	}))
}
