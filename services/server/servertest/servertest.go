// Package servertest runs the server service for other services' tests: its
// internal API on a test environment, and fixtures written through its own
// stores, so that those tests need not know how it stores anything.
package servertest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/stores"
)

// Server is a running server service and its stores.
type Server struct {
	// Conn reaches its gRPC services (call the internal one with a
	// service token).
	Conn    *grpc.ClientConn
	t       testing.TB
	servers guild.ServerStore
	msgs    chat.MessageStore
	files   chat.AttachmentStore
}

// Start serves the server service over env's database and Redis until the
// test ends. It asks no other service: no user is known to it.
func Start(t testing.TB, env *platformtest.Env) *Server {
	t.Helper()
	ctx := context.Background()
	d := env.Deps("server")
	svc, err := server.NewWithOptions(ctx, d, server.Options{Users: noUsers{}, Names: chat.NewStaticNames()})
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures go through the stores the service itself opened over d.
	set, err := stores.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{Conn: env.Serve(func(s *grpc.Server) { svc.Register(s) }), t: t, servers: set.Guild, msgs: set.Messages, files: set.Attachments}
}

// NewID returns a new id of the server service's shape.
func NewID() string { return ids.New() }

// AddServer stores a server ("guild" or "dm" kind) with the given id
// (NewID when empty) and returns the id.
func (s *Server) AddServer(id, name, kind string) string {
	s.t.Helper()
	if id == "" {
		id = ids.New()
	}
	srv := guild.Server{ID: id, Name: name, Kind: guild.Kind(kind), CreatedAt: time.Now()}
	if srv.Kind == guild.KindDM {
		srv.DMKey = id // unique, as the conversations of two users are
	}
	if err := s.servers.CreateServer(context.Background(), srv); err != nil {
		s.t.Fatal(err)
	}
	return id
}

// AddMessage stores a message created at the given time with the given id
// (NewID when empty) and returns the id. Author, server and channel are
// taken as given.
func (s *Server) AddMessage(id, authorID, serverID, channelID string, created time.Time) string {
	s.t.Helper()
	if id == "" {
		id = ids.New()
	}
	err := s.msgs.CreateMessage(context.Background(), chat.Message{
		ID: id, ServerID: serverID, ChannelID: channelID, AuthorID: authorID, Content: "hi", CreatedAt: created,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// DeleteMessage deletes a stored message.
func (s *Server) DeleteMessage(id string) {
	s.t.Helper()
	if err := s.msgs.DeleteMessage(context.Background(), id); err != nil {
		s.t.Fatal(err)
	}
}

// AddAttachment stores the metadata of an uploaded file of size bytes in
// a server (its bytes are not stored) and returns its id.
func (s *Server) AddAttachment(serverID string, size int64) string {
	s.t.Helper()
	id := ids.New()
	err := s.files.CreateAttachment(context.Background(), chat.Attachment{
		ID: id, ServerID: serverID, ChannelID: ids.New(), UploaderID: ids.New(), Name: "f.bin",
		ContentType: "application/octet-stream", Size: size, BlobKey: "att/" + id, CreatedAt: time.Now(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// DeleteAttachment deletes a stored file's metadata.
func (s *Server) DeleteAttachment(id string) {
	s.t.Helper()
	if err := s.files.DeleteAttachment(context.Background(), id); err != nil {
		s.t.Fatal(err)
	}
}

// noUsers is a user directory without users.
type noUsers struct{}

func (noUsers) LookupLogin(context.Context, string) (guild.UserInfo, error) {
	return guild.UserInfo{}, errs.NotFound("no such user")
}

func (noUsers) Users(context.Context, []string) (map[string]guild.UserInfo, error) {
	return map[string]guild.UserInfo{}, nil
}

func (noUsers) Relation(context.Context, string, string) (guild.Relation, error) {
	return guild.Relation{}, nil
}
