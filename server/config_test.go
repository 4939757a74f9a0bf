package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
)

const (
	tenantA = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
	tenantB = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
)

// tenant is a single tenant's variables and more.
func tenant(more ...string) []string {
	return append([]string{"AZUREAD_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47", "AZUREAD_CLIENT_ID=c"}, more...)
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		dotenv  string
		want    func(Config) bool
		wantErr string
	}{
		{"no variables run the development identity provider on the defaults", nil, "",
			func(c Config) bool {
				return c.DevMode && c.GRPCAddr == "localhost:50051" && c.HTTPAddr == "localhost:8000"
			}, ""},
		{"a tenant with a client ID and audiences", []string{"AZUREAD_TENANT_ID=t", "AZUREAD_CLIENT_ID=c", "AZUREAD_AUDIENCES= api://c , x ,"}, "",
			func(c Config) bool {
				return !c.DevMode && c.ClientID == "c" && strings.Join(c.Audiences, "|") == "api://c|x"
			}, ""},
		{".env is read", nil, "# comment\nexport AZUREAD_TENANT_ID=\"t\"\nAZUREAD_CLIENT_ID='c'\n\nLOG_LEVEL=debug\n",
			func(c Config) bool { return c.TenantID == "t" && c.ClientID == "c" && c.LogLevel.String() == "DEBUG" }, ""},
		{"the environment wins over .env", []string{"AZUREAD_CLIENT_ID=env"}, "AZUREAD_TENANT_ID=t\nAZUREAD_CLIENT_ID=file\n",
			func(c Config) bool { return c.ClientID == "env" }, ""},
		{"a tenant without client ID is refused", []string{"AZUREAD_TENANT_ID=t"}, "", nil, "AZUREAD_CLIENT_ID is required"},
		{"a client ID without tenant is refused", []string{"AZUREAD_CLIENT_ID=c"}, "", nil, "no tenant, and development mode was not asked for; seen: AZUREAD_CLIENT_ID is set. Set AZUREAD_TENANT_ID=…"},
		{"an unknown AZUREAD_ variable is refused", []string{"AZUREAD_TENANT=t"}, "", nil, "unknown variable AZUREAD_TENANT"},
		{"an unknown .env line is refused", nil, "AZUREAD_TENNANT_ID=t\n", nil, "unknown variable AZUREAD_TENNANT_ID"},
		{"a .env line without = is refused", nil, "AZUREAD_TENANT_ID\n", nil, "want KEY=VALUE"},
		{"a bad address is refused", []string{"GRPC_ADDR=50051"}, "", nil, "GRPC_ADDR"},
		{"a bad log level is refused", []string{"LOG_LEVEL=loud"}, "", nil, "LOG_LEVEL"},
		{"the development provider off loopback is refused", []string{"HTTP_ADDR=0.0.0.0:8000"}, "", nil, "loopback only"},
		{"the development provider's gRPC API off loopback is refused", []string{"GRPC_ADDR=0.0.0.0:50051"}, "", nil, `GRPC_ADDR="0.0.0.0:50051": development mode listens on loopback only`},
		{"the development provider's gRPC API on every interface is refused", []string{"GRPC_ADDR=:50051"}, "", nil, `GRPC_ADDR=":50051": development mode listens on loopback only`},
		{"a look-alike of localhost is not loopback", []string{"GRPC_ADDR=localhost.evil.example:50051"}, "", nil, `GRPC_ADDR="localhost.evil.example:50051": development mode listens on loopback only`},
		{"other variables are ignored", []string{"HOME=/root", "PATH=/bin"}, "", func(c Config) bool { return c.DevMode }, ""},

		// Coexisting with the Azure SDK and workload identity.
		{"the Azure SDK's variables are never refused", tenant(
			"AZURE_CLIENT_ID=mi", "AZURE_TENANT_ID=t", "AZURE_CLIENT_SECRET=s", "AZURE_FEDERATED_TOKEN_FILE=/f", "AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/",
			"AZURE_CLIENT_CERTIFICATE_PATH=/c", "AZURE_USERNAME=u", "AZURE_PASSWORD=p", "AZURE_SOMETHING_NEW=x", "IDENTITY_ENDPOINT=http://localhost:42356/msi/token",
		), "", func(c Config) bool { return !c.DevMode && c.ClientID == "c" }, ""},
		{"the Azure SDK's variables beside explicit development mode are never refused", []string{
			"AZURE_CLIENT_ID=mi", "AZURE_TENANT_ID=t", "AZURE_CLIENT_SECRET=s", "AZURE_FEDERATED_TOKEN_FILE=/f", "AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/",
			"AZURE_CLIENT_CERTIFICATE_PATH=/c", "AZURE_USERNAME=u", "AZURE_PASSWORD=p", "AZURE_SOMETHING_NEW=x", "IDENTITY_ENDPOINT=http://localhost:42356/msi/token", "AZUREAD_DEV_MODE=true",
		}, "", func(c Config) bool { return c.DevMode }, ""},
		{"the Azure SDK's client ID is never the audience", []string{"AZURE_CLIENT_ID=mi", "AZUREAD_TENANT_ID=t", "AZUREAD_CLIENT_ID=api"}, "",
			func(c Config) bool { return c.ClientID == "api" && !c.DevMode }, ""},
		{"a tenant without client ID names the SDK's client ID as not ours", []string{"AZURE_CLIENT_ID=mi", "AZUREAD_TENANT_ID=t"}, "", nil,
			"AZUREAD_CLIENT_ID is required with AZUREAD_TENANT_ID (AZURE_CLIENT_ID is the Azure SDK's credentials of this process"},
		{"only the old AZURE_ names are refused, saying why", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "HTTP_ADDR=0.0.0.0:8000"}, "", nil,
			"seen: AZURE_CLIENT_ID and AZURE_TENANT_ID in the environment (the Azure SDK's credentials of this process"},
		{"explicit development mode beside the old AZURE_ names refuses a pod's address and says why", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "HTTP_ADDR=0.0.0.0:8000", "AZUREAD_DEV_MODE=true"}, "", nil,
			"HTTP_ADDR=\"0.0.0.0:8000\": development mode listens on loopback only (localhost, 127.0.0.1, [::1]); use a loopback address, or set AZUREAD_TENANT_ID and AZUREAD_CLIENT_ID to trust a real tenant (AZURE_CLIENT_ID and AZURE_TENANT_ID are the Azure SDK's"},
		{"an old name in .env names its new name", nil, "AZURE_TENANT_ID=t\n", nil, "line 1: AZURE_TENANT_ID is now AZUREAD_TENANT_ID"},
		{"an Azure SDK variable in .env is refused", nil, "AZURE_CLIENT_SECRET=s\n", nil, "line 1: unknown variable AZURE_CLIENT_SECRET"},
		{"a Microsoft.Identity.Web setting is not ours and is ignored beside a tenant", tenant("AzureAd__ClientId=x"), "", func(c Config) bool { return c.ClientID == "c" }, ""},
		{"a Microsoft.Identity.Web setting alone is refused", []string{"AzureAd__ClientId=c"}, "", nil, "seen: AzureAd__ClientId in the environment (another program's settings, not read)"},

		// Development mode.
		{"development mode asked for", []string{"AZUREAD_DEV_MODE=true"}, "", func(c Config) bool { return c.DevMode }, ""},
		{"development mode with a tenant is refused", tenant("AZUREAD_DEV_MODE=true"), "", nil, "a server with a tenant never trusts the development identity provider"},
		{"development mode turned off without a tenant is refused", []string{"AZUREAD_DEV_MODE=false"}, "", nil, "seen: AZUREAD_DEV_MODE=false. Set AZUREAD_TENANT_ID=… (with AZUREAD_CLIENT_ID=…) to trust a tenant, or -dev (AZUREAD_DEV_MODE=true)"},
		{"development mode that is not a boolean is refused", []string{"AZUREAD_DEV_MODE=yes"}, "", nil, `AZUREAD_DEV_MODE="yes": want true or false`},
		{"a tenant turns development mode off", tenant(), "", func(c Config) bool { return !c.DevMode }, ""},

		// Tenancies.
		{"AZUREAD_TOKEN_VERSIONS=1,2 accepts both versions", tenant("AZUREAD_TOKEN_VERSIONS=1, 2"), "",
			func(c Config) bool { return fmt.Sprint(c.TokenVersions) == "[1.0 2.0]" }, ""},
		{"AZUREAD_TOKEN_VERSIONS=1.0 accepts v1", tenant("AZUREAD_TOKEN_VERSIONS=1.0"), "",
			func(c Config) bool { return fmt.Sprint(c.TokenVersions) == "[1.0]" }, ""},
		{"an unknown token version is refused", tenant("AZUREAD_TOKEN_VERSIONS=3"), "", nil, "AZUREAD_TOKEN_VERSIONS=\"3\": want 1, 2 or 1,2"},
		{"a token version listed twice is refused", tenant("AZUREAD_TOKEN_VERSIONS=2,2.0"), "", nil, "lists a version twice"},
		{"organizations with a tenant list", []string{"AZUREAD_TENANT_ID=organizations", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOWED_TENANTS=" + tenantA + "," + tenantB}, "",
			func(c Config) bool {
				return strings.Join(c.AllowedTenants, ",") == tenantA+","+tenantB && !c.AllowAnyTenant
			}, ""},
		{"common with any tenant, opted in", []string{"AZUREAD_TENANT_ID=common", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOW_ANY_TENANT=true"}, "",
			func(c Config) bool { return c.AllowAnyTenant }, ""},
		{"organizations without a list or opt-in is refused", []string{"AZUREAD_TENANT_ID=organizations", "AZUREAD_CLIENT_ID=c"}, "", nil,
			`AZUREAD_TENANT_ID: tenant "organizations" accepts every tenant's tokens: list them, filter them, or opt in (AZUREAD_ALLOWED_TENANTS or AZUREAD_ALLOW_ANY_TENANT=true)`},
		{"organizations with any tenant turned off is refused", []string{"AZUREAD_TENANT_ID=organizations", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOW_ANY_TENANT=false"}, "", nil,
			"accepts every tenant's tokens"},
		{"a tenant list on a single tenant is refused", tenant("AZUREAD_ALLOWED_TENANTS=" + tenantA), "", nil, "AZUREAD_ALLOWED_TENANTS: allowed tenants need a multi-tenant tenant (organizations, common or consumers)"},
		{"any tenant on a single tenant is refused", tenant("AZUREAD_ALLOW_ANY_TENANT=true"), "", nil, "AZUREAD_ALLOW_ANY_TENANT: allowed tenants need a multi-tenant tenant"},
		{"a tenant list and any tenant are refused together", []string{"AZUREAD_TENANT_ID=common", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOWED_TENANTS=" + tenantA, "AZUREAD_ALLOW_ANY_TENANT=true"}, "", nil, "contradict"},
		{"an allowed tenant that is not a tenant ID is refused", []string{"AZUREAD_TENANT_ID=organizations", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOWED_TENANTS=contoso.com"}, "", nil,
			`AZUREAD_ALLOWED_TENANTS: allowed tenant "contoso.com" is not a tenant ID`},
		{"B2C with its b2clogin.com host", []string{"AZUREAD_TENANT_ID=contoso.onmicrosoft.com", "AZUREAD_CLIENT_ID=c", "AZUREAD_B2C_POLICY=B2C_1_susi", "AZUREAD_AUTHORITY_HOST=https://contoso.b2clogin.com"}, "",
			func(c Config) bool { return c.B2CPolicy == "B2C_1_susi" }, ""},
		{"B2C without an authority host is refused", tenant("AZUREAD_B2C_POLICY=B2C_1_susi"), "", nil, "AZUREAD_B2C_POLICY needs AZUREAD_AUTHORITY_HOST"},
		{"B2C with v1 tokens is refused", tenant("AZUREAD_B2C_POLICY=B2C_1_susi", "AZUREAD_AUTHORITY_HOST=https://contoso.b2clogin.com", "AZUREAD_TOKEN_VERSIONS=1"), "", nil, "B2C issues v2 tokens only"},
		{"B2C with app-specific keys is refused", tenant("AZUREAD_B2C_POLICY=B2C_1_susi", "AZUREAD_AUTHORITY_HOST=https://contoso.b2clogin.com", "AZUREAD_APP_SPECIFIC_KEYS=true"), "", nil, "AZUREAD_APP_SPECIFIC_KEYS: app-specific keys do not apply to B2C"},
		{"B2C on common is refused", []string{"AZUREAD_TENANT_ID=common", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOW_ANY_TENANT=1", "AZUREAD_B2C_POLICY=B2C_1_susi"}, "", nil, "AZUREAD_B2C_POLICY: B2C needs its tenant (name.onmicrosoft.com or ID), not a multi-tenant name (AZUREAD_TENANT_ID)"},
		{"guests and app-specific keys", tenant("AZUREAD_ALLOW_GUESTS=TRUE", "AZUREAD_APP_SPECIFIC_KEYS=1"), "",
			func(c Config) bool { return c.AllowGuests && c.AppSpecificKeys }, ""},
		{"the API's client secret is kept for its handlers", tenant("AZUREAD_CLIENT_SECRET=s3cret"), "",
			func(c Config) bool { return c.ClientSecret == "s3cret" }, ""},
		{"a client secret without a tenant is refused", []string{"AZUREAD_CLIENT_SECRET=s3cret"}, "", nil, "seen: AZUREAD_CLIENT_SECRET is set"},
		{"a boolean that is not one is refused", tenant("AZUREAD_ALLOW_GUESTS=yes"), "", nil, `AZUREAD_ALLOW_GUESTS="yes": want true or false`},
		{"tenancy variables without a tenant are refused", []string{"AZUREAD_ALLOW_GUESTS=true", "AZUREAD_TOKEN_VERSIONS=1"}, "", nil,
			"seen: AZUREAD_TOKEN_VERSIONS, AZUREAD_ALLOW_GUESTS are set"},
		{"consumers without a choice is refused, naming the variables", []string{"AZUREAD_TENANT_ID=consumers", "AZUREAD_CLIENT_ID=c"}, "", nil,
			`AZUREAD_TENANT_ID: tenant "consumers" accepts the tokens of every personal Microsoft account in the world: list its tenant ` + entra.PersonalAccountsTenantID + ", or opt in (AZUREAD_ALLOWED_TENANTS or AZUREAD_ALLOW_ANY_TENANT=true)"},
		{"the personal-account tenant without a choice is refused", []string{"AZUREAD_TENANT_ID=" + entra.PersonalAccountsTenantID, "AZUREAD_CLIENT_ID=c"}, "", nil,
			"accepts the tokens of every personal Microsoft account"},
		{"consumers with any tenant, opted in", []string{"AZUREAD_TENANT_ID=consumers", "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOW_ANY_TENANT=true"}, "",
			func(c Config) bool { return c.AllowAnyTenant }, ""},
		{"the personal-account tenant listing itself", []string{"AZUREAD_TENANT_ID=" + entra.PersonalAccountsTenantID, "AZUREAD_CLIENT_ID=c", "AZUREAD_ALLOWED_TENANTS=" + entra.PersonalAccountsTenantID}, "",
			func(c Config) bool { return len(c.AllowedTenants) == 1 }, ""},
		{"tenancy variables are read from .env", nil, "AZUREAD_TENANT_ID=organizations\nAZUREAD_CLIENT_ID=c\nAZUREAD_ALLOWED_TENANTS=" + tenantA + "\n",
			func(c Config) bool { return len(c.AllowedTenants) == 1 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dotenvFile(t, tt.dotenv)
			c, err := LoadConfig(tt.env, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.want(c) {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}

// TestTenancyVariables checks, for each tenancy of the README's table, that
// its variables give a validator that accepts the tenancy's tokens and
// refuses a near miss: the mapping from variables to entra options.
func TestTenancyVariables(t *testing.T) {
	// token is a token of the test provider, and the validation error it
	// must get (nil: accepted).
	type token struct {
		opts func(idp *entratest.Server) []entratest.TokenOption
		want error
	}
	valid := token{func(*entratest.Server) []entratest.TokenOption { return nil }, nil}
	with := func(want error, o ...entratest.TokenOption) token {
		return token{func(*entratest.Server) []entratest.TokenOption { return o }, want}
	}
	local := func(opts ...entratest.Option) func(t *testing.T) *entratest.Server {
		return func(t *testing.T) *entratest.Server { return entratest.NewServer(t, opts...) }
	}
	at := func(authority string, opts ...entratest.Option) func(t *testing.T) *entratest.Server {
		return func(t *testing.T) *entratest.Server { return entratest.NewServerAt(t, authority, opts...) }
	}
	tests := []struct {
		name   string
		server func(t *testing.T) *entratest.Server
		env    func(idp *entratest.Server) []string
		tokens []token
	}{
		{"single tenant, v2 tokens", local(),
			func(*entratest.Server) []string { return nil },
			[]token{valid, with(entra.ErrIssuer, entratest.V1Token(), entratest.Audience(entratest.DefaultClientID)), with(entra.ErrGuest, entratest.Guest())}},
		{"single tenant, v1 tokens", local(),
			func(idp *entratest.Server) []string {
				return []string{"AZUREAD_TOKEN_VERSIONS=1", "AZUREAD_AUDIENCES=" + idp.AppIDURI()}
			},
			[]token{with(nil, entratest.V1Token()), with(entra.ErrIssuer)}},
		{"single tenant, both versions", local(),
			func(idp *entratest.Server) []string {
				return []string{"AZUREAD_TOKEN_VERSIONS=1,2", "AZUREAD_AUDIENCES=" + idp.AppIDURI()}
			},
			[]token{with(nil, entratest.V1Token()), valid}},
		{"multi-tenant, listed tenants", local(),
			func(*entratest.Server) []string {
				return []string{"AZUREAD_TENANT_ID=organizations", "AZUREAD_ALLOWED_TENANTS=" + tenantA}
			},
			[]token{with(nil, entratest.FromTenant(tenantA)), with(entra.ErrTenant, entratest.FromTenant(tenantB))}},
		{"multi-tenant, any tenant", local(),
			func(*entratest.Server) []string {
				return []string{"AZUREAD_TENANT_ID=common", "AZUREAD_ALLOW_ANY_TENANT=true"}
			},
			[]token{with(nil, entratest.FromTenant(tenantB)), with(entra.ErrIssuer, entratest.SignedWithPersonalAccountKey())}},
		{"B2C", at("https://contoso.b2clogin.com", entratest.WithB2C("contoso", "B2C_1_susi", "B2C_1_edit")),
			func(*entratest.Server) []string {
				return []string{"AZUREAD_TENANT_ID=contoso.onmicrosoft.com", "AZUREAD_B2C_POLICY=B2C_1_susi"}
			},
			[]token{valid, with(entra.ErrPolicy, entratest.Policy("B2C_1_edit"))}},
		{"Entra External ID", at("https://contoso.ciamlogin.com", entratest.WithIssuerBase("https://"+entratest.DefaultTenantID+".ciamlogin.com")),
			func(*entratest.Server) []string { return nil },
			[]token{valid, with(entra.ErrIssuer, entratest.IssuerClaim("https://contoso.ciamlogin.com"+"/"+entratest.DefaultTenantID+"/v2.0"))}},
		{"a national cloud", at(entra.USGovernment),
			func(*entratest.Server) []string { return nil },
			[]token{valid, with(entra.ErrIssuer, entratest.IssuerClaim(entra.PublicCloud+"/"+entratest.DefaultTenantID+"/v2.0"))}},
		{"guests allowed", local(),
			func(*entratest.Server) []string { return []string{"AZUREAD_ALLOW_GUESTS=true"} },
			[]token{with(nil, entratest.Guest())}},
		{"app-specific signing keys", local(entratest.WithCustomSigningKey()),
			func(*entratest.Server) []string { return []string{"AZUREAD_APP_SPECIFIC_KEYS=true"} },
			[]token{valid}},
		{"personal Microsoft accounts, opted in", local(),
			func(*entratest.Server) []string {
				return []string{"AZUREAD_TENANT_ID=consumers", "AZUREAD_ALLOW_ANY_TENANT=true"}
			},
			[]token{with(nil, entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()), with(entra.ErrUnknownKey)}},
		{"personal Microsoft accounts, listed", local(),
			func(*entratest.Server) []string {
				return []string{"AZUREAD_TENANT_ID=consumers", "AZUREAD_ALLOWED_TENANTS=" + entra.PersonalAccountsTenantID}
			},
			[]token{with(nil, entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()), with(entra.ErrUnknownKey)}},
		{"a custom signing key without app-specific keys", local(entratest.WithCustomSigningKey()),
			func(*entratest.Server) []string { return nil },
			[]token{with(entra.ErrUnknownKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := tt.server(t)
			env := append([]string{"AZUREAD_TENANT_ID=" + idp.TenantID(), "AZUREAD_CLIENT_ID=" + idp.ClientID(), "AZUREAD_AUTHORITY_HOST=" + idp.Authority()}, tt.env(idp)...)
			c, err := LoadConfig(env, "")
			if err != nil {
				t.Fatal(err)
			}
			// idp.Client() reaches the provider on loopback, also when it
			// answers as a real host; nothing else is ever reached.
			v, err := entra.NewValidator(append(c.validatorOptions(),
				entra.WithHTTPClient(idp.Client()), entra.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))...)
			if err != nil {
				t.Fatal(err)
			}
			for i, tok := range tt.tokens {
				if _, err := v.Validate(context.Background(), idp.Issue(tok.opts(idp)...)); !errors.Is(err, tok.want) {
					t.Errorf("token %d: err = %v, want %v", i, err, tok.want)
				}
			}
		})
	}
}

// With B2C, Swagger UI signs users in through the user flow.
func TestB2CSignInGoesThroughTheUserFlow(t *testing.T) {
	c, err := LoadConfig([]string{
		"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0",
		"AZUREAD_TENANT_ID=contoso.onmicrosoft.com", "AZUREAD_CLIENT_ID=c", "AZUREAD_B2C_POLICY=B2C_1_susi",
		"AZUREAD_AUTHORITY_HOST=https://contoso.b2clogin.com", "OPENAPI_CLIENT_ID=spa",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(c, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithServices(Service{Register: items.Register, RegisterGateway: items.RegisterGateway}), WithOpenAPI(items.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	rec := httptest.NewRecorder()
	s.http.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	for _, want := range []string{
		`"authorizationUrl": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/authorize"`,
		`"tokenUrl": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/token"`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the OpenAPI document lacks %s", want)
		}
	}
}

func TestFlagsOverrideTheEnvironmentWhichOverridesDotenv(t *testing.T) {
	path := dotenvFile(t, "GRPC_ADDR=localhost:1\nHTTP_ADDR=localhost:2\nLOG_LEVEL=debug\n")
	c, err := LoadConfig([]string{"HTTP_ADDR=localhost:3", "LOG_LEVEL=warn"}, path, "-log-level", "error", "-dev")
	if err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != "localhost:1" || c.HTTPAddr != "localhost:3" || c.LogLevel != slog.LevelError || !c.DevMode {
		t.Fatalf("got %+v", c)
	}
	c, err = LoadConfig(nil, "", "-tenant-id=t", "-client-id", "c", "-allow-guests", "-dev=false")
	if err != nil || c.TenantID != "t" || c.ClientID != "c" || !c.AllowGuests || c.DevMode {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag is refused", []string{"-tenant=t"}, "flag provided but not defined: -tenant"},
		{"an argument that is not a flag is refused", []string{"-dev", "extra"}, `unexpected argument "extra"`},
		{"a flag's value is checked like its variable's", []string{"-dev", "-grpc-addr=0.0.0.0:1"}, `GRPC_ADDR="0.0.0.0:1": development mode listens on loopback only`},
		{"a tenant flag with the development flag is refused", []string{"-dev", "-tenant-id=t", "-client-id=c"}, "never trusts the development identity provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadConfig(nil, "", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// -h lists every flag with the variable it mirrors.
func TestHelpListsEachFlagWithItsVariable(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-h"}, nil, "", &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), "-"+s.flag) || !strings.Contains(out.String(), "("+s.name+")") {
			t.Errorf("-h lacks -%s (%s):\n%s", s.flag, s.name, out.String())
		}
	}
}

// .env.example, copied to .env unchanged, runs development mode, and each
// of its commented settings is a variable LoadConfig reads.
func TestDotenvExample(t *testing.T) {
	c, err := LoadConfig(nil, "../.env.example")
	if err != nil || !c.DevMode {
		t.Fatalf("got %+v, %v", c, err)
	}
	data, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		k, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if ok && !strings.Contains(k, " ") {
			named[k] = true
			if _, known := lookupSetting(k); !known {
				t.Errorf(".env.example names %s, which LoadConfig does not read", k)
			}
		}
	}
	for _, s := range settings {
		if !named[s.name] {
			t.Errorf(".env.example does not show %s", s.name)
		}
	}
}

// Development mode trusts a provider that signs anyone in: it starts by
// itself only when nothing in the configuration looks like a tenant. A
// blank or white-space value, a name in the wrong case, or only the Azure
// SDK's variables stop the server with a message naming what was seen and
// the two ways on; an explicit -dev beside the SDK's variables still runs.
func TestIdentityLikeSettingsNeverStartDevelopmentMode(t *testing.T) {
	const twoWays = "AZUREAD_TENANT_ID=…"
	tests := []struct {
		name   string
		env    []string
		dotenv string
		args   []string
		want   []string // in the error; none: development mode runs
	}{
		{"a blank tenant in the environment is refused", []string{"AZUREAD_TENANT_ID="}, "", nil,
			[]string{"AZUREAD_TENANT_ID is blank in the environment"}},
		{"a blank tenant in the environment does not mask the tenant in .env", []string{"AZUREAD_TENANT_ID="}, "AZUREAD_TENANT_ID=t\nAZUREAD_CLIENT_ID=c\n", nil,
			[]string{"AZUREAD_TENANT_ID is blank in the environment"}},
		{"a blank tenant in .env is refused", nil, "AZUREAD_TENANT_ID=\nAZUREAD_CLIENT_ID=\n", nil,
			[]string{"AZUREAD_TENANT_ID is blank in .env", "AZUREAD_CLIENT_ID is blank in .env"}},
		{"a blank tenant flag is refused", nil, "", []string{"-tenant-id="},
			[]string{"AZUREAD_TENANT_ID is blank in flag -tenant-id"}},
		{"a blank client ID flag is refused", nil, "", []string{"-client-id", ""},
			[]string{"AZUREAD_CLIENT_ID is blank in flag -client-id"}},
		{"a tenant of spaces is refused", []string{"AZUREAD_TENANT_ID=   "}, "", nil,
			[]string{"AZUREAD_TENANT_ID is blank in the environment"}},
		{"a tenant of a no-break space is refused", []string{"AZUREAD_TENANT_ID=\u00a0"}, "", nil,
			[]string{"AZUREAD_TENANT_ID is blank in the environment"}},
		{"a client ID of tabs and a no-break space is refused", []string{"AZUREAD_CLIENT_ID=\t\u00a0"}, "", nil,
			[]string{"AZUREAD_CLIENT_ID is blank in the environment"}},
		{"a blank development mode is refused", []string{"AZUREAD_DEV_MODE="}, "", nil,
			[]string{"AZUREAD_DEV_MODE is blank in the environment"}},
		{"a lower-case name is refused", []string{"azuread_tenant_id=t", "azuread_client_id=c"}, "", nil,
			[]string{"azuread_tenant_id", "names are case-sensitive: AZUREAD_TENANT_ID"}},
		{"a mixed-case name is refused", []string{"Azuread_Tenant_Id=t"}, "", nil,
			[]string{"Azuread_Tenant_Id", "AZUREAD_TENANT_ID"}},
		{"a lower-case name in .env is refused", nil, "azuread_tenant_id=t\n", nil,
			[]string{"azuread_tenant_id", "AZUREAD_TENANT_ID"}},
		{"only the Azure SDK's tenant and client ID are refused", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c"}, "", nil,
			[]string{"AZURE_CLIENT_ID and AZURE_TENANT_ID", "the Azure SDK's"}},
		{"only the Azure SDK's client ID is refused", []string{"AZURE_CLIENT_ID=c"}, "", nil,
			[]string{"AZURE_CLIENT_ID"}},
		{"the Azure SDK's tenant in lower case is refused", []string{"azure_tenant_id=t"}, "", nil,
			[]string{"azure_tenant_id"}},

		{"nothing identity-like runs development mode", []string{"HOME=/root", "AZURE_CLIENT_SECRET=s", "AZURE_FEDERATED_TOKEN_FILE=/f"}, "", nil, nil},
		{"-dev beside the Azure SDK's variables runs development mode", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c"}, "", []string{"-dev"}, nil},
		{"AZUREAD_DEV_MODE=true beside the Azure SDK's variables runs development mode", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZUREAD_DEV_MODE=true"}, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dotenvFile(t, tt.dotenv)
			c, err := LoadConfig(tt.env, path, tt.args...)
			if tt.want == nil {
				if err != nil || !c.DevMode {
					t.Fatalf("got %+v, %v; want development mode", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v (development mode %v), want an error", c, c.DevMode)
			}
			for _, want := range append(tt.want, twoWays, "-dev", "AZUREAD_DEV_MODE=true") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

// More identity-like settings than TestIdentityLikeSettingsNeverStartDevelopmentMode
// tries, in odd spellings (an outside review of issue 17): none starts
// development mode, and each error names what it saw.
func TestOddlySpelledIdentityLikeSettingsNeverStartDevelopmentMode(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		dotenv string
		args   []string
		want   string // in the error
	}{
		{"a .NET-style name is another program's, and looks like a tenant", []string{"AzureAd__TenantId=t"}, "", nil,
			"AzureAd__TenantId in the environment"},
		{"an ideographic space is blank", []string{"AZUREAD_TENANT_ID=\u3000"}, "", nil,
			"AZUREAD_TENANT_ID is blank in the environment"},
		{"a zero-width space is a value, and not a tenant", []string{"AZUREAD_TENANT_ID=\u200b", "AZUREAD_CLIENT_ID=c"}, "", nil,
			`tenant "\u200b" is not a tenant ID or domain`},
		{"a zero-width space alone is a tenant without a client ID", []string{"AZUREAD_TENANT_ID=\u200b"}, "", nil,
			"AZUREAD_CLIENT_ID is required with AZUREAD_TENANT_ID"},
		{"a tenant in .env, blank in the environment and in a flag", []string{"AZUREAD_TENANT_ID="}, "AZUREAD_TENANT_ID=t\nAZUREAD_CLIENT_ID=c\n", []string{"-tenant-id="},
			"AZUREAD_TENANT_ID is blank in flag -tenant-id"},
		{"a quoted blank in .env", nil, "AZUREAD_TENANT_ID=\" \"\n", nil,
			"AZUREAD_TENANT_ID is blank in .env"},
		{"a byte-order mark in .env is not skipped", nil, "\ufeffAZUREAD_TENANT_ID=t\n", nil,
			"line 1: unknown variable"},
		{"a variable set without =", []string{"AZUREAD_TENANT_ID"}, "", nil,
			"AZUREAD_TENANT_ID is blank in the environment"},
		// Values that read as unset are still identity settings someone gave.
		{"a tenancy switch set to false", []string{"AZUREAD_ALLOW_GUESTS=false"}, "", nil,
			"AZUREAD_ALLOW_GUESTS is set"},
		{"a tenancy switch set to false in .env", nil, "AZUREAD_ALLOW_ANY_TENANT=false\n", nil,
			"AZUREAD_ALLOW_ANY_TENANT is set"},
		{"audiences that are only commas", []string{"AZUREAD_AUDIENCES=,"}, "", nil,
			"AZUREAD_AUDIENCES is set"},
		{"allowed tenants that are only commas and spaces", nil, "", []string{"-allowed-tenants", " , "},
			"AZUREAD_ALLOWED_TENANTS is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dotenvFile(t, tt.dotenv)
			c, err := LoadConfig(tt.env, path, tt.args...)
			if err == nil || c.DevMode {
				t.Fatalf("got development mode %v, %v; want an error", c.DevMode, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("the error lacks %q:\n%v", tt.want, err)
			}
		})
	}
}

// dotenvFile returns the path of a .env file in a new temporary directory
// holding content; for "" there is no file.
func dotenvFile(t *testing.T, content string) string {
	path := filepath.Join(t.TempDir(), ".env")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// Each AZUREAD_ setting is named once in the server's code, comments
// included: in its row of the settings table. Everything else refers to the
// row, so a renamed or documented setting changes in one place.
func TestEachSettingIsNamedOnce(t *testing.T) {
	name := regexp.MustCompile(`\bAZUREAD_[A-Z0-9_]+`)
	count := map[string]int{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		for _, n := range name.FindAllString(string(data), -1) {
			count[n]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if strings.HasPrefix(s.name, Prefix) {
			if count[s.name] != 1 {
				t.Errorf("%s is named %d times in the server's non-test code, want once (its row)", s.name, count[s.name])
			}
			delete(count, s.name)
		}
	}
	for n := range count {
		t.Errorf("%s is named in the server's code but is no setting", n)
	}
}
