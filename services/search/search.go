// Package search is the Accord search service: full-text search of the
// messages a caller may read, with Discord's filters.
//
// It is a read model of the server service's message log, the way stats
// is of the activity stream. The server service appends every message
// creation, edit and deletion, in the event log's encoding, to one Redis
// Stream ("<prefix>ev:messages") besides the server's own scope. That is
// the cheapest correct feed: one stream is followed with one consumer
// group, in order, whereas the per-server scopes would need a group per
// server, discovered by scanning the keyspace, and are trimmed to 10,000
// events each; the activity stream carries neither text nor edits.
//
// Each replica keeps a full index of its own on local disk
// (ACCORD_DATA_DIR/search, bleve) and follows the whole log with a
// consumer group of its own, named by an id kept beside the index: several
// replicas each answer every query (add replicas for query load), and a
// restart resumes from the group's position, which is placed after the
// last batch the index recorded applying. Who may read what is asked of
// the server service at query time, never stored in the index.
//
// This package only wires the parts: the rules live in internal/search,
// the bleve index in internal/index, the log consumer in internal/redis,
// the questions to the server and user services in internal/peers, and
// the gRPC handlers in internal/grpcapi.
package search

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	searchv1 "github.com/accordchat/accord/gen/accord/search/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/services/search/internal/grpcapi"
	"github.com/accordchat/accord/services/search/internal/index"
	"github.com/accordchat/accord/services/search/internal/peers"
	"github.com/accordchat/accord/services/search/internal/redis"
	domain "github.com/accordchat/accord/services/search/internal/search"
)

// Service is the search service.
type Service struct {
	api      *grpcapi.API
	index    *index.Live
	consumer *redis.Consumer
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	if d.Redis == nil {
		return nil, errors.New("search needs Redis")
	}
	if d.Peers == nil || d.Peers.Server == nil || d.Peers.User == nil {
		return nil, errors.New("search needs the server and user services")
	}
	dir := filepath.Join(d.Config.DataDir, "search")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	replica, err := replicaID(dir)
	if err != nil {
		return nil, err
	}
	idx, err := index.OpenLive(dir)
	if err != nil {
		return nil, err
	}
	svc := domain.NewService(idx, peers.NewMembers(d.Peers.Server, d.ServiceCreds), peers.NewDirectory(d.Peers.User, d.Peers.Server))
	rebuild := domain.NewRebuilder(peers.NewRecords(d.Peers.Server, d.ServiceCreds), idx, idx)
	c := redis.NewConsumer(d.Redis, d.Events, idx, d.Log, "search-"+replica)
	return &Service{api: grpcapi.New(svc, rebuild), index: idx, consumer: c}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "search", Listen: listen, Metrics: metrics, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s grpc.ServiceRegistrar) {
	searchv1.RegisterSearchServiceServer(s, svc.api)
}

// Run follows the message log until ctx ends, then closes the index.
func (svc *Service) Run(ctx context.Context) error {
	err := svc.consumer.Run(ctx)
	return errors.Join(err, svc.index.Close())
}

// replicaID is this replica's id, kept beside its index (a copied index
// directory is a new replica only if the id file is removed).
func replicaID(dir string) (string, error) {
	path := filepath.Join(dir, "replica")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write replica id: %w", err)
	}
	return id, nil
}
