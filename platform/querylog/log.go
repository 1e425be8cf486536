package querylog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
)

// EnvDir names the directory of the query logs; unset, nothing is logged.
const EnvDir = "ACCORD_QUERY_LOG"

// Log appends query shapes and declared indexes as JSON lines to one file
// per process, each distinct record once.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	seen map[string]bool
	err  error
}

// Open starts a log file of this process in dir.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%d.jsonl", filepath.Base(os.Args[0]), os.Getpid())
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Log{f: f, seen: map[string]bool{}}, nil
}

// FromEnv returns the Log of ACCORD_QUERY_LOG, or nil when it is unset.
func FromEnv() (*Log, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		return nil, nil
	}
	l, err := Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDir, err)
	}
	return l, nil
}

// Monitor returns a command monitor that records into l. Its Started hook
// runs on the goroutine that issues the command, so the stack names the
// call site.
func (l *Log) Monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: l.started}
}

// Err returns the first error writing the log.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Log) started(_ context.Context, e *event.CommandStartedEvent) {
	shapes, indexes := ParseCommand(e.DatabaseName, e.CommandName, e.Command)
	if len(shapes) == 0 && len(indexes) == 0 {
		return
	}
	var recs []Record
	site := callSite()
	for i := range shapes {
		shapes[i].Site = site
		recs = append(recs, Record{Query: &shapes[i]})
	}
	for i := range indexes {
		indexes[i].Site = site
		recs = append(recs, Record{Index: &indexes[i]})
	}
	l.write(recs)
}

func (l *Log) write(recs []Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			l.err = err
			continue
		}
		if l.seen[string(b)] {
			continue
		}
		l.seen[string(b)] = true
		if _, err := l.f.Write(append(b, '\n')); err != nil && l.err == nil {
			l.err = err
		}
	}
}

const module = "github.com/accordchat/accord/"

// callSite is the first frame in the accord module that is not this
// package, the test harness or the Mongo helpers.
func callSite() Site {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var site Site
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, module) && !skipped(f.Function) {
			fn, file := strings.TrimPrefix(f.Function, module), sourcePath(f.Function, f.File)
			if site.Func == "" {
				site = Site{Func: fn, File: file, Line: f.Line}
			} else {
				site.Via = fmt.Sprintf("%s (%s:%d)", fn, file, f.Line)
				return site
			}
		}
		if !more {
			return site
		}
	}
}

func skipped(fn string) bool {
	for _, p := range []string{"platform/querylog.", "platform/platformtest.", "platform/mongox."} {
		if strings.HasPrefix(fn, module+p) {
			return true
		}
	}
	return false
}

// sourcePath is file relative to the repository root, from the package
// path in the function name.
func sourcePath(fn, file string) string {
	pkg := strings.TrimPrefix(fn, module)
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		if j := strings.Index(pkg[i:], "."); j >= 0 {
			pkg = pkg[:i+j]
		}
	} else if j := strings.Index(pkg, "."); j >= 0 {
		pkg = pkg[:j]
	}
	return pkg + "/" + filepath.Base(file)
}

// ReadDir reads every log file in dir.
func ReadDir(dir string) ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}
