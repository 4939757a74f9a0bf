package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/reflect/protoregistry"

	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

var devConfig = server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}

var quiet = server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// overridingInfo implements go-grpc-middleware's ServiceAuthFuncOverride,
// which its auth interceptor would call instead of ours (issue 11, item 9).
type overridingInfo struct{ *items.Info }

func (overridingInfo) AuthFuncOverride(ctx context.Context, _ string) (context.Context, error) {
	return ctx, nil
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	info := server.Service{Register: func(s grpc.ServiceRegistrar) { itemsv1.RegisterInfoServiceServer(s, &items.Info{}) }}
	tests := []struct {
		name string
		cfg  server.Config
		opts []server.Option
		want string
	}{
		{"a server without services is refused", devConfig, nil, "no services: pass WithServices"},
		{"a service without a Register function is refused", devConfig, []server.Option{server.WithServices(server.Service{})}, "service 0 has no Register function"},
		{"a nil logger is refused", devConfig, []server.Option{server.WithServices(info), server.WithLogger(nil)}, "WithLogger: nil logger"},
		{"nil descriptors are refused", devConfig, []server.Option{server.WithServices(info), server.WithDescriptors(nil)}, "WithDescriptors: nil files"},
		{"a nil identity provider client is refused", devConfig, []server.Option{server.WithServices(info), server.WithIdentityProviderClient(nil)}, "WithIdentityProviderClient: nil client"},
		{"a service without a descriptor is refused, since its rules are unknown", devConfig,
			[]server.Option{server.WithServices(info), server.WithDescriptors(new(protoregistry.Files))},
			"service example.items.v1.InfoService: no descriptor, so no rules"},
		{"a service registered twice is refused", devConfig, []server.Option{server.WithServices(info, info)}, "service example.items.v1.InfoService is registered twice"},
		{"a health service of the user's is refused", devConfig,
			[]server.Option{server.WithServices(server.Service{Register: func(s grpc.ServiceRegistrar) {
				healthpb.RegisterHealthServer(s, healthpb.UnimplementedHealthServer{})
			}})},
			"the server registers health and reflection itself"},
		{"a service that would override authorization is refused", devConfig,
			[]server.Option{server.WithServices(server.Service{Register: func(s grpc.ServiceRegistrar) {
				itemsv1.RegisterInfoServiceServer(s, overridingInfo{&items.Info{}})
			}})},
			"service example.items.v1.InfoService implements AuthFuncOverride"},
		{"a handler on a pattern of the server's is refused", devConfig, []server.Option{server.WithServices(info), server.WithHandler("GET /readyz", http.NotFoundHandler())}, `WithHandler("GET /readyz")`},
		{"a nil handler is refused", devConfig, []server.Option{server.WithServices(info), server.WithHandler("/metrics", nil)}, `WithHandler("/metrics"): nil handler`},
		{"a configuration without a tenant or development mode is refused", server.Config{}, []server.Option{server.WithServices(info)}, "no tenant"},
		{"a configuration with a tenant and development mode is refused", server.Config{DevMode: true, TenantID: "t", ClientID: "c"}, []server.Option{server.WithServices(info)},
			"never trusts the development identity provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := server.New(tt.cfg, append([]server.Option{quiet}, tt.opts...)...)
			if err == nil {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_ = srv.Serve(ctx)
				t.Fatalf("New accepted it, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// The REST gateway reaches the gRPC server in-process, through the same
// interceptors as gRPC clients: a gRPC server option's interceptor (as
// WithGRPCServerOptions adds them) sees REST calls arrive over the
// in-process transport and gRPC calls over TCP.
func TestRESTReachesTheGRPCServerInProcess(t *testing.T) {
	var mu sync.Mutex
	networks := map[string]string{}
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		p, _ := peer.FromContext(ctx)
		md, _ := metadata.FromIncomingContext(ctx)
		via := "grpc"
		if len(md.Get("x-forwarded-for")) > 0 {
			via = "rest"
		}
		mu.Lock()
		networks[via] = p.Addr.Network()
		mu.Unlock()
		return next(ctx, req)
	}
	srv := servertest.Start(t, devConfig, append(example(), quiet,
		server.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(record)),
		server.WithHandler("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics here") })))...)

	resp, err := http.Get(srv.HTTPURL() + "/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("REST GetInfo: %s", resp.Status)
	}
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := itemsv1.NewInfoServiceClient(conn).GetInfo(context.Background(), &itemsv1.GetInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if networks["rest"] != "pipe" || networks["grpc"] != "tcp" {
		t.Fatalf("calls arrived over %v, want REST over the in-process pipe and gRPC over tcp", networks)
	}

	// WithHandler serves next to the REST API.
	resp, err = http.Get(srv.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "metrics here" {
		t.Fatalf("/metrics: %s %q", resp.Status, body)
	}
}

// A server with services but no gateway registration or document serves
// gRPC, probes, and nothing else over HTTP.
func TestGRPCOnlyServices(t *testing.T) {
	srv := servertest.Start(t, devConfig, quiet, server.WithServices(server.Service{Register: items.Register}))
	for path, want := range map[string]int{"/healthz": 200, "/v1/info": 404, "/openapi.json": 404, "/docs/": 404} {
		resp, err := http.Get(srv.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %s, want %d", path, resp.Status, want)
		}
	}
}

// Serve returns nil once its context ends, having closed both listeners.
func TestServeShutsDownGracefully(t *testing.T) {
	srv := servertest.Start(t, devConfig, append(example(), quiet)...)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{srv.GRPCAddr(), strings.TrimPrefix(srv.HTTPURL(), "http://")} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}
