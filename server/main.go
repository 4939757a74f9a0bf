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
//	func main() {
//		server.Main(
//			server.WithServices(server.Service{Register: ..., RegisterGateway: ...}),
//			server.WithOpenAPI(spec))
//	}
func Main(opts ...Option) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], opts...)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// Run is [Main] without signals and exit: it reads the configuration from
// args, the environment and ./.env, builds the server with opts and serves
// until ctx ends. -h prints the flags to standard error and returns an
// error that wraps flag.ErrHelp.
func Run(ctx context.Context, args []string, opts ...Option) error {
	return run(ctx, args, os.Environ(), ".env", os.Stderr, append([]Option{withDefaultDevStateDir()}, opts...)...)
}

func run(ctx context.Context, args, environ []string, dotenv string, stderr io.Writer, opts ...Option) error {
	cfg, err := LoadConfig(environ, dotenv, args...)
	if errors.Is(err, flag.ErrHelp) {
		usage(stderr)
		return err
	}
	if err != nil {
		return err
	}
	srv, err := New(cfg, opts...)
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
		fmt.Fprintf(w, "(%s: the Azure SDK's, not read; set AZUREAD_TENANT_ID and AZUREAD_CLIENT_ID for a real tenant)\n", strings.Join(s.cfg.sdkVariables, ", "))
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
