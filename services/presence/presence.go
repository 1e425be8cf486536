// Package presence is the Accord presence service: who is online, across
// tabs, refreshes and crashes.
//
// Each client connection opens a session and keeps it alive with
// heartbeats; a user is online while any session lives. Sessions live in
// Redis with an expiry; a sweeper (in Run, on every instance) ends sessions
// whose heartbeats stopped and announces the user offline once none is
// left. Changes travel over one Redis pub/sub channel, so every instance
// sees them, and each instance fans them out to its WatchPresence streams.
//
// Heartbeat semantics: a heartbeat for a session that ended (closed, or
// expired) gets NOT_FOUND, so the client opens a new one. A heartbeat for a
// session Redis knows nothing about (it lost its data, e.g. a restart
// without persistence) registers the session again under the caller and
// re-announces them: session ids are unguessable and bound to the caller's
// user id, so this revives only the caller's own connection.
//
// This package only wires the parts: the rules live in internal/presence
// (sessions, statuses, who sees whom, watches), presence state and its
// Lua scripts in internal/redis, the fan-out of changes to watchers in
// internal/hub, the questions to the user and server services in
// internal/peers, and the gRPC handlers in internal/grpcapi.
package presence

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	presencev1 "github.com/accordchat/accord/gen/accord/presence/v1"
	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/promx"
	"github.com/accordchat/accord/services/presence/internal/grpcapi"
	"github.com/accordchat/accord/services/presence/internal/hub"
	"github.com/accordchat/accord/services/presence/internal/peers"
	"github.com/accordchat/accord/services/presence/internal/presence"
	"github.com/accordchat/accord/services/presence/internal/redis"
)

// Options tune the service; zero fields take the defaults below.
type Options struct {
	// HeartbeatInterval is how often clients must send heartbeats (20 s).
	HeartbeatInterval time.Duration
	// ExpiryIntervals is how many missed intervals end a session (3).
	ExpiryIntervals int
	// SweepInterval is how often the sweeper looks for expired sessions (5 s).
	SweepInterval time.Duration
	// Tombstone is how long an ended session is remembered (15 min).
	Tombstone time.Duration
	// StatusTTL is how long a chosen status outlives the user's last
	// activity (30 days).
	StatusTTL time.Duration
	// ConnectionsMaxLen bounds the connections stream (100,000).
	ConnectionsMaxLen int64
	// DayTTL is how long per-day connection counters are kept (40 days).
	DayTTL time.Duration
	// WatchQueue is how many changes a watcher may have pending before it
	// is dropped (1024).
	WatchQueue int
	// VisibilityTTL is how long a watcher trusts its visibility answer (30 s).
	VisibilityTTL time.Duration
	// Visibility decides who sees whom; nil means asking the user and server
	// services through Deps.Peers.
	Visibility presence.Visibility
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeartbeatInterval, 20*time.Second)
	def(&o.SweepInterval, 5*time.Second)
	def(&o.Tombstone, 15*time.Minute)
	def(&o.StatusTTL, 30*24*time.Hour)
	def(&o.DayTTL, 40*24*time.Hour)
	def(&o.VisibilityTTL, 30*time.Second)
	if o.ExpiryIntervals <= 0 {
		o.ExpiryIntervals = 3
	}
	if o.ConnectionsMaxLen <= 0 {
		o.ConnectionsMaxLen = 100_000
	}
	if o.WatchQueue <= 0 {
		o.WatchQueue = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Expiry is how long a session lives after a heartbeat.
func (o Options) Expiry() time.Duration {
	o = o.withDefaults()
	return o.HeartbeatInterval * time.Duration(o.ExpiryIntervals)
}

// Service is the presence service.
type Service struct {
	api *grpcapi.API
	svc *presence.Service
	hub *hub.Hub
}

// New builds the service from its dependencies with the default options.
func New(ctx context.Context, d app.Deps) (app.Service, error) {
	return NewService(ctx, d, Options{})
}

// NewService builds the service with options.
func NewService(_ context.Context, d app.Deps, o Options) (*Service, error) {
	if d.Redis == nil {
		return nil, errors.New("presence needs Redis")
	}
	o = o.withDefaults()
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := redis.New(d.Redis, redis.Config{
		Keys:              d.Keys,
		Expiry:            o.Expiry(),
		Tombstone:         o.Tombstone,
		StatusTTL:         o.StatusTTL,
		ConnectionsMaxLen: o.ConnectionsMaxLen,
		DayTTL:            o.DayTTL,
	})
	vis := o.Visibility
	if vis == nil {
		if d.Peers == nil || d.Peers.User == nil || d.Peers.Server == nil {
			return nil, errors.New("presence needs the user and server services (Deps.Peers) or Options.Visibility")
		}
		vis = peers.NewVisibility(d.Peers.User, d.Peers.Server, d.ServiceCreds)
	}
	if d.Metrics != nil {
		now := o.Now
		promx.Register(d.Metrics, promx.NewSampledGauge(prometheus.GaugeOpts{
			Name: "accord_presence_sessions",
			Help: "Open presence sessions (one per connected socket), over every instance: aggregate with max.",
		}, 2*time.Second, func(ctx context.Context) (float64, error) {
			n, err := st.Sessions(ctx, now())
			return float64(n), err
		}))
	}
	h := hub.New(d.Redis, st.Channel(), o.WatchQueue, log)
	svc := presence.NewService(presence.Deps{Store: st, Feed: h, Visibility: vis, Log: log}, presence.Options{
		HeartbeatInterval: o.HeartbeatInterval,
		SweepInterval:     o.SweepInterval,
		VisibilityTTL:     o.VisibilityTTL,
		Now:               o.Now,
	})
	return &Service{api: grpcapi.New(svc), svc: svc, hub: h}, nil
}

// Spec describes the service for app.Run.
func Spec(listen, metrics string) app.Spec {
	return app.Spec{Name: "presence", Listen: listen, Metrics: metrics, UsesMongo: false, New: New}
}

// Register adds the service's gRPC services to s.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	presencev1.RegisterPresenceServiceServer(gs, s.api)
}

// Handler is the gRPC handler itself, for calls that skip the transport
// (benchmarks).
func (s *Service) Handler() presencev1.PresenceServiceServer { return s.api }

// Run listens for changes and sweeps expired sessions until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.hub.Run(ctx) }()
	s.svc.Sweep(ctx)
	cancel()
	<-errc
	return ctx.Err()
}
