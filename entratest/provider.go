package entratest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// TB is the part of testing.TB that [NewServer] uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Fetches counts the requests each endpoint served successfully, and those
// the provider failed on purpose.
type Fetches struct {
	// Discovery counts discovery documents served (v1, v2, B2C, any
	// tenant), and the Azure SDK's instance discovery answers.
	Discovery int
	// JWKS counts key sets served.
	JWKS int
	// Token counts tokens issued by the token endpoint.
	Token int
	// Failed counts requests answered with a failure that [Provider.SetDown]
	// or [Provider.SetFault] asked for: a validator's attempts during an
	// outage.
	Failed int
}

// Provider is a development identity provider ([devidp.Provider], whose
// methods it has) with the knobs of tests: outages ([Provider.SetDown]),
// slow and faulty answers ([Provider.SetDelay], [Provider.SetFault]),
// counted fetches ([Provider.Fetches]) and tokens that are wrong in one
// precise way ([Provider.Issue]). It is an http.Handler serving under its
// authority URL, and safe for concurrent use.
type Provider struct {
	*devidp.Provider

	down    atomic.Bool
	fault   atomic.Int32 // a Fault
	delay   atomic.Int64 // a time.Duration
	stop    chan struct{}
	stopped sync.Once
	fetches struct{ discovery, jwks, token, failed atomic.Int64 }
}

// NewProvider returns a provider that serves under authority
// (scheme://host[:port][/prefix], no trailing slash): the value resource
// servers use as their authority host. See [devidp.NewProvider]. Its users
// and apps are [DefaultUsers] and [DefaultApps] unless WithUsers and
// WithApps. Unlike development mode's provider, its app-only tokens carry
// idtyp "app" ([devidp.WithIDTypClaim]), the optional claim an API's
// registration should ask for, so that tests see app tokens told apart by
// it.
func NewProvider(authority string, opts ...Option) (*Provider, error) {
	p, err := devidp.NewProvider(authority, append([]Option{devidp.WithIDTypClaim(), WithUsers(DefaultUsers()...), WithApps(DefaultApps()...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: p, stop: make(chan struct{})}, nil
}

// SetDown makes every endpoint answer 503 Service Unavailable while down is
// true, to test how validators live with an unreachable identity provider.
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// Fetches returns how many requests each endpoint has served successfully,
// and how many the provider failed on purpose.
func (p *Provider) Fetches() Fetches {
	return Fetches{
		Discovery: int(p.fetches.discovery.Load()),
		JWKS:      int(p.fetches.jwks.Load()),
		Token:     int(p.fetches.token.Load()),
		Failed:    int(p.fetches.failed.Load()),
	}
}

// Server is a Provider listening on a loopback httptest.Server.
type Server struct {
	*Provider
	srv    *httptest.Server
	client *http.Client
}

// NewServer starts a provider on a loopback httptest server (127.0.0.1, on
// a free port) and closes it when the test ends. Its authority is the
// server's URL. It calls tb.Fatalf if an option is invalid.
func NewServer(tb TB, opts ...Option) *Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := NewProvider("http://"+srv.Listener.Addr().String(), opts...)
	if err != nil {
		srv.Close()
		tb.Fatalf("entratest: %v", err)
		return nil
	}
	srv.Config.Handler = p
	srv.Start()
	s := &Server{Provider: p, srv: srv, client: srv.Client()}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server; answers held back by [Provider.SetDelay] end at
// once. The test's cleanup calls it too; calling it earlier, to test an
// identity provider that went away, is fine.
func (s *Server) Close() {
	s.stopped.Do(func() { close(s.stop) })
	s.srv.Close()
}

// Client returns an HTTP client for the server: the httptest server's, or,
// for [NewServerAt], one that trusts the server's certificate and connects
// to it on loopback. Give it to validators with entra.WithHTTPClient.
func (s *Server) Client() *http.Client { return s.client }
