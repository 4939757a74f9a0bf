package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/protoimports"
)

// repoProto reads a proto file of this repository from disk, not through the
// embedded copy, so that the tests compare what users get with the source.
func repoProto(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "proto", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWritesTheRepositoryProtoByteForByte(t *testing.T) {
	out := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-out", out}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	path := filepath.Join(out, "azureauth", "v1", "options.proto")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := repoProto(t, protoimports.OptionsFile); !bytes.Equal(got, want) {
		t.Errorf("written %s differs from proto/%s", path, protoimports.OptionsFile)
	}
	if !strings.Contains(string(got), `option go_package = "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1;azureauthv1";`) {
		t.Error("the written proto does not name the library's Go package of the options")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}
	if stderr.Len() != 0 {
		t.Errorf("a successful run printed %q", &stderr)
	}
}

func TestEmbedsEveryProtoOfTheAzureauthPackage(t *testing.T) {
	root := filepath.Join("..", "..", "proto")
	err := filepath.WalkDir(filepath.Join(root, "azureauth"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".proto" {
			return err
		}
		name, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name = filepath.ToSlash(name)
		got, err := protoimports.Options.ReadFile(name)
		if err != nil {
			t.Errorf("proto/%s is not embedded: add it to the go:embed line of package protoimports", name)
			return nil
		}
		if !bytes.Equal(got, repoProto(t, name)) {
			t.Errorf("embedded %s differs from proto/%s", name, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOverwritesAnEditedCopy(t *testing.T) {
	out := t.TempDir()
	path := filepath.Join(out, "azureauth", "v1", "options.proto")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("syntax = \"proto3\";\n// an old version\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-out", out}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, repoProto(t, protoimports.OptionsFile)) {
		t.Error("the edited copy was not replaced by the library's proto")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.ReadDir(protoimports.Options, "azureauth/v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("the directory holds %d entries, want the library's %d protos alone (no temporary file left behind)", len(entries), len(want))
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		content  []byte // nil: no file
		wantCode int
		wantErr  string
	}{
		{name: "an exact copy passes", content: repoProto(t, protoimports.OptionsFile), wantCode: 0},
		{name: "an edited copy fails and says how to fix it", content: []byte("syntax = \"proto3\";\n"), wantCode: 1, wantErr: "differs from the library's proto"},
		{name: "a missing copy fails", content: nil, wantCode: 1, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			// Every other file is an exact copy: only options.proto varies.
			if code := run([]string{"-out", out}, io.Discard); code != 0 {
				t.Fatalf("writing the copy exited %d", code)
			}
			path := filepath.Join(out, "azureauth", "v1", "options.proto")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if tt.content != nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tt.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stderr bytes.Buffer
			if code := run([]string{"-check", "-out", out}, &stderr); code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s", code, tt.wantCode, &stderr)
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr.String(), tt.wantErr) || !strings.Contains(stderr.String(), "go tool azureauth-proto -out "+out) {
					t.Errorf("stderr %q does not say %q and how to fix it", &stderr, tt.wantErr)
				}
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tt.content) {
				t.Error("-check changed the file")
			}
		})
	}
}

func TestCompareReportsStaleFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "options.proto")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := compare(path, []byte("new")); !errors.Is(err, errStale) {
		t.Errorf("compare = %v, want errStale", err)
	}
}

func TestMisuseExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "no output directory", args: nil},
		{name: "an empty output directory", args: []string{"-out", ""}},
		{name: "a stray argument", args: []string{"-out", "x", "extra"}},
		{name: "an unknown flag", args: []string{"-o", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tt.args, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), "Usage: azureauth-proto -out DIR") {
				t.Errorf("stderr %q shows no usage", &stderr)
			}
		})
	}
}

func TestImportsWritesTheThirdPartyProtosServicesImport(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		present bool
	}{
		{"without -imports only the library's options are written", nil, false},
		{"with -imports google/api and the openapiv2 options are written too", []string{"-imports"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			var stderr bytes.Buffer
			if code := run(append([]string{"-out", out}, tt.args...), &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, &stderr)
			}
			for _, name := range []string{
				"google/api/annotations.proto", "google/api/http.proto", "google/api/LICENSE",
				"protoc-gen-openapiv2/options/annotations.proto", "protoc-gen-openapiv2/options/openapiv2.proto", "protoc-gen-openapiv2/LICENSE",
			} {
				_, err := os.Stat(filepath.Join(out, filepath.FromSlash(name)))
				if got := err == nil; got != tt.present {
					t.Errorf("%s written: %v, want %v (%v)", name, got, tt.present, err)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "azureauth", "v1", "options.proto")); err != nil {
				t.Error(err)
			}
			if code := run(append([]string{"-out", out, "-check"}, tt.args...), &stderr); code != 0 {
				t.Errorf("-check after writing: exit %d: %s", code, &stderr)
			}
		})
	}
}
