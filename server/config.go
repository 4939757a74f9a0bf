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
	"strings"
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
}

// Dev reports whether the server runs on the embedded development identity
// provider.
func (c Config) Dev() bool { return c.TenantID == "" }

// variables lists every variable LoadConfig reads.
var variables = []string{
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_AUDIENCES", "AZURE_AUTHORITY_HOST",
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
	switch {
	case c.Dev() && (c.ClientID != "" || len(c.Audiences) > 0 || c.AuthorityHost != ""):
		errs = append(errs, errors.New("AZURE_CLIENT_ID, AZURE_AUDIENCES and AZURE_AUTHORITY_HOST need AZURE_TENANT_ID; leave all unset to run on the development identity provider"))
	case c.Dev():
		if host, _, _ := net.SplitHostPort(c.HTTPAddr); !isLoopbackHost(host) {
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

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
