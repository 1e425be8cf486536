// Package querylog records the shape of every query a process sends to
// MongoDB and checks each shape against the indexes declared in the same
// database, by MongoDB's rules for index use (equality, then sort, then
// range fields, as a prefix of one index).
//
// No mongod runs in the tests and embedded FerretDB uses no secondary index,
// so a query without an index never shows up as slowness; the check makes it
// a failure instead. The test harness (platformtest) installs the Monitor on
// its Mongo client when ACCORD_QUERY_LOG names a directory, and
// platform/cmd/indexcheck reads the logs.
package querylog

import (
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Operator kinds of a filter field, as far as an index is concerned.
const (
	OpEq    = "eq"    // equality: a single index point
	OpIn    = "in"    // $in: several points; equality for prefix purposes
	OpRange = "range" // $gt, $lt, $ne, $exists, $regex, ...: index bounds, not a point
)

// Field is one filter field and how it is compared.
type Field struct {
	Name string `json:"field"`
	Op   string `json:"op"`
	// N is the number of values of an $in.
	N int `json:"n,omitempty"`
}

// Key is one field of a sort or of an index key. Dir is 1 or -1; 0 in a
// sort means either direction (distinct), and in an index a special key
// (text, hashed, 2dsphere) that no rule here relies on.
type Key struct {
	Field string `json:"field"`
	Dir   int    `json:"dir"`
}

// Site is where a query was issued: the first stack frame inside the accord
// module outside the driver and the harness.
type Site struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Via is the next frame in the module, the caller of a query helper.
	Via string `json:"via,omitempty"`
}

func (s Site) String() string {
	if s.Func == "" {
		return "(unknown call site)"
	}
	out := fmt.Sprintf("%s (%s:%d)", s.Func, s.File, s.Line)
	if s.Via != "" {
		out += " via " + s.Via
	}
	return out
}

// InTest reports a call site in a _test.go file: a test reading the
// database directly, not a query of a service.
func (s Site) InTest() bool { return strings.HasSuffix(s.File, "_test.go") }

// Shape is one query as an index sees it.
type Shape struct {
	DB         string `json:"db"`
	Collection string `json:"coll"`
	// Command is find, aggregate, count, distinct, update, delete,
	// findAndModify, or lookup (the foreign side of an aggregation $lookup).
	Command string  `json:"cmd"`
	Filter  []Field `json:"filter,omitempty"`
	// Or holds the branches of a top-level $or, each to be served by an
	// index of its own unless Filter alone is.
	Or [][]Field `json:"or,omitempty"`
	// Residual is set when part of the filter no index serves ($expr, $nor, ...).
	Residual bool  `json:"residual,omitempty"`
	Sort     []Key `json:"sort,omitempty"`
	// Hint is the hinted index: its name, or its key as an index name
	// would spell it (a_1_b_-1).
	Hint string `json:"hint,omitempty"`
	// Metadata marks a count without a filter, answered from collection
	// metadata without reading documents.
	Metadata bool `json:"metadata,omitempty"`
	Site     Site `json:"site"`
}

// Index is one index declared by a createIndexes command.
type Index struct {
	DB         string `json:"db"`
	Collection string `json:"coll"`
	Name       string `json:"name"`
	Key        []Key  `json:"key"`
	Unique     bool   `json:"unique,omitempty"`
	Sparse     bool   `json:"sparse,omitempty"`
	// Partial lists the fields of a partialFilterExpression; the index
	// serves only queries that filter on all of them.
	Partial []string `json:"partial,omitempty"`
	// Site is where the index was declared.
	Site Site `json:"site"`
}

// String renders the index as its key document.
func (ix Index) String() string {
	parts := make([]string, len(ix.Key))
	for i, k := range ix.Key {
		parts[i] = fmt.Sprintf("%s: %d", k.Field, k.Dir)
	}
	s := "{" + strings.Join(parts, ", ") + "}"
	if ix.Unique {
		s += " unique"
	}
	if len(ix.Partial) > 0 {
		s += " partial(" + strings.Join(ix.Partial, ", ") + ")"
	}
	return s
}

// IDIndex is the index every collection has.
func IDIndex(db, coll string) Index {
	return Index{DB: db, Collection: coll, Name: "_id_", Key: []Key{{"_id", 1}}, Unique: true}
}

// Record is one line of a query log.
type Record struct {
	Query *Shape `json:"query,omitempty"`
	Index *Index `json:"index,omitempty"`
}

// ParseCommand returns the query shapes and the declared indexes of one
// command as the driver sends it. Commands that read no documents by a
// filter (insert, getMore, drop, ...) return nothing.
func ParseCommand(db, name string, cmd bson.Raw) (shapes []Shape, indexes []Index) {
	coll, _ := cmd.Lookup(name).StringValueOK()
	if coll == "" {
		return nil, nil
	}
	base := Shape{DB: db, Collection: coll, Command: name}
	withFilter := func(s Shape, filter bson.RawValue) Shape {
		if doc, ok := filter.DocumentOK(); ok {
			s.Filter, s.Or, s.Residual = parseFilter(doc)
		}
		return s
	}
	switch name {
	case "find":
		s := withFilter(base, cmd.Lookup("filter"))
		s.Sort = parseSort(cmd.Lookup("sort"))
		s.Hint = parseHint(cmd.Lookup("hint"))
		shapes = append(shapes, s)
	case "count":
		s := withFilter(base, cmd.Lookup("query"))
		s.Hint = parseHint(cmd.Lookup("hint"))
		s.Metadata = len(s.Filter) == 0 && len(s.Or) == 0 && !s.Residual
		shapes = append(shapes, s)
	case "distinct":
		s := withFilter(base, cmd.Lookup("query"))
		if key, ok := cmd.Lookup("key").StringValueOK(); ok {
			s.Sort = []Key{{key, 0}}
		}
		s.Hint = parseHint(cmd.Lookup("hint"))
		shapes = append(shapes, s)
	case "findAndModify":
		s := withFilter(base, cmd.Lookup("query"))
		s.Sort = parseSort(cmd.Lookup("sort"))
		s.Hint = parseHint(cmd.Lookup("hint"))
		shapes = append(shapes, s)
	case "update", "delete":
		list := "updates"
		if name == "delete" {
			list = "deletes"
		}
		arr, _ := cmd.Lookup(list).ArrayOK()
		vals, _ := arr.Values()
		for _, v := range vals {
			op, ok := v.DocumentOK()
			if !ok {
				continue
			}
			s := withFilter(base, op.Lookup("q"))
			s.Sort = parseSort(op.Lookup("sort"))
			s.Hint = parseHint(op.Lookup("hint"))
			shapes = append(shapes, s)
		}
	case "aggregate":
		shapes = append(shapes, parsePipeline(base, cmd.Lookup("pipeline"))...)
	case "createIndexes":
		arr, _ := cmd.Lookup("indexes").ArrayOK()
		vals, _ := arr.Values()
		for _, v := range vals {
			spec, ok := v.DocumentOK()
			if !ok {
				continue
			}
			ix := Index{DB: db, Collection: coll, Key: parseSort(spec.Lookup("key"))}
			ix.Name, _ = spec.Lookup("name").StringValueOK()
			ix.Unique, _ = spec.Lookup("unique").BooleanOK()
			ix.Sparse, _ = spec.Lookup("sparse").BooleanOK()
			if pf, ok := spec.Lookup("partialFilterExpression").DocumentOK(); ok {
				fs, _, _ := parseFilter(pf)
				for _, f := range fs {
					ix.Partial = append(ix.Partial, f.Name)
				}
			}
			indexes = append(indexes, ix)
		}
	}
	return shapes, indexes
}

// parsePipeline reads the leading $match and $sort of a pipeline (the
// stages an index can serve) and the foreign side of each $lookup.
func parsePipeline(base Shape, v bson.RawValue) []Shape {
	arr, _ := v.ArrayOK()
	vals, _ := arr.Values()
	s := base
	leading := true
	var out []Shape
	for _, v := range vals {
		stage, ok := v.DocumentOK()
		if !ok {
			continue
		}
		elems, _ := stage.Elements()
		if len(elems) == 0 {
			continue
		}
		op, arg := elems[0].Key(), elems[0].Value()
		switch {
		case leading && op == "$match" && len(s.Filter) == 0 && len(s.Or) == 0 && len(s.Sort) == 0:
			s = Shape{DB: s.DB, Collection: s.Collection, Command: s.Command}
			if doc, ok := arg.DocumentOK(); ok {
				s.Filter, s.Or, s.Residual = parseFilter(doc)
			}
		case leading && op == "$sort" && len(s.Sort) == 0:
			s.Sort = parseSort(arg)
			leading = false
		case op == "$lookup":
			leading = false
			doc, _ := arg.DocumentOK()
			from, _ := doc.Lookup("from").StringValueOK()
			field, _ := doc.Lookup("foreignField").StringValueOK()
			if from == "" {
				continue
			}
			l := Shape{DB: base.DB, Collection: from, Command: "lookup"}
			if field != "" {
				l.Filter = []Field{{Name: field, Op: OpEq}}
			} else {
				l.Residual = true // a pipeline $lookup: its $expr matches use no index here
			}
			out = append(out, l)
		default:
			leading = false
		}
	}
	return append([]Shape{s}, out...)
}

// rangeOps are the operators an index serves with bounds rather than a point.
var rangeOps = map[string]bool{
	"$gt": true, "$gte": true, "$lt": true, "$lte": true, "$ne": true, "$nin": true,
	"$exists": true, "$regex": true, "$not": true, "$type": true, "$all": true,
}

// parseFilter flattens a filter into its fields; $and is merged, the first
// top-level $or becomes branches, and what no index serves sets residual.
func parseFilter(doc bson.Raw) (fields []Field, or [][]Field, residual bool) {
	elems, _ := doc.Elements()
	for _, e := range elems {
		key, v := e.Key(), e.Value()
		switch key {
		case "$and":
			arr, _ := v.ArrayOK()
			vals, _ := arr.Values()
			for _, sub := range vals {
				d, _ := sub.DocumentOK()
				f, o, r := parseFilter(d)
				fields = mergeFields(fields, f...)
				residual = residual || r
				switch {
				case o == nil:
				case or == nil:
					or = o
				default:
					residual = true // a second $or: only one is served by indexes here
				}
			}
		case "$or":
			if or != nil {
				residual = true
				continue
			}
			arr, _ := v.ArrayOK()
			vals, _ := arr.Values()
			or = [][]Field{}
			for _, sub := range vals {
				d, _ := sub.DocumentOK()
				f, _, r := parseFilter(d)
				residual = residual || r
				or = append(or, f)
			}
		case "$comment":
		default:
			if strings.HasPrefix(key, "$") {
				residual = true // $nor, $expr, $where, $text, ...
				continue
			}
			if f, ok := parseField(key, v); ok {
				fields = mergeFields(fields, f)
			} else {
				residual = true
			}
		}
	}
	return fields, or, residual
}

// parseField classifies one field's condition.
func parseField(name string, v bson.RawValue) (Field, bool) {
	if v.Type == bson.TypeRegex {
		return Field{Name: name, Op: OpRange}, true
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return Field{Name: name, Op: OpEq}, true
	}
	elems, _ := doc.Elements()
	if len(elems) == 0 || !strings.HasPrefix(elems[0].Key(), "$") {
		return Field{Name: name, Op: OpEq}, true // an exact subdocument
	}
	f := Field{Name: name}
	for _, e := range elems {
		switch op := e.Key(); {
		case op == "$eq" || op == "$elemMatch":
			f = Field{Name: name, Op: OpEq}
		case op == "$in":
			arr, _ := e.Value().ArrayOK()
			vals, _ := arr.Values()
			if f.Op != OpEq {
				f = Field{Name: name, Op: OpIn, N: len(vals)}
			}
		case rangeOps[op]:
			if f.Op == "" {
				f.Op = OpRange
			}
		}
	}
	return f, f.Op != ""
}

// strength orders operators by how tightly they bound an index.
func strength(f Field) int {
	switch {
	case f.Op == OpEq || (f.Op == OpIn && f.N == 1):
		return 3
	case f.Op == OpIn:
		return 2
	default:
		return 1
	}
}

func mergeFields(fields []Field, more ...Field) []Field {
	for _, f := range more {
		i := slices.IndexFunc(fields, func(g Field) bool { return g.Name == f.Name })
		switch {
		case i < 0:
			fields = append(fields, f)
		case strength(f) > strength(fields[i]):
			fields[i] = f
		}
	}
	return fields
}

// parseSort reads a sort or index key document.
func parseSort(v bson.RawValue) []Key {
	doc, ok := v.DocumentOK()
	if !ok {
		return nil
	}
	elems, _ := doc.Elements()
	keys := make([]Key, 0, len(elems))
	for _, e := range elems {
		k := Key{Field: e.Key()}
		if n, ok := e.Value().AsInt64OK(); ok {
			k.Dir = 1
			if n < 0 {
				k.Dir = -1
			}
		} else if f, ok := e.Value().DoubleOK(); ok {
			k.Dir = 1
			if f < 0 {
				k.Dir = -1
			}
		}
		keys = append(keys, k)
	}
	return keys
}

func parseHint(v bson.RawValue) string {
	if s, ok := v.StringValueOK(); ok {
		return s
	}
	if keys := parseSort(v); len(keys) > 0 {
		return keyName(keys)
	}
	return ""
}

// keyName spells a key the way MongoDB names an index by default.
func keyName(keys []Key) string {
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, k.Field, fmt.Sprint(k.Dir))
	}
	return strings.Join(parts, "_")
}
