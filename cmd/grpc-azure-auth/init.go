package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/scaffold"
)

const initUsage = `usage: grpc-azure-auth init DIR -module PATH [-name NAME] [-replace LIBDIR]

Writes a new service module into DIR (which must not exist or be empty): a
proto with a sample service and its access rules, buf and the code
generators as pinned tools, main.go on server.Main, a test on servertest, a
Makefile (run, test, generate, checkgenerate, token), a Dockerfile,
Kubernetes manifests and a README; then generates its code, so that
make test and make run work in it as they stand. Generation builds buf the
first time (about two minutes on two cores); it needs the Go module proxy
and nothing else.

  go run github.com/grpc-azure-auth/grpc-azure-auth/cmd/grpc-azure-auth@latest init orders -module example.com/orders

The new module requires the library version this command was built from;
-replace points it at a local checkout instead (an unreleased version).

Flags:
`

// initModule is the init command.
func initModule(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), initUsage)
		fs.PrintDefaults()
	}
	var cfg scaffold.Config
	fs.StringVar(&cfg.Module, "module", "", "the new module's `path`, such as example.com/orders (required)")
	fs.StringVar(&cfg.Name, "name", "", "the service's short `name`: proto package NAME.v1, binary, Kubernetes objects (default: from the module path)")
	fs.StringVar(&cfg.Replace, "replace", "", "a local checkout of the library (`dir`) to use instead of a released version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// DIR may come before the flags, or after them.
	if cfg.Dir == "" && fs.NArg() > 0 {
		cfg.Dir = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if cfg.Dir == "" || cfg.Module == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("init: needs DIR and -module PATH")
	}
	cfg.Version = libraryVersion()
	cfg.Log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return scaffold.Init(ctx, cfg)
}

// libraryVersion is the version of the library this command was built
// from: the main module's when run as `go run …@version`, the dependency's
// when run as a tool of another module; "" for a checkout (devel).
func libraryVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	mods := append([]*debug.Module{&info.Main}, info.Deps...)
	for _, m := range mods {
		if m.Path == scaffold.LibraryPath && m.Replace == nil && m.Version != "" && m.Version != "(devel)" {
			return m.Version
		}
	}
	return ""
}
