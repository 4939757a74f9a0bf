// Command auditlog serves the audit log that the notes service calls on
// behalf of its users (proto/audit/v1/audit.proto), over gRPC:
//
//	AZUREAD_TENANT_ID=… AZUREAD_CLIENT_ID={audit log's client ID} GRPC_ADDR=localhost:50052 HTTP_ADDR=localhost:8002 go run ./cmd/auditlog
//
// Its settings are the kit's (-h lists them); see the example's README.
package main

import (
	"github.com/grpc-azure-auth/grpc-azure-auth/server"

	"github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/auditlog"
)

func main() {
	server.Main(auditlog.Options()...)
}
