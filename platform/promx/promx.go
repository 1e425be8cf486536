// Package promx registers the services' Prometheus collectors: the ones
// that several instances in one process share, and gauges read from a
// datastore when Prometheus scrapes.
package promx

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg, or returns the collector already
// registered under its name: two instances of a service in one process
// (tests, the all-in-one runner) share their metrics. A nil reg registers
// nothing. Two different collectors with one name is a programming error
// and panics.
func Register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(T); ok {
				return old
			}
		}
		panic(err)
	}
	return c
}

// sampledGauge is a gauge whose value is read on each scrape.
type sampledGauge struct {
	desc    *prometheus.Desc
	timeout time.Duration
	read    func(context.Context) (float64, error)
}

// NewSampledGauge returns a gauge whose value read returns on each scrape,
// within timeout. When read fails the scrape leaves the gauge out (an
// alert on absent() or a gap in the graph shows it) rather than reporting
// a made-up value. The state it reads (a Redis key) is shared by every
// instance, so each reports the same value: aggregate with max, not sum.
func NewSampledGauge(opts prometheus.GaugeOpts, timeout time.Duration, read func(context.Context) (float64, error)) prometheus.Collector {
	return &sampledGauge{
		desc:    prometheus.NewDesc(prometheus.BuildFQName(opts.Namespace, opts.Subsystem, opts.Name), opts.Help, nil, opts.ConstLabels),
		timeout: timeout,
		read:    read,
	}
}

func (g *sampledGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *sampledGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	v, err := g.read(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
}
