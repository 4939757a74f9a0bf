// Command azureauth-proto writes grpc-azure-auth's proto files into a
// service's proto tree, so that its buf or protoc build imports
// "azureauth/v1/options.proto" without a remote registry, at the version of
// the library in its go.mod.
//
// Pin it as a tool of the service's module and run it whenever the library's
// version changes:
//
//	go get -tool github.com/grpc-azure-auth/grpc-azure-auth/cmd/azureauth-proto
//	go tool azureauth-proto -out third_party/proto
//
// then list third_party/proto as a module in buf.yaml. With -imports it
// also writes the third-party protos that a service's protos import next to
// the options (google/api/annotations.proto and http.proto,
// protoc-gen-openapiv2/options), from copies the library carries, so that
// generation needs nothing beyond the Go module proxy. With -check it writes
// nothing and fails when the files under -out differ from the library's, for
// CI. A team with a buf registry of its own can push that directory as a
// module, named in buf.yaml as, say, buf.build/<org>/grpc-azure-auth, and
// depend on it by that name.
//
// Do not generate Go code from the written files: a service's generated code
// imports the options' Go package,
// github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1, from the
// library.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/protoimports"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// errStale reports files under -out that differ from the library's.
var errStale = errors.New("differs from the library's proto")

// run is the command, returning its exit status: 0 done, 1 failed, 2 misused.
func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("azureauth-proto", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", "", "the `directory` of the service's proto tree to write into, such as third_party/proto (required)")
	check := flags.Bool("check", false, "write nothing; fail if the files under -out differ from the library's")
	imports := flags.Bool("imports", false, "also write the google/api and protoc-gen-openapiv2 protos that services import, with their licences")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: azureauth-proto -out DIR [-imports] [-check]\n\n"+
			"Writes %s (grpc-azure-auth's access-rule options) under DIR.\n\n", protoimports.OptionsFile)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *out == "" || flags.NArg() > 0 {
		flags.Usage()
		return 2
	}
	sync := write
	if *check {
		sync = compare
	}
	trees := []fs.FS{protoimports.Options}
	if *imports {
		trees = append(trees, protoimports.ThirdParty)
	}
	failed := false
	for _, tree := range trees {
		err := fs.WalkDir(tree, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			want, err := fs.ReadFile(tree, name)
			if err != nil {
				return err
			}
			path := filepath.Join(*out, filepath.FromSlash(name))
			if err := sync(path, want); err != nil {
				fmt.Fprintf(stderr, "azureauth-proto: %v\n", err)
				failed = true
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(stderr, "azureauth-proto: %v\n", err)
			return 1
		}
	}
	if failed {
		if *check {
			fmt.Fprintf(stderr, "azureauth-proto: run go tool azureauth-proto -out %s\n", *out)
		}
		return 1
	}
	return 0
}

// write replaces path with data through a temporary file in the same
// directory, so that a reader never sees half a file.
func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".azureauth-proto-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// compare fails unless path holds exactly data.
func compare(path string, data []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("%s %w", path, errStale)
	}
	return nil
}
