// Package server runs the example API of grpc-azure-auth: the ItemService
// and InfoService of proto/example, protected by the interceptor, on gRPC
// (GRPC_ADDR) with health and reflection, and an HTTP listener (HTTP_ADDR).
//
// Without AZURE_TENANT_ID it embeds the development identity provider of
// package entratest under /dev-idp on the HTTP listener and trusts it alone,
// so the whole stack runs with no Azure tenant. Since that provider signs
// anyone in, the HTTP listener then answers only requests whose Host is
// localhost, 127.0.0.1, [::1] or the listener's own address (with or
// without a port), and refuses others with 421 Misdirected Request: a web
// page that rebinds its own domain to 127.0.0.1 still sends that domain as
// Host.
package server
