package tracing

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"}, false},
	} {
		if got := Enabled(env(tc.env)); got != tc.want {
			t.Errorf("Enabled(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestSetup(t *testing.T) {
	t.Run("off by default, propagation on", func(t *testing.T) {
		before := otel.GetTracerProvider()
		stop, err := Setup(context.Background(), "accord-test", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer stop(context.Background())
		if otel.GetTracerProvider() != before {
			t.Error("a tracer provider was installed without an OTLP endpoint")
		}
		if f := otel.GetTextMapPropagator().Fields(); !strings.Contains(strings.Join(f, ","), "traceparent") {
			t.Errorf("propagator fields %v, want traceparent", f)
		}
	})
	t.Run("refuses a protocol it does not speak", func(t *testing.T) {
		_, err := Setup(context.Background(), "accord-test", env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}))
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
			t.Errorf("err %v, want one naming OTEL_EXPORTER_OTLP_PROTOCOL", err)
		}
	})
	t.Run("exports when an endpoint is set", func(t *testing.T) {
		t.Cleanup(func() { otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator()) })
		stop, err := Setup(context.Background(), "accord-test", env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
			t.Errorf("tracer provider %T, want the SDK's", otel.GetTracerProvider())
		}
		_ = stop(context.Background())
	})
}
