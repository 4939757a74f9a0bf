package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// Count decisions and per-RPC metrics of a protected server, and serve them
// to Prometheus (here on a test server; in production on an address that
// only the scraper reaches).
func Example() {
	idp := entratest.NewServer(&testing.T{})
	defer idp.Close()
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	m, err := metrics.New(metrics.WithValidator(v))
	if err != nil {
		panic(err)
	}
	authz, err := interceptor.New(v, interceptor.WithDecisionHook(m.DecisionHook), interceptor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor(), authz.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(m.StreamServerInterceptor(), authz.StreamServerInterceptor()),
	)
	itemsv1.RegisterItemServiceServer(srv, items{})
	m.InitializeMetrics(srv) // after registering, before serving
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(lis)
	defer srv.Stop()
	web := httptest.NewServer(m.Handler())
	defer web.Close()

	conn, _ := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	_, _ = itemsv1.NewItemServiceClient(conn).GetItem(context.Background(), &itemsv1.GetItemRequest{Id: "item-1"})

	resp, err := http.Get(web.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	printLines(resp.Body, "grpc_azure_auth_decisions_total{", "outcome=\"unauthenticated\"")
	// Output:
	// grpc_azure_auth_decisions_total{method="/example.items.v1.ItemService/GetItem",outcome="unauthenticated",reason="TOKEN_MISSING"} 1
}

// printLines prints the lines of r that start with prefix and contain sub.
func printLines(r io.Reader, prefix, sub string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, prefix) && strings.Contains(line, sub) {
			fmt.Println(line)
		}
	}
}
