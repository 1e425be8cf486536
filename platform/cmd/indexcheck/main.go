// Command indexcheck reads the query logs the tests write when
// ACCORD_QUERY_LOG is set and fails when a query shape has no supporting
// index among the indexes declared in its database (see platform/querylog).
//
//	ACCORD_QUERY_LOG=/tmp/q go test ./...   # in each module
//	go run ./cmd/indexcheck /tmp/q          # in platform/
//
// Scans of a whole collection are allowed only at the call sites listed in
// allow.txt, each with its reason.
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/accordchat/accord/platform/querylog"
)

//go:embed allow.txt
var allowList string

func main() {
	verbose := flag.Bool("v", false, "also list every query shape with the indexes that serve it")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: indexcheck [-v] <query log dir>")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(flag.Arg(0), *verbose, os.Stdout))
}

func run(dir string, verbose bool, out io.Writer) int {
	allow, err := querylog.ReadAllow(strings.NewReader(allowList))
	if err != nil {
		fmt.Fprintln(out, "indexcheck:", err)
		return 2
	}
	recs, err := querylog.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(out, "indexcheck:", err)
		return 2
	}
	if verbose {
		for _, line := range querylog.Served(recs) {
			fmt.Fprintln(out, line)
		}
	}
	rep := querylog.Check(recs, allow)
	if rep.Shapes == 0 {
		fmt.Fprintf(out, "indexcheck: no query recorded in %s (was %s set for the tests?)\n", dir, querylog.EnvDir)
		return 2
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(out, f)
	}
	fmt.Fprintf(out, "indexcheck: %d query shapes checked, %d allowed scans, %d from test files skipped, %d without a supporting index\n",
		rep.Shapes, len(rep.Allowed), rep.Skipped, len(rep.Findings))
	if len(rep.Findings) > 0 {
		return 1
	}
	return 0
}
