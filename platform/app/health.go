package app

import (
	"context"
	"fmt"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/accordchat/accord/platform/grpcx"
)

// HealthCheck asks the gRPC health service at addr (def when empty) and
// returns an error unless it is SERVING. Container health checks run it as
// "<binary> health".
func HealthCheck(addr, def string) error {
	if addr == "" {
		addr = def
	}
	conn, err := grpcx.Dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %s", addr, res.GetStatus())
	}
	return nil
}
