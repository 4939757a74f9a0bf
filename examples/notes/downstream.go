package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"

	auditv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/audit/v1"
)

// The audit log's settings. They name another service, not the notes API's
// identity, so they are not AZUREAD_ ones: they are the notes service's
// own, which server.MainFunc reads beside the kit's (flag, environment,
// .env) and -h lists.
var (
	auditAddr = server.Setting{Name: "AUDIT_ADDR", Flag: "audit-addr",
		Usage: "the audit log's gRPC address, host:port; unset, ReportNote is unavailable"}
	auditScope = server.Setting{Name: "AUDIT_SCOPE", Flag: "audit-scope",
		Usage: "the scope of the audit log's tokens asked for on behalf of callers: api://{its client ID}/.default"}
)

// auditFrom connects to the audit log that cfg's AUDIT_ADDR names, for the
// notes API that cfg configures. It returns nil when AUDIT_ADDR and
// AUDIT_SCOPE are unset.
func auditFrom(cfg server.Config) (auditv1.AuditServiceClient, error) {
	addr, scope := cfg.Settings[auditAddr.Name], cfg.Settings[auditScope.Name]
	if addr == "" && scope == "" {
		return nil, nil
	}
	conn, _, err := dialAudit(cfg, addr, scope, nil)
	if err != nil {
		return nil, err
	}
	return auditv1.NewAuditServiceClient(conn), nil
}

// dialAudit connects to the audit log at addr, for the notes API that cfg
// configures: each call carries the audit log's token (scope) for the user
// the handler serves, which the returned OnBehalfOf gets with the
// on-behalf-of grant from the token the user called with
// (bearer.CallerToken), authenticating as the notes API (AZUREAD_CLIENT_ID,
// AZUREAD_CLIENT_SECRET). idp is the HTTP client to the identity provider:
// nil for the Azure SDK's. The connection is TLS, or plaintext to loopback.
func dialAudit(cfg server.Config, addr, scope string, idp policy.Transporter) (*grpc.ClientConn, *bearer.OnBehalfOf, error) {
	switch {
	case addr == "" || scope == "":
		return nil, nil, fmt.Errorf("%s and %s go together: the audit log's host:port and api://{its client ID}/.default", auditAddr.Name, auditScope.Name)
	case cfg.DevMode || cfg.TenantID == "" || cfg.ClientID == "" || cfg.ClientSecret == "":
		// The development identity provider is served over plain HTTP, and
		// the Azure SDK talks to https authorities only.
		return nil, nil, fmt.Errorf("%s: calling the audit log on behalf of users needs the notes API's app registration in a tenant: AZUREAD_TENANT_ID, AZUREAD_CLIENT_ID and AZUREAD_CLIENT_SECRET (not the development identity provider: see the README)", auditAddr.Name)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%q: want host:port", auditAddr.Name, addr)
	}
	opts := azcore.ClientOptions{Transport: idp}
	if cfg.AuthorityHost != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimSuffix(cfg.AuthorityHost, "/") + "/"}
	}
	obo, err := bearer.NewOnBehalfOf(bearer.OnBehalfOfSecret(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
		&azidentity.OnBehalfOfCredentialOptions{ClientOptions: opts}), []string{scope})
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%q: %w", auditScope.Name, scope, err)
	}
	tc := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	if host == "localhost" || net.ParseIP(host).IsLoopback() { // plain text on loopback only
		tc = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tc), grpc.WithPerRPCCredentials(obo.PerRPCCredentials(bearer.CallerToken)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%q: %w", auditAddr.Name, addr, err)
	}
	return conn, obo, nil
}
