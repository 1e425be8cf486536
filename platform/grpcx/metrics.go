package grpcx

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// Metrics counts RPCs by method and code and times them.
type Metrics struct {
	handled *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewMetrics registers gRPC server metrics with reg. A process registers them
// once and shares them between the services it runs.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_grpc_server_handled_total",
			Help: "RPCs completed, by service, method and status code.",
		}, []string{"service", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "accord_grpc_server_handling_seconds",
			Help:    "RPC latency, by service and method (streams: their whole life).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"service", "method"}),
	}
	reg.MustRegister(m.handled, m.latency)
	return m
}

func (m *Metrics) observe(fullMethod string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	svc, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	m.handled.WithLabelValues(svc, method, code.String()).Inc()
	m.latency.WithLabelValues(svc, method).Observe(d.Seconds())
}
