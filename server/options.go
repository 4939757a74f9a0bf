package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
)

// Service is one gRPC service the kit serves.
type Service struct {
	// Register registers the service's implementation, as in
	//
	//	func(s grpc.ServiceRegistrar) { notesv1.RegisterNoteServiceServer(s, impl) }
	//
	// It may register more than one service. Each registered service needs
	// a descriptor (see [WithDescriptors]); its methods' rules come from it.
	Register func(grpc.ServiceRegistrar)
	// RegisterGateway registers the service's REST handlers: the generated
	// Register…Handler function of protoc-gen-grpc-gateway. nil serves the
	// service over gRPC only.
	RegisterGateway gateway.RegisterFunc
}

// Option configures a [Server] beyond its [Config].
type Option func(*options)

type options struct {
	services      []Service
	logger        *slog.Logger
	loggerSet     bool
	spec          []byte
	files         *protoregistry.Files
	handlers      []handler
	gatewayOpts   []gateway.Option
	grpcOpts      []grpc.ServerOption
	descriptorSet bool
	devIDPOpts    []devidp.Option
	idpClient     *http.Client
	idpClientSet  bool
	// devStateDir is where development mode keeps its key and
	// certificate (WithDevStateDir); devStateDirErr says why Run found
	// none.
	devStateDir    string
	devStateDirErr error
}

type handler struct {
	pattern string
	h       http.Handler
}

// WithServices adds services to serve. At least one is required.
func WithServices(services ...Service) Option {
	return func(o *options) { o.services = append(o.services, services...) }
}

// WithLogger sets the logger of the server, its interceptors and its
// validator. By default the server logs text to standard error at
// [Config.LogLevel].
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger, o.loggerSet = l, true }
}

// WithOpenAPI sets the services' OpenAPI (Swagger 2.0) document as
// protoc-gen-openapiv2 writes it. The server completes it from the rules
// (see openapi.Document) and serves it as OpenAPI 3.1 at /openapi.json
// (Swagger 2.0 at /swagger.json), with Swagger UI at /docs. Without it,
// none is served.
func WithOpenAPI(spec []byte) Option {
	return func(o *options) { o.spec = append([]byte(nil), spec...) }
}

// WithDescriptors sets where the registered services' descriptors, and
// with them their rules, are read: protoregistry.GlobalFiles by default,
// which holds every generated file linked into the program.
func WithDescriptors(files *protoregistry.Files) Option {
	return func(o *options) { o.files, o.descriptorSet = files, true }
}

// WithHandler serves h at pattern (as in http.ServeMux.Handle) on the HTTP
// listener, next to the REST API, for example /metrics. A pattern that
// conflicts with the server's own (/healthz, /readyz, /openapi.json,
// /swagger.json, /docs/, /dev-idp/, /) is an error from [New]. The handler
// is not behind the access rules: protect it yourself when it needs it.
func WithHandler(pattern string, h http.Handler) Option {
	return func(o *options) { o.handlers = append(o.handlers, handler{pattern, h}) }
}

// WithGatewayOptions adds options to the REST gateway, after the server's
// own (CORS origins from the configuration, the challenge of the tenant),
// for example gateway.WithTrustedProxy behind a proxy.
func WithGatewayOptions(opts ...gateway.Option) Option {
	return func(o *options) { o.gatewayOpts = append(o.gatewayOpts, opts...) }
}

// WithGRPCServerOptions adds options to the gRPC server. Interceptors
// chained by them (grpc.ChainUnaryInterceptor, grpc.ChainStreamInterceptor)
// run before the server's own, authorization included: they see every
// call, denied ones too, as metrics should. They come after the
// listener's own limits (64 KiB of metadata per call, 100 concurrent
// streams per connection, keepalive enforcement), so an option setting the
// same limit replaces it: tighten them here, for instance
// grpc.MaxConcurrentStreams(20).
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// WithDevIdentityProvider adds options to the embedded development identity
// provider (package devidp), after the server's own, in development mode
// only: typically devidp.WithUsers and devidp.WithApps, which replace the
// server's development users and daemons. By default those are devidp's
// alice, bob, admin-daemon and reporting-daemon with the scopes and app
// roles the rules name: alice every scope, bob the read-only ones (names
// with Read but not Write), admin-daemon every app role, reporting-daemon
// the roles a rule accepts in place of bob's scopes. A scope or role of
// the rules that no development user or app has is a warning from [New].
// An invalid option is an error from [New] in development mode.
func WithDevIdentityProvider(opts ...devidp.Option) Option {
	return func(o *options) { o.devIDPOpts = append(o.devIDPOpts, opts...) }
}

// WithDevStateDir sets the directory where development mode keeps its
// signing key and, in development TLS mode, its TLS certificate (see
// devidp.LoadOrCreateSigningKey and devidp.LoadOrCreateTLSCertificate),
// so that development tokens and the trusted certificate survive a
// restart. [Main] and [Run] use devidp.DefaultStateDir, in the user's
// cache directory; without this option, [New] keeps nothing (tokens end
// with the process) and refuses development TLS mode.
func WithDevStateDir(dir string) Option {
	return func(o *options) { o.devStateDir, o.devStateDirErr = dir, nil }
}

// withDefaultDevStateDir is WithDevStateDir(devidp.DefaultStateDir()),
// remembering why there is none when the user has no cache directory.
func withDefaultDevStateDir() Option {
	return func(o *options) { o.devStateDir, o.devStateDirErr = devidp.DefaultStateDir() }
}

// WithIdentityProviderClient sets the HTTP client that fetches the
// identity provider's discovery document and signing keys: one that
// trusts a private CA or goes through a proxy, or in tests the client of
// an entratest.NewServerAt provider. It does not apply to the development
// identity provider, which is served in process.
func WithIdentityProviderClient(c *http.Client) Option {
	return func(o *options) { o.idpClient, o.idpClientSet = c, true }
}

// check reports options that cannot work.
func (o *options) check() error {
	var errs []error
	if o.loggerSet && o.logger == nil {
		errs = append(errs, errors.New("WithLogger: nil logger"))
	}
	if o.descriptorSet && o.files == nil {
		errs = append(errs, errors.New("WithDescriptors: nil files"))
	}
	if o.idpClientSet && o.idpClient == nil {
		errs = append(errs, errors.New("WithIdentityProviderClient: nil client"))
	}
	if len(o.services) == 0 {
		errs = append(errs, errors.New("no services: pass WithServices"))
	}
	for i, s := range o.services {
		if s.Register == nil {
			errs = append(errs, fmt.Errorf("WithServices: service %d has no Register function", i))
		}
	}
	for _, h := range o.handlers {
		if h.h == nil {
			errs = append(errs, fmt.Errorf("WithHandler(%q): nil handler", h.pattern))
		}
	}
	return errors.Join(errs...)
}
