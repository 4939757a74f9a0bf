package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/example/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
)

// DevIDPPath is where the development identity provider is mounted on the
// HTTP listener.
const DevIDPPath = "/dev-idp"

// Server is the example API server. Create it with [New], run it with
// [Server.Serve].
type Server struct {
	cfg       Config
	logger    *slog.Logger
	grpcLis   net.Listener
	httpLis   net.Listener
	grpc      *grpc.Server
	http      *http.Server
	health    *health.Server
	validator *entra.Validator
	devIDP    *entratest.Provider
	authz     *interceptor.Authorizer
	conn      *grpc.ClientConn // the gateway's connection to this server
}

// New listens on the configured addresses and builds the server. Every
// configuration and access-rule error is returned here.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, logger: logger, health: health.NewServer()}
	var err error
	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("GRPC_ADDR: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if err := s.build(); err != nil {
		s.grpcLis.Close()
		s.httpLis.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) build() error {
	opts := []entra.Option{entra.WithLogger(s.logger)}
	if s.cfg.Dev() {
		_, port, _ := net.SplitHostPort(s.httpLis.Addr().String())
		var redirects []string
		for _, host := range loopbackNames {
			redirects = append(redirects, "http://"+host+":"+port+"/docs/oauth2-redirect.html")
		}
		idp, err := entratest.NewProvider(s.HTTPURL()+DevIDPPath, entratest.WithSPA(entratest.DefaultSPAClientID, redirects...))
		if err != nil {
			return err
		}
		s.devIDP = idp
		opts = append(opts,
			entra.WithAuthorityHost(idp.Authority()),
			entra.WithTenant(idp.TenantID()),
			entra.WithAudiences(idp.ClientID(), "api://"+idp.ClientID()))
	} else {
		opts = append(opts, s.cfg.validatorOptions()...)
	}
	var err error
	if s.validator, err = entra.NewValidator(opts...); err != nil {
		return err
	}
	if s.authz, err = interceptor.New(s.validator, interceptor.WithLogger(s.logger)); err != nil {
		return err
	}

	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p))
		return status.Error(codes.Internal, "internal error")
	})}
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoverOpts...),
			logging.UnaryServerInterceptor(grpcLogger(s.logger), logOpts...),
			selector.UnaryServerInterceptor(s.authz.UnaryServerInterceptor(), selector.MatchFunc(needsAuthorization)),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpts...),
			logging.StreamServerInterceptor(grpcLogger(s.logger), logOpts...),
			selector.StreamServerInterceptor(s.authz.StreamServerInterceptor(), selector.MatchFunc(needsAuthorization)),
		),
	)
	itemsv1.RegisterItemServiceServer(s.grpc, NewItems())
	itemsv1.RegisterInfoServiceServer(s.grpc, &Info{Name: "grpc-azure-auth example"})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s.buildHTTP()
}

// buildHTTP serves, on the HTTP listener, the REST gateway (through a gRPC
// connection to this server, so the same interceptors decide), the OpenAPI
// document and Swagger UI, probes, and the development identity provider.
func (s *Server) buildHTTP() error {
	authority, tenant, clientID := s.cfg.AuthorityHost, s.cfg.TenantID, s.cfg.ClientID
	spaClientID := s.cfg.OpenAPIClientID
	if s.devIDP != nil {
		authority, tenant, clientID = s.devIDP.Authority(), s.devIDP.TenantID(), s.devIDP.ClientID()
		spaClientID = entratest.DefaultSPAClientID
	}
	if authority == "" {
		authority = entra.PublicCloud
	}
	if spaClientID == "" {
		s.logger.Warn("OPENAPI_CLIENT_ID is not set: Swagger UI signs in as the API's own app registration (AZURE_CLIENT_ID)")
		spaClientID = clientID
	}
	scopePrefix := "api://" + clientID + "/"
	for _, a := range s.cfg.Audiences {
		if strings.Contains(a, "://") {
			scopePrefix = strings.TrimSuffix(a, "/") + "/"
			break
		}
	}
	oauth := strings.TrimSuffix(authority, "/") + "/" + tenant + "/oauth2/v2.0/"
	if s.cfg.B2CPolicy != "" {
		// B2C signs users in through the user flow.
		oauth = strings.TrimSuffix(authority, "/") + "/" + tenant + "/" + s.cfg.B2CPolicy + "/oauth2/v2.0/"
	}

	conn, err := grpc.NewClient(dialTarget(s.grpcLis.Addr()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	s.conn = conn
	gw, err := gateway.New(context.Background(), conn,
		[]gateway.RegisterFunc{itemsv1.RegisterItemServiceHandler, itemsv1.RegisterInfoServiceHandler},
		gateway.WithCORSOrigins(s.cfg.CORSOrigins...),
		gateway.WithChallenge(gateway.Challenge{
			Realm: "grpc-azure-auth", AuthorizationURI: oauth + "authorize", ClientID: clientID, ScopePrefix: scopePrefix,
		}))
	if err != nil {
		return err
	}
	doc, err := openapi.Document(openapi.Generated(), protoregistry.GlobalFiles, s.authz.Policy(), openapi.Security{
		AuthorizationURL: oauth + "authorize", TokenURL: oauth + "token", ScopePrefix: scopePrefix,
	})
	if err != nil {
		return err
	}
	docs, err := openapi.Handler(doc, openapi.UI{ClientID: spaClientID})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	if s.devIDP != nil {
		mux.Handle(DevIDPPath+"/", s.devIDP)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.validator.Ready() {
			http.Error(w, "signing keys not loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/openapi.json", docs)
	mux.Handle("/docs", docs)
	mux.Handle("/docs/", docs)
	mux.Handle("/", gw)
	var h http.Handler = mux
	if s.devIDP != nil {
		h = loopbackHostOnly(mux, s.httpLis.Addr().String())
	}
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// loopbackNames are the names of this machine a browser can use for the
// development server.
var loopbackNames = []string{"localhost", "127.0.0.1", "[::1]"}

// loopbackHostOnly refuses requests whose Host is not localhost, 127.0.0.1,
// [::1] or the host of listenAddr (a loopback address, which the server
// itself calls to fetch the development provider's keys), each with or
// without a port. The dev server signs anyone in, so a web page that rebinds
// its own domain to 127.0.0.1 (DNS rebinding) must not reach it: the browser
// then still sends the page's domain as Host.
func loopbackHostOnly(next http.Handler, listenAddr string) http.Handler {
	names := slices.Clone(loopbackNames)
	if i := strings.LastIndexByte(listenAddr, ':'); i > 0 && !slices.Contains(names, listenAddr[:i]) {
		names = append(names, listenAddr[:i])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isHostOf(r.Host, names) {
			http.Error(w, "the development server answers only Host "+strings.Join(names, ", "), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isHostOf reports whether host, a Host header, is one of names (ASCII,
// compared case-insensitively), alone or with a port.
func isHostOf(host string, names []string) bool {
	for _, name := range names {
		// A non-ASCII rune takes two bytes or more, so only an ASCII
		// prefix of the name's length in bytes can fold to it.
		if len(host) >= len(name) && strings.EqualFold(host[:len(name)], name) {
			rest := host[len(name):]
			port, hasPort := strings.CutPrefix(rest, ":")
			if rest == "" || hasPort && port != "" && strings.Trim(port, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

// dialTarget is the loopback address of a listener, also when it listens
// on every interface.
func dialTarget(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// needsAuthorization exempts the health and reflection services, which
// carry no access rules and must answer probes and tools without a token.
func needsAuthorization(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service != healthpb.Health_ServiceDesc.ServiceName &&
		!strings.HasPrefix(c.Service, "grpc.reflection.")
}

func grpcLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// GRPCAddr is the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPURL is the base URL of the HTTP listener, http://host:port.
func (s *Server) HTTPURL() string { return "http://" + s.httpLis.Addr().String() }

// DevIDP returns the embedded development identity provider, or nil when the
// server trusts a real tenant.
func (s *Server) DevIDP() *entratest.Provider { return s.devIDP }

// Validator returns the server's token validator.
func (s *Server) Validator() *entra.Validator { return s.validator }

// Serve serves until ctx is done, then stops gracefully: in-flight calls get
// up to ten seconds to finish.
func (s *Server) Serve(ctx context.Context) error {
	for _, m := range s.authz.Policy().Unprotected(s.grpc.GetServiceInfo()) {
		if !needsAuthorization(ctx, interceptors.NewServerCallMeta(m, nil, nil)) {
			continue
		}
		s.logger.Warn("method has no access rule: every call is denied", "method", m)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go s.loadKeys(ctx)
	s.logger.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPURL(), "dev_identity_provider", s.devIDP != nil)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.health.Shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	_ = s.http.Shutdown(shutdownCtx)
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		s.grpc.Stop()
	}
	s.conn.Close()
	return err
}

// loadKeys fetches the signing keys, retrying until it succeeds, then marks
// the server healthy. Until then protected calls answer Unavailable.
func (s *Server) loadKeys(ctx context.Context) {
	for {
		err := s.validator.Preload(ctx)
		if err == nil {
			s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
			return
		}
		s.logger.Warn("signing keys not loaded yet; protected calls answer Unavailable", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(entra.DefaultRetryInterval):
		}
	}
}
