package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
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
// environment variables and a .env file. Each field but Settings is one
// of the kit's settings: its variable and flag are listed by -h and in the
// README's Configuration table, from the one table LoadConfig reads them
// with.
type Config struct {
	// DevMode runs on the embedded development identity provider, which
	// signs anyone in, and trusts it alone. Both listeners must then be on
	// loopback, and TenantID must be empty. LoadConfig turns it on only
	// when nothing in the configuration looks like a tenant.
	DevMode bool
	// DevTLS serves, in development mode, both listeners (and so the
	// development provider) over TLS with a certificate the server makes
	// for localhost, 127.0.0.1 and ::1 and keeps beside the development
	// signing key (see [WithDevStateDir]).
	DevTLS bool
	// TenantID is the Entra tenant (GUID or domain) whose tokens are
	// accepted.
	TenantID string
	// ClientID is the API's app registration, the default audience.
	// Required with TenantID. Never the Azure SDK's AZURE_CLIENT_ID, which
	// is the process's own identity (a workload identity's managed
	// identity).
	ClientID string
	// ClientSecret is the API's own client secret, which the server does
	// not use: it is for the API's handlers, to call downstream APIs on
	// behalf of their callers (bearer.OnBehalfOfSecret). Never the Azure
	// SDK's AZURE_CLIENT_SECRET, the process's own identity.
	ClientSecret string
	// Audiences are further accepted audiences, such as the Application ID
	// URI (api://…).
	Audiences []string
	// AuthorityHost is the identity provider's host,
	// https://login.microsoftonline.com by default; http only for loopback
	// hosts.
	AuthorityHost string
	// GRPCAddr is the gRPC listen address, localhost:50051 by default.
	GRPCAddr string
	// HTTPAddr is the HTTP listen address, localhost:8000 by default.
	HTTPAddr string
	// LogLevel is debug, info (default), warn or error.
	LogLevel slog.Level
	// OpenAPIClientID is the Swagger UI app registration (a single-page
	// application). Defaults to the development provider's SPA client, or
	// to ClientID with a tenant.
	OpenAPIClientID string
	// OpenAPIScopes are the scopes Swagger UI preselects when signing in,
	// short names (every scope of the document by default).
	OpenAPIScopes []string
	// OpenAPIAuthorizationParams are query parameters Swagger UI adds to
	// the authorization request, such as prompt=select_account or
	// domain_hint=contoso.com.
	OpenAPIAuthorizationParams map[string]string
	// CORSOrigins are the origins allowed to call the REST API from a
	// browser (scheme://host[:port]).
	CORSOrigins []string
	// TokenVersions are the accepted access token versions; v2 only when
	// empty.
	TokenVersions []entra.TokenVersion
	// AllowedTenants are, with TenantID organizations or common, the tenant
	// IDs whose tokens are accepted; with consumers, the personal-account
	// tenant, to say that every personal Microsoft account is meant.
	AllowedTenants []string
	// AllowAnyTenant accepts, with TenantID organizations, common or
	// consumers, every tenant's tokens (insecure unless the API checks
	// tenants itself).
	AllowAnyTenant bool
	// B2CPolicy is the Azure AD B2C user flow, such as B2C_1_signupsignin,
	// whose tokens are accepted.
	B2CPolicy string
	// AllowGuests accepts guest users.
	AllowGuests bool
	// AppSpecificKeys fetches the signing keys of ClientID (?appid=), for
	// APIs with a custom signing key.
	AppSpecificKeys bool

	// TLSCertFile and TLSKeyFile are a PEM certificate (chain) and its key,
	// served on both listeners and reloaded when the files are replaced.
	// Not in development mode.
	TLSCertFile, TLSKeyFile string
	// InsecurePlaintext lets a server with a tenant and no TLS listen off
	// loopback anyway, because TLS is terminated in front of it. Without it
	// such a server refuses to start.
	InsecurePlaintext bool
	// MetricsAddr is where Prometheus metrics are served at /metrics, plain
	// HTTP; none when empty (the default).
	MetricsAddr string

	// Settings are the values of the program's own settings (see
	// [Setting]) by name, as [MainFunc] read them, surrounding white space
	// removed; a setting that is unset has none.
	Settings map[string]string

	// sdkVariables are the Azure SDK's variables LoadConfig saw and left
	// alone, for the startup warning.
	sdkVariables []string
	// blank and miscased describe the AZUREAD_ settings LoadConfig saw
	// given a blank value, or under a name in the wrong case; foreign names
	// other software's variables of the same name, such as
	// Microsoft.Identity.Web's AzureAd__TenantId. Each looks like a tenant,
	// so none starts development mode by itself.
	blank, miscased, foreign []string
	// given names the identity settings LoadConfig saw given a value, even
	// one that reads as unset (false, a list of only commas).
	given []string
}

// Setting declares a setting of the program's own, such as the address of
// a service it calls: [MainFunc] reads it as it reads the kit's (a flag
// over its variable over .env), -h lists it, and [Config.Settings] holds
// its value. Its name must not start with AZUREAD_ nor be one of the kit's.
type Setting struct {
	// Name is the variable, in upper case: AUDIT_ADDR.
	Name string
	// Flag is the flag that mirrors it, without the dash: audit-addr. None
	// when empty.
	Flag string
	// Usage says what it is, for -h.
	Usage string
}

// setting is one row of the configuration table: a variable, the flag
// that mirrors it, what -h says of it, the Config field it is read into
// (its type says how: text, a comma-separated list, true or false, a log
// level, token versions), and the entra options it becomes.
type setting struct {
	name, flag, usage string
	field             func(*Config) any
	// identity marks the settings that describe a tenant: any of them
	// ends the implicit development mode and needs a tenant.
	identity bool
	// renamed marks the settings earlier versions read as AZURE_….
	renamed bool
	// own marks a program's own setting: field is nil, and its value is
	// kept in Config.Settings.
	own bool
	// option is the entra option whose errors are this setting's.
	option string
	// entra gives the validator options of a configuration with a tenant.
	entra func(Config) []entra.Option
}

// The settings, in the order -h lists them. Each name appears here and
// nowhere else: code and messages refer to the rows.
var (
	envDevMode = &setting{name: "AZUREAD_DEV_MODE", flag: "dev",
		field: func(c *Config) any { return &c.DevMode },
		usage: "run on the embedded development identity provider (loopback only); the default when nothing looks like a tenant (no AZUREAD_ setting, no AZURE_TENANT_ID or AZURE_CLIENT_ID)"}
	envDevTLS = &setting{name: "AZUREAD_DEV_TLS", flag: "dev-tls",
		field: func(c *Config) any { return &c.DevTLS },
		usage: "development mode over HTTPS (and gRPC over TLS) with a certificate it makes for loopback; the startup help names the file to trust (SSL_CERT_FILE)"}
	envTenantID = &setting{name: "AZUREAD_TENANT_ID", flag: "tenant-id", identity: true, renamed: true, option: "WithTenant",
		field: func(c *Config) any { return &c.TenantID },
		entra: func(c Config) []entra.Option { return []entra.Option{entra.WithTenant(c.TenantID)} },
		usage: "the Entra tenant whose tokens are accepted (GUID or domain; organizations, common or consumers with an allow-list or the opt-in)"}
	envClientID = &setting{name: "AZUREAD_CLIENT_ID", flag: "client-id", identity: true, renamed: true, option: "WithAudiences",
		field: func(c *Config) any { return &c.ClientID },
		entra: func(c Config) []entra.Option { return []entra.Option{entra.WithAudiences(c.ClientID)} },
		usage: "the API's app registration (application ID): the audience of v2 tokens"}
	envClientSecret = &setting{name: "AZUREAD_CLIENT_SECRET", flag: "client-secret", identity: true,
		field: func(c *Config) any { return &c.ClientSecret },
		usage: "the API's client secret, for its handlers' on-behalf-of calls to downstream APIs (set it in the environment or .env: a flag shows in the process list)"}
	envAudiences = &setting{name: "AZUREAD_AUDIENCES", flag: "audiences", identity: true, renamed: true, option: "WithAudiences",
		field: func(c *Config) any { return &c.Audiences },
		entra: func(c Config) []entra.Option { return []entra.Option{entra.WithAudiences(c.Audiences...)} },
		usage: "more accepted audiences, comma-separated, e.g. the Application ID URI"}
	envAuthorityHost = &setting{name: "AZUREAD_AUTHORITY_HOST", flag: "authority-host", identity: true, renamed: true, option: "WithAuthorityHost",
		field: func(c *Config) any { return &c.AuthorityHost },
		entra: func(c Config) []entra.Option {
			return when(c.AuthorityHost != "", entra.WithAuthorityHost(c.AuthorityHost))
		},
		usage: "the identity provider's host (default " + entra.PublicCloud + ")"}
	envTokenVersions = &setting{name: "AZUREAD_TOKEN_VERSIONS", flag: "token-versions", identity: true, renamed: true, option: "WithTokenVersions",
		field: func(c *Config) any { return &c.TokenVersions },
		entra: func(c Config) []entra.Option {
			return when(len(c.TokenVersions) > 0, entra.WithTokenVersions(c.TokenVersions...))
		},
		usage: "accepted access token versions: 1, 2 or 1,2 (default 2)"}
	envAllowedTenants = &setting{name: "AZUREAD_ALLOWED_TENANTS", flag: "allowed-tenants", identity: true, renamed: true, option: "WithAllowedTenants",
		field: func(c *Config) any { return &c.AllowedTenants },
		entra: func(c Config) []entra.Option {
			return when(len(c.AllowedTenants) > 0, entra.WithAllowedTenants(c.AllowedTenants...))
		},
		usage: "with tenant organizations or common: the tenant IDs accepted, comma-separated; with consumers: its tenant ID"}
	envAllowAnyTenant = &setting{name: "AZUREAD_ALLOW_ANY_TENANT", flag: "allow-any-tenant", identity: true, renamed: true, option: "InsecureAllowAnyTenant",
		field: func(c *Config) any { return &c.AllowAnyTenant },
		entra: func(c Config) []entra.Option { return when(c.AllowAnyTenant, entra.InsecureAllowAnyTenant()) },
		usage: "with tenant organizations, common or consumers: accept every tenant (your code checks tid)"}
	envB2CPolicy = &setting{name: "AZUREAD_B2C_POLICY", flag: "b2c-policy", identity: true, renamed: true, option: "WithB2CPolicy",
		field: func(c *Config) any { return &c.B2CPolicy },
		entra: func(c Config) []entra.Option { return when(c.B2CPolicy != "", entra.WithB2CPolicy(c.B2CPolicy)) },
		usage: "the Azure AD B2C user flow whose tokens are accepted"}
	envAllowGuests = &setting{name: "AZUREAD_ALLOW_GUESTS", flag: "allow-guests", identity: true, renamed: true, option: "WithAllowGuests",
		field: func(c *Config) any { return &c.AllowGuests },
		entra: func(c Config) []entra.Option { return when(c.AllowGuests, entra.WithAllowGuests()) },
		usage: "accept guest users"}
	envAppSpecificKeys = &setting{name: "AZUREAD_APP_SPECIFIC_KEYS", flag: "app-specific-keys", identity: true, renamed: true, option: "WithAppSpecificKeys",
		field: func(c *Config) any { return &c.AppSpecificKeys },
		entra: func(c Config) []entra.Option { return when(c.AppSpecificKeys, entra.WithAppSpecificKeys(c.ClientID)) },
		usage: "fetch the app-specific signing keys of the client ID"}
	envGRPCAddr = &setting{name: "GRPC_ADDR", flag: "grpc-addr",
		field: func(c *Config) any { return &c.GRPCAddr },
		usage: "gRPC listen address (default localhost:50051)"}
	envHTTPAddr = &setting{name: "HTTP_ADDR", flag: "http-addr",
		field: func(c *Config) any { return &c.HTTPAddr },
		usage: "HTTP listen address: REST, /openapi.json, /docs, probes (default localhost:8000)"}
	envLogLevel = &setting{name: "LOG_LEVEL", flag: "log-level",
		field: func(c *Config) any { return &c.LogLevel },
		usage: "debug, info, warn or error (default info)"}
	envOpenAPIClientID = &setting{name: "OPENAPI_CLIENT_ID", flag: "openapi-client-id",
		field: func(c *Config) any { return &c.OpenAPIClientID },
		usage: "Swagger UI's app registration (single-page application)"}
	envOpenAPIScopes = &setting{name: "OPENAPI_SCOPES", flag: "openapi-scopes",
		field: func(c *Config) any { return &c.OpenAPIScopes },
		usage: "scopes Swagger UI preselects, short names, comma-separated (default: every scope of the document)"}
	envOpenAPIAuthorizationParams = &setting{name: "OPENAPI_AUTHORIZATION_PARAMS", flag: "openapi-authorization-params",
		field: func(c *Config) any { return &c.OpenAPIAuthorizationParams },
		usage: "query parameters Swagger UI adds to the sign-in request, e.g. prompt=select_account&domain_hint=contoso.com"}
	envCORSOrigins = &setting{name: "CORS_ORIGINS", flag: "cors-origins",
		field: func(c *Config) any { return &c.CORSOrigins },
		usage: "browser origins allowed to call the REST API, comma-separated"}
	envTLSCertFile = &setting{name: "TLS_CERT_FILE", flag: "tls-cert-file",
		field: func(c *Config) any { return &c.TLSCertFile },
		usage: "PEM certificate served by both listeners, reloaded when the file is replaced (with TLS_KEY_FILE)"}
	envTLSKeyFile = &setting{name: "TLS_KEY_FILE", flag: "tls-key-file",
		field: func(c *Config) any { return &c.TLSKeyFile },
		usage: "PEM private key of TLS_CERT_FILE"}
	envInsecurePlaintext = &setting{name: "INSECURE_PLAINTEXT", flag: "insecure-plaintext",
		field: func(c *Config) any { return &c.InsecurePlaintext },
		usage: "with a tenant and no TLS, listen off loopback anyway: TLS is terminated in front (ingress, Envoy, mesh)"}
	envMetricsAddr = &setting{name: "METRICS_ADDR", flag: "metrics-addr",
		field: func(c *Config) any { return &c.MetricsAddr },
		usage: "Prometheus metrics listen address, plain HTTP at /metrics (default: no metrics)"}

	settings = []*setting{
		envDevMode, envDevTLS, envTenantID, envClientID, envClientSecret, envAudiences, envAuthorityHost,
		envTokenVersions, envAllowedTenants, envAllowAnyTenant, envB2CPolicy, envAllowGuests, envAppSpecificKeys,
		envGRPCAddr, envHTTPAddr, envLogLevel, envOpenAPIClientID, envOpenAPIScopes, envOpenAPIAuthorizationParams, envCORSOrigins,
		envTLSCertFile, envTLSKeyFile, envInsecurePlaintext, envMetricsAddr,
	}
)

// String is the setting's variable name, for messages.
func (s *setting) String() string { return s.name }

// boolean reports whether the setting is true or false: its flag takes no
// value.
func (s *setting) boolean() bool {
	if s.own {
		return false
	}
	_, ok := s.field(&Config{}).(*bool)
	return ok
}

// read sets the setting's field of c from v, which is not blank.
func (s *setting) read(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if s.own {
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings[s.name] = v
		return nil
	}
	switch p := s.field(c).(type) {
	case *string:
		*p = v
	case *[]string:
		*p = list(v)
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s=%q: want true or false", s, v)
		}
		*p = b
	case *map[string]string:
		q, err := url.ParseQuery(v)
		if err != nil {
			return fmt.Errorf("%s=%q: want name=value&name=value: %w", s, v, err)
		}
		*p = make(map[string]string, len(q))
		for k, vs := range q {
			if len(vs) != 1 {
				return fmt.Errorf("%s: %s is given %d times", s, k, len(vs))
			}
			(*p)[k] = vs[0]
		}
	case *slog.Level:
		if err := p.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	case *[]entra.TokenVersion:
		for _, a := range list(v) {
			version := map[string]entra.TokenVersion{"1": entra.V1, "1.0": entra.V1, "2": entra.V2, "2.0": entra.V2}[a]
			switch {
			case version == "":
				return fmt.Errorf("%s=%q: want 1, 2 or 1,2", s, v)
			case slices.Contains(*p, version):
				return fmt.Errorf("%s=%q lists a version twice", s, v)
			}
			*p = append(*p, version)
		}
	}
	return nil
}

// isSet reports whether c gives the setting a value.
func (s *setting) isSet(c Config) bool {
	if s.own {
		return false
	}
	switch p := s.field(&c).(type) {
	case *string:
		return *p != ""
	case *[]string:
		return len(*p) > 0
	case *bool:
		return *p
	case *[]entra.TokenVersion:
		return len(*p) > 0
	}
	return false
}

// oldName is the name earlier versions read the setting by, or "".
func (s *setting) oldName() string {
	if !s.renamed {
		return ""
	}
	return "AZURE_" + strings.TrimPrefix(s.name, Prefix)
}

func lookupSetting(name string) (*setting, bool) { return lookup(settings, name) }

// lookup finds the setting name in rows.
func lookup(rows []*setting, name string) (*setting, bool) {
	i := slices.IndexFunc(rows, func(s *setting) bool { return s.name == name })
	if i < 0 {
		return nil, false
	}
	return rows[i], true
}

// table is the kit's settings followed by the program's own. A mistake in
// own (a name or flag taken twice, an AZUREAD_ name) is an error.
func table(own []Setting) ([]*setting, error) {
	rows := slices.Clone(settings)
	var errs []error
	for _, o := range own {
		s := &setting{name: o.Name, flag: o.Flag, usage: o.Usage, own: true}
		switch {
		case !ownName.MatchString(o.Name):
			errs = append(errs, fmt.Errorf("setting %q: want an upper-case name such as AUDIT_ADDR", o.Name))
		case strings.HasPrefix(o.Name, Prefix) || renamedTo(o.Name) != nil:
			errs = append(errs, fmt.Errorf("setting %s: %s names are the kit's", o.Name, Prefix))
		case slices.ContainsFunc(rows, func(r *setting) bool { return r.name == o.Name }):
			errs = append(errs, fmt.Errorf("setting %s is declared twice", o.Name))
		case o.Flag != "" && slices.ContainsFunc(rows, func(r *setting) bool { return r.flag == o.Flag }):
			errs = append(errs, fmt.Errorf("setting %s: flag -%s is taken", o.Name, o.Flag))
		case o.Flag == "h" || o.Flag == "help" || strings.HasPrefix(o.Flag, "-") || strings.ContainsAny(o.Flag, "= "):
			errs = append(errs, fmt.Errorf("setting %s: flag %q: want a name such as audit-addr", o.Name, o.Flag))
		default:
			rows = append(rows, s)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("server: %w", errors.Join(errs...))
	}
	return rows, nil
}

var ownName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// renamedTo is the setting an earlier version read as name, or nil. In the
// environment the old names belong to the Azure SDK and are left alone; in
// .env, which only this server reads, they are an error that names the new
// variable.
func renamedTo(name string) *setting {
	i := slices.IndexFunc(settings, func(s *setting) bool { return s.oldName() != "" && s.oldName() == name })
	if i < 0 {
		return nil
	}
	return settings[i]
}

// when is opts if cond holds.
func when(cond bool, opts ...entra.Option) []entra.Option {
	if !cond {
		return nil
	}
	return opts
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
	return loadConfig(environ, dotenv, settings, args)
}

// loadConfig is LoadConfig with the settings rows (the kit's and the
// program's own).
func loadConfig(environ []string, dotenv string, rows []*setting, args []string) (Config, error) {
	vars := map[string]string{}
	// from names where each variable was last set, for the errors.
	from := map[string]string{}
	var c Config
	var errs []error
	if dotenv != "" {
		data, err := os.ReadFile(dotenv)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := parseDotenv(data, vars, &c, rows); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", dotenv, err))
			}
			for k := range vars {
				from[k] = ".env"
			}
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(k)
		switch _, ok := lookup(rows, k); {
		case ok:
			vars[k], from[k] = v, "the environment"
		case strings.HasPrefix(upper, Prefix):
			_, known := lookupSetting(upper)
			switch {
			case known:
				c.miscased = append(c.miscased, fmt.Sprintf("%s in the environment (names are case-sensitive: %s)", k, upper))
			case strings.HasPrefix(k, Prefix):
				errs = append(errs, fmt.Errorf("unknown variable %s (known: %s)", k, strings.Join(names(), ", ")))
			default:
				c.foreign = append(c.foreign, k)
			}
		case renamedTo(upper) != nil:
			// Set at all, even blank: they look like a tenant.
			c.sdkVariables = append(c.sdkVariables, k)
		}
	}
	slices.Sort(c.sdkVariables)
	if err := parseFlags(args, vars, from, rows); err != nil {
		return Config{}, err
	}
	for _, s := range rows {
		v, ok := vars[s.name]
		switch {
		case !ok:
		case strings.TrimSpace(v) != "":
			if err := s.read(&c, v); err != nil {
				errs = append(errs, err)
			}
			if s.identity {
				c.given = append(c.given, s.name)
			}
		case strings.HasPrefix(s.name, Prefix):
			// strings.TrimSpace trims every Unicode space, NBSP included.
			c.blank = append(c.blank, fmt.Sprintf("%s is blank in %s", s, from[s.name]))
		}
	}
	if strings.TrimSpace(vars[envDevMode.name]) == "" {
		// Nothing says which identity provider to trust: development mode
		// only when nothing in the configuration looks like a tenant.
		c.DevMode = len(c.identitySettings()) == 0 && len(c.blank) == 0 && len(c.miscased) == 0 &&
			len(c.foreign) == 0 && len(c.sdkVariables) == 0
	}
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
// The tenancy rules are entra's: NewValidator checks the options, and its
// errors are said in the variables' names here.
func (c Config) check() []error {
	var errs []error
	noTenant := !c.DevMode && c.TenantID == ""
	if !noTenant {
		// Without a tenant the error below names them with the ways on.
		for _, b := range c.blank {
			errs = append(errs, fmt.Errorf("%s: give it a value or unset it", b))
		}
		for _, m := range c.miscased {
			errs = append(errs, errors.New(m))
		}
	}
	addrs := []struct {
		s    *setting
		addr string
	}{{envGRPCAddr, c.GRPCAddr}, {envHTTPAddr, c.HTTPAddr}}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port: %w", a.s, a.addr, err))
		}
	}
	errs = append(errs, c.checkTransport()...)
	if c.DevTLS && !c.DevMode {
		errs = append(errs, fmt.Errorf("%s=true is for development mode: with a tenant, set %s and %s", envDevTLS, envTLSCertFile, envTLSKeyFile))
	}
	if c.DevMode {
		// The development provider signs anyone in: nothing off this
		// machine may reach a server that trusts it.
		if c.TenantID != "" {
			errs = append(errs, fmt.Errorf("%s=true and %s are both set: a server with a tenant never trusts the development identity provider; unset one", envDevMode, envTenantID))
		} else if set := c.identitySettings(); len(set) > 0 {
			errs = append(errs, fmt.Errorf("%s need %s; leave every %s identity setting unset to run on the development identity provider", strings.Join(set, ", "), envTenantID, Prefix))
		}
		for _, a := range addrs {
			if host, _, err := net.SplitHostPort(a.addr); err == nil && !loopback.Host(host) {
				errs = append(errs, fmt.Errorf("%s=%q: development mode listens on loopback only (localhost, 127.0.0.1, [::1]); use a loopback address, or set %s and %s to trust a real tenant%s", a.s, a.addr, envTenantID, envClientID, c.sdkHint()))
			}
		}
		return errs
	}
	if noTenant {
		return append(errs, c.noTenant())
	}
	if c.ClientID == "" {
		errs = append(errs, fmt.Errorf("%s is required with %s%s", envClientID, envTenantID, c.sdkHint()))
	}
	if c.B2CPolicy != "" && c.AuthorityHost == "" {
		errs = append(errs, fmt.Errorf("%s needs %s: https://{name}.b2clogin.com or the B2C custom domain", envB2CPolicy, envAuthorityHost))
	}
	// The validator is built only to check the options (no network, no
	// cache); New builds the one that serves.
	if _, err := entra.NewValidator(append(c.validatorOptions(), entra.WithCacheSize(0))...); err != nil {
		for _, oe := range optionErrors(err) {
			if c.ClientID == "" && oe.Option == envClientID.option {
				continue // said above
			}
			errs = append(errs, inVariables(oe))
		}
	}
	return errs
}

// checkTransport returns the errors of the TLS and metrics settings.
//
// With a tenant and no TLS, a listener off loopback would take bearer
// tokens in plaintext (RFC 6750 §5.3 requires TLS): the server refuses to
// start unless INSECURE_PLAINTEXT=true says that TLS is terminated in front
// of it (an ingress, Envoy, a service mesh). Refusing rather than warning
// keeps the mistake out of production, where startup warnings go unread;
// the switch costs one line in a manifest and says what it means.
// Listeners on loopback (a sidecar proxy in the same pod) need no switch.
func (c Config) checkTransport() []error {
	var errs []error
	tlsOn := c.TLSCertFile != "" || c.TLSKeyFile != ""
	switch {
	case tlsOn && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		errs = append(errs, fmt.Errorf("%s and %s go together: set both or neither", envTLSCertFile, envTLSKeyFile))
	case tlsOn && c.DevMode:
		errs = append(errs, fmt.Errorf("%s: development mode serves plaintext on loopback; TLS is for a server with %s", envTLSCertFile, envTenantID))
	case tlsOn && c.InsecurePlaintext:
		errs = append(errs, fmt.Errorf("%s=true and %s contradict each other: set one", envInsecurePlaintext, envTLSCertFile))
	}
	if c.MetricsAddr != "" {
		host, _, err := net.SplitHostPort(c.MetricsAddr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s=%q: want host:port: %w", envMetricsAddr, c.MetricsAddr, err))
		case c.DevMode && !loopback.Host(host):
			errs = append(errs, fmt.Errorf("%s=%q: development mode listens on loopback only", envMetricsAddr, c.MetricsAddr))
		}
	}
	if tlsOn || c.DevMode || c.TenantID == "" || c.InsecurePlaintext {
		return errs
	}
	for _, a := range []struct {
		s    *setting
		addr string
	}{{envGRPCAddr, c.GRPCAddr}, {envHTTPAddr, c.HTTPAddr}} {
		if host, _, err := net.SplitHostPort(a.addr); err == nil && !loopback.Host(host) {
			errs = append(errs, fmt.Errorf("%s=%q would take bearer tokens in plaintext off loopback: set %s and %s, or %s=true when TLS is terminated in front of the server (ingress, Envoy, service mesh)", a.s, a.addr, envTLSCertFile, envTLSKeyFile, envInsecurePlaintext))
		}
	}
	return errs
}

// optionErrors are the entra.OptionErrors that err wraps, in order.
func optionErrors(err error) []*entra.OptionError {
	var out []*entra.OptionError
	var walk func(error)
	walk = func(err error) {
		if oe, ok := err.(*entra.OptionError); ok {
			out = append(out, oe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// inVariables says an entra option's problem in the names of the variables
// that set the options.
func inVariables(oe *entra.OptionError) error {
	byOption := func(option string) *setting {
		i := slices.IndexFunc(settings, func(s *setting) bool { return s.option == option })
		if i < 0 {
			return nil
		}
		return settings[i]
	}
	s := byOption(oe.Option)
	if s == nil {
		return oe
	}
	var fix []string
	for _, f := range oe.Fix {
		if fs := byOption(f); fs != nil {
			fix = append(fix, fs.name+map[bool]string{true: "=true", false: ""}[fs.boolean()])
		}
	}
	if len(fix) == 0 {
		return fmt.Errorf("%s: %s", s, oe.Problem)
	}
	return fmt.Errorf("%s: %s (%s)", s, oe.Problem, strings.Join(fix, " or "))
}

// noTenant is the error of a configuration that neither names a tenant nor
// runs development mode: it names what looked like a tenant, and the two
// ways on.
func (c Config) noTenant() error {
	var seen []string
	if set := c.identitySettings(); len(set) > 0 {
		seen = append(seen, strings.Join(set, ", ")+map[bool]string{true: " is set", false: " are set"}[len(set) == 1])
	}
	seen = append(append(seen, c.blank...), c.miscased...)
	if len(c.sdkVariables) > 0 {
		seen = append(seen, fmt.Sprintf("%s in the environment (the Azure SDK's credentials of this process, such as a workload identity's managed identity, never the API's tenant or audience)",
			strings.Join(c.sdkVariables, " and ")))
	}
	if len(c.foreign) > 0 {
		seen = append(seen, fmt.Sprintf("%s in the environment (another program's settings, not read)", strings.Join(c.foreign, " and ")))
	}
	if len(seen) == 0 {
		seen = append(seen, envDevMode.name+"=false")
	}
	return fmt.Errorf("no tenant, and development mode was not asked for; seen: %s. Set %s=… (with %s=…) to trust a tenant, or -%s (%s=true) to run on the development identity provider",
		strings.Join(seen, "; "), envTenantID, envClientID, envDevMode.flag, envDevMode)
}

// identitySettings names the identity settings c sets.
func (c Config) identitySettings() []string {
	var out []string
	for _, s := range settings {
		if s.identity && (s.isSet(c) || slices.Contains(c.given, s.name)) {
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

// logSDKVariables says, at startup, that the Azure SDK's variables are
// left alone. Next to a tenant they are a pod's workload identity; beside
// -dev, most likely a configuration from before AZUREAD_.
func (c Config) logSDKVariables(logger *slog.Logger) {
	if len(c.sdkVariables) == 0 {
		return
	}
	level := slog.LevelInfo
	if c.DevMode {
		level = slog.LevelWarn
	}
	logger.Log(context.Background(), level, fmt.Sprintf("Azure SDK variables are left to the Azure SDK: they are this process's own credentials (for example a workload identity's managed identity), never the API's tenant or audience, which are %s and %s", envTenantID, envClientID),
		"variables", c.sdkVariables, "development_mode", c.DevMode)
}

// validatorOptions are the entra options of a configuration with a tenant.
func (c Config) validatorOptions() []entra.Option {
	var opts []entra.Option
	for _, s := range settings {
		if s.entra != nil {
			opts = append(opts, s.entra(c)...)
		}
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
	s       *setting
	current string
}

func (f *flagValue) String() string { return f.current }
func (f *flagValue) Set(v string) error {
	f.vars[f.s.name], f.current = v, v
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.s.boolean() }

// newFlagSet returns the flags that mirror the variables of rows, setting
// vars.
func newFlagSet(vars map[string]string, rows []*setting) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range rows {
		if s.flag != "" {
			fs.Var(&flagValue{vars: vars, s: s}, s.flag, s.usage)
		}
	}
	return fs
}

// parseFlags sets vars from args, over what the environment and .env set,
// and notes in from the flags that set them.
func parseFlags(args []string, vars, from map[string]string, rows []*setting) error {
	fs := newFlagSet(vars, rows)
	err := fs.Parse(args)
	fs.Visit(func(f *flag.Flag) { from[f.Value.(*flagValue).s.name] = "flag -" + f.Name })
	if err != nil {
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

// usage writes the settings of rows, each flag with the variable it
// mirrors.
func usage(w io.Writer, rows []*setting) {
	fmt.Fprintln(w, "Flags override environment variables, which override ./.env:")
	for _, s := range rows {
		switch {
		case s.flag == "":
			fmt.Fprintf(w, "  %s (no flag)\n    \t%s\n", s.name, s.usage)
		case s.boolean():
			fmt.Fprintf(w, "  -%s\t(%s)\n    \t%s\n", s.flag, s.name, s.usage)
		default:
			fmt.Fprintf(w, "  -%s value\t(%s)\n    \t%s\n", s.flag, s.name, s.usage)
		}
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
//
// A known name in the wrong case is noted in c.miscased, not refused here:
// without a tenant, the error names it with the ways on.
func parseDotenv(data []byte, into map[string]string, c *Config, rows []*setting) error {
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
		if to := renamedTo(k); to != nil {
			return fmt.Errorf("line %d: %s is now %s: AZURE_ variables are the Azure SDK's credentials of this process (README, Configuration)", n, k, to)
		}
		if _, known := lookup(rows, k); !known {
			if s, ok := lookup(rows, strings.ToUpper(k)); ok && s.own {
				return fmt.Errorf("line %d: unknown variable %s (names are case-sensitive: %s)", n, k, s)
			} else if ok {
				c.miscased = append(c.miscased, fmt.Sprintf("%s in .env line %d (names are case-sensitive: %s)", k, n, strings.ToUpper(k)))
				continue
			}
			return fmt.Errorf("line %d: unknown variable %s", n, k)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		into[k] = v
	}
	return sc.Err()
}
