package e2e

import (
	"net/http"
	"time"

	"github.com/accordchat/accord/suite/client"
)

// newREST returns a REST client of the gateway at base (which may be empty
// when every call names its gateway with At) whose calls time out after 10 s.
func newREST(base string) *client.REST {
	return &client.REST{Base: base, HTTP: &http.Client{Timeout: 10 * time.Second}}
}
