package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/openapilint"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// TestServedDocumentsPassTheValidators runs swagger-cli, Spectral
// (spectral:oas) and Redocly (recommended) on the documents the Items
// example serves: no errors, and only the warnings docs/openapi.md lists.
func TestServedDocumentsPassTheValidators(t *testing.T) {
	srv, _, _ := startDev(t)
	for _, path := range []string{"/openapi.json", "/swagger.json"} {
		resp, err := http.Get(srv.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %v", path, resp.Status, err)
		}
		openapilint.Validate(t, "Items "+path, body)
	}
}

func TestSwaggerUISettingsComeFromTheConfiguration(t *testing.T) {
	srv, _, _ := start(t, "OPENAPI_SCOPES=Items.Read", "OPENAPI_AUTHORIZATION_PARAMS=prompt=select_account&domain_hint=contoso.com")
	resp, err := http.Get(srv.HTTPURL() + "/docs/swagger-initializer.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`"scopes":["api://` + srv.DevIDP().ClientID() + `/Items.Read"]`,
		`"params":{"domain_hint":"contoso.com","prompt":"select_account"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the initializer lacks %s:\n%s", want, body)
		}
	}
}

func TestBadSwaggerUISettingsAreRefusedAtStartup(t *testing.T) {
	tests := []struct {
		name, env, wantErr string
	}{
		{"a scope no operation needs", "OPENAPI_SCOPES=Items.Raed", "Items.Raed"},
		{"a parameter Swagger UI sets itself", "OPENAPI_AUTHORIZATION_PARAMS=redirect_uri=https://evil.example/", "redirect_uri"},
		{"a parameter given twice", "OPENAPI_AUTHORIZATION_PARAMS=prompt=login&prompt=none", "prompt is given 2 times"},
		{"a malformed query", "OPENAPI_AUTHORIZATION_PARAMS=prompt=%zz", "OPENAPI_AUTHORIZATION_PARAMS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := server.LoadConfig([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0", tt.env}, "")
			if err == nil {
				// A server New accepted is not served: the test has failed.
				_, err = server.New(cfg, example()...)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}
