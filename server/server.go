package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
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
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// DevIDPPath is where the development identity provider is mounted on the
// HTTP listener.
const DevIDPPath = "/dev-idp"

// ShutdownTimeout is how long [Server.Serve] lets in-flight calls finish
// once its context ends.
const ShutdownTimeout = 10 * time.Second

// Server serves a set of gRPC services, protected by their proto rules, on
// gRPC and REST. Create it with [New], run it with [Server.Serve].
type Server struct {
	cfg       Config
	o         options
	logger    *slog.Logger
	grpcLis   net.Listener
	httpLis   net.Listener
	inProcess *inProcessListener // the gateway's way in: never leaves the process
	grpc      *grpc.Server       // serves grpcLis
	// gatewayGRPC serves inProcess: the same services, interceptors and
	// options as grpc, without its per-connection stream limit, since every
	// REST call shares the gateway's one connection (the HTTP listener
	// bounds them).
	gatewayGRPC *grpc.Server
	// exempt holds the methods of the health and reflection services, as
	// they registered them: the only calls that skip the access rules.
	exempt    map[string]bool
	http      *http.Server
	health    *health.Server
	validator *entra.Validator
	endpoints entra.Endpoints // where clients sign in, for the OpenAPI document and challenges
	devIDP    *devidp.Provider
	authz     *interceptor.Authorizer
	conn      *grpc.ClientConn // the gateway's connection to this server

	// TLS and metrics (tls.go, metrics.go).
	certs       *certReloader // nil without TLS
	dev         devState      // development mode's kept key and certificate (devstate.go)
	metrics     *metrics.Recorder
	metricsLis  net.Listener
	metricsHTTP *http.Server
}

// registration is one service registered by a [Service]'s Register.
type registration struct {
	desc *grpc.ServiceDesc
	impl any
}

// registrar records registrations, so that the services' rules are known
// before the gRPC server and its interceptors are built.
type registrar struct {
	regs []registration
	errs []error
}

func (r *registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	name := desc.ServiceName
	switch {
	case name == healthpb.Health_ServiceDesc.ServiceName || strings.HasPrefix(name, "grpc.reflection."):
		r.errs = append(r.errs, fmt.Errorf("service %s: the server registers health and reflection itself", name))
	case overridesAuth(impl):
		r.errs = append(r.errs, fmt.Errorf("service %s implements AuthFuncOverride, which would let go-grpc-middleware's auth interceptor skip its rules: remove the method", name))
	case slices.ContainsFunc(r.regs, func(g registration) bool { return g.desc.ServiceName == name }):
		r.errs = append(r.errs, fmt.Errorf("service %s is registered twice", name))
	default:
		r.regs = append(r.regs, registration{desc, impl})
	}
}

// overridesAuth reports whether impl implements go-grpc-middleware's
// ServiceAuthFuncOverride, whose auth interceptor calls it instead of the
// AuthFunc it was given.
func overridesAuth(impl any) bool {
	_, ok := impl.(interface {
		AuthFuncOverride(ctx context.Context, fullMethodName string) (context.Context, error)
	})
	return ok
}

// New listens on the configured addresses and builds the server. Every
// configuration, option and access-rule error is returned here: a service
// without a descriptor, an invalid rule, a development mode off loopback.
// Methods without a rule are denied to every caller (and logged by Serve).
func New(cfg Config, opts ...Option) (*Server, error) {
	o := options{files: protoregistry.GlobalFiles}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.withDefaults()
	var errs []error
	if err := o.check(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, cfg.check()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("server: %w", errors.Join(errs...))
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	s := &Server{cfg: cfg, o: o, logger: o.logger, health: health.NewServer()}
	cfg.logSDKVariables(s.logger)
	rec := &registrar{}
	for _, svc := range o.services {
		svc.Register(rec)
	}
	if len(rec.errs) > 0 {
		return nil, fmt.Errorf("server: %w", errors.Join(rec.errs...))
	}
	p, err := s.policy(rec.regs)
	if err != nil {
		return nil, err
	}
	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("GRPC_ADDR: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if cfg.DevMode {
		// The names were checked; what they resolved to is checked here, so
		// a "localhost" that resolves off loopback cannot expose a server
		// trusting the development provider.
		if err := errors.Join(boundToLoopback("GRPC_ADDR", s.grpcLis), boundToLoopback("HTTP_ADDR", s.httpLis)); err != nil {
			s.grpcLis.Close()
			s.httpLis.Close()
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	s.inProcess = newInProcessListener()
	if err := s.setupDevState(); err != nil {
		s.close()
		return nil, err
	}
	if err := s.setupTransport(); err != nil {
		s.close()
		return nil, err
	}
	if err := s.build(p, rec.regs); err != nil {
		s.close()
		return nil, err
	}
	s.warnStartup(p)
	return s, nil
}

// policy reads the rules of the registered services from their
// descriptors.
func (s *Server) policy(regs []registration) (*rules.Policy, error) {
	var sds []protoreflect.ServiceDescriptor
	var errs []error
	for _, r := range regs {
		d, err := s.o.files.FindDescriptorByName(protoreflect.FullName(r.desc.ServiceName))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			errs = append(errs, fmt.Errorf("service %s: no descriptor, so no rules: link its generated package or pass WithDescriptors", r.desc.ServiceName))
			continue
		}
		sds = append(sds, sd)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("server: %w", errors.Join(errs...))
	}
	return rules.ForServices(sds...)
}

// close releases what New acquired, for a server that will not serve.
func (s *Server) close() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.grpcLis.Close()
	s.httpLis.Close()
	s.inProcess.Close()
	s.closeMetrics()
}

func (s *Server) build(p *rules.Policy, regs []registration) error {
	opts := []entra.Option{entra.WithLogger(s.logger)}
	if s.cfg.DevMode {
		_, port, _ := net.SplitHostPort(s.httpLis.Addr().String())
		var redirects []string
		for _, host := range loopbackNames {
			redirects = append(redirects, s.scheme()+"://"+host+":"+port+"/docs/oauth2-redirect.html")
		}
		users, apps := devAccounts(p)
		idpOpts := append([]devidp.Option{devidp.WithSPA(devidp.DefaultSPAClientID, redirects...), devidp.WithUsers(users...), devidp.WithApps(apps...)}, s.o.devIDPOpts...)
		idp, err := devidp.NewProvider(s.HTTPURL()+DevIDPPath, idpOpts...)
		if err != nil {
			return err
		}
		s.devIDP = idp
		client, err := s.devIDPClient()
		if err != nil {
			return err
		}
		if client != nil {
			opts = append(opts, entra.WithHTTPClient(client))
		}
		opts = append(opts,
			entra.WithAuthorityHost(idp.Authority()),
			entra.WithTenant(idp.TenantID()),
			entra.WithAudiences(idp.ClientID(), "api://"+idp.ClientID()))
	} else {
		opts = append(opts, s.cfg.validatorOptions()...)
		if s.o.idpClient != nil {
			opts = append(opts, entra.WithHTTPClient(s.o.idpClient))
		}
	}
	var err error
	if s.validator, err = entra.NewValidator(opts...); err != nil {
		return err
	}
	if s.endpoints, err = entra.EndpointsOf(opts...); err != nil {
		return err
	}
	metricsAuthz, metricsGRPC, err := s.setupMetrics()
	if err != nil {
		return err
	}
	if s.authz, err = interceptor.New(s.validator, append([]interceptor.Option{interceptor.WithPolicy(p), interceptor.WithLogger(s.logger)}, metricsAuthz...)...); err != nil {
		return err
	}

	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p))
		return status.Error(codes.Internal, "internal error")
	})}
	// newServer builds a gRPC server with every service; limits come before
	// the options of WithGRPCServerOptions, which replace them, and last
	// after.
	newServer := func(limits, last []grpc.ServerOption) (*grpc.Server, map[string]bool) {
		opts := slices.Concat(metricsGRPC, limits, s.o.grpcOpts, last, []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(
				recovery.UnaryServerInterceptor(recoverOpts...),
				logging.UnaryServerInterceptor(grpcLogger(s.logger), logOpts...),
				selector.UnaryServerInterceptor(s.authz.UnaryServerInterceptor(), selector.MatchFunc(s.needsAuthorization)),
			),
			grpc.ChainStreamInterceptor(
				recovery.StreamServerInterceptor(recoverOpts...),
				logging.StreamServerInterceptor(grpcLogger(s.logger), logOpts...),
				selector.StreamServerInterceptor(s.authz.StreamServerInterceptor(), selector.MatchFunc(s.needsAuthorization)),
			),
		})
		srv := grpc.NewServer(opts...)
		for _, r := range regs {
			srv.RegisterService(r.desc, r.impl)
		}
		open := openRegistrar{Server: srv, methods: map[string]bool{}}
		healthpb.RegisterHealthServer(open, s.health)
		reflection.Register(open)
		return srv, open.methods
	}
	s.grpc, s.exempt = newServer(grpcLimits(), nil)
	// The header cap holds in process too; a stream limit never does,
	// whatever WithGRPCServerOptions says: every REST call shares this one
	// connection.
	s.gatewayGRPC, _ = newServer([]grpc.ServerOption{grpc.MaxHeaderListSize(grpcMaxHeaderListSize)},
		[]grpc.ServerOption{grpc.MaxConcurrentStreams(0)})
	s.initMetrics()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s.buildHTTP()
}

// buildHTTP serves, on the HTTP listener, the REST gateway (through an
// in-process connection to this server, so the same interceptors decide),
// the OpenAPI document and Swagger UI, probes, the handlers of
// WithHandler, and the development identity provider.
func (s *Server) buildHTTP() error {
	clientID, spaClientID := s.cfg.ClientID, s.cfg.OpenAPIClientID
	if s.devIDP != nil {
		clientID, spaClientID = s.devIDP.ClientID(), devidp.DefaultSPAClientID
	}
	scopePrefix := "api://" + clientID + "/"
	for _, a := range s.cfg.Audiences {
		if strings.Contains(a, "://") {
			scopePrefix = strings.TrimSuffix(a, "/") + "/"
			break
		}
	}

	mux := http.NewServeMux()
	var gatewayFuncs []gateway.RegisterFunc
	for _, svc := range s.o.services {
		if svc.RegisterGateway != nil {
			gatewayFuncs = append(gatewayFuncs, svc.RegisterGateway)
		}
	}
	if len(gatewayFuncs) > 0 {
		conn, err := grpc.NewClient("passthrough:///in-process",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.inProcess.DialContext(ctx) }),
			// The connection is a buffer in this process: there is no
			// wire to protect.
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		s.conn = conn
		gw, err := gateway.New(context.Background(), conn, gatewayFuncs, append([]gateway.Option{
			gateway.WithCORSOrigins(s.cfg.CORSOrigins...),
			gateway.WithChallenge(gateway.Challenge{
				Realm: "grpc-azure-auth", AuthorizationURI: s.endpoints.AuthorizationURL, ClientID: clientID, ScopePrefix: scopePrefix,
			}),
		}, s.o.gatewayOpts...)...)
		if err != nil {
			return err
		}
		mux.Handle("/", gw)
	}
	if s.o.spec != nil {
		if spaClientID == "" {
			s.logger.Warn(fmt.Sprintf("%s is not set: Swagger UI signs in as the API's own app registration (%s)", envOpenAPIClientID, envClientID))
			spaClientID = clientID
		}
		docs, err := openapi.Document(s.o.spec, s.o.files, s.authz.Policy(), openapi.Security{
			AuthorizationURL: s.endpoints.AuthorizationURL, TokenURL: s.endpoints.TokenURL, ScopePrefix: scopePrefix,
		})
		if err != nil {
			return err
		}
		ui := openapi.UI{ClientID: spaClientID, AuthorizationParams: s.cfg.OpenAPIAuthorizationParams}
		for _, sc := range s.cfg.OpenAPIScopes {
			ui.Scopes = append(ui.Scopes, scopePrefix+sc)
		}
		h, err := openapi.Handler(docs, ui)
		if err != nil {
			return err
		}
		for _, p := range []string{"/openapi.json", "/swagger.json", "/docs", "/docs/"} {
			mux.Handle(p, h)
		}
	}
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
	for _, h := range s.o.handlers {
		if err := handle(mux, h); err != nil {
			return err
		}
	}
	var h http.Handler = mux
	if s.devIDP != nil {
		h = loopbackHostOnly(mux, s.httpLis.Addr().String())
	}
	s.http = s.newHTTPServer(h)
	return nil
}

// handle registers h on mux, turning the mux's panic on a bad or
// conflicting pattern into an error.
func handle(mux *http.ServeMux, h handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("server: WithHandler(%q): %v", h.pattern, p)
		}
	}()
	mux.Handle(h.pattern, h.h)
	return nil
}

// boundToLoopback returns an error naming variable unless lis listens on
// a loopback address.
func boundToLoopback(variable string, lis net.Listener) error {
	if a, ok := lis.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: development mode listens on loopback only, but the address resolved to %s", variable, lis.Addr())
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

// openRegistrar registers services on a gRPC server and records their
// methods: those of the health and reflection services, which carry no
// access rules and answer probes and tools without a token.
type openRegistrar struct {
	*grpc.Server
	methods map[string]bool
}

func (r openRegistrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	r.Server.RegisterService(desc, impl)
	for _, m := range desc.Methods {
		r.methods["/"+desc.ServiceName+"/"+m.MethodName] = true
	}
	for _, st := range desc.Streams {
		r.methods["/"+desc.ServiceName+"/"+st.StreamName] = true
	}
}

// needsAuthorization exempts exactly the methods the health and reflection
// services registered. Any other name under theirs (which a handler set by
// grpc.UnknownServiceHandler would receive) goes through the rules, and
// having none is denied.
func (s *Server) needsAuthorization(_ context.Context, c interceptors.CallMeta) bool {
	// c.FullMethod() would build the name with fmt.Sprintf: three
	// allocations on every call. The same name, built on the stack, is
	// looked up without one.
	var buf [128]byte
	name := append(append(append(append(buf[:0], '/'), c.Service...), '/'), c.Method...)
	return !s.exempt[string(name)]
}

func grpcLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// GRPCAddr is the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPURL is the base URL of the HTTP listener, http://host:port, or
// https://host:port with TLS.
func (s *Server) HTTPURL() string { return s.scheme() + "://" + s.httpLis.Addr().String() }

// DevIDP returns the embedded development identity provider, or nil when the
// server trusts a real tenant. Its Issue makes development tokens with
// devidp's token options.
func (s *Server) DevIDP() *devidp.Provider { return s.devIDP }

// Validator returns the server's token validator.
func (s *Server) Validator() *entra.Validator { return s.validator }

// Policy returns the rules the server enforces: those of its services.
func (s *Server) Policy() *rules.Policy { return s.authz.Policy() }

// Serve serves until ctx is done, then stops gracefully: in-flight calls get
// up to [ShutdownTimeout] to finish. It returns nil after a shutdown asked
// for by ctx, or the error that stopped a listener.
func (s *Server) Serve(ctx context.Context) error {
	for _, m := range s.authz.Policy().Unprotected(s.grpc.GetServiceInfo()) {
		if s.exempt[m] {
			continue
		}
		s.logger.Warn("method has no access rule: every call is denied", "method", m)
	}
	errc := make(chan error, 4)
	stopMetrics := s.serveMetrics(errc)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() { errc <- s.gatewayGRPC.Serve(s.inProcess) }()
	go func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go s.loadKeys(ctx)
	s.logger.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPURL(), "development_mode", s.devIDP != nil)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.health.Shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		// The gateway's calls come through the HTTP listener, so they end
		// with its shutdown; both servers drain side by side.
		done := make(chan struct{})
		go func() { s.gatewayGRPC.GracefulStop(); close(done) }()
		s.grpc.GracefulStop()
		<-done
		close(stopped)
	}()
	_ = s.http.Shutdown(shutdownCtx)
	stopMetrics(shutdownCtx)
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		s.grpc.Stop()
		s.gatewayGRPC.Stop()
	}
	if s.conn != nil {
		s.conn.Close()
	}
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
