// Command notes is a notes service protected with grpc-azure-auth, written
// as a team adopting the library writes its own: NoteService and
// AboutService (proto/notes/v1/notes.proto) over gRPC and REST, with their
// OpenAPI document and Swagger UI. ReportNote calls a second protected
// service, the audit log (./cmd/auditlog), on behalf of the caller.
//
//	go run .
//
// serves gRPC on localhost:50051 and HTTP on localhost:8000 (GRPC_ADDR,
// HTTP_ADDR), on the embedded development identity provider unless
// AZUREAD_TENANT_ID names a tenant; -h lists every setting. AUDIT_ADDR and
// AUDIT_SCOPE (-audit-addr, -audit-scope), settings of the notes service's
// own that the kit reads beside its own, .env included, name the audit log
// (downstream.go).
package main

import (
	_ "embed"

	"google.golang.org/grpc"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"

	auditv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/audit/v1"
	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// openAPI is the document protoc-gen-openapiv2 wrote; the server completes
// it from the rules in notes.proto.
//
//go:embed gen/notes.swagger.json
var openAPI []byte

func main() {
	server.MainFunc(build, auditAddr, auditScope)
}

// build is the notes server for the configuration the kit loaded: the
// services, calling the audit log when AUDIT_ADDR names it.
func build(cfg server.Config) ([]server.Option, error) {
	audit, err := auditFrom(cfg)
	if err != nil {
		return nil, err
	}
	return options(audit), nil
}

// options are the notes services, calling the audit log audit (nil for
// none); the tests serve exactly these.
func options(audit auditv1.AuditServiceClient) []server.Option {
	notes := NewNotes(audit)
	return []server.Option{
		server.WithServices(
			server.Service{
				Register:        func(s grpc.ServiceRegistrar) { notesv1.RegisterNoteServiceServer(s, notes) },
				RegisterGateway: notesv1.RegisterNoteServiceHandler,
			},
			server.Service{
				Register:        func(s grpc.ServiceRegistrar) { notesv1.RegisterAboutServiceServer(s, About{}) },
				RegisterGateway: notesv1.RegisterAboutServiceHandler,
			},
		),
		server.WithOpenAPI(openAPI),
		server.WithDevIdentityProvider(devidp.WithUsers(ann, ben), devidp.WithApps(backupDaemon, offboardingDaemon)),
	}
}
