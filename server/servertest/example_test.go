package servertest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/exampletb"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// A test of a service starts it in development mode in one line, then
// calls it over gRPC (srv.Conn) and REST (srv.HTTPURL()) with tokens of
// the development identity provider. In a test, t is the test's
// *testing.T; an Example has none, so exampletb stands in for it.
func ExampleStart() {
	t := new(exampletb.TB)
	defer t.Close()

	srv := servertest.Start(t, server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"},
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}),
		server.WithLogger(slog.New(slog.DiscardHandler)))

	client := itemsv1.NewItemServiceClient(srv.Conn)
	_, err := client.ListItems(context.Background(), &itemsv1.ListItemsRequest{})
	fmt.Println("without a token:", status.Code(err))
	bob := srv.DevIDP().Issue(devidp.ForUser("bob"), devidp.Scopes("Items.Read"))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bob)
	list, err := client.ListItems(ctx, &itemsv1.ListItemsRequest{})
	fmt.Println("bob:", len(list.GetItems()), "items", err)
	_, err = client.CreateItem(ctx, &itemsv1.CreateItemRequest{Item: &itemsv1.Item{Name: "x"}})
	fmt.Println("bob creates:", status.Code(err))

	resp, err := http.Get(srv.HTTPURL() + "/readyz")
	if err != nil {
		t.Fatalf("%v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("/readyz: %s %s", resp.Status, body)
	// Output:
	// without a token: Unauthenticated
	// bob: 3 items <nil>
	// bob creates: PermissionDenied
	// /readyz: 200 OK ready
}
