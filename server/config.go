package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// Config is the server's configuration, read from environment variables by
// [LoadConfig].
type Config struct {
	// TenantID is AZURE_TENANT_ID: the Entra tenant (GUID or domain). Empty
	// starts the embedded development identity provider instead.
	TenantID string
	// ClientID is AZURE_CLIENT_ID: the API's app registration, the default
	// audience. Required with TenantID.
	ClientID string
	// Audiences is AZURE_AUDIENCES: further accepted audiences, such as the
	// Application ID URI (api://…).
	Audiences []string
	// AuthorityHost is AZURE_AUTHORITY_HOST, https://login.microsoftonline.com
	// by default; http only for loopback hosts.
	AuthorityHost string
	// GRPCAddr is GRPC_ADDR, localhost:50051 by default.
	GRPCAddr string
	// HTTPAddr is HTTP_ADDR, localhost:8000 by default.
	HTTPAddr string
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level
	// OpenAPIClientID is OPENAPI_CLIENT_ID: the Swagger UI app registration
	// (a single-page application). Defaults to the development provider's
	// SPA client, or to AZURE_CLIENT_ID with a tenant.
	OpenAPIClientID string
	// CORSOrigins is CORS_ORIGINS: origins allowed to call the REST API
	// from a browser, comma-separated (scheme://host[:port]).
	CORSOrigins []string
	// TokenVersions is AZURE_TOKEN_VERSIONS: the accepted access token
	// versions, "1", "2" or "1,2"; v2 only when empty.
	TokenVersions []entra.TokenVersion
	// AllowedTenants is AZURE_ALLOWED_TENANTS: with AZURE_TENANT_ID
	// organizations or common, the tenant IDs whose tokens are accepted.
	AllowedTenants []string
	// AllowAnyTenant is AZURE_ALLOW_ANY_TENANT=true: with AZURE_TENANT_ID
	// organizations or common, accept every tenant's tokens (insecure unless
	// the API checks tenants itself).
	AllowAnyTenant bool
	// B2CPolicy is AZURE_B2C_POLICY: the Azure AD B2C user flow, such as
	// B2C_1_signupsignin, whose tokens are accepted.
	B2CPolicy string
	// AllowGuests is AZURE_ALLOW_GUESTS=true: accept guest users.
	AllowGuests bool
	// AppSpecificKeys is AZURE_APP_SPECIFIC_KEYS=true: fetch the signing keys
	// of AZURE_CLIENT_ID (?appid=), for APIs with a custom signing key.
	AppSpecificKeys bool
}

// Dev reports whether the server runs on the embedded development identity
// provider.
func (c Config) Dev() bool { return c.TenantID == "" }

// variables lists every variable LoadConfig reads.
var variables = []string{
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_AUDIENCES", "AZURE_AUTHORITY_HOST",
	"AZURE_TOKEN_VERSIONS", "AZURE_ALLOWED_TENANTS", "AZURE_ALLOW_ANY_TENANT",
	"AZURE_B2C_POLICY", "AZURE_ALLOW_GUESTS", "AZURE_APP_SPECIFIC_KEYS",
	"GRPC_ADDR", "HTTP_ADDR", "LOG_LEVEL", "OPENAPI_CLIENT_ID", "CORS_ORIGINS",
}

// LoadConfig reads the configuration from environ (as from os.Environ) and
// from the .env file at dotenv when it exists; environ wins. A .env line or
// an AZURE_ environment variable that LoadConfig does not know is an error,
// as is any invalid value: mistakes fail at startup.
func LoadConfig(environ []string, dotenv string) (Config, error) {
	vars := map[string]string{}
	var errs []error
	if dotenv != "" {
		data, err := os.ReadFile(dotenv)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := parseDotenv(data, vars); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", dotenv, err))
			}
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(variables, k) {
			vars[k] = v
		} else if strings.HasPrefix(k, "AZURE_") {
			errs = append(errs, fmt.Errorf("unknown variable %s (known: %s)", k, strings.Join(variables, ", ")))
		}
	}
	c := Config{
		TenantID:      strings.TrimSpace(vars["AZURE_TENANT_ID"]),
		ClientID:      strings.TrimSpace(vars["AZURE_CLIENT_ID"]),
		AuthorityHost: strings.TrimSpace(vars["AZURE_AUTHORITY_HOST"]),
		GRPCAddr:      orDefault(vars["GRPC_ADDR"], "localhost:50051"),
		HTTPAddr:      orDefault(vars["HTTP_ADDR"], "localhost:8000"),
	}
	c.Audiences = list(vars["AZURE_AUDIENCES"])
	c.CORSOrigins = list(vars["CORS_ORIGINS"])
	c.OpenAPIClientID = strings.TrimSpace(vars["OPENAPI_CLIENT_ID"])
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(vars["LOG_LEVEL"], "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	for name, addr := range map[string]string{"GRPC_ADDR": c.GRPCAddr, "HTTP_ADDR": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port: %w", name, addr, err))
		}
	}
	errs = append(errs, c.loadTenancy(vars)...)
	var needTenant []string
	for _, k := range variables {
		if strings.HasPrefix(k, "AZURE_") && strings.TrimSpace(vars[k]) != "" {
			needTenant = append(needTenant, k)
		}
	}
	switch {
	case c.Dev() && len(needTenant) > 0:
		errs = append(errs, fmt.Errorf("%s need AZURE_TENANT_ID; leave every AZURE_ variable unset to run on the development identity provider", strings.Join(needTenant, ", ")))
	case c.Dev():
		if host, _, _ := net.SplitHostPort(c.HTTPAddr); !entra.IsLoopbackHost(host) {
			errs = append(errs, fmt.Errorf("HTTP_ADDR=%q: the development identity provider listens on loopback only; use a loopback address or set AZURE_TENANT_ID", c.HTTPAddr))
		}
	case c.ClientID == "":
		errs = append(errs, errors.New("AZURE_CLIENT_ID is required with AZURE_TENANT_ID"))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// loadTenancy reads the variables that choose the tenancy, and checks them
// together so that a wrong combination is named in the variables' terms;
// entra.NewValidator checks the resulting options again.
func (c *Config) loadTenancy(vars map[string]string) []error {
	var errs []error
	for _, v := range list(vars["AZURE_TOKEN_VERSIONS"]) {
		version := map[string]entra.TokenVersion{"1": entra.V1, "1.0": entra.V1, "2": entra.V2, "2.0": entra.V2}[v]
		switch {
		case version == "":
			errs = append(errs, fmt.Errorf("AZURE_TOKEN_VERSIONS=%q: want 1, 2 or 1,2", vars["AZURE_TOKEN_VERSIONS"]))
		case slices.Contains(c.TokenVersions, version):
			errs = append(errs, fmt.Errorf("AZURE_TOKEN_VERSIONS=%q lists a version twice", vars["AZURE_TOKEN_VERSIONS"]))
		default:
			c.TokenVersions = append(c.TokenVersions, version)
		}
	}
	c.AllowedTenants = list(vars["AZURE_ALLOWED_TENANTS"])
	for _, id := range c.AllowedTenants {
		if !entra.IsTenantID(id) {
			errs = append(errs, fmt.Errorf("AZURE_ALLOWED_TENANTS: %q is not a tenant ID (a lowercase GUID)", id))
		}
	}
	c.B2CPolicy = strings.TrimSpace(vars["AZURE_B2C_POLICY"])
	for name, dst := range map[string]*bool{
		"AZURE_ALLOW_ANY_TENANT": &c.AllowAnyTenant, "AZURE_ALLOW_GUESTS": &c.AllowGuests, "AZURE_APP_SPECIFIC_KEYS": &c.AppSpecificKeys,
	} {
		v := strings.TrimSpace(vars[name])
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
		}
		*dst = b
	}
	if c.Dev() {
		return errs
	}
	t := strings.ToLower(c.TenantID)
	multi := t == "organizations" || t == "common"
	switch {
	case len(c.AllowedTenants) > 0 && c.AllowAnyTenant:
		errs = append(errs, errors.New("AZURE_ALLOWED_TENANTS and AZURE_ALLOW_ANY_TENANT=true contradict each other: set one"))
	case multi && len(c.AllowedTenants) == 0 && !c.AllowAnyTenant:
		errs = append(errs, fmt.Errorf("AZURE_TENANT_ID=%s accepts every tenant's tokens: list the tenant IDs in AZURE_ALLOWED_TENANTS, or set AZURE_ALLOW_ANY_TENANT=true if the API checks tenants itself", c.TenantID))
	case !multi && (len(c.AllowedTenants) > 0 || c.AllowAnyTenant):
		errs = append(errs, fmt.Errorf("AZURE_ALLOWED_TENANTS and AZURE_ALLOW_ANY_TENANT need AZURE_TENANT_ID=organizations or common, not %q", c.TenantID))
	}
	if c.B2CPolicy != "" {
		switch {
		case multi:
			errs = append(errs, errors.New("AZURE_B2C_POLICY needs the B2C tenant in AZURE_TENANT_ID ({name}.onmicrosoft.com or its ID), not organizations or common"))
		case slices.Contains(c.TokenVersions, entra.V1):
			errs = append(errs, errors.New("AZURE_B2C_POLICY: B2C issues v2 tokens only; leave AZURE_TOKEN_VERSIONS unset or 2"))
		case c.AppSpecificKeys:
			errs = append(errs, errors.New("AZURE_APP_SPECIFIC_KEYS does not apply to B2C (AZURE_B2C_POLICY)"))
		case c.AuthorityHost == "":
			errs = append(errs, errors.New("AZURE_B2C_POLICY needs AZURE_AUTHORITY_HOST: https://{name}.b2clogin.com or the B2C custom domain"))
		}
	}
	return errs
}

// validatorOptions are the entra options of a configuration with a tenant.
func (c Config) validatorOptions() []entra.Option {
	opts := []entra.Option{
		entra.WithTenant(c.TenantID),
		entra.WithAudiences(c.ClientID),
		entra.WithAudiences(c.Audiences...),
	}
	if c.AuthorityHost != "" {
		opts = append(opts, entra.WithAuthorityHost(c.AuthorityHost))
	}
	if len(c.TokenVersions) > 0 {
		opts = append(opts, entra.WithTokenVersions(c.TokenVersions...))
	}
	if len(c.AllowedTenants) > 0 {
		opts = append(opts, entra.WithAllowedTenants(c.AllowedTenants...))
	}
	if c.AllowAnyTenant {
		opts = append(opts, entra.InsecureAllowAnyTenant())
	}
	if c.B2CPolicy != "" {
		opts = append(opts, entra.WithB2CPolicy(c.B2CPolicy))
	}
	if c.AllowGuests {
		opts = append(opts, entra.WithAllowGuests())
	}
	if c.AppSpecificKeys {
		opts = append(opts, entra.WithAppSpecificKeys(c.ClientID))
	}
	return opts
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

// parseDotenv reads KEY=VALUE lines; blank lines and lines starting with #
// are skipped, "export " prefixes and matching quotes around values are
// removed.
func parseDotenv(data []byte, into map[string]string) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		if !slices.Contains(variables, k) {
			return fmt.Errorf("line %d: unknown variable %s", n, k)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		into[k] = v
	}
	return sc.Err()
}
