// Package server runs the example API of grpc-azure-auth: the ItemService
// and InfoService of proto/example, protected by the interceptor, on gRPC
// (GRPC_ADDR) with health and reflection, and an HTTP listener (HTTP_ADDR).
//
// Without AZURE_TENANT_ID it embeds the development identity provider of
// package entratest under /dev-idp on the HTTP listener and trusts it alone,
// so the whole stack runs with no Azure tenant.
package server
