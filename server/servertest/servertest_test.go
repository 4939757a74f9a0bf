package servertest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

var (
	itemsService = server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway})
	quiet        = server.WithLogger(slog.New(slog.DiscardHandler))
	devConfig    = server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
)

func TestStartReturnsAServingServerThatCloseStops(t *testing.T) {
	srv := servertest.Start(t, devConfig, itemsService, quiet)
	h, err := healthpb.NewHealthClient(srv.Conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health once Start returned: %v, %v; want SERVING", h, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, addr := range []string{srv.GRPCAddr(), strings.TrimPrefix(srv.HTTPURL(), "http://")} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// fatalTB records the first Fatalf and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	fatal chan string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Empty addresses are ports of the test's own on loopback, not the
// configuration's defaults (localhost:50051, localhost:8000), which a
// running development server or another test would hold.
func TestEmptyAddressesAreLoopbackPortsOfTheTestsOwn(t *testing.T) {
	srv := servertest.Start(t, server.Config{DevMode: true}, itemsService, quiet)
	for _, addr := range []string{srv.GRPCAddr(), strings.TrimPrefix(srv.HTTPURL(), "http://")} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "50051" || port == "8000" {
			t.Errorf("listening on %s, want 127.0.0.1 and a port of its own", addr)
		}
	}
}

func TestStartFailsTheTestWhenNewRefusesTheServer(t *testing.T) {
	tb := &fatalTB{TB: t, fatal: make(chan string, 1)}
	go func() {
		servertest.Start(tb, devConfig, quiet) // no services
		tb.fatal <- ""
	}()
	if msg := <-tb.fatal; !strings.Contains(msg, "no services") {
		t.Fatalf("Fatalf(%q), want New's error", msg)
	}
}

func TestConnTrustsTheServersCertificateFile(t *testing.T) {
	idp := entratest.NewServer(t)
	cfg := server.Config{TenantID: idp.TenantID(), ClientID: idp.ClientID(), AuthorityHost: idp.Authority(),
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	cfg.TLSCertFile, cfg.TLSKeyFile = servertest.TLSFiles(t)
	srv := servertest.Start(t, cfg, itemsService, quiet)
	var p peer.Peer
	if _, err := healthpb.NewHealthClient(srv.Conn).Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Peer(&p)); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.AuthInfo.(credentials.TLSInfo); !ok {
		t.Fatalf("the connection's auth info is %T, want TLS", p.AuthInfo)
	}
}
