package entratest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// The provider stands in for Entra ID: a validator pointed at its authority
// takes the same path as in production (discovery, key set, signature,
// claims). In a test, entratest.NewServer(t) starts one on loopback in one
// line and closes it when the test ends; here, as in the development
// server, a Provider is mounted under a path prefix of another server.
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	idp, err := entratest.NewProvider(srv.URL + "/dev-idp")
	if err != nil {
		panic(err)
	}
	mux.Handle("/dev-idp/", idp)

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// A user token, made directly.
	claims, err := v.Validate(ctx, idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read")))
	fmt.Println(claims.PreferredUsername, claims.Scopes, err)

	// An app-only token, fetched from the token endpoint as a daemon would.
	resp, err := http.PostForm(idp.TokenURL(), url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {entratest.AdminDaemonClientID},
		"client_secret": {"dev-secret"},
		"scope":         {"api://" + idp.ClientID() + "/.default"},
	})
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := decodeJSON(resp, &body); err != nil {
		panic(err)
	}
	claims, err = v.Validate(ctx, body.AccessToken)
	fmt.Println(claims.ClientID(), claims.IsAppOnly(), claims.Roles, err)

	// Tokens that are wrong in one precise way.
	_, err = v.Validate(ctx, idp.Issue(entratest.SignedWithWrongKey()))
	fmt.Println(errors.Is(err, entra.ErrSignature))
	_, err = v.Validate(ctx, idp.Issue(entratest.HS256WithPublicKey()))
	fmt.Println(errors.Is(err, entra.ErrAlgorithm))
	// Output:
	// bob Items.Read <nil>
	// 9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d true Items.Admin Items.Export <nil>
	// true
	// true
}

func decodeJSON(resp *http.Response, v any) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
