package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// clock is a clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokenEndpoint is a token source that asks the provider's token endpoint
// for a new token on every call (client credentials for the reporting
// daemon), caching nothing itself: what a Source saves is counted by the
// provider.
func tokenEndpoint(t *testing.T, idp *entratest.Server) oauth2.TokenSource {
	return tokenEndpointOn(t, idp, nil)
}

// tokenEndpointOn is tokenEndpoint with expiries on clk: oauth2 sets them
// on the real clock (now + expires_in).
func tokenEndpointOn(t *testing.T, idp *entratest.Server, clk *clock) oauth2.TokenSource {
	cfg := clientcredentials.Config{
		ClientID: entratest.ReportingDaemonClientID, ClientSecret: "dev-secret", TokenURL: idp.TokenURL(),
		Scopes: []string{idp.AppIDURI() + "/.default"}, AuthStyle: oauth2.AuthStyleInParams,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, idp.Client())
	return tokenFunc(func() (*oauth2.Token, error) {
		tok, err := cfg.Token(ctx)
		if err == nil && clk != nil {
			tok.Expiry = clk.Now().Add(time.Until(tok.Expiry))
		}
		return tok, err
	})
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

func TestConcurrentCallersShareOneTokenRequest(t *testing.T) {
	idp := entratest.NewServer(t)
	src, err := bearer.FromOAuth2(tokenEndpoint(t, idp))
	if err != nil {
		t.Fatal(err)
	}
	const callers = 64
	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			tokens[i], errs[i] = src.Token(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[i] == "" {
			t.Fatalf("caller %d: %v, same token: %v", i, errs[i], tokens[i] == tokens[0])
		}
	}
	if n := idp.Fetches().Token; n != 1 {
		t.Fatalf("%d token requests for %d concurrent callers, want 1", n, callers)
	}
}

func TestTokensAreRenewedAMarginBeforeTheyExpire(t *testing.T) {
	// The provider's tokens live 3599 s.
	tests := []struct {
		name     string
		opts     []bearer.Option
		after    time.Duration
		requests int
	}{
		{"a token is reused well before its expiry", nil, 54 * time.Minute, 1},
		{"a token is replaced within the default 5 minute margin", nil, 56 * time.Minute, 2},
		{"a wider margin replaces it earlier", []bearer.Option{bearer.WithRefreshMargin(10 * time.Minute)}, 51 * time.Minute, 2},
		{"with no margin a token is used until it expires", []bearer.Option{bearer.WithRefreshMargin(0)}, 59 * time.Minute, 1},
		{"with no margin an expired token is replaced", []bearer.Option{bearer.WithRefreshMargin(0)}, 61 * time.Minute, 2},
		{"a margin longer than half the token's life renews it halfway", []bearer.Option{bearer.WithRefreshMargin(time.Hour)}, 31 * time.Minute, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := entratest.NewServer(t)
			clk := newClock()
			src, err := bearer.FromOAuth2(tokenEndpointOn(t, idp, clk), append(tt.opts, bearer.WithClock(clk.Now))...)
			if err != nil {
				t.Fatal(err)
			}
			first, err := src.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(tt.after)
			second, err := src.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n := idp.Fetches().Token; n != tt.requests || (first == second) != (tt.requests == 1) {
				t.Fatalf("%d token requests (same token: %v), want %d", n, first == second, tt.requests)
			}
		})
	}
}

func TestAFailedRenewalKeepsAValidToken(t *testing.T) {
	idp := entratest.NewServer(t)
	clk := newClock()
	src, err := bearer.FromOAuth2(tokenEndpointOn(t, idp, clk), bearer.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	idp.SetDown(true)
	clk.Add(56 * time.Minute)
	if tok, err := src.Token(t.Context()); err != nil || tok != first {
		t.Fatalf("renewal failed with the token still valid: %v (same token: %v)", err, tok == first)
	}
	clk.Add(5 * time.Minute)
	_, err = src.Token(t.Context())
	if err == nil || strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "AADSTS90033") {
		t.Fatalf("renewal failed with the token expired: %v", err)
	}
	if idp.Fetches().Failed != 2 {
		t.Fatalf("%d failed requests, want 2", idp.Fetches().Failed)
	}
	idp.SetDown(false)
	if tok, err := src.Token(t.Context()); err != nil || tok == first {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestAWaitingCallerGivesUpWithItsContext(t *testing.T) {
	release := make(chan struct{})
	src, err := bearer.FromOAuth2(tokenFunc(func() (*oauth2.Token, error) {
		<-release
		return &oauth2.Token{AccessToken: "t", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	close(release)
	if tok, err := src.Token(t.Context()); err != nil || tok != "t" {
		t.Fatalf("the fetch went on for the next caller: %q %v", tok, err)
	}
}

func TestUnusableTokensAreErrors(t *testing.T) {
	tests := []struct {
		name string
		tok  *oauth2.Token
	}{
		{"an empty token", &oauth2.Token{TokenType: "Bearer"}},
		{"an expired token", &oauth2.Token{AccessToken: "old", TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is ErrNoToken", func(t *testing.T) {
			src, _ := bearer.FromOAuth2(oauth2.StaticTokenSource(tt.tok))
			if _, err := src.Token(t.Context()); !errors.Is(err, bearer.ErrNoToken) {
				t.Fatalf("%v, want ErrNoToken", err)
			}
		})
	}
	t.Run("a token of another type than Bearer is refused", func(t *testing.T) {
		src, _ := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x", TokenType: "MAC"}))
		if _, err := src.Token(t.Context()); err == nil {
			t.Fatal("accepted a MAC token")
		}
	})
}

func TestOptionsAreCheckedAtConstruction(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	tests := []struct {
		name string
		new  func() error
	}{
		{"a negative margin", func() error { _, err := bearer.FromOAuth2(ts, bearer.WithRefreshMargin(-time.Second)); return err }},
		{"a margin over an hour", func() error { _, err := bearer.FromOAuth2(ts, bearer.WithRefreshMargin(2*time.Hour)); return err }},
		{"no fetch timeout", func() error { _, err := bearer.FromOAuth2(ts, bearer.WithFetchTimeout(0)); return err }},
		{"a nil clock", func() error { _, err := bearer.FromOAuth2(ts, bearer.WithClock(nil)); return err }},
		{"a nil option", func() error { _, err := bearer.FromOAuth2(ts, nil); return err }},
		{"a nil token source", func() error { _, err := bearer.FromOAuth2(nil); return err }},
		{"a nil credential", func() error { _, err := bearer.FromAzure(nil, []string{"api://x/.default"}); return err }},
		{"an empty cache", func() error {
			_, err := bearer.NewOnBehalfOf(bearer.OnBehalfOfSecret("t", "c", "s", nil), []string{"api://x/.default"}, bearer.WithCacheSize(0))
			return err
		}},
		{"no scope", func() error {
			_, err := bearer.NewOnBehalfOf(bearer.OnBehalfOfSecret("t", "c", "s", nil), nil)
			return err
		}},
		{"two scopes in one string", func() error {
			_, err := bearer.NewOnBehalfOf(bearer.OnBehalfOfSecret("t", "c", "s", nil), []string{"api://x/A api://x/B"})
			return err
		}},
		{"a nil credential func", func() error { _, err := bearer.NewOnBehalfOf(nil, []string{"api://x/.default"}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error", func(t *testing.T) {
			if err := tt.new(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// remoteConn reports a remote address other than its real one.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

func TestGRPCTokensGoOnlyOverTLSOrToLoopback(t *testing.T) {
	idp := entratest.NewServer(t)
	echo := serve(t, idp, idp.ClientID(), echoService, "WhoAmI", callerOf)
	farAway := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 443}
	tests := []struct {
		name    string
		opts    []bearer.Option
		dial    []grpc.DialOption
		refused bool
	}{
		{name: "plaintext to a loopback address carries the token"},
		{name: "plaintext to localhost carries the token", dial: []grpc.DialOption{grpc.WithAuthority("localhost")}},
		{name: "plaintext naming another host is refused", dial: []grpc.DialOption{grpc.WithAuthority("api.example.com")}, refused: true},
		{name: "plaintext to a peer that is not loopback is refused", refused: true, dial: []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				return remoteConn{c, farAway}, err
			})}},
		{name: "InsecureAllowPlaintext lets it go to another host", opts: []bearer.Option{bearer.InsecureAllowPlaintext()},
			dial: []grpc.DialOption{grpc.WithAuthority("api.example.com")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := idp.Fetches().Token
			src, err := bearer.FromOAuth2(tokenEndpoint(t, idp), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = echo.callGRPC(t.Context(), whoAmI, append(tt.dial, grpc.WithPerRPCCredentials(src.PerRPCCredentials()))...)
			if !tt.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), bearer.ErrInsecureTransport.Error()) {
				t.Fatalf("%v, want Unauthenticated with ErrInsecureTransport", err)
			}
			if n := idp.Fetches().Token - before; n != 0 {
				t.Fatalf("%d tokens fetched for a refused call", n)
			}
		})
	}
	t.Run("TLS to a host that is not loopback carries the token", func(t *testing.T) {
		addr, pool, seen := serveTLS(t, "api.example.com")
		src, _ := bearer.FromOAuth2(tokenEndpoint(t, idp))
		conn, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "api.example.com"})),
			grpc.WithAuthority("api.example.com"),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				return remoteConn{c, farAway}, err
			}),
			grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Invoke(t.Context(), whoAmI, &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Unimplemented {
			t.Fatalf("%v, want the call to reach the server (Unimplemented)", err)
		}
		if got := <-seen; !strings.HasPrefix(got, "Bearer ey") {
			t.Fatalf("server saw authorization %q", got)
		}
	})
}

// serveTLS starts a gRPC server on loopback with a certificate for host,
// which answers every call Unimplemented and sends the authorization
// metadata it saw on the channel.
func serveTLS(t *testing.T, host string) (string, *x509.CertPool, <-chan string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	seen := make(chan string, 1)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			seen <- strings.Join(metadata.ValueFromIncomingContext(ss.Context(), "authorization"), ",")
			return status.Error(codes.Unimplemented, "nothing here")
		}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), pool, seen
}

func TestHTTPTokensGoOnlyOverTLSOrToLoopback(t *testing.T) {
	idp := entratest.NewServer(t)
	seen := make(chan string, 1)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Get("Authorization") }))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Get("Authorization") }))
	defer secure.Close()
	src, err := bearer.FromOAuth2(tokenEndpoint(t, idp))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     string
		base    http.RoundTripper
		refused bool
	}{
		{name: "http to a loopback address carries the token", url: plain.URL},
		{name: "http to localhost carries the token", url: strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)},
		{name: "https carries the token", url: secure.URL, base: secure.Client().Transport},
		{name: "http to another host is refused", url: "http://api.example.com/v1/items", refused: true},
		{name: "a scheme other than http and https is refused", url: "ftp://127.0.0.1/x", refused: true},
		{name: "http to loopback through a proxy off loopback is refused", url: plain.URL, refused: true,
			base: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "192.0.2.1:3128"})}},
		{name: "http to loopback through a loopback proxy carries the token", url: plain.URL,
			base: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: plain.Listener.Addr().String()})}},
		{name: "http to loopback through a base that is not an *http.Transport is refused", url: plain.URL, refused: true,
			base: roundTripFunc(http.DefaultTransport.RoundTrip)},
		{name: "https through any base carries the token", url: secure.URL, base: roundTripFunc(secure.Client().Transport.RoundTrip)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := idp.Fetches().Token
			req, _ := http.NewRequest(http.MethodGet, tt.url, strings.NewReader("body"))
			req.Header.Set("Authorization", "Bearer stale")
			resp, err := src.Transport(tt.base).RoundTrip(req)
			if tt.refused {
				if !errors.Is(err, bearer.ErrInsecureTransport) {
					t.Fatalf("%v, want ErrInsecureTransport", err)
				}
				if idp.Fetches().Token != before {
					t.Fatal("a token was fetched for a refused request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := <-seen; !strings.HasPrefix(got, "Bearer ey") {
				t.Fatalf("server saw authorization %q", got)
			}
		})
	}
	t.Run("a plaintext connection that ends off loopback is closed before the token is written", func(t *testing.T) {
		var requests atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
		// The dialer reaches the loopback server but reports a peer off
		// loopback, as a name resolving elsewhere would: no packet leaves
		// the machine, and the check must still refuse the connection.
		base := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
			if err != nil {
				return nil, err
			}
			return offLoopbackConn{c}, nil
		}}
		req, _ := http.NewRequest(http.MethodGet, "http://localhost/v1/items", nil)
		if resp, err := src.Transport(base).RoundTrip(req); err == nil {
			resp.Body.Close()
			t.Fatal("the request went through a connection to 192.0.2.1")
		}
		srv.Close() // waits for any request the server was handling
		if n := requests.Load(); n != 0 {
			t.Fatalf("the server received %d requests", n)
		}
	})
	t.Run("a redirect to another host is followed without the token", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Get("Authorization") }))
		defer other.Close()
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
		}))
		defer redirect.Close()
		resp, err := (&http.Client{Transport: src.Transport(nil)}).Get(redirect.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := <-seen; got != "" {
			t.Fatalf("the other host saw authorization %q", got)
		}
	})
}

func TestOnBehalfOfKeepsABoundedCacheOfSources(t *testing.T) {
	made := 0
	newCred := bearer.OnBehalfOfSecret("tenant", "service-a", "secret", nil)
	obo, err := bearer.NewOnBehalfOf(func(assertion string) (azcore.TokenCredential, error) {
		made++
		return newCred(assertion)
	}, []string{"api://b/.default"}, bearer.WithCacheSize(2))
	if err != nil {
		t.Fatal(err)
	}
	source := func(a string) *bearer.Source {
		t.Helper()
		s, err := obo.Source(a, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := source("token-a"), source("token-b")
	if source("token-a") != a || made != 2 {
		t.Fatalf("the same incoming token got a new Source (%d credentials made)", made)
	}
	source("token-c") // evicts b, the least recently used
	if obo.Len() != 2 || source("token-a") != a || made != 3 {
		t.Fatalf("after a third token: %d cached, %d made", obo.Len(), made)
	}
	if source("token-b") == b || made != 4 {
		t.Fatal("the least recently used Source was kept")
	}
	if _, err := obo.Source("", time.Now().Add(time.Hour)); !errors.Is(err, bearer.ErrNoAssertion) {
		t.Fatalf("empty assertion: %v", err)
	}
	if _, err := obo.Source("token-d", time.Time{}); !errors.Is(err, bearer.ErrNoAssertion) || made != 4 {
		t.Fatalf("assertion without an expiry: %v, %d made", err, made)
	}
}

func TestOnBehalfOfCallsWithoutACallerFail(t *testing.T) {
	obo, err := bearer.NewOnBehalfOf(bearer.OnBehalfOfSecret("tenant", "service-a", "secret", nil), []string{"api://b/.default"})
	if err != nil {
		t.Fatal(err)
	}
	noToken := func(context.Context) (string, time.Time, error) { return "", time.Time{}, bearer.ErrNoAssertion }
	for name, rt := range map[string]http.RoundTripper{
		"a nil AssertionFunc":                   obo.Transport(nil, nil),
		"an AssertionFunc finding none":         obo.Transport(nil, noToken),
		"CallerToken of a context without one":  obo.Transport(nil, bearer.CallerToken),
		"CallerToken of a nil caller":           obo.Transport(nil, bearer.CallerToken),
		"CallerToken of a caller with no token": obo.Transport(nil, bearer.CallerToken),
	} {
		t.Run(name+" is ErrNoAssertion", func(t *testing.T) {
			ctx := context.Background()
			switch {
			case strings.HasSuffix(name, "a nil caller"):
				ctx = entra.NewContext(ctx, nil)
			case strings.HasSuffix(name, "no token"):
				ctx = entra.NewContext(ctx, &entra.Claims{Subject: "made by hand"})
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
			if _, err := rt.RoundTrip(req); !errors.Is(err, bearer.ErrNoAssertion) {
				t.Fatalf("%v, want ErrNoAssertion", err)
			}
		})
	}
}

// BenchmarkCachedToken measures what a call pays for its token once one
// is cached: the per-RPC credentials' work on every gRPC call.
func BenchmarkCachedToken(b *testing.B) {
	src, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := src.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// offLoopbackConn is a loopback connection that reports a peer off
// loopback (TEST-NET-1, never contacted).
type offLoopbackConn struct{ net.Conn }

func (offLoopbackConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80}
}
