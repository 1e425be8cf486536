package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	sockets         prometheus.Gauge
	socketsClosed   *prometheus.CounterVec
	eventsDelivered prometheus.Counter
	framesSent      *prometheus.CounterVec
	socketWrites    prometheus.Counter
	upstreamErrors  *prometheus.CounterVec
	deliveryLatency prometheus.Histogram
	sharedCatchUps  prometheus.Counter

	// The per-type frame counters, resolved once: the write path of every
	// socket counts each frame.
	frameCounters map[string]prometheus.Counter
}

// delivered observes the delivery latency of an event committed at
// created (unix nanoseconds) and just written to a socket.
func (m *metrics) delivered(created int64) {
	m.deliveryLatency.Observe(max(time.Since(time.Unix(0, created)).Seconds(), 0))
}

// frameSent counts one frame written to a socket.
func (m *metrics) frameSent(typ string, event bool) {
	if event {
		m.eventsDelivered.Inc()
	}
	if c, ok := m.frameCounters[typ]; ok {
		c.Inc()
		return
	}
	m.framesSent.WithLabelValues(typ).Inc()
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_gateway_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "accord_gateway_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method (WebSockets excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		sockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "accord_gateway_websockets_open",
			Help: "Open WebSockets on /v1/events.",
		}),
		socketsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_gateway_websockets_closed_total",
			Help: "Closed WebSockets by close code.",
		}, []string{"code"}),
		eventsDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_gateway_events_delivered_total",
			Help: "Feed events written to WebSockets.",
		}),
		framesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_gateway_websocket_frames_sent_total",
			Help: "Frames written to WebSockets by type.",
		}, []string{"type"}),
		socketWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_gateway_websocket_writes_total",
			Help: "Batches of frames written to WebSockets, one system call each when the connection takes them at once: frames sent / writes is the coalescing.",
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_gateway_upstream_errors_total",
			Help: "Failed calls to the services (unavailable, internal, timeouts) by service and code.",
		}, []string{"service", "code"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "accord_gateway_delivery_latency_seconds",
			Help:    "Time from an event's commit (its create_time) to its write to a WebSocket; events replayed to a resuming socket count with their age.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		sharedCatchUps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_gateway_shared_feed_catchups_total",
			Help: "Sockets that fell behind the shared event feed and caught up from the event log.",
		}),
	}
	m.requests = register(reg, m.requests)
	m.deliveryLatency = register(reg, m.deliveryLatency)
	m.latency = register(reg, m.latency)
	m.sockets = register(reg, m.sockets)
	m.socketsClosed = register(reg, m.socketsClosed)
	m.eventsDelivered = register(reg, m.eventsDelivered)
	m.framesSent = register(reg, m.framesSent)
	m.socketWrites = register(reg, m.socketWrites)
	m.upstreamErrors = register(reg, m.upstreamErrors)
	m.sharedCatchUps = register(reg, m.sharedCatchUps)
	m.frameCounters = map[string]prometheus.Counter{}
	for _, t := range []string{"ready", "event", "presence", "pong", "error"} {
		m.frameCounters[t] = m.framesSent.WithLabelValues(t)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (two gateways sharing a registry share their metrics).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(T); ok {
				return old
			}
		}
		panic(err) // two different metrics with one name is a programming error
	}
	return c
}

type routeKey struct{}

// routeHolder receives the matched grpc-gateway pattern from inside the mux.
type routeHolder struct{ route string }

// recordPattern is a grpc-gateway middleware that tells instrument which
// route pattern matched, so request metrics have a bounded label set.
func recordPattern(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
			if p, ok := runtime.HTTPPattern(r.Context()); ok {
				h.route = p.String()
			}
		}
		next(w, r, params)
	}
}

// staticRoute names the routes outside the REST API.
func staticRoute(p string) string {
	switch p {
	case "/healthz", "/metrics", "/openapi.json", "/api", "/v1/events":
		return p
	}
	if strings.HasPrefix(p, "/v1/") {
		return "unmatched"
	}
	if strings.HasPrefix(p, "/assets/") {
		return "/assets/"
	}
	return "web"
}

// instrument counts requests and observes their latency.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		holder := &routeHolder{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, holder))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := holder.route
		if route == "" {
			route = staticRoute(r.URL.Path)
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		if sw.hijacked {
			code = http.StatusSwitchingProtocols
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(code)).Inc()
		if !sw.hijacked {
			m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}

// statusWriter records the status code; it keeps Flush and Hijack working.
type statusWriter struct {
	http.ResponseWriter
	code     int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom hands io.Copy to the connection's ReadFrom, so that a file
// served from the folder blob store goes out with sendfile instead of
// through a buffer.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// Flush supports streaming responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack supports WebSockets.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	c, rw, err := h.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
