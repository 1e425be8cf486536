package user_test

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/user"
)

// Accounts kept on MongoDB (the embedded FerretDB of earlier releases) move
// to a new SQLite database whole: same ids, passwords, sessions, spent
// tokens and relationships.
func TestImportFromMongo(t *testing.T) {
	old := newFixture(t, func(_ *user.Options, env *platformtest.Env) { env.Config.Store = config.StoreMongo })
	a, b := old.register("importer_a"), old.register("importer_b")
	if _, err := old.users.SendFriendRequest(a.ctx(old), &userv1.SendFriendRequestRequest{Login: "importer_b"}); err != nil {
		t.Fatal(err)
	}
	rotated, err := old.users.RefreshToken(old.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: a.tokens.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}

	dst := old.env.SQLite("user")
	ctx := old.ctx("")
	if ok, err := user.ImportFromMongo(ctx, old.env.DB, dst, old.env.Log); err != nil || !ok {
		t.Fatalf("import = %v, %v", ok, err)
	}
	if ok, err := user.ImportFromMongo(ctx, old.env.DB, dst, old.env.Log); err != nil || ok {
		t.Fatalf("second import = %v, %v; want nothing done", ok, err)
	}

	d := old.env.Deps("user")
	d.Mongo, d.SQLite = nil, dst
	svc, err := user.NewWithOptions(ctx, d, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	users := userv1.NewUserServiceClient(old.env.Serve(func(s *grpc.Server) { svc.Register(s) }, user.OpenMethods()...))

	login, err := users.Login(ctx, &userv1.LoginRequest{Login: "IMPORTER_A", Password: testPassword})
	if err != nil || login.GetUser().GetId() != a.user.GetId() {
		t.Fatalf("login after import = %v, %v; want user %s", login.GetUser(), err, a.user.GetId())
	}
	rels, err := users.ListRelationships(old.env.Ctx(login.GetTokens().GetAccessToken()), &userv1.ListRelationshipsRequest{})
	if err != nil || len(rels.GetRelationships()) != 1 || rels.GetRelationships()[0].GetUserId() != b.user.GetId() ||
		rels.GetRelationships()[0].GetType() != outgoing {
		t.Fatalf("relationships after import = %v, %v", rels, err)
	}
	// The rotated token still works; the spent one is still reuse.
	if _, err := users.RefreshToken(ctx, &userv1.RefreshTokenRequest{RefreshToken: rotated.GetTokens().GetRefreshToken()}); err != nil {
		t.Fatalf("refresh with the live token: %v", err)
	}
	_, err = users.RefreshToken(ctx, &userv1.RefreshTokenRequest{RefreshToken: a.tokens.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
}

// Accounts on SQLite move to MongoDB whole, and only into a database
// without accounts.
func TestExportToMongo(t *testing.T) {
	old := newFixture(t, func(_ *user.Options, env *platformtest.Env) { env.Config.Store = config.StoreSQLite })
	a, b := old.register("mover_a"), old.register("mover_b")
	if _, err := old.users.BlockUser(a.ctx(old), &userv1.BlockUserRequest{UserId: b.user.GetId()}); err != nil {
		t.Fatal(err)
	}
	rotated, err := old.users.RefreshToken(old.ctx(""), &userv1.RefreshTokenRequest{RefreshToken: a.tokens.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}

	ctx := old.ctx("")
	dst := platformtest.Mongo(t)
	if n, err := user.ExportToMongo(ctx, old.env.SQLite("user"), dst, old.env.Log); err != nil || n != 2 {
		t.Fatalf("export = %d, %v; want 2 users", n, err)
	}
	if _, err := user.ExportToMongo(ctx, old.env.SQLite("user"), dst, old.env.Log); err == nil {
		t.Fatal("a second export into a database with accounts was accepted")
	}

	d := old.env.Deps("user")
	d.Mongo, d.SQLite = dst, nil
	svc, err := user.NewWithOptions(ctx, d, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	users := userv1.NewUserServiceClient(old.env.Serve(func(s *grpc.Server) { svc.Register(s) }, user.OpenMethods()...))
	login, err := users.Login(ctx, &userv1.LoginRequest{Login: "mover_a", Password: testPassword})
	if err != nil || login.GetUser().GetId() != a.user.GetId() {
		t.Fatalf("login after export = %v, %v; want user %s", login.GetUser(), err, a.user.GetId())
	}
	rels, err := users.ListRelationships(old.env.Ctx(login.GetTokens().GetAccessToken()), &userv1.ListRelationshipsRequest{Type: blocked})
	if err != nil || len(rels.GetRelationships()) != 1 || rels.GetRelationships()[0].GetUserId() != b.user.GetId() {
		t.Fatalf("blocked after export = %v, %v", rels, err)
	}
	_, err = users.RefreshToken(ctx, &userv1.RefreshTokenRequest{RefreshToken: a.tokens.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	if _, err := users.RefreshToken(ctx, &userv1.RefreshTokenRequest{RefreshToken: rotated.GetTokens().GetRefreshToken()}); err == nil {
		t.Fatal("the live token survived the reuse of its predecessor")
	}
}
