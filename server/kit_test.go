package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
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

// serve runs srv until the test ends and checks that it shuts down.
func serve(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
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
	srv, err := server.New(devConfig, append(example(), quiet,
		server.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(record)),
		server.WithHandler("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics here") })))...)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)

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
	if networks["rest"] != "bufconn" || networks["grpc"] != "tcp" {
		t.Fatalf("calls arrived over %v, want REST over the in-process bufconn and gRPC over tcp", networks)
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
	srv, err := server.New(devConfig, quiet, server.WithServices(server.Service{Register: items.Register}))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
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
	srv, err := server.New(devConfig, append(example(), quiet)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitServing(t, conn)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return")
	}
	for _, addr := range []string{srv.GRPCAddr(), strings.TrimPrefix(srv.HTTPURL(), "http://")} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// With WithTLS both listeners speak TLS only: gRPC over h2, REST over
// HTTP/2, and a plaintext gRPC client gets nowhere. REST still reaches the
// gRPC server in-process.
func TestWithTLSServesBothListenersOverTLS(t *testing.T) {
	idp := entratest.NewServer(t)
	cert, pool := selfSigned(t)
	cfg := server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		TenantID: idp.TenantID(), ClientID: idp.ClientID(), AuthorityHost: idp.Authority()}
	srv, err := server.New(cfg, append(example(), quiet, server.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))...)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	if !strings.HasPrefix(srv.HTTPURL(), "https://") {
		t.Fatalf("HTTPURL = %s", srv.HTTPURL())
	}

	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitServing(t, conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+idp.Issue(entratest.Scopes("Items.Read")))
	if _, err := itemsv1.NewItemServiceClient(conn).ListItems(ctx, &itemsv1.ListItemsRequest{}); err != nil {
		t.Fatalf("ListItems over TLS: %v", err)
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	req, _ := http.NewRequest("GET", srv.HTTPURL()+"/v1/items", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Issue(entratest.Scopes("Items.Read")))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("REST over TLS: %s %s", resp.Proto, resp.Status)
	}

	plain, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(plain).Check(short, &healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("a plaintext gRPC client was answered")
	}
}

func TestWithTLSRefusals(t *testing.T) {
	cert, _ := selfSigned(t)
	tests := []struct {
		name string
		cfg  server.Config
		tls  *tls.Config
		want string
	}{
		{"development mode with TLS is refused", devConfig, &tls.Config{Certificates: []tls.Certificate{cert}}, "development mode serves plaintext"},
		{"a TLS configuration without a certificate is refused", devConfig, &tls.Config{}, "WithTLS: the configuration has no certificate"},
		{"a nil TLS configuration is refused", devConfig, nil, "WithTLS: the configuration has no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := server.New(tt.cfg, append(example(), quiet, server.WithTLS(tt.tls))...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
