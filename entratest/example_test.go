package entratest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// The provider stands in for Entra ID in a test: point a validator at it
// and validate the tokens it issues.
func Example() {
	t := &testing.T{} // in a real test, the test's own *testing.T
	idp := entratest.NewServer(t)
	defer idp.Close()

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	claims, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read")))
	fmt.Println(claims.PreferredUsername, claims.Scopes, err)

	_, err = v.Validate(context.Background(), idp.Issue(entratest.SignedWithWrongKey()))
	fmt.Println(err)
	// Output:
	// bob Items.Read <nil>
	// invalid signature
}
