package server

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// Prefix begins the name of every variable of the API's identity settings.
// It is not AZURE_: the Azure SDK (azidentity's EnvironmentCredential and
// DefaultAzureCredential) and AKS workload identity own AZURE_CLIENT_ID,
// AZURE_TENANT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST and more, for the process's own identity when it
// calls Azure. Those are never read and never refused. AZUREAD_ is what
// Microsoft.Identity.Web users know as the API's side (its "AzureAd"
// section), and no Azure tool sets it, so an unknown AZUREAD_ variable is a
// typo and stops the server.
const Prefix = "AZUREAD_"

// Config is the server's configuration, read by [LoadConfig] from flags,
// environment variables and a .env file. Each field names its variable.
type Config struct {
	// DevMode is AZUREAD_DEV_MODE (-dev): run on the embedded development
	// identity provider, which signs anyone in, and trust it alone. Both
	// listeners must then be on loopback, and TenantID must be empty.
	// LoadConfig turns it on when no AZUREAD_ identity setting is given.
	DevMode bool
	// DevTLS is AZUREAD_DEV_TLS (-dev-tls): in development mode, serve both
	// listeners (and so the development provider) over TLS with a
	// certificate the server makes for localhost, 127.0.0.1 and ::1 and
	// keeps beside the development signing key (see [WithDevStateDir]).
	DevTLS bool
	// TenantID is AZUREAD_TENANT_ID: the Entra tenant (GUID or domain) whose
	// tokens are accepted.
	TenantID string
	// ClientID is AZUREAD_CLIENT_ID: the API's app registration, the default
	// audience. Required with TenantID. Never AZURE_CLIENT_ID, which is the
	// process's own identity (a workload identity's managed identity).
	ClientID string
	// ClientSecret is AZUREAD_CLIENT_SECRET: the API's own client secret,
	// which the server does not use: it is for the API's handlers, to call
	// downstream APIs on behalf of their callers (bearer.OnBehalfOfSecret).
	// Never AZURE_CLIENT_SECRET, the process's own identity.
	ClientSecret string
	// Audiences is AZUREAD_AUDIENCES: further accepted audiences, such as
	// the Application ID URI (api://…).
	Audiences []string
	// AuthorityHost is AZUREAD_AUTHORITY_HOST, https://login.microsoftonline.com
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
	// SPA client, or to ClientID with a tenant.
	OpenAPIClientID string
	// CORSOrigins is CORS_ORIGINS: origins allowed to call the REST API
	// from a browser, comma-separated (scheme://host[:port]).
	CORSOrigins []string
	// TokenVersions is AZUREAD_TOKEN_VERSIONS: the accepted access token
	// versions, "1", "2" or "1,2"; v2 only when empty.
	TokenVersions []entra.TokenVersion
	// AllowedTenants is AZUREAD_ALLOWED_TENANTS: with TenantID
	// organizations or common, the tenant IDs whose tokens are accepted;
	// with consumers, the personal-account tenant, to say that every
	// personal Microsoft account is meant.
	AllowedTenants []string
	// AllowAnyTenant is AZUREAD_ALLOW_ANY_TENANT=true: with TenantID
	// organizations, common or consumers, accept every tenant's tokens
	// (insecure unless the API checks tenants itself).
	AllowAnyTenant bool
	// B2CPolicy is AZUREAD_B2C_POLICY: the Azure AD B2C user flow, such as
	// B2C_1_signupsignin, whose tokens are accepted.
	B2CPolicy string
	// AllowGuests is AZUREAD_ALLOW_GUESTS=true: accept guest users.
	AllowGuests bool
	// AppSpecificKeys is AZUREAD_APP_SPECIFIC_KEYS=true: fetch the signing
	// keys of ClientID (?appid=), for APIs with a custom signing key.
	AppSpecificKeys bool

	// TLSCertFile is TLS_CERT_FILE and TLSKeyFile is TLS_KEY_FILE: a PEM
	// certificate (chain) and its key, served on both listeners and
	// reloaded when the files are replaced. Not in development mode.
	TLSCertFile, TLSKeyFile string
	// InsecurePlaintext is INSECURE_PLAINTEXT=true: with a tenant and no
	// TLS, listen off loopback anyway, because TLS is terminated in front
	// of the server. Without it such a server refuses to start.
	InsecurePlaintext bool
	// MetricsAddr is METRICS_ADDR: where Prometheus metrics are served at
	// /metrics, plain HTTP; none when empty (the default).
	MetricsAddr string

	// sdkVariables are the Azure SDK's variables LoadConfig saw and left
	// alone, for the startup warning.
	sdkVariables []string
}

// setting is one configuration variable and the flag that mirrors it.
type setting struct {
	name, flag, usage string
	boolean           bool
	// identity marks the settings that describe a tenant: any of them
	// ends the implicit development mode and needs AZUREAD_TENANT_ID.
	identity bool
}

// settings lists every variable LoadConfig reads, in the order -h lists
// them.
var settings = []setting{
	{name: "AZUREAD_DEV_MODE", flag: "dev", boolean: true, usage: "run on the embedded development identity provider (loopback only); the default when no AZUREAD_ identity setting is given"},
	{name: "AZUREAD_DEV_TLS", flag: "dev-tls", boolean: true, usage: "development mode over HTTPS (and gRPC over TLS) with a certificate it makes for loopback; the startup help names the file to trust (SSL_CERT_FILE)"},
	{name: "AZUREAD_TENANT_ID", flag: "tenant-id", identity: true, usage: "the Entra tenant whose tokens are accepted (GUID or domain; organizations, common or consumers with an allow-list or the opt-in)"},
	{name: "AZUREAD_CLIENT_ID", flag: "client-id", identity: true, usage: "the API's app registration (application ID): the audience of v2 tokens"},
	{name: "AZUREAD_CLIENT_SECRET", flag: "client-secret", identity: true, usage: "the API's client secret, for its handlers' on-behalf-of calls to downstream APIs (set it in the environment or .env: a flag shows in the process list)"},
	{name: "AZUREAD_AUDIENCES", flag: "audiences", identity: true, usage: "more accepted audiences, comma-separated, e.g. the Application ID URI"},
	{name: "AZUREAD_AUTHORITY_HOST", flag: "authority-host", identity: true, usage: "the identity provider's host (default https://login.microsoftonline.com)"},
	{name: "AZUREAD_TOKEN_VERSIONS", flag: "token-versions", identity: true, usage: "accepted access token versions: 1, 2 or 1,2 (default 2)"},
	{name: "AZUREAD_ALLOWED_TENANTS", flag: "allowed-tenants", identity: true, usage: "with tenant organizations or common: the tenant IDs accepted, comma-separated; with consumers: its tenant ID"},
	{name: "AZUREAD_ALLOW_ANY_TENANT", flag: "allow-any-tenant", identity: true, boolean: true, usage: "with tenant organizations, common or consumers: accept every tenant (your code checks tid)"},
	{name: "AZUREAD_B2C_POLICY", flag: "b2c-policy", identity: true, usage: "the Azure AD B2C user flow whose tokens are accepted"},
	{name: "AZUREAD_ALLOW_GUESTS", flag: "allow-guests", identity: true, boolean: true, usage: "accept guest users"},
	{name: "AZUREAD_APP_SPECIFIC_KEYS", flag: "app-specific-keys", identity: true, boolean: true, usage: "fetch the app-specific signing keys of the client ID"},
	{name: "GRPC_ADDR", flag: "grpc-addr", usage: "gRPC listen address (default localhost:50051)"},
	{name: "HTTP_ADDR", flag: "http-addr", usage: "HTTP listen address: REST, /openapi.json, /docs, probes (default localhost:8000)"},
	{name: "LOG_LEVEL", flag: "log-level", usage: "debug, info, warn or error (default info)"},
	{name: "OPENAPI_CLIENT_ID", flag: "openapi-client-id", usage: "Swagger UI's app registration (single-page application)"},
	{name: "CORS_ORIGINS", flag: "cors-origins", usage: "browser origins allowed to call the REST API, comma-separated"},
	{name: "TLS_CERT_FILE", flag: "tls-cert-file", usage: "PEM certificate served by both listeners, reloaded when the file is replaced (with TLS_KEY_FILE)"},
	{name: "TLS_KEY_FILE", flag: "tls-key-file", usage: "PEM private key of TLS_CERT_FILE"},
	{name: "INSECURE_PLAINTEXT", flag: "insecure-plaintext", boolean: true, usage: "with a tenant and no TLS, listen off loopback anyway: TLS is terminated in front (ingress, Envoy, mesh)"},
	{name: "METRICS_ADDR", flag: "metrics-addr", usage: "Prometheus metrics listen address, plain HTTP at /metrics (default: no metrics)"},
}

func lookupSetting(name string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.name == name })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// renamed maps the names earlier versions read to their AZUREAD_ names.
// In the environment the old names belong to the Azure SDK and are left
// alone; in .env, which only this server reads, they are an error that
// names the new variable.
var renamed = map[string]string{
	"AZURE_TENANT_ID": "AZUREAD_TENANT_ID", "AZURE_CLIENT_ID": "AZUREAD_CLIENT_ID",
	"AZURE_AUDIENCES": "AZUREAD_AUDIENCES", "AZURE_AUTHORITY_HOST": "AZUREAD_AUTHORITY_HOST",
	"AZURE_TOKEN_VERSIONS": "AZUREAD_TOKEN_VERSIONS", "AZURE_ALLOWED_TENANTS": "AZUREAD_ALLOWED_TENANTS",
	"AZURE_ALLOW_ANY_TENANT": "AZUREAD_ALLOW_ANY_TENANT", "AZURE_B2C_POLICY": "AZUREAD_B2C_POLICY",
	"AZURE_ALLOW_GUESTS": "AZUREAD_ALLOW_GUESTS", "AZURE_APP_SPECIFIC_KEYS": "AZUREAD_APP_SPECIFIC_KEYS",
}

// LoadConfig reads the configuration from command-line flags args (as
// given to `serve`; -h lists them with their variables), the environment
// environ (as from os.Environ) and the .env file at dotenv when it exists,
// in that order of precedence.
//
// Variables that belong to other software are ignored, the Azure SDK's
// AZURE_ ones included; an unknown AZUREAD_ variable, an unknown .env line
// or flag, and any invalid value or combination is an error: mistakes fail
// at startup. -h gives an error that wraps flag.ErrHelp.
func LoadConfig(environ []string, dotenv string, args ...string) (Config, error) {
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
	var c Config
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch _, ok := lookupSetting(k); {
		case ok:
			vars[k] = v
		case strings.HasPrefix(k, Prefix):
			errs = append(errs, fmt.Errorf("unknown variable %s (known: %s)", k, strings.Join(names(), ", ")))
		case renamed[k] != "" && strings.TrimSpace(v) != "":
			c.sdkVariables = append(c.sdkVariables, k)
		}
	}
	slices.Sort(c.sdkVariables)
	if err := parseFlags(args, vars); err != nil {
		return Config{}, err
	}

	c.TenantID = strings.TrimSpace(vars["AZUREAD_TENANT_ID"])
	c.ClientID = strings.TrimSpace(vars["AZUREAD_CLIENT_ID"])
	c.ClientSecret = strings.TrimSpace(vars["AZUREAD_CLIENT_SECRET"])
	c.AuthorityHost = strings.TrimSpace(vars["AZUREAD_AUTHORITY_HOST"])
	c.GRPCAddr = strings.TrimSpace(vars["GRPC_ADDR"])
	c.HTTPAddr = strings.TrimSpace(vars["HTTP_ADDR"])
	c.Audiences = list(vars["AZUREAD_AUDIENCES"])
	c.CORSOrigins = list(vars["CORS_ORIGINS"])
	c.OpenAPIClientID = strings.TrimSpace(vars["OPENAPI_CLIENT_ID"])
	c.AllowedTenants = list(vars["AZUREAD_ALLOWED_TENANTS"])
	c.B2CPolicy = strings.TrimSpace(vars["AZUREAD_B2C_POLICY"])
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(vars["LOG_LEVEL"], "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	for _, v := range list(vars["AZUREAD_TOKEN_VERSIONS"]) {
		version := map[string]entra.TokenVersion{"1": entra.V1, "1.0": entra.V1, "2": entra.V2, "2.0": entra.V2}[v]
		switch {
		case version == "":
			errs = append(errs, fmt.Errorf("AZUREAD_TOKEN_VERSIONS=%q: want 1, 2 or 1,2", vars["AZUREAD_TOKEN_VERSIONS"]))
		case slices.Contains(c.TokenVersions, version):
			errs = append(errs, fmt.Errorf("AZUREAD_TOKEN_VERSIONS=%q lists a version twice", vars["AZUREAD_TOKEN_VERSIONS"]))
		default:
			c.TokenVersions = append(c.TokenVersions, version)
		}
	}
	devSet := strings.TrimSpace(vars["AZUREAD_DEV_MODE"]) != ""
	for name, dst := range map[string]*bool{
		"AZUREAD_DEV_MODE": &c.DevMode, "AZUREAD_DEV_TLS": &c.DevTLS,
		"AZUREAD_ALLOW_ANY_TENANT": &c.AllowAnyTenant, "AZUREAD_ALLOW_GUESTS": &c.AllowGuests, "AZUREAD_APP_SPECIFIC_KEYS": &c.AppSpecificKeys,
	} {
		if v := strings.TrimSpace(vars[name]); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			}
			*dst = b
		}
	}
	if !devSet {
		// Nothing says which identity provider to trust: development mode
		// when no identity setting is given at all.
		c.DevMode = !slices.ContainsFunc(settings, func(s setting) bool {
			return s.identity && strings.TrimSpace(vars[s.name]) != ""
		})
	}
	errs = append(errs, c.loadTransport(vars)...)
	c = c.withDefaults()
	errs = append(errs, c.check()...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// withDefaults fills in the listen addresses.
func (c Config) withDefaults() Config {
	c.GRPCAddr = orDefault(c.GRPCAddr, "localhost:50051")
	c.HTTPAddr = orDefault(c.HTTPAddr, "localhost:8000")
	return c
}

// check returns every error of the configuration, in the variables' terms.
// entra.NewValidator checks the resulting options again.
func (c Config) check() []error {
	errs := c.checkTransport()
	addrs := []struct{ name, addr string }{{"GRPC_ADDR", c.GRPCAddr}, {"HTTP_ADDR", c.HTTPAddr}}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port: %w", a.name, a.addr, err))
		}
	}
	if c.DevTLS && !c.DevMode {
		errs = append(errs, errors.New("AZUREAD_DEV_TLS=true is for development mode: with a tenant, set TLS_CERT_FILE and TLS_KEY_FILE"))
	}
	if c.DevMode {
		// The development provider signs anyone in: nothing off this
		// machine may reach a server that trusts it.
		if c.TenantID != "" {
			errs = append(errs, errors.New("AZUREAD_DEV_MODE=true and AZUREAD_TENANT_ID are both set: a server with a tenant never trusts the development identity provider; unset one"))
		} else if set := c.identitySettings(); len(set) > 0 {
			errs = append(errs, fmt.Errorf("%s need AZUREAD_TENANT_ID; leave every AZUREAD_ identity setting unset to run on the development identity provider", strings.Join(set, ", ")))
		}
		for _, a := range addrs {
			if host, _, err := net.SplitHostPort(a.addr); err == nil && !entra.IsLoopbackHost(host) {
				errs = append(errs, fmt.Errorf("%s=%q: development mode listens on loopback only (localhost, 127.0.0.1, [::1]); use a loopback address, or set AZUREAD_TENANT_ID and AZUREAD_CLIENT_ID to trust a real tenant%s", a.name, a.addr, c.sdkHint()))
			}
		}
		return errs
	}
	if c.TenantID == "" {
		if set := c.identitySettings(); len(set) > 0 {
			return append(errs, fmt.Errorf("%s need AZUREAD_TENANT_ID%s", strings.Join(set, ", "), c.sdkHint()))
		}
		return append(errs, fmt.Errorf("no tenant: set AZUREAD_TENANT_ID and AZUREAD_CLIENT_ID, or AZUREAD_DEV_MODE=true for the development identity provider%s", c.sdkHint()))
	}
	if c.ClientID == "" {
		errs = append(errs, fmt.Errorf("AZUREAD_CLIENT_ID is required with AZUREAD_TENANT_ID%s", c.sdkHint()))
	}
	t := strings.ToLower(c.TenantID)
	multi := t == "organizations" || t == "common"
	// consumers (the tenant of personal Microsoft accounts) admits every
	// personal account in the world: it needs the same explicit choice,
	// which entra.NewValidator requires too.
	personal := t == "consumers" || t == entra.PersonalAccountsTenantID
	chosen := len(c.AllowedTenants) > 0 || c.AllowAnyTenant
	switch {
	case len(c.AllowedTenants) > 0 && c.AllowAnyTenant:
		errs = append(errs, errors.New("AZUREAD_ALLOWED_TENANTS and AZUREAD_ALLOW_ANY_TENANT=true contradict each other: set one"))
	case multi && !chosen:
		errs = append(errs, fmt.Errorf("AZUREAD_TENANT_ID=%s accepts every tenant's tokens: list the tenant IDs in AZUREAD_ALLOWED_TENANTS, or set AZUREAD_ALLOW_ANY_TENANT=true if the API checks tenants itself", c.TenantID))
	case personal && !chosen:
		errs = append(errs, fmt.Errorf("AZUREAD_TENANT_ID=%s accepts the tokens of every personal Microsoft account: set AZUREAD_ALLOWED_TENANTS=%s or AZUREAD_ALLOW_ANY_TENANT=true to say that is meant", c.TenantID, entra.PersonalAccountsTenantID))
	case !multi && !personal && chosen:
		errs = append(errs, fmt.Errorf("AZUREAD_ALLOWED_TENANTS and AZUREAD_ALLOW_ANY_TENANT need AZUREAD_TENANT_ID=organizations or common (or consumers), not %q", c.TenantID))
	}
	for _, id := range c.AllowedTenants {
		if !entra.IsTenantID(id) {
			errs = append(errs, fmt.Errorf("AZUREAD_ALLOWED_TENANTS: %q is not a tenant ID (a lowercase GUID)", id))
		}
	}
	if c.B2CPolicy != "" {
		switch {
		case multi:
			errs = append(errs, errors.New("AZUREAD_B2C_POLICY needs the B2C tenant in AZUREAD_TENANT_ID ({name}.onmicrosoft.com or its ID), not organizations or common"))
		case slices.Contains(c.TokenVersions, entra.V1):
			errs = append(errs, errors.New("AZUREAD_B2C_POLICY: B2C issues v2 tokens only; leave AZUREAD_TOKEN_VERSIONS unset or 2"))
		case c.AppSpecificKeys:
			errs = append(errs, errors.New("AZUREAD_APP_SPECIFIC_KEYS does not apply to B2C (AZUREAD_B2C_POLICY)"))
		case c.AuthorityHost == "":
			errs = append(errs, errors.New("AZUREAD_B2C_POLICY needs AZUREAD_AUTHORITY_HOST: https://{name}.b2clogin.com or the B2C custom domain"))
		}
	}
	return errs
}

// identitySettings names the identity settings c sets.
func (c Config) identitySettings() []string {
	set := map[string]bool{
		"AZUREAD_TENANT_ID": c.TenantID != "", "AZUREAD_CLIENT_ID": c.ClientID != "", "AZUREAD_CLIENT_SECRET": c.ClientSecret != "",
		"AZUREAD_AUDIENCES": len(c.Audiences) > 0, "AZUREAD_AUTHORITY_HOST": c.AuthorityHost != "",
		"AZUREAD_TOKEN_VERSIONS": len(c.TokenVersions) > 0, "AZUREAD_ALLOWED_TENANTS": len(c.AllowedTenants) > 0,
		"AZUREAD_ALLOW_ANY_TENANT": c.AllowAnyTenant, "AZUREAD_B2C_POLICY": c.B2CPolicy != "",
		"AZUREAD_ALLOW_GUESTS": c.AllowGuests, "AZUREAD_APP_SPECIFIC_KEYS": c.AppSpecificKeys,
	}
	var out []string
	for _, s := range settings {
		if set[s.name] {
			out = append(out, s.name)
		}
	}
	return out
}

// sdkHint explains, when the Azure SDK's variables are set, that they are
// not the API's settings.
func (c Config) sdkHint() string {
	if len(c.sdkVariables) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s %s the Azure SDK's credentials of this process, such as a workload identity's managed identity, and never the API's tenant or audience)",
		strings.Join(c.sdkVariables, " and "), map[bool]string{true: "is", false: "are"}[len(c.sdkVariables) == 1])
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

// names lists every variable LoadConfig reads.
func names() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.name
	}
	return out
}

// flagValue sets a variable from its flag.
type flagValue struct {
	vars    map[string]string
	s       setting
	current string
}

func (f *flagValue) String() string { return f.current }
func (f *flagValue) Set(v string) error {
	f.vars[f.s.name], f.current = v, v
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.s.boolean }

// newFlagSet returns the flags that mirror the variables, setting vars.
func newFlagSet(vars map[string]string) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range settings {
		fs.Var(&flagValue{vars: vars, s: s}, s.flag, s.usage)
	}
	return fs
}

// parseFlags sets vars from args, over what the environment and .env set.
func parseFlags(args []string, vars map[string]string) error {
	fs := newFlagSet(vars)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("serve -h: %w", err)
		}
		return fmt.Errorf("configuration: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("configuration: unexpected argument %q (flags take -name=value)", fs.Arg(0))
	}
	return nil
}

// usage writes the flags, each with the variable it mirrors.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Flags override environment variables, which override ./.env:")
	for _, s := range settings {
		arg := " value"
		if s.boolean {
			arg = ""
		}
		fmt.Fprintf(w, "  -%s%s\t(%s)\n    \t%s\n", s.flag, arg, s.name, s.usage)
	}
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
// removed. .env is this server's own file: every name in it must be one it
// reads.
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
		if to := renamed[k]; to != "" {
			return fmt.Errorf("line %d: %s is now %s: AZURE_ variables are the Azure SDK's credentials of this process (README, Configuration)", n, k, to)
		}
		if _, known := lookupSetting(k); !known {
			return fmt.Errorf("line %d: unknown variable %s", n, k)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		into[k] = v
	}
	return sc.Err()
}
