package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	imongo "github.com/accordchat/accord/services/server/internal/mongo"
)

// Benchmarks of the guild half. Run:
//
//	go test -run '^$' -bench 'BenchmarkList(Servers|Members)' -benchtime 5x ./internal/grpcapi/

// seedMembers inserts n memberships of (server, user) pairs made by mk, in
// batches, straight into the collection (the RPCs are not what is measured).
func seedMembers(b *testing.B, h *harness, n int, mk func(i int) (serverID, userID string)) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if !h.db.onMongo() {
		for i := range n {
			sid, uid := mk(i)
			if err := h.db.Guild.CreateMember(ctx, guild.Member{ID: ids.New(), ServerID: sid, UserID: uid, Role: guild.RoleMember, JoinedAt: now}, guild.KindGuild); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	batch := make([]any, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := h.env.DB.Collection(imongo.MembersCollection).InsertMany(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		sid, uid := mk(i)
		batch = append(batch, bson.D{
			{Key: "_id", Value: bson.NewObjectID()}, {Key: "server_id", Value: sid}, {Key: "user_id", Value: uid},
			{Key: "role", Value: int32(serverv1.Role_ROLE_MEMBER)}, {Key: "joined_at", Value: now}, {Key: "kind", Value: "guild"},
		})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// explain logs the plan the database reports for a find on members, when
// it answers the explain command.
func explain(b *testing.B, h *harness, filter bson.D) {
	b.Helper()
	if !h.db.onMongo() {
		return // internal/sqlite's plan test covers SQLite
	}
	var out bson.M
	err := h.env.DB.RunCommand(context.Background(), bson.D{
		{Key: "explain", Value: bson.D{{Key: "find", Value: imongo.MembersCollection}, {Key: "filter", Value: filter}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "limit", Value: 101}}},
	}).Decode(&out)
	if err != nil {
		b.Logf("explain: %v", err)
		return
	}
	j, _ := bson.MarshalExtJSON(out["queryPlanner"], false, false)
	b.Logf("explain %v: pushdown=%v sortpushdown=%v plan=%s", filter, out["filterPushdown"], out["sortPushdown"], j)
}

// BenchmarkListServers lists the servers of a user who is in 200, while the
// members collection holds 1k, 10k or 100k other memberships: a flat curve
// means the (user_id, kind, _id) index does the work. (Embedded FerretDB
// 1.24 on SQLite pushes down only {_id: x} filters: there the explain shows
// a full SCAN and the curve grows with the collection; on MongoDB the same
// query is an index range scan with no sort stage.)
func BenchmarkListServers(b *testing.B) {
	for _, noise := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("others=%d", noise), func(b *testing.B) {
			h := newHarness(b)
			u := h.newUser("u")
			u.ctx = auth.WithBearer(context.Background(), h.env.UserToken(u.id))
			ctx := context.Background()
			ids := make([]string, 200)
			for i := range ids {
				ids[i] = bson.NewObjectID().Hex()
				sv := guild.Server{ID: ids[i], Name: "S", Kind: guild.KindGuild, OwnerID: u.id, MemberCount: 1, CreatedAt: time.Now()}
				if err := h.db.Guild.CreateServer(ctx, sv); err != nil {
					b.Fatal(err)
				}
			}
			seedMembers(b, h, noise, func(i int) (string, string) { return platformtest.NewID(), platformtest.NewID() })
			seedMembers(b, h, 200, func(i int) (string, string) { return ids[i], u.id })
			explain(b, h, bson.D{{Key: "user_id", Value: u.id}})
			b.ResetTimer()
			for b.Loop() {
				n, tok := 0, ""
				for {
					r, err := h.api.ListServers(u.ctx, &serverv1.ListServersRequest{PageToken: tok})
					if err != nil {
						b.Fatal(err)
					}
					n += len(r.GetServers())
					if tok = r.GetNextPageToken(); tok == "" {
						break
					}
				}
				if n != 200 {
					b.Fatalf("listed %d servers", n)
				}
			}
		})
	}
}

// BenchmarkListMembers reads one page of 100 from the middle of a server of
// 1k or 10k members: a flat curve means the (server_id, _id) index does the
// work (see BenchmarkListServers about FerretDB).
func BenchmarkListMembers(b *testing.B) {
	for _, size := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			h := newHarness(b)
			owner := h.newUser("owner")
			owner.ctx = auth.WithBearer(context.Background(), h.env.UserToken(owner.id))
			s, _ := h.createServer(owner, "Big")
			sid := s.GetId()
			seedMembers(b, h, size-1, func(i int) (string, string) { return sid, platformtest.NewID() })
			// A token from the middle of the list.
			tok := ""
			for range size / 2 / 1000 {
				r, err := h.api.ListMembers(owner.ctx, &serverv1.ListMembersRequest{ServerId: sid, PageSize: 1000, PageToken: tok})
				if err != nil {
					b.Fatal(err)
				}
				tok = r.GetNextPageToken()
			}
			explain(b, h, bson.D{{Key: "server_id", Value: sid}})
			b.ResetTimer()
			for b.Loop() {
				r, err := h.api.ListMembers(owner.ctx, &serverv1.ListMembersRequest{ServerId: sid, PageToken: tok})
				if err != nil {
					b.Fatal(err)
				}
				if len(r.GetMembers()) != 100 {
					b.Fatalf("page of %d", len(r.GetMembers()))
				}
			}
		})
	}
}
