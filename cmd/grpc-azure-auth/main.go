// Command grpc-azure-auth runs the Items example API on the serving kit
// (package server), fetches development tokens, and writes new services
// (init).
//
//	grpc-azure-auth                            # the server (make run); also: serve
//	grpc-azure-auth -h                         # its flags, each with its variable
//	grpc-azure-auth token -user bob -scopes Items.Read
//	grpc-azure-auth token -app admin-daemon    # client credentials
//	grpc-azure-auth init orders -module example.com/orders  # a new service
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
	"strings"
	"syscall"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

func main() {
	// With no command, or flags first, it serves: the container image runs
	// it with no arguments, as it runs any server.Main program.
	cmd, args := "serve", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "token":
		err = token(args)
	case "init":
		err = initModule(args, os.Stderr)
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
	fmt.Fprintln(os.Stderr, "usage: grpc-azure-auth [serve] [-h] [flags] | token [-user NAME | -app CLIENT] [-scopes 'A B'] | init DIR -module PATH [-replace LIBDIR]")
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
