package interceptor_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// Protect a gRPC server: validate tokens of one tenant, enforce the rules
// declared in the protos, and exempt the health service with the selector.
// The test identity provider stands in for Entra ID; in a test,
// entratest.NewServer(t) starts it in one line.
func ExampleNew() {
	mux := http.NewServeMux()
	web := httptest.NewServer(mux)
	defer web.Close()
	idp, err := entratest.NewProvider(web.URL + "/idp")
	if err != nil {
		panic(err)
	}
	mux.Handle("/idp/", idp)

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()), // omit for Entra ID's public cloud
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	// Without WithPolicy: the rules of every generated service linked in.
	authz, err := interceptor.New(v, interceptor.WithPolicy(authztest.Policy()))
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
	// Your generated Register…Server functions go here.
	srv.RegisterService(authztest.ItemsDesc, authztest.NewItems())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	items := authztest.Client{Conn: conn}
	call := func(token string) {
		_, err := items.Create(authztest.WithToken(token), "pen") // a method whose rule is scope Items.Write
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
func Example_caller() {
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

// A check no rule can express, made in the handler: only the item's owner
// may delete it. The answer is a rule denial's: PermissionDenied with
// INSUFFICIENT_SCOPE, 403 with an insufficient_scope challenge over REST.
func ExampleDeny() {
	deleteItem := func(ctx context.Context, owner string) error {
		caller, _ := entra.FromContext(ctx)
		if caller == nil || caller.ObjectID != owner {
			return interceptor.Deny(ctx, "only the item's owner may delete it")
		}
		return nil // delete it
	}
	bob := entra.NewContext(context.Background(), &entra.Claims{ObjectID: "bob-oid", Scopes: entra.NewSet("Items.Write")})
	fmt.Println(deleteItem(bob, "bob-oid"))
	err := deleteItem(bob, "alice-oid")
	fmt.Println(status.Code(err), authzerr.FromError(err).GetReason(), status.Convert(err).Message())
	err = deleteItem(context.Background(), "alice-oid") // an anonymous method called without a token
	fmt.Println(status.Code(err), authzerr.FromError(err).GetReason())
	// Output:
	// <nil>
	// PermissionDenied INSUFFICIENT_SCOPE only the item's owner may delete it
	// Unauthenticated TOKEN_MISSING
}

// A scope required by one branch of a handler gets the very answer a rule
// naming it gets.
func ExampleRequireScope() {
	reader := entra.NewContext(context.Background(), &entra.Claims{Scopes: entra.NewSet("Items.Read")})
	err := interceptor.RequireScope(reader, "Items.Write")
	info := authzerr.FromError(err)
	fmt.Println(status.Code(err), status.Convert(err).Message())
	fmt.Println(info.GetReason(), info.GetMetadata()[authzerr.MetadataScopes])
	fmt.Println(interceptor.RequireScope(reader, "Items.Read"))
	// Output:
	// PermissionDenied requires scope Items.Write
	// INSUFFICIENT_SCOPE Items.Write
	// <nil>
}
