package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
)

// tlsTestPair is a self-signed certificate for localhost and its key, PEM.
type tlsTestPair struct {
	serial   int64
	cert     *x509.Certificate
	certPEM  []byte
	keyPEM   []byte
	rootPool *x509.CertPool
}

func newTLSTestPair(t testing.TB, serial int64) tlsTestPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tlsTestPair{
		serial:   serial,
		cert:     cert,
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		rootPool: pool,
	}
}

// writeFiles writes the pair the way cert-manager and the kubelet update a
// secret volume: into a new directory, then an atomic rename of the
// ..data symlink that tls.crt and tls.key point through.
func (p tlsTestPair) writeFiles(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	version := filepath.Join(dir, "..v"+big.NewInt(p.serial).String())
	if err := os.Mkdir(version, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, "tls.crt"), p.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, "tls.key"), p.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for _, name := range []string{"tls.crt", "tls.key"} {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tlsTestServer serves TLS handshakes on loopback with r's configuration
// and returns the address.
func tlsTestServer(t *testing.T, r *certReloader) string {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", r.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return lis.Addr().String()
}

// presented handshakes with addr, trusting any of pairs, and returns the
// serial number of the certificate the server presented.
func presented(t *testing.T, addr string, pairs ...tlsTestPair) int64 {
	t.Helper()
	roots := x509.NewCertPool()
	for _, p := range pairs {
		roots.AddCert(p.cert)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertReloader(t *testing.T) {
	first, second := newTLSTestPair(t, 1), newTLSTestPair(t, 2)
	mismatched := tlsTestPair{serial: 3, certPEM: second.certPEM, keyPEM: first.keyPEM}

	setup := func(t *testing.T) (dir string, r *certReloader, clock *fakeClock, logs *bytes.Buffer) {
		dir = t.TempDir()
		certFile, keyFile := first.writeFiles(t, dir)
		logs = &bytes.Buffer{}
		var err error
		r, err = newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		clock = &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		r.now = clock.Now
		r.checked = clock.Now()
		return dir, r, clock, logs
	}

	t.Run("a replaced pair is presented at the first handshake after the check interval", func(t *testing.T) {
		dir, r, clock, _ := setup(t)
		addr := tlsTestServer(t, r)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("before the swap the server presented serial %d, want 1", got)
		}
		second.writeFiles(t, dir)
		clock.Advance(certCheckInterval - time.Nanosecond)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("within the check interval the server presented serial %d, want the cached 1", got)
		}
		clock.Advance(time.Nanosecond)
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after the check interval the server presented serial %d, want the new 2", got)
		}
	})

	t.Run("a pair that does not load is logged and the last good pair stays", func(t *testing.T) {
		dir, r, clock, logs := setup(t)
		addr := tlsTestServer(t, r)
		mismatched.writeFiles(t, dir)
		clock.Advance(certCheckInterval)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("with a broken new pair the server presented serial %d, want the previous 1", got)
		}
		if !strings.Contains(logs.String(), "do not load") {
			t.Fatalf("the failed reload was not logged: %q", logs.String())
		}
		second.writeFiles(t, dir)
		clock.Advance(certCheckInterval)
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after a good pair replaced the broken one the server presented serial %d, want 2", got)
		}
	})

	t.Run("files rewritten in place are picked up", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		for f, b := range map[string][]byte{certFile: first.certPEM, keyFile: first.keyPEM} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		clock := &fakeClock{now: r.checked}
		r.now = clock.Now
		addr := tlsTestServer(t, r)
		later := time.Now().Add(time.Minute) // a coarse file system clock still sees a change
		for f, b := range map[string][]byte{certFile: second.certPEM, keyFile: second.keyPEM} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f, later, later); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(certCheckInterval)
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after the check interval the server presented serial %d, want 2", got)
		}
	})

	t.Run("a missing or broken pair is an error at startup", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := mismatched.writeFiles(t, dir)
		for _, files := range [][2]string{{certFile, keyFile}, {certFile, ""}, {filepath.Join(dir, "nope"), keyFile}} {
			if _, err := newCertReloader(files[0], files[1], slog.New(slog.DiscardHandler)); err == nil {
				t.Errorf("newCertReloader(%q, %q) succeeded", files[0], files[1])
			}
		}
	})
}

// tlsServer runs the Items example with a tenant (the test identity
// provider) and TLS from files written kubelet-style in dir.
func tlsServer(t *testing.T, dir string, idp *entratest.Server, env ...string) *Server {
	t.Helper()
	cfg, err := LoadConfig(append([]string{
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
		"AZUREAD_TENANT_ID=" + idp.TenantID(), "AZUREAD_CLIENT_ID=" + idp.ClientID(), "AZUREAD_AUTHORITY_HOST=" + idp.Authority(),
	}, env...), "", "-tls-cert-file", filepath.Join(dir, "tls.crt"), "-tls-key-file", filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler)),
		WithServices(Service{Register: items.Register, RegisterGateway: items.RegisterGateway}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

func TestServerServesTLSOnBothListenersAndReloadsTheCertificate(t *testing.T) {
	first, second := newTLSTestPair(t, 1), newTLSTestPair(t, 2)
	roots := x509.NewCertPool()
	roots.AddCert(first.cert)
	roots.AddCert(second.cert)
	clientTLS := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	dir := t.TempDir()
	first.writeFiles(t, dir)
	idp := entratest.NewServer(t)
	srv := tlsServer(t, dir, idp)
	clock := &fakeClock{now: time.Now()}
	srv.certs.mu.Lock()
	srv.certs.now, srv.certs.checked = clock.Now, clock.Now()
	srv.certs.mu.Unlock()
	token := idp.Issue(entratest.Scopes("Items.Read"))

	// grpcCall makes one call on a new connection (a new handshake) and
	// returns the serial of the certificate the server presented.
	grpcCall := func(t *testing.T) int64 {
		t.Helper()
		conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var p peer.Peer
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
		if _, err := itemsv1.NewItemServiceClient(conn).ListItems(ctx, &itemsv1.ListItemsRequest{}, grpc.Peer(&p)); err != nil {
			t.Fatalf("ListItems over TLS: %v", err)
		}
		return p.AuthInfo.(credentials.TLSInfo).State.PeerCertificates[0].SerialNumber.Int64()
	}
	// restCall gets path over HTTPS on a new connection and returns the
	// body and the serial of the certificate the server presented.
	restCall := func(t *testing.T, path string) (string, int64) {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS.Clone(), ForceAttemptHTTP2: true}}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s over HTTPS: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("GET %s: %s %s: %s", path, resp.Proto, resp.Status, body)
		}
		return string(body), resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}

	t.Run("the HTTP listener's URL is https", func(t *testing.T) {
		if !strings.HasPrefix(srv.HTTPURL(), "https://") {
			t.Fatalf("HTTPURL = %s", srv.HTTPURL())
		}
	})
	t.Run("gRPC answers over TLS with the first certificate", func(t *testing.T) {
		if got := grpcCall(t); got != 1 {
			t.Fatalf("serial %d, want 1", got)
		}
	})
	t.Run("REST answers over HTTPS and HTTP/2 with the first certificate", func(t *testing.T) {
		if _, got := restCall(t, "/v1/items"); got != 1 {
			t.Fatalf("serial %d, want 1", got)
		}
	})
	t.Run("a server stream over REST and HTTPS arrives whole", func(t *testing.T) {
		body, _ := restCall(t, "/v1/items:export")
		if n := strings.Count(body, `"result"`); n != 3 {
			t.Fatalf("%d streamed messages, want 3: %s", n, body)
		}
	})
	t.Run("a plaintext gRPC client is refused", func(t *testing.T) {
		conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
		if _, err := itemsv1.NewItemServiceClient(conn).ListItems(ctx, &itemsv1.ListItemsRequest{}); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext call: %v, want Unavailable", err)
		}
	})

	second.writeFiles(t, dir)
	clock.Advance(certCheckInterval)
	t.Run("after the files are replaced gRPC presents the new certificate", func(t *testing.T) {
		if got := grpcCall(t); got != 2 {
			t.Fatalf("serial %d, want 2", got)
		}
	})
	t.Run("after the files are replaced HTTPS presents the new certificate", func(t *testing.T) {
		if _, got := restCall(t, "/v1/items"); got != 2 {
			t.Fatalf("serial %d, want 2", got)
		}
	})
}

func TestTransportSettings(t *testing.T) {
	dir := t.TempDir()
	newTLSTestPair(t, 1).writeFiles(t, dir)
	cert, key := "TLS_CERT_FILE="+filepath.Join(dir, "tls.crt"), "TLS_KEY_FILE="+filepath.Join(dir, "tls.key")
	tenant := []string{"AZUREAD_TENANT_ID=contoso.onmicrosoft.com", "AZUREAD_CLIENT_ID=00000000-0000-0000-0000-000000000001"}
	for _, c := range []struct {
		name    string
		env     []string
		wantErr string // "" for none
	}{
		{"a tenant on loopback without TLS starts (a proxy in the same pod)", append([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=localhost:0"}, tenant...), ""},
		{"a tenant on every interface without TLS is refused", append([]string{"HTTP_ADDR=:8000"}, tenant...), "HTTP_ADDR=\":8000\" would take bearer tokens in plaintext"},
		{"a tenant on every interface without TLS starts when told TLS ends in front", append([]string{"GRPC_ADDR=:50051", "HTTP_ADDR=:8000", "INSECURE_PLAINTEXT=true"}, tenant...), ""},
		{"a tenant on every interface with TLS starts", append([]string{"GRPC_ADDR=:50051", "HTTP_ADDR=:8000", cert, key}, tenant...), ""},
		{"a certificate without its key is refused", append([]string{cert}, tenant...), "TLS_CERT_FILE and TLS_KEY_FILE go together"},
		{"TLS and INSECURE_PLAINTEXT together are refused", append([]string{cert, key, "INSECURE_PLAINTEXT=true"}, tenant...), "contradict"},
		{"a bad INSECURE_PLAINTEXT is refused", append([]string{"INSECURE_PLAINTEXT=yes please"}, tenant...), "INSECURE_PLAINTEXT=\"yes please\""},
		{"TLS in development mode is refused", []string{cert, key}, "development mode serves plaintext"},
		{"a metrics address without a port is refused", append([]string{"METRICS_ADDR=localhost"}, tenant...), "METRICS_ADDR=\"localhost\""},
		{"metrics off loopback in development mode are refused", []string{"METRICS_ADDR=:9090"}, "METRICS_ADDR=\":9090\": development mode"},
		{"metrics on every interface with a tenant and TLS start", append([]string{"METRICS_ADDR=:9090", cert, key}, tenant...), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(c.env, "")
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("LoadConfig: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("LoadConfig: %v, want an error containing %q", err, c.wantErr)
			}
		})
	}

	t.Run("a server with a tenant and no TLS says so at startup", func(t *testing.T) {
		idp := entratest.NewServer(t)
		cfg, err := LoadConfig([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
			"AZUREAD_TENANT_ID=" + idp.TenantID(), "AZUREAD_CLIENT_ID=" + idp.ClientID(), "AZUREAD_AUTHORITY_HOST=" + idp.Authority()}, "")
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		srv, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithServices(Service{Register: items.Register}))
		if err != nil {
			t.Fatal(err)
		}
		srv.close()
		if !strings.Contains(logs.String(), "level=WARN msg=\"NO TLS") {
			t.Fatalf("no warning about plaintext: %s", logs.String())
		}
	})
}

func TestHTTPListenerLimitsHeaders(t *testing.T) {
	idp := entratest.NewServer(t)
	dir := t.TempDir()
	pair := newTLSTestPair(t, 1)
	pair.writeFiles(t, dir)
	srv := tlsServer(t, dir, idp)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.rootPool, ServerName: "localhost"}}}
	defer client.CloseIdleConnections()
	for _, c := range []struct {
		name   string
		header int
		want   int
	}{
		{"a request with a large token's headers is served", 16 << 10, http.StatusOK},
		{"a request with more than 64 KiB of headers (and net/http's 4 KiB of slack) is refused with 431", httpMaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/healthz", nil)
			req.Header.Set("X-Padding", strings.Repeat("a", c.header))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

// withDeadlines serves h behind ioDeadlines(h, d) on an in-process
// listener in the current synctest bubble and returns a client for it. Its
// connections are in-memory pipes, which synctest counts as durably
// blocking, so time in the bubble moves only when both ends wait.
func withDeadlines(t *testing.T, h http.Handler, d time.Duration) *http.Client {
	l := newInProcessListener()
	srv := &http.Server{Handler: ioDeadlines(h, d)}
	go srv.Serve(l)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return l.DialContext(ctx) }}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &http.Client{Transport: tr}
}

func TestIODeadlines(t *testing.T) {
	const d = time.Second
	big := bytes.Repeat([]byte("x"), 1<<20)

	t.Run("a stream idle for longer than the timeout between messages arrives whole", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client := withDeadlines(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "first ")
				w.(http.Flusher).Flush()
				time.Sleep(10 * d) // nothing to send for a while (bubble time)
				io.WriteString(w, "second")
				w.(http.Flusher).Flush()
			}), d)
			resp, err := client.Get("http://stream/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "first second" {
				t.Fatalf("body %q, %v", body, err)
			}
		})
	})

	for _, c := range []struct {
		name   string
		stream bool
	}{
		{"a response the client stops reading is cut after the timeout", false},
		{"a stream the client stops reading is cut after the timeout", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				written := make(chan error, 1)
				client := withDeadlines(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if c.stream {
						w.(http.Flusher).Flush()
					}
					_, err := w.Write(big)
					if err == nil {
						err = http.NewResponseController(w).Flush()
					}
					written <- err
				}), d)
				resp, err := client.Get("http://slow-reader/")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				// The client reads nothing: the server's write blocks until
				// the deadline.
				start := time.Now()
				err = <-written
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("write to a client that does not read: %v, want a deadline error", err)
				}
				if waited := time.Since(start); waited > d {
					t.Fatalf("cut after %v, want at most %v", waited, d)
				}
			})
		})
	}

	t.Run("a body the client stops sending is cut after the timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			read := make(chan error, 1)
			client := withDeadlines(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				read <- err
			}), d)
			body, stall := io.Pipe()
			defer stall.Close()
			go func() {
				resp, err := client.Post("http://slow-sender/", "application/octet-stream", body)
				if err == nil {
					resp.Body.Close()
				}
			}()
			stall.Write([]byte("a first part, then nothing"))
			if err := <-read; !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("reading a body that stalls: %v, want a deadline error", err)
			}
		})
	})
}
