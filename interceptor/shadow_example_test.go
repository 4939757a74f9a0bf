package interceptor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// Try a stricter rule before enforcing it: Own's shadow rule needs the
// scopes Items.Read and Items.Share, its rule Items.Read. A caller with
// Items.Read alone is let in, and the hook (metrics.ShadowHook in a
// server) learns that the shadow rule would have refused it.
func ExampleWithShadowHook() {
	mux := http.NewServeMux()
	web := httptest.NewServer(mux)
	defer web.Close()
	idp, err := entratest.NewProvider(web.URL + "/idp")
	if err != nil {
		panic(err)
	}
	mux.Handle("/idp/", idp)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	authz, err := interceptor.New(v,
		interceptor.WithPolicy(authztest.Policy()),
		interceptor.WithLogger(slog.New(slog.DiscardHandler)),
		interceptor.WithShadowHook(func(_ context.Context, d interceptor.ShadowDecision) {
			fmt.Printf("%s: enforced %s, shadow %s\n", d.FullMethod, d.Enforced, d.Shadow)
		}),
	)
	if err != nil {
		panic(err)
	}
	const ann = "0b9f4c2e-5a61-4d7e-8c3b-2f1e0d9c8b7a"
	token := idp.Issue(entratest.Claim("oid", ann), entratest.Scopes("Items.Read"))
	// Own's rule has a condition on the request: ann reads her own note.
	_, err = authz.AuthorizeRequest(context.Background(), authztest.Own, []string{"Bearer " + token}, authztest.NewNoteRequest(ann, ""))
	fmt.Println("allowed:", err == nil)
	// Output:
	// /authztest.v1.Guarded/Own: enforced ALLOWED, shadow INSUFFICIENT_SCOPE
	// allowed: true
}
