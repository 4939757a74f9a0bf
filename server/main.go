package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// Main is a whole program: it reads the configuration from its flags
// (os.Args[1:]; -h lists them), the environment and ./.env (see
// [LoadConfig]), builds the server with opts, prints the development help
// when it runs on the development identity provider, and serves until
// SIGINT or SIGTERM, then shuts down gracefully. On any error it prints a
// clear message and exits with status 1.
//
// A first argument "serve" is accepted and skipped, so that one container
// entrypoint (`serve`, as the project's Dockerfile passes it to
// grpc-azure-auth) starts any program built on Main.
//
//	func main() {
//		server.Main(
//			server.WithServices(server.Service{Register: ..., RegisterGateway: ...}),
//			server.WithOpenAPI(spec))
//	}
//
// A program that needs the configuration to build its options, or has
// settings of its own, uses [MainFunc].
func Main(opts ...Option) {
	MainFunc(func(Config) ([]Option, error) { return opts, nil })
}

// MainFunc is [Main] for a program that builds its options from the
// configuration: it reads the kit's settings and the program's own (each
// [Setting] from its flag, its variable or .env, and listed by -h), calls
// build with the configuration, whose [Config.Settings] holds the
// program's values, and serves with the options build returns. An error
// from build is printed and exits with status 1, as the kit's own are.
//
//	var auditAddr = server.Setting{Name: "AUDIT_ADDR", Flag: "audit-addr", Usage: "the audit log's host:port"}
//
//	func main() {
//		server.MainFunc(func(cfg server.Config) ([]server.Option, error) {
//			audit, err := dialAudit(cfg, cfg.Settings[auditAddr.Name])
//			if err != nil {
//				return nil, err
//			}
//			return []server.Option{server.WithServices(...)}, nil
//		}, auditAddr)
//	}
func MainFunc(build func(Config) ([]Option, error), own ...Setting) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, mainArgs(os.Args[1:]), os.Environ(), ".env", os.Stderr, build, own...)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// mainArgs are a Main program's arguments without a leading "serve".
func mainArgs(args []string) []string {
	if len(args) > 0 && args[0] == "serve" {
		return args[1:]
	}
	return args
}

// Run is [Main] without signals and exit: it reads the configuration from
// args, the environment and ./.env, builds the server with opts and serves
// until ctx ends. -h prints the flags to standard error and returns an
// error that wraps flag.ErrHelp.
func Run(ctx context.Context, args []string, opts ...Option) error {
	return run(ctx, args, os.Environ(), ".env", os.Stderr, func(Config) ([]Option, error) { return opts, nil })
}

func run(ctx context.Context, args, environ []string, dotenv string, stderr io.Writer, build func(Config) ([]Option, error), own ...Setting) error {
	rows, err := table(own)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(environ, dotenv, rows, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stderr, rows)
		return err
	}
	if err != nil {
		return err
	}
	opts, err := build(cfg)
	if err != nil {
		return err
	}
	srv, err := New(cfg, append([]Option{withDefaultDevStateDir()}, opts...)...)
	if err != nil {
		return err
	}
	if srv.devIDP != nil {
		srv.writeDevHelp(stderr)
	}
	return srv.Serve(ctx)
}

// writeDevHelp tells a developer how to get tokens from the development
// identity provider and call the API with them.
func (s *Server) writeDevHelp(w io.Writer) {
	idp := s.devIDP
	fmt.Fprintf(w, "\nDevelopment mode: trusting only the embedded identity provider at %s\n", idp.Authority())
	if len(s.cfg.sdkVariables) > 0 {
		fmt.Fprintf(w, "(%s: the Azure SDK's, not read; set %s and %s for a real tenant)\n", strings.Join(s.cfg.sdkVariables, ", "), envTenantID, envClientID)
	}
	fmt.Fprintln(w, "Development users (password \"dev\") and apps (secret \"dev-secret\"):")
	for _, u := range idp.Users() {
		fmt.Fprintf(w, "  user %-8s scopes: %s; roles: %s\n", u.Username, strings.Join(u.Scopes, " "), strings.Join(u.Roles, " "))
	}
	for _, a := range idp.Apps() {
		fmt.Fprintf(w, "  app  %-18s client ID %s; roles: %s\n", a.Name, a.ClientID, strings.Join(a.Roles, " "))
	}
	if users := idp.Users(); len(users) > 0 {
		u := users[0] // WithDevIdentityProvider may have replaced alice
		cacert := ""
		if s.dev.certFile != "" {
			cacert = "--cacert " + s.dev.certFile + " "
		}
		fmt.Fprintf(w, "Get a token (here %s's, with every scope that user has):\n  TOKEN=$(curl -s %s%s -d grant_type=password -d client_id=%s -d username=%s -d password=%s -d scope=%s/.default | jq -r .access_token)\n",
			u.Username, cacert, idp.TokenURL(), devidp.DefaultSPAClientID, u.Username, u.Password, idp.AppIDURI())
	}
	if s.dev.certFile != "" {
		fmt.Fprintf(w, "TLS with a development certificate; trust this file (also as REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, curl --cacert):\nSSL_CERT_FILE=%s\n", s.dev.certFile)
		fmt.Fprintf(w, "Call the API:\n  grpcurl -cacert %s -H \"authorization: Bearer $TOKEN\" %s list\n", s.dev.certFile, s.GRPCAddr())
	} else {
		fmt.Fprintf(w, "Call the API:\n  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" %s list\n", s.GRPCAddr())
	}
	if s.o.spec != nil {
		fmt.Fprintf(w, "  or sign in on %s/docs\n", s.HTTPURL())
	}
	fmt.Fprintln(w)
}
