package entra_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// An API without a way to Entra ID (air-gapped, or a test) validates with
// a key set saved beforehand: no discovery document, no HTTP. The issuer
// is the one Entra gives the tenant's v2 tokens.
func ExampleNewStaticKeySet() {
	// Standing in for Entra ID, the test identity provider, as a handler
	// that never listens: it signs the tokens and gives its key set.
	idp, err := entratest.NewProvider(entra.PublicCloud)
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, idp.JWKSURL(), nil))
	jwks := rec.Body.Bytes() // in production, saved from https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys

	keys, err := entra.NewStaticKeySet(jwks)
	if err != nil {
		panic(err)
	}
	v, err := entra.NewValidator(
		entra.WithKeySet(keys),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	c, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read")))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Issuer == entra.PublicCloud+"/"+idp.TenantID()+"/v2.0", c.PreferredUsername, c.Scopes)

	_, err = v.Validate(context.Background(), idp.Issue(entratest.SignedWithUnknownKey()))
	fmt.Println(errors.Is(err, entra.ErrUnknownKey))
	// Output:
	// true bob Items.Read
	// true
}
