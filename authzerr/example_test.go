package authzerr_test

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

// A client branches on the reason of a denial, never on its message.
func ExampleFromError() {
	// What a call to a method whose rule is scope Items.Write answers a
	// token without it.
	err := authzerr.New(codes.PermissionDenied, authzerr.ReasonInsufficientScope, "requires scope Items.Write",
		map[string]string{authzerr.MetadataScopes: "Items.Write"})

	switch info := authzerr.FromError(err); info.GetReason() {
	case authzerr.ReasonTokenExpired:
		fmt.Println("sign in again")
	case authzerr.ReasonInsufficientScope:
		fmt.Println("ask for consent to", info.GetMetadata()[authzerr.MetadataScopes])
	}
	fmt.Printf("%q\n", authzerr.FromError(status.Error(codes.NotFound, "no item")).GetReason())
	// Output:
	// ask for consent to Items.Write
	// ""
}
