package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	userv1 "github.com/accordchat/accord/gen/accord/user/v1"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/platform/sqlitex"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/user"
)

// The first start on SQLite over a data folder of an earlier release (all
// data in the embedded FerretDB) finds the accounts, servers and messages
// there; a later start
// changes nothing.
func TestFirstStartOnSQLiteImportsEarlierData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := platformtest.New(t)

	// An earlier release: the user service on MongoDB.
	d := env.Deps("user")
	d.SQLite = nil
	earlier, err := user.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	users := userv1.NewUserServiceClient(env.Serve(func(s *grpc.Server) { earlier.Register(s) }, user.OpenMethods()...))
	reg, err := users.Register(ctx, &userv1.RegisterRequest{Login: "early_bird", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}

	// ... with a server, a channel and a message of hers on the server service.
	sd := env.Deps("server")
	sd.SQLite = nil
	earlierServers, err := server.New(ctx, sd)
	if err != nil {
		t.Fatal(err)
	}
	servers := serverv1.NewServerServiceClient(env.Serve(func(s *grpc.Server) { earlierServers.Register(s) }))
	bird := env.Ctx(reg.GetTokens().GetAccessToken())
	srv, err := servers.CreateServer(bird, &serverv1.CreateServerRequest{Name: "Nest"})
	if err != nil {
		t.Fatal(err)
	}
	chans, err := servers.ListChannels(bird, &serverv1.ListChannelsRequest{ServerId: srv.GetServer().GetId()})
	if err != nil || len(chans.GetChannels()) == 0 {
		t.Fatalf("channels of the new server = %v, %v", chans, err)
	}
	channelID := chans.GetChannels()[0].GetId()
	if _, err := servers.SendMessage(bird, &serverv1.SendMessageRequest{ChannelId: channelID, Content: "first words"}); err != nil {
		t.Fatal(err)
	}

	cfg := env.Config
	cfg.Store = config.StoreSQLite
	cfg.MongoURI, cfg.MongoDB = platformtest.MongoURI(t), env.DB.Name()
	for range 2 {
		if err := importEarlierData(ctx, cfg, env.Log); err != nil {
			t.Fatal(err)
		}
	}

	// This release: the user service on the SQLite file of the data folder.
	db := platformtest.SQLite(t, sqlitex.Path(cfg.DataDir, "user"))
	d = env.Deps("user")
	d.Mongo, d.SQLite = nil, db
	now, err := user.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	users = userv1.NewUserServiceClient(env.Serve(func(s *grpc.Server) { now.Register(s) }, user.OpenMethods()...))
	login, err := users.Login(ctx, &userv1.LoginRequest{Login: "early_bird", Password: "correct horse battery"})
	if err != nil || login.GetUser().GetId() != reg.GetUser().GetId() {
		t.Fatalf("login after the upgrade = %v, %v; want user %s", login.GetUser(), err, reg.GetUser().GetId())
	}
	found, err := users.SearchUsers(env.Ctx(login.GetTokens().GetAccessToken()), &userv1.SearchUsersRequest{LoginPrefix: "early"})
	if err != nil || len(found.GetUsers()) != 1 {
		t.Fatalf("search after two starts = %v, %v; want the one account", found, err)
	}

	// ... and the server service on its SQLite file finds her server and message.
	sd = env.Deps("server")
	sd.Mongo, sd.SQLite = nil, platformtest.SQLite(t, sqlitex.Path(cfg.DataDir, "server"))
	nowServers, err := server.New(ctx, sd)
	if err != nil {
		t.Fatal(err)
	}
	servers = serverv1.NewServerServiceClient(env.Serve(func(s *grpc.Server) { nowServers.Register(s) }))
	bird = env.Ctx(login.GetTokens().GetAccessToken())
	list, err := servers.ListServers(bird, &serverv1.ListServersRequest{})
	if err != nil || len(list.GetServers()) != 1 || list.GetServers()[0].GetId() != srv.GetServer().GetId() {
		t.Fatalf("servers after the upgrade = %v, %v; want %s", list.GetServers(), err, srv.GetServer().GetId())
	}
	msgs, err := servers.ListMessages(bird, &serverv1.ListMessagesRequest{ChannelId: channelID})
	if err != nil || len(msgs.GetMessages()) != 1 || msgs.GetMessages()[0].GetContent() != "first words" {
		t.Fatalf("history after the upgrade = %v, %v; want the one message", msgs.GetMessages(), err)
	}
}
