// Command notes is a notes service protected with grpc-azure-auth, written
// as a team adopting the library writes its own: NoteService and
// AboutService (proto/notes/v1/notes.proto) over gRPC and REST, with their
// OpenAPI document and Swagger UI.
//
//	go run .
//
// serves gRPC on localhost:50051 and HTTP on localhost:8000 (GRPC_ADDR,
// HTTP_ADDR), on the embedded development identity provider unless
// AZUREAD_TENANT_ID names a tenant; -h lists every setting.
package main

import (
	_ "embed"

	"google.golang.org/grpc"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"

	notesv1 "github.com/grpc-azure-auth/grpc-azure-auth/examples/notes/gen/notes/v1"
)

// openAPI is the document protoc-gen-openapiv2 wrote; the server completes
// it from the rules in notes.proto.
//
//go:embed gen/notes.swagger.json
var openAPI []byte

func main() {
	server.Main(options()...)
}

// options are the notes services; the tests serve exactly these.
func options() []server.Option {
	notes := NewNotes()
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
		server.WithDevIdentityProvider(entratest.WithUsers(ann, ben), entratest.WithApps(backupDaemon, offboardingDaemon)),
	}
}
