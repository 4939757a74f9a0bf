package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// startProvider serves the test identity provider on loopback, standing in
// for https://login.microsoftonline.com.
func startProvider() (*entratest.Provider, func()) {
	srv := httptest.NewUnstartedServer(nil)
	idp, err := entratest.NewProvider("http://" + srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	srv.Config.Handler = idp
	srv.Start()
	return idp, srv.Close
}

// A validator for a single-tenant API: its tenant and the aud values its
// tokens carry. In production the authority host is Entra's
// (entra.PublicCloud, the default); here the test identity provider's.
func ExampleNewValidator() {
	idp, stop := startProvider()
	defer stop()

	v, err := entra.NewValidator(
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID(), idp.AppIDURI()),
	)
	if err != nil {
		panic(err)
	}
	c, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read")))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.PreferredUsername, c.Scopes, c.HasScope("Items.Read"), c.HasScope("items.read"))

	// An ID token is signed by the same issuer for the same audience, but
	// is not an access token.
	_, err = v.Validate(context.Background(), idp.Issue(entratest.IDToken(), entratest.Roles("Items.Admin")))
	fmt.Println(errors.Is(err, entra.ErrNotAccessToken))

	// Configuration problems are errors of NewValidator, all at once.
	_, err = entra.NewValidator(entra.WithTenant("consumers"))
	fmt.Println(err != nil)
	// Output:
	// bob Items.Read true false
	// true
	// true
}

// Decode reads claims that Claims has no field for into a struct, with
// exact names, and says what does not fit.
func ExampleClaims_Decode() {
	idp, stop := startProvider()
	defer stop()
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	if err != nil {
		panic(err)
	}
	c, err := v.Validate(context.Background(), idp.Issue(entratest.Claim("xms_tdbr", "EU"), entratest.Claim("ctry", "FR")))
	if err != nil {
		panic(err)
	}
	var extra struct {
		DataBoundary string `json:"xms_tdbr"`
		Country      string `json:"ctry"`
		CTRY         string `json:"CTRY"` // exact names: never filled from "ctry"
	}
	err = c.Decode(&extra)
	fmt.Printf("%q %q %q %v\n", extra.DataBoundary, extra.Country, extra.CTRY, err)

	var wrong struct {
		Country int `json:"ctry"`
	}
	fmt.Println(c.Decode(&wrong) != nil)
	// Output:
	// "EU" "FR" "" <nil>
	// true
}

// A handler calls a downstream API on the caller's behalf with the
// caller's own token (on-behalf-of). The Token never shows itself in logs,
// errors or JSON; Value gives it for the request that needs it.
func ExampleClaims_Token() {
	idp, stop := startProvider()
	defer stop()
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	if err != nil {
		panic(err)
	}
	raw := idp.Issue()
	c, err := v.Validate(context.Background(), raw)
	if err != nil {
		panic(err)
	}
	tok := c.Token()

	fmt.Println(tok, fmt.Sprintf("%q %#v %x", tok, tok, tok))
	b, _ := json.Marshal(map[string]any{"token": tok})
	fmt.Println(string(b))
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("calling the downstream API", "token", tok)

	// The assertion of an on-behalf-of request:
	// form.Set("assertion", tok.Value())
	fmt.Println(tok.Value() == raw)
	// Output:
	// [REDACTED] [REDACTED] [REDACTED] [REDACTED]
	// {"token":"[REDACTED]"}
	// level=INFO msg="calling the downstream API" token=[REDACTED]
	// true
}
