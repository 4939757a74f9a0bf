package scaffold

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNameFromModule(t *testing.T) {
	tests := []struct{ module, want string }{
		{"example.com/orders", "orders"},
		{"github.com/acme/order-service", "orderservice"},
		{"github.com/acme/Orders/v2", "orders"},
		{"orders", "orders"},
		{"example.com/2fa", "fa"},
		{"example.com/---", ""},
	}
	for _, tt := range tests {
		if got := NameFromModule(tt.module); got != tt.want {
			t.Errorf("NameFromModule(%q) = %q, want %q", tt.module, got, tt.want)
		}
	}
}

func TestInitRefusesBadConfigurationBeforeWritingAnything(t *testing.T) {
	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"a directory with files is refused", Config{Dir: notEmpty, Module: "example.com/orders", Version: "v1.0.0"}, "not empty"},
		{"an invalid module path is refused", Config{Dir: filepath.Join(t.TempDir(), "x"), Module: "example.com/../orders", Version: "v1.0.0"}, "not a valid module path"},
		{"a module path without a usable name needs -name", Config{Dir: filepath.Join(t.TempDir(), "x"), Module: "example.com/---", Version: "v1.0.0"}, "-name"},
		{"an invalid name is refused", Config{Dir: filepath.Join(t.TempDir(), "x"), Module: "example.com/orders", Name: "Orders", Version: "v1.0.0"}, "-name"},
		{"no version and no replace is refused", Config{Dir: filepath.Join(t.TempDir(), "x"), Module: "example.com/orders"}, "no library version"},
		{"a replace that is not a module is refused", Config{Dir: filepath.Join(t.TempDir(), "x"), Module: "example.com/orders", Replace: t.TempDir()}, "not a checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Init(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init: %v, want an error containing %q", err, tt.want)
			}
			if tt.cfg.Dir != notEmpty {
				if _, err := os.Stat(tt.cfg.Dir); !os.IsNotExist(err) {
					t.Errorf("%s was written (%v)", tt.cfg.Dir, err)
				}
			}
		})
	}
}

// TestTheLibrarysGoVersion: the new module's go and toolchain lines are the
// library's, so that it builds with the Go the library is tested with.
func TestTheLibrarysGoVersion(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\ngo " + goVersion + "\n", "\ntoolchain " + toolchain + "\n"} {
		if !bytes.Contains(gomod, []byte(want)) {
			t.Errorf("the library's go.mod has no line %q: update goVersion and toolchain", strings.TrimSpace(want))
		}
	}
}

// dockerfile is what an image's Dockerfile says about running it.
type dockerfile struct {
	froms      []string
	user       string
	entrypoint string
	env        map[string]string
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{env: map[string]string{}}
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM":
			d.froms = append(d.froms, f[1])
		case "USER":
			d.user = f[1]
		case "ENTRYPOINT":
			d.entrypoint = strings.Join(f[1:], " ")
		case "ENV":
			for _, kv := range f[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					d.env[k] = v
				}
			}
		}
	}
	return d
}

// command is name with args in dir, in the test's environment less the
// settings of a make that runs this test (our make test): the new module's
// make starts afresh, as a user's does.
func command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// run runs name with args in dir, returning how long it took.
func run(t *testing.T, dir string, name string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := command(dir, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// TestANewModuleGeneratesBuildsAndTests runs init as a new user does (with
// -replace to this checkout, the library being unreleased), then in the
// new module: generate and checkgenerate, go build, and make test (buf
// lint, go vet, gofmt, go test -race of its servertest test). It uses the
// environment's module cache and GOFLAGS: from a cold cache it downloads
// the modules and builds buf (minutes); warm it takes about half a minute.
func TestANewModuleGeneratesBuildsAndTests(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("the new module's tasks need make: %v", err)
	}
	lib, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "orders")
	var log bytes.Buffer
	start := time.Now()
	if err := Init(context.Background(), Config{Dir: dir, Module: "example.com/orders", Replace: lib, Log: &log}); err != nil {
		t.Fatalf("Init: %v\n%s", err, &log)
	}
	t.Logf("init (write, go mod tidy, go generate, go mod tidy): %v", time.Since(start).Round(time.Millisecond))

	for _, name := range []string{
		"gen/orders/v1/orders.pb.go", "gen/orders/v1/orders_grpc.pb.go", "gen/orders/v1/orders.pb.gw.go", "gen/orders.swagger.json",
		"third_party/proto/azureauth/v1/options.proto", "third_party/proto/google/api/annotations.proto",
		"third_party/proto/protoc-gen-openapiv2/options/annotations.proto", "deploy/deployment.yaml", "deploy/kustomization.yaml",
	} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("init did not write %s: %v", name, err)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	replace := regexp.MustCompile(`(?m)^replace github.com/grpc-azure-auth/grpc-azure-auth => "?` + regexp.QuoteMeta(filepath.ToSlash(lib)) + `"?$`)
	if !replace.Match(gomod) {
		t.Errorf("go.mod does not replace the library with %s:\n%s", lib, gomod)
	}
	if want := "\tgithub.com/grpc-azure-auth/grpc-azure-auth/cmd/grpc-azure-auth\n"; !bytes.Contains(gomod, []byte(want)) {
		t.Errorf("go.mod lacks the tool make token runs, %q:\n%s", want, gomod)
	}
	if manifest, err := os.ReadFile(filepath.Join(dir, "deploy", "deployment.yaml")); err != nil || bytes.Contains(manifest, []byte("grpc-azure-auth")) ||
		!bytes.Contains(manifest, []byte("name: orders\n")) {
		t.Errorf("deploy/deployment.yaml is not the library's under the service's name (%v)", err)
	}

	for _, step := range [][]string{
		{"make", "checkgenerate"}, // make generate, then no difference
		{"go", "build", "./..."},
		{"make", "test"}, // buf lint, go vet, gofmt, go test -race
	} {
		took := run(t, dir, step[0], step[1:]...)
		t.Logf("%s: %v", strings.Join(step, " "), took.Round(time.Millisecond))
	}

	// A stale file is caught: checkgenerate fails and names the directory.
	swagger := filepath.Join(dir, "gen", "orders.swagger.json")
	if err := os.WriteFile(swagger, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := command(dir, "make", "checkgenerate").CombinedOutput(); err == nil || !strings.Contains(string(out), "gen was stale") {
		t.Errorf("make checkgenerate with an edited gen/orders.swagger.json: %v\n%s", err, out)
	}
}

// TestTheImageRunsTheServerAsTheLibrarysDoes: the new module's Dockerfile
// runs its binary as the library's runs the example server, with the same
// settings, user and base image, so that deploy/'s manifests fit both.
func TestTheImageRunsTheServerAsTheLibrarysDoes(t *testing.T) {
	first, _, err := render(data{Module: "example.com/orders", Name: "orders", Title: "Orders", Version: "v1.0.0",
		GoVersion: goVersion, Toolchain: toolchain, GoImage: strings.TrimPrefix(toolchain, "go")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := write(dir, first); err != nil {
		t.Fatal(err)
	}
	ours := readDockerfile(t, "../../Dockerfile")
	theirs := readDockerfile(t, filepath.Join(dir, "Dockerfile"))
	if len(ours.froms) != 2 || len(theirs.froms) != 2 || ours.froms[0] != theirs.froms[0] || ours.froms[1] != theirs.froms[1] {
		t.Errorf("base images %v, want the library's %v", theirs.froms, ours.froms)
	}
	if theirs.user != ours.user {
		t.Errorf("USER %q, want the library's %q", theirs.user, ours.user)
	}
	if len(theirs.env) == 0 || len(theirs.env) != len(ours.env) {
		t.Errorf("ENV %v, want the library's %v", theirs.env, ours.env)
	}
	for k, v := range ours.env {
		if theirs.env[k] != v {
			t.Errorf("ENV %s=%q, want the library's %q", k, theirs.env[k], v)
		}
	}
	// Both run a server.Main program with no arguments: its settings come
	// from the environment.
	binary := regexp.MustCompile(`^\["[^"]+"\]$`)
	if !binary.MatchString(ours.entrypoint) || theirs.entrypoint != `["/usr/local/bin/orders"]` {
		t.Errorf("ENTRYPOINT %s and the library's %s: want the binary alone", theirs.entrypoint, ours.entrypoint)
	}
}
