package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// aliceOID is the object ID of the test identity provider's alice.
var aliceOID = func() string {
	for _, u := range entratest.DefaultUsers() {
		if u.Username == "alice" {
			return u.ObjectID
		}
	}
	panic("entratest has no alice")
}()

// startTLSWithSPA serves the Items example with TLS (servertest.TLSFiles'
// certificate for localhost and 127.0.0.1) and a tenant of the test
// identity provider, on loopback, in which Swagger UI is a single-page
// application whose redirect URI is the server's
// https://…/docs/oauth2-redirect.html. The redirect URI names the server's
// port, which New chooses, so the provider is built between New and Serve
// (servertest.Start does both at once); the function returns once the
// health service says SERVING (the provider's keys are loaded).
func startTLSWithSPA(t *testing.T) (*server.Server, *logBuffer) {
	t.Helper()
	certFile, keyFile := servertest.TLSFiles(t)
	idpServer := httptest.NewUnstartedServer(nil)
	authority := "http://" + idpServer.Listener.Addr().String()
	cfg, err := server.LoadConfig([]string{
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
		"AZUREAD_TENANT_ID=" + entratest.DefaultTenantID, "AZUREAD_CLIENT_ID=" + entratest.DefaultClientID,
		"AZUREAD_AUTHORITY_HOST=" + authority, "OPENAPI_CLIENT_ID=" + entratest.DefaultSPAClientID,
		"TLS_CERT_FILE=" + certFile, "TLS_KEY_FILE=" + keyFile,
	}, "")
	if err != nil {
		idpServer.Close()
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv, err := server.New(cfg, append(example(), server.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))...)
	if err != nil {
		idpServer.Close()
		t.Fatal(err)
	}
	idp, err := entratest.NewProvider(authority, entratest.WithSPA(entratest.DefaultSPAClientID, srv.HTTPURL()+"/docs/oauth2-redirect.html"))
	if err != nil {
		idpServer.Close()
		t.Fatal(err)
	}
	idpServer.Config.Handler = idp
	idpServer.Start()
	t.Cleanup(idpServer.Close)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("the server did not turn SERVING: %v\n%s", err, logs)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return srv, logs
		}
	}
}
