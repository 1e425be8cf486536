// Package server is the Accord server service: servers (guilds), members and
// roles, invites, channels, private conversations, messages, read states,
// typing and the event feed.
//
// The service is wired here: the stores (internal/sqlite on the service's
// SQLite file when ACCORD_STORE=sqlite, else internal/mongo; see
// internal/stores) and the Redis coordination state (internal/redis)
// behind the domains' interfaces
// (internal/guild, internal/chat), the event log behind their Events, and
// the gRPC handlers (internal/grpcapi) over the domains.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"
	serverv1 "github.com/accordchat/accord/gen/accord/server/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/auth"
	"github.com/accordchat/accord/platform/blobstore"
	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/platform/promx"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/emoji"
	"github.com/accordchat/accord/services/server/internal/feed"
	"github.com/accordchat/accord/services/server/internal/grpcapi"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/redis"
	"github.com/accordchat/accord/services/server/internal/stores"
)

// Options tune the service; zero fields take the production defaults.
type Options struct {
	// Users is the user service as the guild half uses it; default: the
	// user service at d.Peers.User.
	Users guild.UserDirectory
	// Names resolves display names for messages; default: the user service
	// through d.Peers.User with a five-minute cache.
	Names chat.Names
	// Chat tunes rate limits, typing and the outbox; default:
	// chat.DefaultConfig with the rate limit of d.Config.
	Chat *chat.Config
	// Feed tunes the event feed hub.
	Feed *feed.Options
	// Events is the event log; default d.Events.
	Events *events.Log
	// Blobs keeps attachment bytes; default the blob store of
	// d.Config.BlobURL (a folder under d.Config.DataDir when unset).
	Blobs chat.Blobs
}

// Service is the server service.
type Service struct {
	guild *grpcapi.GuildAPI
	chat  *grpcapi.ChatAPI
	msgs  *chat.Service
	hub   *feed.Hub
}

// api combines the two halves into one ServerService (and one
// ServerInternalService) implementation: the halves' methods are promoted
// over the Unimplemented ones embedded deeper.
type api struct {
	*grpcapi.GuildAPI
	*grpcapi.ChatAPI
}

// feedAPI serves EventService from the messaging half's feed; the
// Unimplemented methods sit one level deeper so ChatAPI's win.
type feedAPI struct {
	feedUnimpl
	*grpcapi.ChatAPI
}

type feedUnimpl struct {
	eventsv1.UnimplementedEventServiceServer
}

// feedInternalAPI serves EventInternalService (the gateways' feed) the
// same way.
type feedInternalAPI struct {
	feedInternalUnimpl
	*grpcapi.ChatAPI
}

type feedInternalUnimpl struct {
	eventsv1.UnimplementedEventInternalServiceServer
}

// New builds the service from its dependencies.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return NewWithOptions(ctx, d, Options{})
}

// NewWithOptions builds the service with options (tests, benchmarks).
func NewWithOptions(ctx context.Context, d app.Deps, o Options) (*Service, error) {
	if d.Redis == nil {
		return nil, fmt.Errorf("server service needs Redis")
	}
	set, err := stores.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	store := set.Guild
	if o.Events == nil {
		o.Events = d.Events
	}
	if o.Events == nil {
		return nil, fmt.Errorf("server service needs the event log")
	}
	if o.Users == nil {
		var conn grpc.ClientConnInterface
		if d.Peers != nil {
			conn = d.Peers.User
		}
		o.Users = grpcapi.NewUserDirectory(conn, d.ServiceCreds)
	}
	if o.Names == nil {
		var next chat.Names = chat.NewStaticNames()
		if d.Peers != nil && d.Peers.User != nil {
			next = grpcapi.NewUserServiceNames(d.Peers.User)
		}
		o.Names = chat.NewCachedNames(next, d.Log, 5*time.Minute, 100_000)
	}
	cfg := chat.DefaultConfig()
	cfg.RateLimit, cfg.RateWindow = d.Config.MessageRateLimit, d.Config.MessageRateWindow
	cfg.MaxUploadBytes = d.Config.MaxUploadBytes
	if o.Chat != nil {
		cfg = *o.Chat
	}
	if o.Blobs == nil {
		b, err := blobstore.Open(ctx, d.Config.BlobURL, d.Config.DataDir)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = b.Close() })
		o.Blobs = b
	}
	fo := feed.DefaultOptions()
	if o.Feed != nil {
		fo = *o.Feed
	}
	outbox := redis.NewOutbox(d.Redis, d.Keys)
	if d.Metrics != nil {
		registerMetrics(d.Metrics, &fo, outbox)
	}
	evs := grpcapi.Events{Log: o.Events, Redis: d.Redis, Keys: d.Keys}
	access := guild.NewAccess(store)
	requests, typing := redis.NewRequestRecords(d.Redis, d.Keys), redis.NewTypingWindows(d.Redis, d.Keys)
	activity := redis.NewActivity(d.Redis, d.Keys, cfg.ActivityMaxLen)
	msgs := chat.New(chat.Deps{
		Messages: set.Messages, ReadStates: set.ReadStates, Channels: store, Access: access,
		Reactions: set.Reactions, Pins: set.Pins, Servers: store, IsEmoji: emoji.Valid,
		Locks:    redis.NewLocks(d.Redis, d.Keys, d.Log, channelScope(store)),
		Outbox:   outbox,
		Limiter:  redis.NewRateLimiter(d.Redis, d.Keys),
		Requests: requests,
		Typing:   typing,
		Activity: activity,
		SendDone: redis.NewSendDone(requests, outbox, typing, activity),
		Events:   grpcapi.MessageLogged{Events: evs},
		Names:    o.Names,
		Mentions: store, MentionIndex: set.Mentions, Notify: set.Notify,
		Attachments: set.Attachments, Blobs: o.Blobs,
		Log: d.Log,
	}, cfg)
	hub := feed.NewHub(d.Redis, o.Events, redis.TypingChannel(d.Keys), d.Log, fo)
	return &Service{
		guild: grpcapi.NewGuildAPI(guild.New(store, o.Users, fileCleanup{Events: grpcapi.MessageLogged{Events: evs}, files: msgs, log: d.Log}, d.Log).WithBlobs(o.Blobs)),
		chat:  grpcapi.NewChatAPI(msgs, hub, access).WatchSessions(grpcapi.SessionWatch{Verifier: d.Verifier, Binder: binder(d.Revocations)}),
		msgs:  msgs,
		hub:   hub,
	}, nil
}

// registerMetrics registers the service's metrics: the feed's lag behind
// the event log (observed by fo's reader) and the outbox's depth (read
// from Redis on each scrape).
func registerMetrics(reg prometheus.Registerer, fo *feed.Options, outbox *redis.Outbox) {
	lag := promx.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "accord_server_feed_lag_seconds",
		Help:    "Time from an event's append to the event log to its hand-out by an instance's feed reader.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}))
	next := fo.Lag
	fo.Lag = func(d time.Duration) {
		lag.Observe(d.Seconds())
		if next != nil {
			next(d)
		}
	}
	promx.Register(reg, promx.NewSampledGauge(prometheus.GaugeOpts{
		Name: "accord_server_outbox_messages",
		Help: "Messages stored but not yet known to be in the event log (the outbox, shared by every instance: aggregate with max).",
	}, 2*time.Second, func(ctx context.Context) (float64, error) {
		n, err := outbox.Depth(ctx)
		return float64(n), err
	}))
}

// Run runs the service's background work until ctx ends: the outbox
// sweeper and the event feed reader.
func (svc *Service) Run(ctx context.Context) error {
	go svc.msgs.RunOutbox(ctx)
	go svc.msgs.RunOrphanSweeper(ctx)
	return svc.hub.Run(ctx)
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "server", Listen: listen, Metrics: metrics, UsesMongo: true, UsesSQLite: true, New: New}
}

// Register adds the service's gRPC services to s.
func (svc *Service) Register(s grpc.ServiceRegistrar) {
	serverv1.RegisterServerServiceServer(s, api{svc.guild, svc.chat})
	serverv1.RegisterServerInternalServiceServer(s, api{svc.guild, svc.chat})
	eventsv1.RegisterEventServiceServer(s, feedAPI{ChatAPI: svc.chat})
	eventsv1.RegisterEventInternalServiceServer(s, feedInternalAPI{ChatAPI: svc.chat})
}

// GuildAPI is the structural half's handlers (tests serve it alone).
func (svc *Service) GuildAPI() *grpcapi.GuildAPI { return svc.guild }

// ChatAPI is the messaging half's handlers (tests serve it alone).
func (svc *Service) ChatAPI() *grpcapi.ChatAPI { return svc.chat }

// SweepOrphans deletes the uploads no message carries made before the
// time (the background sweeper's work, for tests and tools).
func (svc *Service) SweepOrphans(ctx context.Context, before time.Time) (int, error) {
	return svc.msgs.SweepOrphans(ctx, before)
}

// fileCleanup is guild.Events that also deletes the files of a deleted
// channel or server, bytes and metadata, once its members have been told.
// A failure is logged and does not fail the deletion; the files it left
// are unreachable (their channel is gone) and an operator finds them in the
// log.
type fileCleanup struct {
	guild.Events
	files *chat.Service
	log   *slog.Logger
}

// ChannelDeleted implements guild.Events.
func (f fileCleanup) ChannelDeleted(ctx context.Context, serverID, channelID string) error {
	err := f.Events.ChannelDeleted(ctx, serverID, channelID)
	f.deleteFiles(ctx, serverID, channelID)
	return err
}

// ServerDeleted implements guild.Events.
func (f fileCleanup) ServerDeleted(ctx context.Context, serverID string) error {
	err := f.Events.ServerDeleted(ctx, serverID)
	f.deleteFiles(ctx, serverID, "")
	return err
}

func (f fileCleanup) deleteFiles(ctx context.Context, serverID, channelID string) {
	n, err := f.files.DeleteFilesIn(ctx, serverID, channelID)
	if err != nil {
		f.log.ErrorContext(ctx, "deleting the files of a deleted channel or server failed", "err", err,
			"server", serverID, "channel", channelID, "deleted", n)
	} else if n > 0 {
		f.log.InfoContext(ctx, "files of a deleted channel or server deleted", "server", serverID, "channel", channelID, "count", n)
	}
}

// channelScope is the event-log scope of a channel's messages: its
// server's. The channel locks' Redis keys go with it (redis.Locks).
func channelScope(store guild.Store) redis.ScopeOf {
	return func(ctx context.Context, channelID string) (string, error) {
		c, err := store.Channel(ctx, channelID)
		if err != nil {
			return "", err
		}
		return events.ServerScope(c.ServerID), nil
	}
}

// binder is r as a session binder, or nil without one (a nil pointer must
// not become a non-nil interface).
func binder(r *auth.Revocations) auth.SessionBinder {
	if r == nil {
		return nil
	}
	return r
}
