// Package scaffold writes a new service module on grpc-azure-auth's serving
// kit, for `grpc-azure-auth init`: a proto with a sample service and its
// access rules, buf and the code generators as pinned tools, the protos it
// imports, main.go on server.Main, a test on servertest, a Makefile, a
// Dockerfile and Kubernetes manifests, and a README.
//
// The files come from templates embedded here (template/), the protos from
// the library's embedded copies (written by the new module's `make
// generate`, which runs azureauth-proto -imports), the manifests from
// package deploy, and the buf tools module from a copy of the library's
// tools/go.mod that `make generate` keeps current. [Init] then generates
// gen/ in the new module, so that it builds and tests as it stands.
package scaffold

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/grpc-azure-auth/grpc-azure-auth/deploy"
)

// LibraryPath is the library's module path, which the new module requires.
const LibraryPath = "github.com/grpc-azure-auth/grpc-azure-auth"

// The Go language version and toolchain of the new module: the library's
// own (its go.mod), checked by the tests.
const (
	goVersion = "1.26.0"
	toolchain = "go1.26.8"
)

// unversioned is the version a module requires when a replace directive
// supplies it, as `go mod edit -replace` writes it.
const unversioned = "v0.0.0-00010101000000-000000000000"

//go:embed template
var templates embed.FS

// Config says what [Init] writes.
type Config struct {
	// Dir is the new module's directory: it must not exist or be empty.
	Dir string
	// Module is the new module's path, such as example.com/orders.
	Module string
	// Name is the service's short name (lower-case letters and digits,
	// starting with a letter): its proto package (Name.v1), binary and
	// Kubernetes objects. Empty: from the module path's last element.
	Name string
	// Version is the library version the new module requires, such as
	// v1.2.0. It may be empty when Replace is set.
	Version string
	// Replace is a local checkout of the library that the new module uses
	// in place of a released version (a replace directive); relative paths
	// are made absolute.
	Replace string
	// Log receives progress and the output of the go commands Init runs;
	// nil discards it.
	Log io.Writer
}

// data is what the templates see.
type data struct {
	Module, Name, Title, Version, Replace string
	GoVersion, Toolchain, GoImage         string
}

var (
	validName   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	validModule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
	majorSuffix = regexp.MustCompile(`^v[0-9]+$`)
)

// NameFromModule is the service name [Init] derives from a module path:
// its last element (before a /vN suffix), lower-cased, with everything
// but letters and digits left out and no leading digits. It returns ""
// when nothing is left.
func NameFromModule(module string) string {
	elems := strings.Split(module, "/")
	last := elems[len(elems)-1]
	if majorSuffix.MatchString(last) && len(elems) > 1 {
		last = elems[len(elems)-2]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(last) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// check validates cfg and returns the templates' data.
func (cfg Config) check() (data, error) {
	d := data{Module: cfg.Module, Name: cfg.Name, Version: cfg.Version,
		GoVersion: goVersion, Toolchain: toolchain, GoImage: strings.TrimPrefix(toolchain, "go")}
	if cfg.Dir == "" {
		return d, errors.New("no directory given")
	}
	if !validModule.MatchString(cfg.Module) || strings.Contains(cfg.Module, "..") {
		return d, fmt.Errorf("module path %q is not a valid module path such as example.com/orders", cfg.Module)
	}
	if d.Name == "" {
		d.Name = NameFromModule(cfg.Module)
	}
	if !validName.MatchString(d.Name) {
		return d, fmt.Errorf("service name %q: want lower-case letters and digits, starting with a letter (-name)", d.Name)
	}
	d.Title = strings.ToUpper(d.Name[:1]) + d.Name[1:]
	if cfg.Replace != "" {
		abs, err := filepath.Abs(cfg.Replace)
		if err != nil {
			return d, err
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return d, fmt.Errorf("-replace %s: not a checkout of the library: %w", cfg.Replace, err)
		}
		d.Replace = filepath.ToSlash(abs)
		if d.Version == "" {
			d.Version = unversioned
		}
	}
	if d.Version == "" {
		return d, errors.New("no library version to require: run a released grpc-azure-auth (go run " + LibraryPath + "/cmd/grpc-azure-auth@latest init …) or give -replace with a checkout of the library")
	}
	entries, err := os.ReadDir(cfg.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return d, err
	case len(entries) > 0:
		return d, fmt.Errorf("%s is not empty", cfg.Dir)
	}
	return d, nil
}

// A file is one file of the new module.
type file struct {
	name string // slash-separated, relative to the module's directory
	data []byte
}

// render returns the new module's files, the Go files that import the
// generated code last (see Init).
func render(d data) (first, afterGenerate []file, err error) {
	err = fs.WalkDir(templates, "template", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		out := strings.TrimPrefix(name, "template/")
		switch {
		case strings.HasSuffix(out, ".tmpl"):
			t, err := template.New(out).Option("missingkey=error").Parse(string(src))
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := t.Execute(&b, d); err != nil {
				return err
			}
			src = b.Bytes()
			out = strings.TrimSuffix(out, ".tmpl")
		case out == "tools/go.mod.txt":
			// The library's buf tools module, under the new module's path.
			src = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(src, []byte("module "+d.Module+"/tools"))
			out = "tools/go.mod"
		case out == "tools/go.sum.txt":
			out = "tools/go.sum"
		}
		switch out {
		case "dockerignore", "gitignore":
			out = "." + out
		}
		out = strings.ReplaceAll(out, "NAME", d.Name)
		f := file{name: out, data: src}
		if path.Ext(out) == ".go" && out != "generate.go" {
			afterGenerate = append(afterGenerate, f)
		} else {
			first = append(first, f)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	manifests, err := fs.Glob(deploy.Manifests, "*.yaml")
	if err != nil {
		return nil, nil, err
	}
	for _, name := range manifests {
		src, err := deploy.Manifests.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		s := strings.ReplaceAll(string(src), "ghcr.io/grpc-azure-auth/grpc-azure-auth:latest", "registry.example.com/"+d.Name+":latest")
		s = strings.ReplaceAll(s, "grpc-azure-auth", d.Name)
		first = append(first, file{name: "deploy/" + name, data: []byte(s)})
	}
	return first, afterGenerate, nil
}

func write(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Init writes the new module into cfg.Dir and generates its code, so that
// `make test` and `make run` work in it as they stand. It runs the go
// command found on PATH in cfg.Dir: go mod tidy, go generate (which builds
// buf from the module's tools/go.mod: about two minutes the first time on
// two cores, cached later) and go mod tidy again, once the Go files that
// import the generated code are written. Modules come from GOPROXY as
// configured; nothing else is fetched.
func Init(ctx context.Context, cfg Config) error {
	d, err := cfg.check()
	if err != nil {
		return err
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	first, afterGenerate, err := render(d)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "writing %s (module %s, service %s.v1.%sService)\n", cfg.Dir, d.Module, d.Name, d.Title)
	if err := write(cfg.Dir, first); err != nil {
		return err
	}
	// The Go files that import gen/ come after generating it: go mod tidy
	// would otherwise look for gen/'s packages in other modules.
	steps := [][]string{
		{"mod", "tidy"},
		{"generate", "."},
	}
	for _, args := range steps {
		if err := goCmd(ctx, cfg.Dir, log, args...); err != nil {
			return err
		}
	}
	if err := write(cfg.Dir, afterGenerate); err != nil {
		return err
	}
	if err := goCmd(ctx, cfg.Dir, log, "mod", "tidy"); err != nil {
		return err
	}
	fmt.Fprintf(log, "done: cd %s && make test && make run (then make token in another terminal)\n", cfg.Dir)
	return nil
}

// goCmd runs the go command in dir.
func goCmd(ctx context.Context, dir string, log io.Writer, args ...string) error {
	fmt.Fprintf(log, "go %s\n", strings.Join(args, " "))
	if len(args) > 0 && args[0] == "generate" {
		fmt.Fprintln(log, "  (builds buf from tools/go.mod: about two minutes the first time, cached later)")
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %w", strings.Join(args, " "), dir, err)
	}
	return nil
}
