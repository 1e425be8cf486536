package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	const (
		index   = `{"index":{"db":"d","coll":"posts","name":"channel_id_1","key":[{"field":"channel_id","dir":1}],"site":{"func":"services/x.Indexes","file":"services/x/x.go","line":1}}}`
		served  = `{"query":{"db":"d","coll":"posts","cmd":"find","filter":[{"field":"channel_id","op":"eq"}],"site":{"func":"services/x.ByChannel","file":"services/x/x.go","line":2}}}`
		missing = `{"query":{"db":"d","coll":"posts","cmd":"find","filter":[{"field":"author_id","op":"eq"}],"site":{"func":"services/x.ByAuthor","file":"services/x/x.go","line":3}}}`
	)
	for _, tc := range []struct {
		name  string
		lines []string
		code  int
		out   string
	}{
		{"every query served", []string{index, served}, 0, "1 query shapes checked"},
		{"a query without index fails", []string{index, served, missing}, 1, "services/x.ByAuthor (services/x/x.go:3)"},
		{"no log at all fails", nil, 2, "no query recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.lines != nil {
				if err := os.WriteFile(filepath.Join(dir, "p-1.jsonl"), []byte(strings.Join(tc.lines, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if got := run(dir, false, &out); got != tc.code {
				t.Errorf("exit %d, want %d\n%s", got, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, out.String())
			}
		})
	}
}
