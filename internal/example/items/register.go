package items

import (
	"context"
	_ "embed"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
)

//go:embed api.swagger.json
var document []byte

// OpenAPI returns the example's document as protoc-gen-openapiv2 wrote it,
// before the serving kit completes it from the rules.
func OpenAPI() []byte { return append([]byte(nil), document...) }

// Register registers a new inventory ([New]) and the InfoService on s.
func Register(s grpc.ServiceRegistrar) {
	itemsv1.RegisterItemServiceServer(s, New())
	itemsv1.RegisterInfoServiceServer(s, &Info{Name: "grpc-azure-auth example"})
}

// RegisterGateway registers the REST handlers of both services.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := itemsv1.RegisterItemServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return itemsv1.RegisterInfoServiceHandler(ctx, mux, conn)
}
