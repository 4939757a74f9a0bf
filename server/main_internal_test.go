package server

import (
	"io"
	"log/slog"
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
