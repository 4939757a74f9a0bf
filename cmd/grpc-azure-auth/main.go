// Command grpc-azure-auth runs the example API and fetches development
// tokens.
//
//	grpc-azure-auth serve                      # the server (make run)
//	grpc-azure-auth token -user bob -scopes Items.Read
//	grpc-azure-auth token -app admin-daemon    # client credentials
//
// serve reads its configuration from the environment and ./.env (see
// package server). token asks the running server's development identity
// provider for a token and prints it, so that
//
//	grpcurl -plaintext -H "authorization: Bearer $(grpc-azure-auth token)" localhost:50051 list
//
// works in one line.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve()
	case "token":
		err = token(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpc-azure-auth:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: grpc-azure-auth serve | token [-user NAME | -app CLIENT] [-scopes 'A B']")
	os.Exit(2)
}

func serve() error {
	cfg, err := server.LoadConfig(os.Environ(), ".env")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	if idp := srv.DevIDP(); idp != nil {
		printDevHelp(idp, srv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx)
}

func printDevHelp(idp *entratest.Provider, srv *server.Server) {
	fmt.Fprintf(os.Stderr, "\nNo AZURE_TENANT_ID: using the development identity provider at %s\n", idp.Authority())
	fmt.Fprintln(os.Stderr, "Development users (password \"dev\") and apps (secret \"dev-secret\"):")
	for _, u := range idp.Users() {
		fmt.Fprintf(os.Stderr, "  user %-8s scopes: %s; roles: %s\n", u.Username, strings.Join(u.Scopes, " "), strings.Join(u.Roles, " "))
	}
	for _, a := range idp.Apps() {
		fmt.Fprintf(os.Stderr, "  app  %-18s roles: %s\n", a.ClientID, strings.Join(a.Roles, " "))
	}
	fmt.Fprintf(os.Stderr, "Try:\n  grpcurl -plaintext -H \"authorization: Bearer $(make -s token AS=bob SCOPES=Items.Read)\" %s example.items.v1.ItemService/ListItems\n\n", srv.GRPCAddr())
}
