package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"

	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// The serving kit serves one small service over gRPC and REST, in
// development mode on loopback ports of its own. Its rules come from its
// proto: GetInfo is open to anyone, so the REST call needs no token. A real
// program calls server.Main with the same options instead.
func Example() {
	srv, err := server.New(
		server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"},
		server.WithServices(server.Service{
			Register: func(s grpc.ServiceRegistrar) {
				itemsv1.RegisterInfoServiceServer(s, &items.Info{Name: "tiny"})
			},
			RegisterGateway: itemsv1.RegisterInfoServiceHandler,
		}),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	resp, err := http.Get(srv.HTTPURL() + "/v1/info")
	if err != nil {
		fmt.Println(err)
		return
	}
	var info struct{ Name string }
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	fmt.Println(resp.Status, info.Name, err)

	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// 200 OK tiny <nil>
	// stopped: <nil>
}

// A program with a setting of its own (the address of a service it calls)
// declares it beside the kit's: AUDIT_ADDR is read from -audit-addr, the
// environment or .env, listed by -h, and given to the program with the
// loaded configuration. (Compiled, not run: MainFunc serves until a signal.)
func ExampleMainFunc() {
	auditAddr := server.Setting{Name: "AUDIT_ADDR", Flag: "audit-addr", Usage: "the audit log's gRPC address, host:port"}
	server.MainFunc(func(cfg server.Config) ([]server.Option, error) {
		if cfg.Settings[auditAddr.Name] != "" && cfg.DevMode {
			return nil, fmt.Errorf("%s: the audit log needs a tenant", auditAddr.Name)
		}
		return []server.Option{
			server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}),
			server.WithOpenAPI(items.OpenAPI()),
		}, nil
	}, auditAddr)
}
