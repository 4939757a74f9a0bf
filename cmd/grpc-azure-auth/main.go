// Command grpc-azure-auth runs the Items example API on the serving kit
// (package server) and fetches development tokens.
//
//	grpc-azure-auth serve                      # the server (make run)
//	grpc-azure-auth serve -h                   # its flags, each with its variable
//	grpc-azure-auth token -user bob -scopes Items.Read
//	grpc-azure-auth token -app admin-daemon    # client credentials
//
// serve reads its configuration from flags, the environment and ./.env
// (see server.LoadConfig). token asks the running server's development
// identity provider for a token and prints it, so that
//
//	grpcurl -plaintext -H "authorization: Bearer $(grpc-azure-auth token)" localhost:50051 list
//
// works in one line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	default:
		usage()
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "grpc-azure-auth:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: grpc-azure-auth serve [-h] [flags] | token [-user NAME | -app CLIENT] [-scopes 'A B']")
	os.Exit(2)
}

// serve runs the Items example: one user of the serving kit.
func serve(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.Run(ctx, args,
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}),
		server.WithOpenAPI(items.OpenAPI()))
}
