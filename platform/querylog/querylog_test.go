package querylog_test

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/accordchat/accord/platform/querylog"
)

func raw(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func index(coll string, unique bool, keys ...querylog.Key) querylog.Index {
	return querylog.Index{DB: "db", Collection: coll, Name: coll + "_ix", Key: keys, Unique: unique}
}

func k(field string, dir int) querylog.Key { return querylog.Key{Field: field, Dir: dir} }

func eq(name string) querylog.Field { return querylog.Field{Name: name, Op: querylog.OpEq} }
func rng(name string) querylog.Field {
	return querylog.Field{Name: name, Op: querylog.OpRange}
}
func in(name string, n int) querylog.Field {
	return querylog.Field{Name: name, Op: querylog.OpIn, N: n}
}

// The rules, one case each: a shape against the indexes of its collection.
func TestSupported(t *testing.T) {
	byChannel := index("messages", false, k("channel_id", 1), k("_id", 1))
	for _, tc := range []struct {
		name    string
		shape   querylog.Shape
		indexes []querylog.Index
		want    bool
	}{
		{"equality on the index prefix", querylog.Shape{Filter: []querylog.Field{eq("channel_id")}}, []querylog.Index{byChannel}, true},
		{"missing index fails", querylog.Shape{Filter: []querylog.Field{eq("author_id")}}, []querylog.Index{byChannel}, false},
		{"field not first in the index fails", querylog.Shape{Filter: []querylog.Field{eq("_id_x")}},
			[]querylog.Index{index("c", false, k("a", 1), k("_id_x", 1))}, false},
		{"equality then sort then range", querylog.Shape{Filter: []querylog.Field{eq("channel_id"), rng("_id")}, Sort: []querylog.Key{k("_id", -1)}},
			[]querylog.Index{byChannel}, true},
		{"sort before equality fails", querylog.Shape{Filter: []querylog.Field{eq("a")}, Sort: []querylog.Key{k("b", 1)}},
			[]querylog.Index{index("c", false, k("b", 1), k("a", 1))}, false},
		{"range before sort fails", querylog.Shape{Filter: []querylog.Field{eq("a"), rng("r")}, Sort: []querylog.Key{k("s", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("r", 1), k("s", 1))}, false},
		{"equality, sort, range in order", querylog.Shape{Filter: []querylog.Field{eq("a"), rng("r")}, Sort: []querylog.Key{k("s", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("s", 1), k("r", 1))}, true},
		{"range before equality fails", querylog.Shape{Filter: []querylog.Field{eq("a"), rng("r")}},
			[]querylog.Index{index("c", false, k("r", 1), k("a", 1))}, false},
		{"fields beyond the index fail", querylog.Shape{Filter: []querylog.Field{eq("a"), eq("b")}},
			[]querylog.Index{index("c", false, k("a", 1))}, false},
		{"equality fields in any order", querylog.Shape{Filter: []querylog.Field{eq("b"), eq("a")}},
			[]querylog.Index{index("c", false, k("a", 1), k("b", 1), k("z", 1))}, true},
		{"sort reversed on every key", querylog.Shape{Sort: []querylog.Key{k("a", -1), k("b", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("b", -1))}, true},
		{"sort reversed on one key only fails", querylog.Shape{Sort: []querylog.Key{k("a", -1), k("b", -1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("b", -1))}, false},
		{"sort on an equality field needs no place", querylog.Shape{Filter: []querylog.Field{eq("a")}, Sort: []querylog.Key{k("a", 1), k("b", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("b", 1))}, true},
		{"$in is equality for the prefix", querylog.Shape{Filter: []querylog.Field{in("a", 3), rng("r")}},
			[]querylog.Index{index("c", false, k("a", 1), k("r", 1))}, true},
		{"$in of several values gives no sort", querylog.Shape{Filter: []querylog.Field{in("a", 3)}, Sort: []querylog.Key{k("s", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("s", 1))}, false},
		{"$in of several values is a range after the sort", querylog.Shape{Filter: []querylog.Field{in("a", 3)}, Sort: []querylog.Key{k("s", 1)}},
			[]querylog.Index{index("c", false, k("s", 1), k("a", 1))}, true},
		{"$in of one value gives the sort", querylog.Shape{Filter: []querylog.Field{in("a", 1)}, Sort: []querylog.Key{k("s", 1)}},
			[]querylog.Index{index("c", false, k("a", 1), k("s", 1))}, true},
		{"_id equality is excepted", querylog.Shape{Filter: []querylog.Field{eq("_id"), eq("members")}}, nil, true},
		{"_id range is served by the _id index", querylog.Shape{Filter: []querylog.Field{rng("_id")}, Sort: []querylog.Key{k("_id", 1)}},
			[]querylog.Index{querylog.IDIndex("db", "c")}, true},
		{"unique index fixed by equality serves extra fields", querylog.Shape{Filter: []querylog.Field{eq("login"), rng("deleted")}},
			[]querylog.Index{index("c", true, k("login", 1))}, true},
		{"non-unique index does not serve extra fields", querylog.Shape{Filter: []querylog.Field{eq("login"), rng("deleted")}},
			[]querylog.Index{index("c", false, k("login", 1))}, false},
		{"no filter and no sort is a scan", querylog.Shape{}, []querylog.Index{querylog.IDIndex("db", "c")}, false},
		{"count without filter reads metadata", querylog.Shape{Metadata: true}, nil, true},
		{"only residual conditions is a scan", querylog.Shape{Residual: true}, []querylog.Index{querylog.IDIndex("db", "c")}, false},
		{"every $or branch indexed", querylog.Shape{Or: [][]querylog.Field{{eq("a")}, {eq("b")}}},
			[]querylog.Index{index("c", false, k("a", 1)), index("c", false, k("b", 1))}, true},
		{"one $or branch without index fails", querylog.Shape{Or: [][]querylog.Field{{eq("a")}, {eq("b")}}},
			[]querylog.Index{index("c", false, k("a", 1))}, false},
		{"hint limits the candidates", querylog.Shape{Filter: []querylog.Field{eq("a")}, Hint: "other"},
			[]querylog.Index{index("c", false, k("a", 1)), {Name: "other", Key: []querylog.Key{k("b", 1)}}}, false},
		{"partial index needs its filter field", querylog.Shape{Filter: []querylog.Field{eq("a")}},
			[]querylog.Index{{Name: "p", Key: []querylog.Key{k("a", 1)}, Partial: []string{"live"}}}, false},
		{"distinct key after the equality prefix", querylog.Shape{Filter: []querylog.Field{eq("a")}, Sort: []querylog.Key{k("d", 0)}},
			[]querylog.Index{index("c", false, k("a", 1), k("d", -1))}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := querylog.Supported(tc.shape, tc.indexes)
			if got != tc.want {
				t.Errorf("Supported(%s) = %v (%s), want %v", tc.shape.Describe(), got, why, tc.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	t.Run("find", func(t *testing.T) {
		cmd := raw(t, bson.D{
			{Key: "find", Value: "messages"},
			{Key: "filter", Value: bson.D{
				{Key: "channel_id", Value: "c1"},
				{Key: "_id", Value: bson.D{{Key: "$lt", Value: "x"}}},
				{Key: "author_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}},
				{Key: "$and", Value: bson.A{bson.D{{Key: "deleted", Value: bson.D{{Key: "$exists", Value: false}}}}}},
				{Key: "$expr", Value: bson.D{}},
			}},
			{Key: "sort", Value: bson.D{{Key: "_id", Value: -1}}},
			{Key: "hint", Value: bson.D{{Key: "channel_id", Value: 1}, {Key: "_id", Value: 1}}},
		})
		shapes, _ := querylog.ParseCommand("db", "find", cmd)
		if len(shapes) != 1 {
			t.Fatalf("got %d shapes, want 1", len(shapes))
		}
		got, want := shapes[0].Describe(), "filter {channel_id: eq, _id: range, author_id: in(n), deleted: range} +residual sort {_id: -1} hint channel_id_1__id_1"
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("update and delete batches", func(t *testing.T) {
		cmd := raw(t, bson.D{{Key: "update", Value: "members"}, {Key: "updates", Value: bson.A{
			bson.D{{Key: "q", Value: bson.D{{Key: "server_id", Value: "s"}}}, {Key: "u", Value: bson.D{}}},
			bson.D{{Key: "q", Value: bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "b", Value: 2}}}}}}, {Key: "u", Value: bson.D{}}},
		}}})
		shapes, _ := querylog.ParseCommand("db", "update", cmd)
		var got []string
		for _, s := range shapes {
			got = append(got, s.Describe())
		}
		want := "filter {server_id: eq} | filter {} $or [{a: eq}, {b: eq}]"
		if strings.Join(got, " | ") != want {
			t.Errorf("got  %s\nwant %s", strings.Join(got, " | "), want)
		}
	})
	t.Run("aggregate match, sort and lookup", func(t *testing.T) {
		cmd := raw(t, bson.D{{Key: "aggregate", Value: "messages"}, {Key: "pipeline", Value: bson.A{
			bson.D{{Key: "$match", Value: bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: 1}}}}}},
			bson.D{{Key: "$sort", Value: bson.D{{Key: "created_at", Value: 1}}}},
			bson.D{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "users"}, {Key: "localField", Value: "author_id"}, {Key: "foreignField", Value: "_id"}, {Key: "as", Value: "u"}}}},
			bson.D{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}}}},
		}}})
		shapes, _ := querylog.ParseCommand("db", "aggregate", cmd)
		if len(shapes) != 2 {
			t.Fatalf("got %d shapes, want 2", len(shapes))
		}
		if got, want := shapes[0].Describe(), "filter {created_at: range} sort {created_at: 1}"; got != want {
			t.Errorf("pipeline: got %s, want %s", got, want)
		}
		if got, want := shapes[1].Collection+" "+shapes[1].Describe(), "users filter {_id: eq}"; got != want {
			t.Errorf("lookup: got %s, want %s", got, want)
		}
	})
	t.Run("count without a filter reads metadata", func(t *testing.T) {
		shapes, _ := querylog.ParseCommand("db", "count", raw(t, bson.D{{Key: "count", Value: "users"}}))
		if len(shapes) != 1 || !shapes[0].Metadata {
			t.Errorf("got %+v, want one metadata count", shapes)
		}
	})
	t.Run("createIndexes", func(t *testing.T) {
		cmd := raw(t, bson.D{{Key: "createIndexes", Value: "users"}, {Key: "indexes", Value: bson.A{
			bson.D{{Key: "key", Value: bson.D{{Key: "login_key", Value: 1}, {Key: "t", Value: -1}}}, {Key: "name", Value: "login"}, {Key: "unique", Value: true},
				{Key: "partialFilterExpression", Value: bson.D{{Key: "live", Value: true}}}},
		}}})
		_, ixs := querylog.ParseCommand("db", "createIndexes", cmd)
		if len(ixs) != 1 {
			t.Fatalf("got %d indexes, want 1", len(ixs))
		}
		if got, want := ixs[0].String(), "{login_key: 1, t: -1} unique partial(live)"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("insert is no query", func(t *testing.T) {
		shapes, ixs := querylog.ParseCommand("db", "insert", raw(t, bson.D{{Key: "insert", Value: "users"}}))
		if len(shapes)+len(ixs) != 0 {
			t.Errorf("got %v %v, want nothing", shapes, ixs)
		}
	})
}

func TestCheckAllowList(t *testing.T) {
	site := querylog.Site{Func: "services/x.(*Store).All", File: "services/x/store.go", Line: 9}
	recs := []querylog.Record{
		{Query: &querylog.Shape{DB: "db", Collection: "settings", Command: "find", Site: site}},
		{Query: &querylog.Shape{DB: "db", Collection: "big", Command: "find", Site: site}},
		{Query: &querylog.Shape{DB: "db", Collection: "big", Command: "find",
			Site: querylog.Site{Func: "services/x.TestScan", File: "services/x/store_test.go", Line: 3}}},
	}
	allow, err := querylog.ReadAllow(strings.NewReader("# comment\nsettings services/x.(*Store).All a handful of rows, one per region\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := querylog.Check(recs, allow)
	if len(rep.Findings) != 1 || rep.Findings[0].Shape.Collection != "big" {
		t.Fatalf("findings %v, want the scan of big only", rep.Findings)
	}
	if len(rep.Allowed) != 1 || rep.Skipped != 1 || rep.Shapes != 2 {
		t.Errorf("allowed %d, skipped %d, shapes %d; want 1, 1, 2", len(rep.Allowed), rep.Skipped, rep.Shapes)
	}
	if _, err := querylog.ReadAllow(strings.NewReader("settings services/x.All\n")); err == nil {
		t.Error("an entry without a reason was accepted")
	}
}

// A shape is judged by the indexes of its own database; a database that
// declares none for the collection falls back to what the services declare
// elsewhere, never to what a test file declares.
func TestCheckJudgesByDatabase(t *testing.T) {
	svc := querylog.Site{Func: "services/x.Indexes", File: "services/x/store.go", Line: 1}
	inTest := querylog.Site{Func: "services/x.TestIt", File: "services/x/store_test.go", Line: 1}
	site := querylog.Site{Func: "services/x.(*Store).ByAuthor", File: "services/x/store.go", Line: 2}
	byAuthor := func(db string) querylog.Record {
		return querylog.Record{Query: &querylog.Shape{DB: db, Collection: "posts", Command: "find", Filter: []querylog.Field{eq("author_id")}, Site: site}}
	}
	declare := func(db string, s querylog.Site, field string) querylog.Record {
		return querylog.Record{Index: &querylog.Index{DB: db, Collection: "posts", Name: field + "_1", Key: []querylog.Key{k(field, 1)}, Site: s}}
	}
	for _, tc := range []struct {
		name string
		recs []querylog.Record
		want int
	}{
		{"declared in the same database", []querylog.Record{declare("a", svc, "author_id"), byAuthor("a")}, 0},
		{"the database declares other indexes only", []querylog.Record{declare("a", svc, "author_id"), declare("b", svc, "channel_id"), byAuthor("b")}, 1},
		{"the database declares none: the services' declarations", []querylog.Record{declare("a", svc, "author_id"), byAuthor("b")}, 0},
		{"a test file's declaration does not count elsewhere", []querylog.Record{declare("a", inTest, "author_id"), byAuthor("b")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(querylog.Check(tc.recs, nil).Findings); got != tc.want {
				t.Errorf("got %d findings, want %d", got, tc.want)
			}
		})
	}
}
