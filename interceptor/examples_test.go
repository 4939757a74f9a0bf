package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
)

// Protect a gRPC server: validate tokens of one tenant, enforce the rules
// declared in the protos, and exempt the health service with the selector.
// The test identity provider stands in for Entra ID.
func Example() {
	idp := entratest.NewServer(&testing.T{})
	defer idp.Close()

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()), // omit for Entra ID's public cloud
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	authz, err := interceptor.New(v) // rules of every service linked in
	if err != nil {
		panic(err)
	}
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(authz.UnaryServerInterceptor(), notHealth)),
		grpc.ChainStreamInterceptor(selector.StreamServerInterceptor(authz.StreamServerInterceptor(), notHealth)),
	)
	itemsv1.RegisterItemServiceServer(srv, items.New())
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(lis)
	defer srv.Stop()

	conn, _ := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	items := itemsv1.NewItemServiceClient(conn)
	call := func(token string) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
		_, err := items.CreateItem(ctx, &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "pen"}})
		fmt.Println(strings.TrimSpace(status.Code(err).String() + " " + status.Convert(err).Message()))
	}
	call(idp.Issue(entratest.Scopes("Items.Write")))
	call(idp.Issue(entratest.Scopes("Items.Read")))
	call("not-a-token")
	// Output:
	// OK
	// PermissionDenied requires scope Items.Write
	// Unauthenticated invalid token: malformed token
}

// In a handler, the caller is in the context.
func ExampleAuthorizer_AuthFunc() {
	handler := func(ctx context.Context) string {
		caller, ok := entra.FromContext(ctx)
		if !ok {
			return "anonymous"
		}
		return caller.Name + " " + caller.Scopes.String()
	}
	ctx := entra.NewContext(context.Background(), &entra.Claims{Name: "Bob", Scopes: entra.NewSet("Items.Read")})
	fmt.Println(handler(ctx))
	fmt.Println(handler(context.Background()))
	// Output:
	// Bob Items.Read
	// anonymous
}
