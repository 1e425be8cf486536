package promx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRegisterSharesByName(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	b := Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	if a != b {
		t.Fatal("the second registration did not return the first collector")
	}
	b.Inc()
	if got := testutil.ToFloat64(a); got != 1 {
		t.Errorf("shared counter = %v, want 1", got)
	}
	if c := Register[prometheus.Counter](nil, a); c != a {
		t.Error("a nil registry must hand the collector back")
	}
}

func TestSampledGauge(t *testing.T) {
	var fail bool
	g := NewSampledGauge(prometheus.GaugeOpts{Name: "depth", Help: "d"}, time.Second, func(ctx context.Context) (float64, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("read without a deadline")
		}
		if fail {
			return 0, errors.New("down")
		}
		return 7, nil
	})
	if got := testutil.ToFloat64(g); got != 7 {
		t.Errorf("gauge = %v, want 7", got)
	}
	fail = true
	if n := testutil.CollectAndCount(g); n != 0 {
		t.Errorf("a failed read exported %d samples, want none", n)
	}
}
