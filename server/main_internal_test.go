package server

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
)

// The development help names the provider, its users and apps, and how to
// get a token and call the server; with the old AZURE_ variables set it says
// they are not read (-dev: alone they would stop the server).
func TestDevelopmentHelp(t *testing.T) {
	cfg, err := LoadConfig([]string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c"}, "", "-dev", "-grpc-addr=127.0.0.1:0", "-http-addr=127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithServices(Service{Register: items.Register, RegisterGateway: items.RegisterGateway}), WithOpenAPI(items.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	var out strings.Builder
	s.writeDevHelp(&out)
	for _, want := range []string{
		"Development mode: trusting only the embedded identity provider at " + s.HTTPURL() + DevIDPPath,
		"AZURE_CLIENT_ID, AZURE_TENANT_ID: the Azure SDK's, not read; set AZUREAD_TENANT_ID and AZUREAD_CLIENT_ID",
		"user alice", "user bob", "app  admin-daemon",
		"curl -s " + s.devIDP.TokenURL(),
		"grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" " + s.GRPCAddr() + " list",
		"sign in on " + s.HTTPURL() + "/docs",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the help lacks %q:\n%s", want, out.String())
		}
	}
}

// A program's own settings are read as the kit's are (a flag over its
// variable over .env), listed by -h, and handed to the program with the
// kit's configuration; declaring one the kit owns is refused.
func TestMainFuncGivesTheProgramItsSettings(t *testing.T) {
	own := []Setting{
		{Name: "AUDIT_ADDR", Flag: "audit-addr", Usage: "the audit log's host:port"},
		{Name: "AUDIT_SCOPE", Usage: "the audit log's scope"},
	}
	tests := []struct {
		name    string
		env     []string
		dotenv  string
		args    []string
		own     []Setting
		want    map[string]string // Get's answers; nil: an error
		wantErr string
	}{
		{"a setting in .env", nil, "AUDIT_ADDR=file:1\nAUDIT_SCOPE=' api://audit/.default '\n", nil, own,
			map[string]string{"AUDIT_ADDR": "file:1", "AUDIT_SCOPE": "api://audit/.default"}, ""},
		{"the environment wins over .env", []string{"AUDIT_ADDR=env:2"}, "AUDIT_ADDR=file:1\n", nil, own,
			map[string]string{"AUDIT_ADDR": "env:2", "AUDIT_SCOPE": ""}, ""},
		{"a flag wins over the environment", []string{"AUDIT_ADDR=env:2"}, "AUDIT_ADDR=file:1\n", []string{"-audit-addr=flag:3", "-dev"}, own,
			map[string]string{"AUDIT_ADDR": "flag:3"}, ""},
		{"the kit's settings come with them", []string{"HTTP_ADDR=127.0.0.1:8001"}, "", []string{"-audit-addr", "a:1"}, own,
			map[string]string{"AUDIT_ADDR": "a:1"}, ""},
		{"a setting not declared is refused in .env", nil, "AUDIT_ADDR=file:1\n", nil, nil, nil, "unknown variable AUDIT_ADDR"},
		{"a setting's name in the wrong case in .env is refused", nil, "audit_addr=x\n", nil, own, nil, "unknown variable audit_addr (names are case-sensitive: AUDIT_ADDR)"},
		{"a setting without a flag has none", nil, "", []string{"-audit-scope=x"}, own, nil, "flag provided but not defined: -audit-scope"},
		{"an AZUREAD_ name is the kit's", nil, "", nil, []Setting{{Name: "AZUREAD_AUDIT"}}, nil, "setting AZUREAD_AUDIT: AZUREAD_ names are the kit's"},
		{"an old AZURE_ name is the kit's", nil, "", nil, []Setting{{Name: "AZURE_TENANT_ID"}}, nil, "AZURE_TENANT_ID: AZUREAD_ names are the kit's"},
		{"a kit's name is refused", nil, "", nil, []Setting{{Name: "GRPC_ADDR"}}, nil, "setting GRPC_ADDR is declared twice"},
		{"a kit's flag is refused", nil, "", nil, []Setting{{Name: "DEV", Flag: "dev"}}, nil, "setting DEV: flag -dev is taken"},
		{"a lower-case name is refused", nil, "", nil, []Setting{{Name: "audit_addr"}}, nil, `setting "audit_addr": want an upper-case name`},
		{"a flag with a dash is refused", nil, "", nil, []Setting{{Name: "A", Flag: "-a"}}, nil, `setting A: flag "-a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if err := os.WriteFile(path, []byte(tt.dotenv), 0o600); err != nil {
				t.Fatal(err)
			}
			errBuilt := errors.New("built")
			var got Config
			build := func(cfg Config) ([]Option, error) {
				got = cfg
				return nil, errBuilt // stop before listening
			}
			err := run(context.Background(), tt.args, tt.env, path, io.Discard, build, tt.own...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if !errors.Is(err, errBuilt) {
				t.Fatalf("err = %v, want build's error returned as is", err)
			}
			for name, want := range tt.want {
				if got.Settings[name] != want {
					t.Errorf("Settings[%s] = %q, want %q", name, got.Settings[name], want)
				}
			}
			if tt.name == "the kit's settings come with them" && got.HTTPAddr != "127.0.0.1:8001" {
				t.Errorf("HTTPAddr = %q", got.HTTPAddr)
			}
		})
	}
	t.Run("-h lists them after the kit's", func(t *testing.T) {
		var out strings.Builder
		err := run(context.Background(), []string{"-h"}, nil, "", &out, nil, own...)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"-audit-addr value\t(AUDIT_ADDR)\n    \tthe audit log's host:port", "AUDIT_SCOPE (no flag)\n    \tthe audit log's scope", "-grpc-addr value\t(GRPC_ADDR)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("-h lacks %q:\n%s", want, out.String())
			}
		}
	})
}

// Main skips a first argument "serve", so that the Dockerfile's entrypoint
// (grpc-azure-auth serve) starts any program built on Main: here it serves
// until its context ends.
func TestMainAcceptsServe(t *testing.T) {
	for _, tt := range []struct{ args, want []string }{
		{[]string{"serve", "-dev"}, []string{"-dev"}},
		{[]string{"-dev"}, []string{"-dev"}},
		{[]string{"serve"}, []string{}},
		{nil, nil},
		{[]string{"-dev", "serve"}, []string{"-dev", "serve"}},
	} {
		if got := mainArgs(tt.args); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("mainArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Serve returns once started
	build := func(Config) ([]Option, error) {
		return []Option{WithLogger(slog.New(slog.DiscardHandler)), WithServices(Service{Register: items.Register})}, nil
	}
	err := run(ctx, mainArgs([]string{"serve", "-grpc-addr=127.0.0.1:0", "-http-addr=127.0.0.1:0"}), nil, "", io.Discard, build)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := run(ctx, []string{"serve"}, nil, "", io.Discard, build); err == nil || !strings.Contains(err.Error(), `unexpected argument "serve"`) {
		t.Fatalf("run without mainArgs: %v, want serve refused (Main strips it)", err)
	}
}
