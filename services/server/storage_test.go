package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server/internal/stores"
)

// backend is the service's database as the tests see it: the stores to
// write fixtures through, and a few read-only looks at the records that
// work alike on either store (platformtest.Env picks SQLite or MongoDB by
// ACCORD_TEST_STORE, and the service follows).
type backend struct {
	t   testing.TB
	env *platformtest.Env
	stores.Set
	sqlite *sqlitex.DB // nil on MongoDB
}

func newBackend(t testing.TB, env *platformtest.Env) *backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := env.Deps("server")
	set, err := stores.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return &backend{t: t, env: env, Set: set, sqlite: d.SQLite}
}

// onMongo reports whether the service runs on MongoDB.
func (b *backend) onMongo() bool { return b.sqlite == nil }

// count counts the records of coll (a collection, or the table of the same
// name) whose fields equal filter's values; "_id" is the record's key.
func (b *backend) count(coll string, filter bson.D) int64 {
	b.t.Helper()
	ctx := context.Background()
	if b.onMongo() {
		n, err := b.env.DB.Collection(coll).CountDocuments(ctx, filter)
		if err != nil {
			b.t.Fatal(err)
		}
		return n
	}
	var where []string
	var args []any
	for _, e := range filter {
		col, v := e.Key, e.Value
		if col == "_id" {
			col = "id"
			if coll == "invites" {
				col = "code"
			}
		}
		if o, ok := v.(bson.ObjectID); ok {
			v = o.Hex()
		}
		where, args = append(where, col+" = ?"), append(args, v)
	}
	q := "SELECT count(*) FROM " + coll
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	var n int64
	if err := b.sqlite.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// dump renders every record of coll in key order, one line each.
func (b *backend) dump(coll string) []string {
	b.t.Helper()
	ctx := context.Background()
	var out []string
	if b.onMongo() {
		cur, err := b.env.DB.Collection(coll).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			b.t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			b.t.Fatal(err)
		}
		for _, d := range docs {
			out = append(out, d.String())
		}
		return out
	}
	rows, err := b.sqlite.Query(ctx, "SELECT * FROM "+coll+" ORDER BY 1, 2")
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// mustOID is the ObjectID of a hex id, as the Mongo store keys records.
func mustOID(t testing.TB, id string) bson.ObjectID {
	t.Helper()
	o, err := bson.ObjectIDFromHex(id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
