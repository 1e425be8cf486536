package querylog

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// Allow justifies a query with no filter and no sort at one call site: a
// scan of a small, bounded collection.
type Allow struct {
	Collection string
	Func       string
	Reason     string
}

// ReadAllow reads an allow-list: one entry a line, "collection function
// reason...", with # comments. Every entry must give a reason.
func ReadAllow(r io.Reader) ([]Allow, error) {
	var out []Allow
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("allow-list line %d: want \"collection function reason\"", n)
		}
		out = append(out, Allow{Collection: f[0], Func: f[1], Reason: strings.Join(f[2:], " ")})
	}
	return out, sc.Err()
}

// ReadAllowFile is ReadAllow of a file.
func ReadAllowFile(name string) ([]Allow, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAllow(f)
}

// Finding is one query shape at one call site that no declared index serves.
type Finding struct {
	Shape   Shape   // DB is one of the databases it was seen in
	DBs     int     // how many databases it was seen in without support
	Reason  string  // why no index serves it
	Indexes []Index // the indexes considered
}

func (f Finding) String() string {
	var b strings.Builder
	s := f.Shape
	fmt.Fprintf(&b, "%s on %s: %s\n", s.Command, s.Collection, f.Reason)
	fmt.Fprintf(&b, "  query:   %s\n", s.Describe())
	fmt.Fprintf(&b, "  at:      %s\n", s.Site)
	fmt.Fprintf(&b, "  seen in: %d database(s), e.g. %s\n", f.DBs, s.DB)
	for i, ix := range f.Indexes {
		label := "  indexes:"
		if i > 0 {
			label = "          "
		}
		fmt.Fprintf(&b, "%s %s\n", label, ix)
	}
	return b.String()
}

// Describe renders the filter, sort and hint of a shape.
func (s Shape) Describe() string {
	fields := func(fs []Field) string {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = f.Name + ": " + f.Op
			if f.Op == OpIn && f.N == 1 {
				parts[i] += "(1)"
			} else if f.Op == OpIn {
				parts[i] += "(n)"
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	out := "filter " + fields(s.Filter)
	if s.Or != nil {
		br := make([]string, len(s.Or))
		for i, o := range s.Or {
			br[i] = fields(o)
		}
		out += " $or [" + strings.Join(br, ", ") + "]"
	}
	if s.Residual {
		out += " +residual"
	}
	if len(s.Sort) > 0 {
		out += " sort " + Index{Key: s.Sort}.String()
	}
	if s.Hint != "" {
		out += " hint " + s.Hint
	}
	return out
}

// Report is the outcome of a check.
type Report struct {
	Shapes   int       // distinct shapes checked (per call site)
	Skipped  int       // shapes issued from _test.go files
	Allowed  []Allow   // allow-list entries that matched
	Findings []Finding // unsupported shapes
}

// declared maps each database and collection to the indexes declared
// there, and each collection ("" database) to every index the services'
// code declares for it in any database.
type declared map[[2]string][]Index

func declarations(recs []Record) declared {
	d := declared{}
	add := func(k [2]string, ix Index) {
		if !slices.ContainsFunc(d[k], func(o Index) bool { return o.Name == ix.Name }) {
			d[k] = append(d[k], ix)
		}
	}
	for _, r := range recs {
		if ix := r.Index; ix != nil {
			add([2]string{ix.DB, ix.Collection}, *ix)
			if !ix.Site.InTest() {
				add([2]string{"", ix.Collection}, *ix)
			}
		}
	}
	return d
}

// of returns the indexes a shape is judged against: the _id index and those
// declared in its database, or, when its database declares none for the
// collection (a test that skipped the code declaring them), those the
// services declare for the collection anywhere.
func (d declared) of(s Shape) []Index {
	ixs, ok := d[[2]string{s.DB, s.Collection}]
	if !ok {
		ixs = d[[2]string{"", s.Collection}]
	}
	return append([]Index{IDIndex(s.DB, s.Collection)}, ixs...)
}

// Check checks every query shape of recs against the indexes declared in
// its database (see declared.of). Shapes issued from test files are
// skipped: they are the tests reading the database, not the services.
func Check(recs []Record, allow []Allow) Report {
	indexes := declarations(recs)
	var rep Report
	seen := map[string]bool{}
	groups := map[string]*Finding{}
	var order []string
	used := map[int]bool{}
	for _, r := range recs {
		s := r.Query
		if s == nil {
			continue
		}
		generic := *s
		generic.DB = ""
		key := fmt.Sprintf("%s|%s|%s|%s", s.Command, s.Collection, generic.Describe(), s.Site)
		if !seen[key] {
			seen[key] = true
			if s.Site.InTest() {
				rep.Skipped++
			} else {
				rep.Shapes++
			}
		}
		if s.Site.InTest() {
			continue
		}
		ixs := indexes.of(*s)
		ok, reason := Supported(*s, ixs)
		if ok {
			continue
		}
		if reason == reasonUnfiltered {
			if i := slices.IndexFunc(allow, func(a Allow) bool {
				return a.Collection == s.Collection && a.Func == s.Site.Func
			}); i >= 0 {
				used[i] = true
				continue
			}
		}
		if f := groups[key]; f != nil {
			f.DBs++
			continue
		}
		groups[key] = &Finding{Shape: *s, DBs: 1, Reason: reason, Indexes: ixs}
		order = append(order, key)
	}
	for i, a := range allow {
		if used[i] {
			rep.Allowed = append(rep.Allowed, a)
		}
	}
	sort.Strings(order)
	for _, k := range order {
		rep.Findings = append(rep.Findings, *groups[k])
	}
	return rep
}

const reasonUnfiltered = "no filter and no sort: a collection scan (justify it in the allow-list if the collection is small and bounded)"

// Supported reports whether one of indexes serves s, and why not.
func Supported(s Shape, indexes []Index) (bool, string) {
	if s.Metadata {
		return true, ""
	}
	if len(s.Filter) == 0 && s.Or == nil && len(s.Sort) == 0 {
		return false, reasonUnfiltered
	}
	for _, f := range s.Filter {
		if f.Name == "_id" && (f.Op == OpEq || f.Op == OpIn) {
			return true, "" // a lookup by _id
		}
	}
	if s.Hint != "" {
		i := slices.IndexFunc(indexes, func(ix Index) bool { return ix.Name == s.Hint || keyName(ix.Key) == s.Hint })
		if i < 0 {
			return false, "the hint names no declared index"
		}
		indexes = indexes[i : i+1]
	}
	serves := func(fields []Field) bool {
		return slices.ContainsFunc(indexes, func(ix Index) bool { return ESR(fields, s.Sort, ix) })
	}
	if (len(s.Filter) > 0 || s.Or == nil) && serves(s.Filter) {
		return true, ""
	}
	if s.Or != nil && len(s.Or) > 0 {
		all := true
		for _, branch := range s.Or {
			all = all && serves(mergeFields(slices.Clone(s.Filter), branch...))
		}
		if all {
			return true, ""
		}
		return false, "no index has the equality, sort and range fields of every $or branch as a prefix"
	}
	return false, "no index has the equality, then sort, then range fields as a prefix"
}

// ESR reports whether ix serves a filter and sort by MongoDB's rules: the
// equality fields, then the sort fields (all in the index's directions or
// all reversed), then the range fields, as a prefix of the index. An $in of
// several values counts as equality, except that with a sort it is a range
// (the index then yields no single order). Equality fields may sit between
// sort fields; a sort field fixed by equality needs no place. A unique index
// whose every field is fixed by equality serves any query: at most one
// document matches.
func ESR(fields []Field, sortKeys []Key, ix Index) bool {
	for _, k := range ix.Key {
		if k.Dir == 0 {
			return false // text, hashed, geo: not judged here
		}
	}
	has := func(name string) bool {
		return slices.ContainsFunc(fields, func(f Field) bool { return f.Name == name })
	}
	for _, p := range ix.Partial {
		if !has(p) {
			return false
		}
	}
	point := map[string]bool{}
	eq := map[string]bool{}
	rng := map[string]bool{}
	for _, f := range fields {
		switch {
		case strength(f) == 3:
			point[f.Name], eq[f.Name] = true, true
		case f.Op == OpIn && len(sortKeys) == 0:
			eq[f.Name] = true
		default:
			rng[f.Name] = true
		}
	}
	if ix.Unique && !slices.ContainsFunc(ix.Key, func(k Key) bool { return !point[k.Field] }) {
		return true
	}
	var srt []Key
	for _, k := range sortKeys {
		if !point[k.Field] {
			srt = append(srt, k)
		}
	}
	keys, pos := ix.Key, 0
	for pos < len(keys) && eq[keys[pos].Field] {
		delete(eq, keys[pos].Field)
		pos++
	}
	dir := 0
	for _, s := range srt {
		for pos < len(keys) && eq[keys[pos].Field] {
			delete(eq, keys[pos].Field)
			pos++
		}
		if pos >= len(keys) || keys[pos].Field != s.Field {
			return false
		}
		if s.Dir != 0 {
			d := s.Dir * keys[pos].Dir
			if dir == 0 {
				dir = d
			} else if d != dir {
				return false
			}
		}
		delete(rng, s.Field)
		pos++
	}
	if len(eq) > 0 {
		return false
	}
	for pos < len(keys) && rng[keys[pos].Field] {
		delete(rng, keys[pos].Field)
		pos++
	}
	return len(rng) == 0
}

// Served lists, for every shape of recs issued outside test files, the
// indexes that serve it ("_id lookup", "metadata", or index keys), one line
// per collection, shape and call site: the map from queries to indexes.
func Served(recs []Record) []string {
	indexes := declarations(recs)
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		s := r.Query
		if s == nil || s.Site.InTest() {
			continue
		}
		ixs := indexes.of(*s)
		var by []string
		if slices.ContainsFunc(s.Filter, func(f Field) bool { return f.Name == "_id" && (f.Op == OpEq || f.Op == OpIn) }) {
			ixs = ixs[:1]
		}
		for _, ix := range ixs {
			if ok, _ := Supported(*s, []Index{ix}); ok {
				by = append(by, ix.String())
			}
		}
		if len(by) == 0 {
			by = []string{"NONE"}
		}
		site := s.Site
		site.Line, site.Via = 0, ""
		line := fmt.Sprintf("%s\t%s %s\t%s\t%s", s.Collection, s.Command, s.Describe(), site.Func, strings.Join(by, " | "))
		if !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}
