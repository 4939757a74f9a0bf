package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// catchAll is a grpc.UnknownServiceHandler, as a proxy backend or a
// catch-all has: it answers every method the server does not have, and
// counts the calls that reach it.
type catchAll struct{ reached atomic.Int64 }

func (c *catchAll) handle(_ any, stream grpc.ServerStream) error {
	c.reached.Add(1)
	return nil
}

// startCatchAll serves the Items example in development mode with a
// catch-all unknown-service handler, and metrics.
func startCatchAll(t *testing.T) (*servertest.Server, *catchAll) {
	t.Helper()
	h := &catchAll{}
	cfg := devConfig
	cfg.MetricsAddr = "127.0.0.1:0"
	srv := servertest.Start(t, cfg, append(example(), quiet,
		server.WithGRPCServerOptions(grpc.UnknownServiceHandler(h.handle)))...)
	return srv, h
}

// call invokes method with an empty health request, as a client that knows
// nothing of the method would, and returns the answer's code.
func call(ctx context.Context, conn *grpc.ClientConn, method string) codes.Code {
	err := conn.Invoke(ctx, method, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	return status.Code(err)
}

func TestOnlyTheRegisteredHealthAndReflectionMethodsSkipTheRules(t *testing.T) {
	srv, h := startCatchAll(t)
	token := passwordToken(t, srv.Server, "alice", "Items.Read")
	for _, method := range []string{
		"/grpc.health.v1.Health/Admin",
		"/grpc.health.v1.Health/Check/Admin",
		"/grpc.health.v1.HealthAdmin/Check",
		"//grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/Check/",
		"/grpc.reflection.admin.Backdoor/DropAll",
		"/grpc.reflection.v1.ServerReflection/Drop",
		"/grpc.reflection.v1alpha.ServerReflectionInfo/ServerReflectionInfo",
		"/example.items.v1.ItemService/Nope",
		"/made.up.Service/Method",
		// Other spellings of the exempt methods (an outside review of
		// issue 17). grpc-go refuses a name without its leading slash as
		// malformed, Unimplemented, before any interceptor.
		"grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/check",
		"/GRPC.HEALTH.V1.HEALTH/CHECK",
		"/grpc.health.v1.Health/Check%2F",
		"/grpc%2Ehealth.v1.Health/Check",
		"/grpc.health.v1.Health/Check?x=1",
		"/grpc.health.v1.Health/Check ",
		"/grpc.health.v1.Health//Check",
		"/grpc.health.v2.Health/Check",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo/x",
		"/grpc.reflection.v1beta.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/serverReflectionInfo",
	} {
		for _, withToken := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q with token %v is denied before the catch-all", method, withToken), func(t *testing.T) {
				ctx := context.Background()
				if withToken {
					ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
				}
				before := h.reached.Load()
				got := call(ctx, srv.Conn, method)
				if malformed := method[0] != '/' && got == codes.Unimplemented; !malformed && got != codes.PermissionDenied && got != codes.Unauthenticated {
					t.Errorf("%q: %v, want PermissionDenied or Unauthenticated", method, got)
				}
				if h.reached.Load() != before {
					t.Errorf("%q reached the unknown-service handler", method)
				}
			})
		}
	}

	ctx := context.Background()
	t.Run("health Check answers without a token", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(srv.Conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check: %v, %v", resp, err)
		}
	})
	t.Run("health Watch answers without a token", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := healthpb.NewHealthClient(srv.Conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := w.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Watch: %v, %v", resp, err)
		}
	})
	t.Run("reflection answers without a token", func(t *testing.T) {
		rc, err := reflectionpb.NewServerReflectionClient(srv.Conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.CloseSend()
		if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := rc.Recv()
		if err != nil || !strings.Contains(resp.String(), "example.items.v1.ItemService") {
			t.Fatalf("reflection: %v, %v", resp, err)
		}
	})
	if n := h.reached.Load(); n != 0 {
		t.Fatalf("the unknown-service handler was reached %d times", n)
	}
}

// countSeries counts the series of the per-RPC and decision metrics in a
// scrape.
func countSeries(got map[string]float64) int {
	n := 0
	for key := range got {
		if strings.HasPrefix(key, "grpc_server_") || strings.HasPrefix(key, "grpc_azure_auth_decisions_total") {
			n++
		}
	}
	return n
}

func TestMadeUpMethodsDoNotChooseMetricSeries(t *testing.T) {
	srv, h := startCatchAll(t)
	ctx := context.Background()
	made := func(from, to int) {
		for i := from; i < to; i++ {
			method := fmt.Sprintf("/attacker%d.Service/Method%d", i, i)
			if i%2 == 1 {
				method = fmt.Sprintf("/example.items.v1.ItemService/Made%d", i)
			}
			if got := call(ctx, srv.Conn, method); got != codes.PermissionDenied {
				t.Fatalf("%s: %v, want PermissionDenied", method, got)
			}
		}
	}
	made(0, 25)
	first := scrapeMetrics(t, srv.MetricsURL())
	made(25, 50)
	second := scrapeMetrics(t, srv.MetricsURL())
	if a, b := countSeries(first), countSeries(second); a != b {
		t.Errorf("25 more made-up methods grew the series from %d to %d", a, b)
	}
	for key := range second {
		if strings.Contains(key, "attacker") || strings.Contains(key, "Made") {
			t.Errorf("a series is labelled with a caller's method: %s", key)
		}
	}
	for key, want := range map[string]float64{
		`grpc_server_handled_total{grpc_code="PermissionDenied",grpc_method="unknown",grpc_service="unknown",grpc_type="bidi_stream"}`: 50,
		`grpc_azure_auth_decisions_total{method="unknown",outcome="denied",reason="NO_RULE"}`:                                          50,
	} {
		if second[key] != want {
			t.Errorf("%s = %v, want %v", key, second[key], want)
		}
	}
	if h.reached.Load() != 0 {
		t.Fatal("a made-up method reached the unknown-service handler")
	}
}
