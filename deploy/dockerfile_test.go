package deploy

import (
	"bufio"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/mod/modfile"
)

// repoRoot is the repository root, seen from this module's folder (go test
// runs in the package folder).
const repoRoot = ".."

// serviceTargets are the Dockerfile targets that docker-compose.yml runs,
// which are also the compose service names.
var serviceTargets = []string{"user", "server", "presence", "stats", "search", "gateway"}

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line  int
	cmd   string // upper case: FROM, COPY, RUN...
	flags map[string]string
	args  []string // after the flags; a JSON array is split into its elements
	raw   string   // everything after the command
}

// stage is one FROM and the instructions under it.
type stage struct {
	name, base string
	ins        []instruction
}

type dockerfile struct {
	args   map[string]string // ARG defaults before the first FROM
	stages []*stage
}

func (d *dockerfile) stage(name string) *stage {
	for _, s := range d.stages {
		if s.name == name {
			return s
		}
	}
	return nil
}

// parseDockerfile reads the subset of Dockerfile syntax the project uses:
// comments, parser directives, backslash continuations, flags and exec-form
// arrays. It fails the test on anything it does not understand, so a new
// construct gets a parser update rather than a silently skipped check.
func parseDockerfile(t *testing.T, file string) *dockerfile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := &dockerfile{args: map[string]string{}}
	var cur *stage
	var buf strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	n := 0
	flush := func() {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return
		}
		cmd, rest, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), flags: map[string]string{}, raw: strings.TrimSpace(rest)}
		fields := strings.Fields(in.raw)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			k, v, _ := strings.Cut(strings.TrimPrefix(fields[0], "--"), "=")
			in.flags[k] = v
			fields = fields[1:]
		}
		in.args = fields
		if rest := strings.Join(fields, " "); strings.HasPrefix(rest, "[") {
			var arr []string
			if err := json.Unmarshal([]byte(rest), &arr); err != nil {
				t.Fatalf("%s:%d: exec form is not a JSON array: %v", file, start, err)
			}
			in.args = arr
		}
		switch in.cmd {
		case "FROM":
			s := &stage{base: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			} else if len(in.args) != 1 {
				t.Fatalf("%s:%d: cannot parse FROM %q", file, start, in.raw)
			}
			d.stages = append(d.stages, s)
			cur = s
		case "ARG":
			if cur == nil {
				k, v, _ := strings.Cut(in.args[0], "=")
				d.args[k] = v
				return
			}
			cur.ins = append(cur.ins, in)
		case "COPY", "RUN", "ENV", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "VOLUME", "LABEL":
			if cur == nil {
				t.Fatalf("%s:%d: %s before FROM", file, start, in.cmd)
			}
			cur.ins = append(cur.ins, in)
		default:
			t.Fatalf("%s:%d: instruction %s is not understood by this test; teach parseDockerfile", file, start, in.cmd)
		}
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if buf.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if buf.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment lines inside a continuation are dropped by Docker too
		}
		if buf.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			buf.WriteString(strings.TrimSuffix(line, "\\"))
			buf.WriteString(" ")
			continue
		}
		buf.WriteString(line)
		flush()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return d
}

// goBuild is one `go build` in a RUN: the -o folder and the packages.
type goBuild struct {
	out  string
	pkgs []string
}

func goBuilds(t *testing.T, s *stage) []goBuild {
	t.Helper()
	var out []goBuild
	for _, in := range s.ins {
		if in.cmd != "RUN" {
			continue
		}
		for _, part := range regexp.MustCompile(`&&|;`).Split(strings.Join(in.args, " "), -1) {
			f := strings.Fields(part)
			if len(f) < 2 || f[0] != "go" || f[1] != "build" {
				continue
			}
			var b goBuild
			for i := 2; i < len(f); i++ {
				switch {
				case f[i] == "-o" && i+1 < len(f):
					b.out = f[i+1]
					i++
				case f[i] == "-ldflags" || f[i] == "-tags" || f[i] == "-gcflags":
					i++
				case strings.HasPrefix(f[i], "-"):
				default:
					b.pkgs = append(b.pkgs, f[i])
				}
			}
			out = append(out, b)
		}
	}
	return out
}

func workModules(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := modfile.ParseWork("go.work", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for _, u := range wf.Use {
		mods = append(mods, path.Clean(u.Path))
	}
	return mods
}

func dockerIgnore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// contextFiles lists the files of the build context (the repository minus
// .dockerignore) under p, which may be a glob or a folder.
func contextFiles(t *testing.T, pm *patternmatcher.PatternMatcher, p string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, m := range matches {
		_ = filepath.WalkDir(m, func(file string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, file)
			if ok, _ := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); !ok {
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	return files
}

func isMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.PackageClauseOnly)
		if err == nil && f.Name.Name == "main" {
			return true
		}
	}
	return false
}

// TestDockerfileMatchesRepository guards the images against refactors: every
// file the Dockerfile copies exists in the build context, every `go build`
// target is a main package of a workspace module, every module's go.mod is
// copied before the download step, and each runtime target runs and checks
// the health of a binary that the build stage really produces.
func TestDockerfileMatchesRepository(t *testing.T) {
	d := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	pm := dockerIgnore(t)
	mods := workModules(t)

	t.Run("go image matches go.work", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(repoRoot, "go.work"))
		wf, err := modfile.ParseWork("go.work", b, nil)
		if err != nil {
			t.Fatal(err)
		}
		img := d.args["GO_IMAGE"]
		_, tag, _ := strings.Cut(img, ":")
		want := strings.Join(strings.SplitN(wf.Go.Version, ".", 3)[:2], ".")
		if !strings.HasPrefix(tag, want) {
			t.Errorf("GO_IMAGE %q, want golang:%s (go.work says go %s)", img, want, wf.Go.Version)
		}
	})

	t.Run("stages", func(t *testing.T) {
		for _, name := range append([]string{"build", "web", "runtime", "accord"}, serviceTargets...) {
			if d.stage(name) == nil {
				t.Errorf("no stage %q", name)
			}
		}
		seen := map[string]bool{}
		for _, s := range d.stages {
			if s.name != "" && seen[s.name] {
				t.Errorf("stage %q defined twice", s.name)
			}
			seen[s.name] = true
			base := s.base
			if strings.HasPrefix(base, "${") {
				key := strings.TrimSuffix(strings.TrimPrefix(base, "${"), "}")
				if base = d.args[key]; base == "" {
					t.Errorf("stage %q: FROM %s has no ARG default", s.name, s.base)
				}
			} else if d.stage(base) == nil {
				t.Errorf("stage %q: FROM %s is not an earlier stage (pin external images through an ARG)", s.name, base)
			}
		}
	})

	t.Run("COPY sources exist in the build context", func(t *testing.T) {
		for _, s := range d.stages {
			for _, in := range s.ins {
				if in.cmd != "COPY" || in.flags["from"] != "" {
					continue
				}
				if len(in.args) < 2 {
					t.Errorf("line %d: COPY needs a source and a destination", in.line)
					continue
				}
				for _, src := range in.args[:len(in.args)-1] {
					if len(contextFiles(t, pm, src)) == 0 {
						t.Errorf("line %d: COPY %s: no such file in the build context (missing, or excluded by .dockerignore)", in.line, src)
					}
				}
			}
		}
	})

	build := d.stage("build")
	if build == nil {
		t.Fatal("no build stage")
	}
	builds := goBuilds(t, build)
	binaries := map[string]string{} // path in the build stage -> package
	t.Run("go build targets are main packages of workspace modules", func(t *testing.T) {
		if len(builds) == 0 {
			t.Fatal("the build stage runs no go build")
		}
		for _, b := range builds {
			if !strings.HasSuffix(b.out, "/") {
				t.Errorf("go build -o %q: want a folder (ending in /) for several packages", b.out)
			}
			for _, pkg := range b.pkgs {
				dir := filepath.Join(repoRoot, filepath.FromSlash(pkg))
				if !isMainPackage(t, dir) {
					t.Errorf("go build %s: not a main package in the repository", pkg)
				}
				inModule := false
				for _, m := range mods {
					if strings.HasPrefix(path.Clean(pkg)+"/", m+"/") {
						inModule = true
					}
				}
				if !inModule {
					t.Errorf("go build %s: not inside a module of go.work", pkg)
				}
				if len(contextFiles(t, pm, pkg)) == 0 {
					t.Errorf("go build %s: excluded from the build context", pkg)
				}
				bin := b.out + path.Base(pkg)
				if binaries[bin] != "" {
					t.Errorf("go build: %s and %s both write %s", binaries[bin], pkg, bin)
				}
				binaries[bin] = pkg
			}
		}
	})

	t.Run("every module of go.work is in the build stage", func(t *testing.T) {
		var copied []string
		for _, in := range build.ins {
			if in.cmd == "COPY" && in.flags["from"] == "" {
				copied = append(copied, in.args[:len(in.args)-1]...)
			}
		}
		for _, m := range append([]string{"."}, mods...) {
			for _, f := range []string{"go.mod", "go.sum"} {
				file := path.Join(m, f)
				if m == "." {
					file = "go.work"
				}
				if _, err := os.Stat(filepath.Join(repoRoot, file)); err != nil && f == "go.sum" {
					continue // a module without dependencies has no go.sum
				}
				in := slices.ContainsFunc(copied, func(src string) bool {
					src = path.Clean(src)
					return src == "." || src == file || strings.HasPrefix(file, src+"/")
				})
				if !in || len(contextFiles(t, pm, file)) == 0 {
					t.Errorf("%s: not copied into the build stage (go.work needs every module)", file)
				}
			}
		}
		// Files that Go code embeds must be in the context too.
		_ = filepath.WalkDir(repoRoot, func(file string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() && (e.Name() == "node_modules" || e.Name() == ".git") {
				return filepath.SkipDir
			}
			if e.IsDir() || !strings.HasSuffix(file, ".go") || strings.HasSuffix(file, "_test.go") {
				return nil
			}
			b, _ := os.ReadFile(file)
			for _, m := range regexp.MustCompile(`(?m)^//go:embed (.+)$`).FindAllStringSubmatch(string(b), -1) {
				for _, pat := range strings.Fields(m[1]) {
					rel, _ := filepath.Rel(repoRoot, filepath.Join(filepath.Dir(file), pat))
					if len(contextFiles(t, pm, filepath.ToSlash(rel))) == 0 {
						t.Errorf("%s embeds %s, which is not in the build context", file, pat)
					}
				}
			}
			return nil
		})
	})

	t.Run("runtime targets run and health-check a built binary", func(t *testing.T) {
		for _, name := range append([]string{"accord"}, serviceTargets...) {
			s := d.stage(name)
			if s == nil {
				continue
			}
			copiedBins := map[string]bool{}
			var entry, health []string
			for _, in := range s.ins {
				switch in.cmd {
				case "COPY":
					if in.flags["from"] == "build" {
						if _, ok := binaries[in.args[0]]; !ok && in.args[0] != "/out/data" {
							t.Errorf("%s: COPY --from=build %s: the build stage does not produce it", name, in.args[0])
						}
						copiedBins[in.args[len(in.args)-1]] = true
					}
				case "ENTRYPOINT":
					entry = in.args
				case "HEALTHCHECK":
					if i := slices.Index(in.args, "CMD"); i >= 0 {
						var arr []string
						if err := json.Unmarshal([]byte(strings.Join(in.args[i+1:], " ")), &arr); err != nil {
							t.Errorf("%s: HEALTHCHECK CMD must be an exec-form array: %v", name, err)
						}
						health = arr
					}
				}
			}
			if len(entry) != 1 || !copiedBins[entry[0]] {
				t.Errorf("%s: ENTRYPOINT %q is not a binary copied from the build stage", name, entry)
			}
			if len(health) != 2 || !copiedBins[health[0]] || health[1] != "health" {
				t.Errorf("%s: HEALTHCHECK %q, want [<copied binary> health]", name, health)
			}
			if name != "accord" && len(entry) == 1 && path.Base(entry[0]) != name {
				t.Errorf("%s: runs %s, want the %s binary", name, entry[0], name)
			}
		}
	})

	t.Run("web app is built and served by the gateway", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(repoRoot, "web", "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pkg struct {
			Scripts map[string]string `json:"scripts"`
		}
		if err := json.Unmarshal(b, &pkg); err != nil {
			t.Fatal(err)
		}
		if pkg.Scripts["build"] == "" {
			t.Error("web/package.json has no build script")
		}
		web := d.stage("web")
		if web == nil || !slices.ContainsFunc(web.ins, func(in instruction) bool { return in.cmd == "RUN" && strings.Contains(in.raw, "npm run build") }) {
			t.Error("the web stage does not run npm run build")
		}
		for _, name := range []string{"gateway", "accord"} {
			s := d.stage(name)
			if s == nil {
				continue
			}
			var webDir, copiedTo string
			for _, in := range s.ins {
				if in.cmd == "COPY" && in.flags["from"] == "web" && in.args[0] == "/web/dist" {
					copiedTo = in.args[1]
				}
				if in.cmd == "ENV" {
					for _, kv := range in.args {
						if v, ok := strings.CutPrefix(kv, "ACCORD_WEB_DIR="); ok {
							webDir = v
						}
					}
				}
			}
			if copiedTo == "" || copiedTo != webDir {
				t.Errorf("%s: web app copied to %q but ACCORD_WEB_DIR=%q", name, copiedTo, webDir)
			}
		}
	})

	t.Run("runtime is non-root", func(t *testing.T) {
		rt := d.stage("runtime")
		if rt == nil {
			t.Fatal("no runtime stage")
		}
		if !strings.Contains(d.args["RUNTIME_IMAGE"], "nonroot") {
			t.Errorf("RUNTIME_IMAGE %q: want a nonroot image", d.args["RUNTIME_IMAGE"])
		}
		user := ""
		for _, in := range rt.ins {
			if in.cmd == "USER" {
				user = in.args[0]
			}
		}
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
			t.Errorf("runtime USER %q: want a numeric non-root uid", user)
		}
		for _, name := range append([]string{"accord"}, serviceTargets...) {
			if s := d.stage(name); s != nil && s.base != "runtime" {
				t.Errorf("%s: FROM %s, want FROM runtime", name, s.base)
			}
			if s := d.stage(name); s != nil && slices.ContainsFunc(s.ins, func(in instruction) bool { return in.cmd == "USER" }) {
				t.Errorf("%s: changes USER; the runtime's non-root user must stay", name)
			}
		}
	})

	t.Run("secrets stay out of the build context", func(t *testing.T) {
		for _, p := range []string{"deploy/secrets/signing_key.pem", "data/signing.key", "web/node_modules/x", ".git/config"} {
			if ok, _ := pm.MatchesOrParentMatches(p); !ok {
				t.Errorf(".dockerignore lets %s into the build context", p)
			}
		}
	})
}
