// Package servertest starts a serving-kit server for a test, as
// net/http/httptest starts an HTTP server: in one line, on loopback ports
// of its own (or the configuration's addresses), stopped when the test
// ends.
//
//	srv := servertest.Start(t, server.Config{DevMode: true}, server.WithServices(myService))
//	client := myv1.NewMyServiceClient(srv.Conn)
//	resp, err := http.Get(srv.HTTPURL() + "/v1/things")
//
// Start returns once the server's signing keys are loaded (its gRPC health
// service says SERVING), so the first call of the test is decided by the
// rules, never answered Unavailable; a server that never gets there fails
// the test saying why, the error of fetching its signing keys. Tokens come from the development
// identity provider (srv.DevIDP()) or, with a tenant configured, from an
// entratest.Server.
package servertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// servingTimeout bounds how long Start waits for the server to say
// SERVING: a server that cannot load its signing keys fails the test
// instead of hanging it.
const servingTimeout = 30 * time.Second

// keyFetchTimeout bounds the fetch of the signing keys that explains why a
// server is not SERVING.
const keyFetchTimeout = 10 * time.Second

// stopTimeout bounds how long Close waits for Serve to return: the
// server's own graceful shutdown, server.ShutdownTimeout, and a margin.
const stopTimeout = server.ShutdownTimeout + 5*time.Second

// TB is the part of testing.TB that [Start] uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Server is a [server.Server] serving until the test ends, with a client
// connection to its gRPC listener. Its HTTP listener is at HTTPURL().
type Server struct {
	*server.Server

	// Conn is a client connection to the gRPC listener, closed when the
	// test ends. It is plaintext, or with TLS (Config.TLSCertFile) it
	// trusts the certificates of that file as Start read them, verified
	// for the listener's address or else for the certificate's first DNS
	// name (a certificate for localhost served on 127.0.0.1).
	Conn *grpc.ClientConn

	cancel context.CancelFunc
	done   chan error
	stop   sync.Once
	err    error
}

// Start builds a server with server.New(cfg, opts...), serves it until the
// test ends, and returns once its gRPC health service says SERVING. An
// empty cfg.GRPCAddr or cfg.HTTPAddr is 127.0.0.1:0, a port of its own on
// loopback (not the configuration's default, which a second test or a
// running `make run` would hold). With cfg.DevTLS, the development
// certificate is kept in a temporary directory (server.WithDevStateDir)
// and Conn trusts it. When the test ends, [Server.Close] stops the server
// and a Serve error fails the test. Start calls tb.Fatalf if New fails, if
// the client cannot be built, or if the server is not SERVING within 30
// seconds, with the reason: the error of fetching the signing keys once
// more, as the server has been fetching them since.
func Start(tb TB, cfg server.Config, opts ...server.Option) *Server {
	tb.Helper()
	return start(tb, servingTimeout, cfg, opts...)
}

func start(tb TB, timeout time.Duration, cfg server.Config, opts ...server.Option) *Server {
	tb.Helper()
	for _, addr := range []*string{&cfg.GRPCAddr, &cfg.HTTPAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
	}
	if cfg.DevTLS {
		// The development certificate and key go to a directory of the
		// test, never the user's cache.
		dir, err := os.MkdirTemp("", "servertest-dev-*")
		if err != nil {
			tb.Fatalf("servertest: %v", err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
		opts = append([]server.Option{server.WithDevStateDir(dir)}, opts...)
	}
	srv, err := server.New(cfg, opts...)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	if cfg.DevTLS {
		cfg.TLSCertFile = srv.DevCertFile()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx) }()
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("servertest: %v", err)
		}
	})
	creds, err := clientCredentials(cfg, srv.GRPCAddr())
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	s.Conn, err = grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	tb.Cleanup(func() { s.Conn.Close() }) // before Close: cleanups run last in, first out
	if err := waitServing(s.Conn, timeout); err != nil {
		tb.Fatalf("servertest: %v", s.notServing(err, timeout))
	}
	return s
}

// notServing explains why the server did not say SERVING: unless its keys
// loaded meanwhile, the error of fetching them once more, as the server has
// been fetching them since Serve began.
func (s *Server) notServing(watchErr error, timeout time.Duration) error {
	if s.Validator().Ready() {
		return fmt.Errorf("never SERVING within %v: %w", timeout, watchErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyFetchTimeout)
	defer cancel()
	err := s.Validator().Preload(ctx)
	if err == nil {
		return fmt.Errorf("never SERVING within %v, though the signing keys load now: %w", timeout, watchErr)
	}
	return fmt.Errorf("never SERVING within %v: the signing keys did not load: %w", timeout, err)
}

// Close stops the server as the end of the test does: it cancels Serve's
// context and returns Serve's error (nil after a graceful shutdown), or an
// error if Serve has not returned within server.ShutdownTimeout plus 5
// seconds. A test calls it to
// look at a stopped server; later calls return the same error.
func (s *Server) Close() error {
	s.stop.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				s.err = fmt.Errorf("Serve: %w", err)
			}
		case <-time.After(stopTimeout):
			s.err = fmt.Errorf("Serve did not return within %v of its context ending", stopTimeout)
		}
	})
	return s.err
}

// waitServing watches the health service until it says SERVING: the
// signing keys are loaded.
func waitServing(conn *grpc.ClientConn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("health watch: %w", err)
	}
	for {
		resp, err := watch.Recv()
		if err != nil {
			return fmt.Errorf("health watch: %w", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
	}
}

// clientCredentials are plaintext, or with TLS trust the certificates of
// cfg.TLSCertFile.
func clientCredentials(cfg server.Config, addr string) (credentials.TransportCredentials, error) {
	if cfg.TLSCertFile == "" {
		return insecure.NewCredentials(), nil
	}
	pemBytes, err := os.ReadFile(cfg.TLSCertFile)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(pemBytes); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.TLSCertFile, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate", cfg.TLSCertFile)
	}
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	name := host
	if leaf := certs[0]; leaf.VerifyHostname(host) != nil && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	return credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}), nil
}

// TLSFiles writes a self-signed certificate for localhost, 127.0.0.1 and
// ::1, valid for a day, and its private key into a temporary directory
// removed when the test ends, and returns the two file names: the
// Config.TLSCertFile and Config.TLSKeyFile of a test server, whose Conn
// then trusts it.
func TLSFiles(tb TB) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	dir, err := os.MkdirTemp("", "servertest-tls-")
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			tb.Fatalf("servertest: %v", err)
		}
	}
	return certFile, keyFile
}
