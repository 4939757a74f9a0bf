package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// serve starts the example services on loopback, behind the authorizer
// when v is not nil, and returns a client connection.
func serve(b *testing.B, v *entra.Validator) *grpc.ClientConn {
	var opts []grpc.ServerOption
	if v != nil {
		authz, err := interceptor.New(v, interceptor.WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, grpc.UnaryInterceptor(authz.UnaryServerInterceptor()), grpc.StreamInterceptor(authz.StreamServerInterceptor()))
	}
	srv := grpc.NewServer(opts...)
	itemsv1.RegisterItemServiceServer(srv, items.New())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

type variant struct {
	name string
	conn *grpc.ClientConn
}

func variants(b *testing.B, f *fixture) []variant {
	vs := []variant{
		{"auth=none", serve(b, nil)},
		{"auth=ours-cached", serve(b, f.validator(b))},
		{"auth=ours-uncached", serve(b, f.validator(b, entra.WithCacheSize(0)))},
	}
	for i, s := range stackVariants(b, f) {
		vs = append(vs, variant{stackNames[i], s.conn})
	}
	return vs
}

// BenchmarkUnaryRPC is a whole GetItem call over loopback. Compare with:
// benchstat -col /auth.
func BenchmarkUnaryRPC(b *testing.B) {
	f := newFixture(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.token)
	req := &itemsv1.GetItemRequest{Id: "item-1"}
	for _, v := range variants(b, f) {
		client := itemsv1.NewItemServiceClient(v.conn)
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for b.Loop() {
				if _, err := client.GetItem(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.GetItem(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkServerStreamRPC is a whole ExportItems stream (three messages).
func BenchmarkServerStreamRPC(b *testing.B) {
	f := newFixture(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.token)
	for _, v := range variants(b, f) {
		client := itemsv1.NewItemServiceClient(v.conn)
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := client.ExportItems(ctx, &itemsv1.ExportItemsRequest{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := st.Recv(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkREST is GET /v1/items/item-1 through the gateway.
func BenchmarkREST(b *testing.B) {
	f := newFixture(b)
	for _, v := range variants(b, f)[:2] {
		gw, err := gateway.New(context.Background(), v.conn, []gateway.RegisterFunc{itemsv1.RegisterItemServiceHandler})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(gw)
		b.Cleanup(srv.Close)
		client := srv.Client()
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/items/item-1", nil)
					req.Header.Set("Authorization", "Bearer "+f.token)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
	for i, s := range stackVariants(b, f) {
		b.Run(stackNames[i], func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, s.rest+"/v1/items/item-1", nil)
					req.Header.Set("Authorization", "Bearer "+f.token)
					resp, err := s.httpc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
						b.Errorf("%s %d", resp.Proto, resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkColdStart sends 1,000 concurrent first requests to a fresh
// validator and reports how many discovery and key-set fetches they cost.
func BenchmarkColdStart(b *testing.B) {
	idp := entratest.NewServer(b)
	tok := idp.Issue()
	var discovery, jwks atomic.Int64
	b.ReportAllocs()
	for b.Loop() {
		before := idp.Fetches()
		v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
			entra.WithAudiences(idp.ClientID()), entra.WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := v.Validate(context.Background(), tok); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		after := idp.Fetches()
		discovery.Add(int64(after.Discovery - before.Discovery))
		jwks.Add(int64(after.JWKS - before.JWKS))
	}
	b.ReportMetric(float64(discovery.Load())/float64(b.N), "discovery-fetches/op")
	b.ReportMetric(float64(jwks.Load())/float64(b.N), "jwks-fetches/op")
}

// The production stack: TLS on both listeners and Prometheus metrics, as
// server.New builds it with TLS_CERT_FILE, TLS_KEY_FILE and METRICS_ADDR:
// the gRPC listener wrapped in crypto/tls (ALPN h2) on a gRPC server with
// the kit's listener limits, the per-RPC metrics interceptors first in the
// chain, the authorizer behind the kit's exemption selector with the
// decision hook, and REST over HTTPS (HTTP/2) through a gateway that
// reaches a second gRPC server (the same services and interceptors, no
// stream limit) over an in-process pipe. The kit's recovery and call
// logging interceptors are left out: they cost both columns alike, and the
// call log would dwarf the difference measured. Only the certificate
// differs: ECDSA P-256, self-signed, made here.

// stack is the production stack around the example service.
type stack struct {
	conn  *grpc.ClientConn // gRPC over TLS
	rest  string           // the HTTPS URL of the gateway
	httpc *http.Client     // HTTP/2 over TLS
}

// benchCertificate is a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func benchCertificate(b *testing.B) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// The kit's gRPC listener limits (server/limits.go).
const maxHeaderListSize = 64 << 10

func grpcLimits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxHeaderListSize(maxHeaderListSize),
		grpc.MaxConcurrentStreams(100),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second}),
	}
}

// pipeListener hands out the server ends of net.Pipe connections dialled
// in this process, as the kit's in-process listener does.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "in-process", Net: "pipe"} }

func (l *pipeListener) DialContext(ctx context.Context) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	server.Close()
	client.Close()
	return nil, net.ErrClosed
}

// serveStack starts the production stack, behind the authorizer when v is
// not nil.
func serveStack(b *testing.B, v *entra.Validator) stack {
	cert, roots := benchCertificate(b)
	var mopts []metrics.Option
	if v != nil {
		mopts = append(mopts, metrics.WithValidator(v))
	}
	m, err := metrics.New(mopts...)
	if err != nil {
		b.Fatal(err)
	}
	unary := []grpc.UnaryServerInterceptor{m.UnaryServerInterceptor()}
	stream := []grpc.StreamServerInterceptor{m.StreamServerInterceptor()}
	if v != nil {
		authz, err := interceptor.New(v, interceptor.WithLogger(quiet), interceptor.WithDecisionHook(m.DecisionHook))
		if err != nil {
			b.Fatal(err)
		}
		// The kit exempts health and reflection by name; the example
		// service has neither, so every call is authorized.
		exempt := map[string]bool{}
		needsAuthz := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
			var buf [128]byte
			name := append(append(append(append(buf[:0], '/'), c.Service...), '/'), c.Method...)
			return !exempt[string(name)]
		})
		unary = append(unary, selector.UnaryServerInterceptor(authz.UnaryServerInterceptor(), needsAuthz))
		stream = append(stream, selector.StreamServerInterceptor(authz.StreamServerInterceptor(), needsAuthz))
	}
	newServer := func(limits ...grpc.ServerOption) *grpc.Server {
		srv := grpc.NewServer(append(limits, grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))...)
		itemsv1.RegisterItemServiceServer(srv, items.New())
		return srv
	}
	srv := newServer(grpcLimits()...)
	gatewaySrv := newServer(grpc.MaxHeaderListSize(maxHeaderListSize), grpc.MaxConcurrentStreams(0))
	m.InitializeMetrics(srv)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	grpcTLS := serverTLS.Clone()
	grpcTLS.NextProtos = []string{"h2"}
	inProcess := newPipeListener()
	go srv.Serve(tls.NewListener(tcp, grpcTLS))
	go gatewaySrv.Serve(inProcess)
	b.Cleanup(srv.Stop)
	b.Cleanup(gatewaySrv.Stop)

	conn, err := grpc.NewClient(tcp.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	gwConn, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return inProcess.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gwConn.Close() })
	gw, err := gateway.New(context.Background(), gwConn, []gateway.RegisterFunc{itemsv1.RegisterItemServiceHandler})
	if err != nil {
		b.Fatal(err)
	}
	web := httptest.NewUnstartedServer(gw)
	web.EnableHTTP2 = true
	web.TLS = serverTLS.Clone()
	web.StartTLS()
	b.Cleanup(web.Close)
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	b.Cleanup(httpc.CloseIdleConnections)
	return stack{conn: conn, rest: web.URL, httpc: httpc}
}

// stackVariants are the production stack without and with authorization.
func stackVariants(b *testing.B, f *fixture) []stack {
	return []stack{serveStack(b, nil), serveStack(b, f.validator(b))}
}

// stackNames name stackVariants' elements; benchstat -col /auth puts them
// side by side in rows of their own (stack=tls+metrics).
var stackNames = []string{"stack=tls+metrics/auth=none", "stack=tls+metrics/auth=ours-cached"}
