package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// A step-up end to end: azidentity's device-code credential signs alice
// in at the identity provider over TLS (as login.microsoftonline.us, on
// loopback); the real interceptor and gateway challenge her token, which
// lacks the authentication context c1; bearer answers the challenge, over
// REST by itself and over gRPC with its helpers, and the retried call
// succeeds with a token that carries c1.
func TestStepUpEndToEndWithAzidentity(t *testing.T) {
	idp := entratest.NewServerAt(t, "https://login.microsoftonline.us")
	var (
		mu        sync.Mutex
		decisions []string
	)
	authz, _ := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	}, interceptor.WithDecisionHook(func(_ context.Context, d interceptor.Decision) {
		if d.FullMethod == authztest.StepUp {
			mu.Lock()
			defer mu.Unlock()
			decisions = append(decisions, string(d.Outcome)+" "+d.Reason)
		}
	}))
	conn := authztest.Serve(t, authz, authztest.NewItems(), nil)
	h, err := gateway.New(context.Background(), conn, []gateway.RegisterFunc{authztest.RegisterREST},
		gateway.WithChallenge(gateway.Challenge{Realm: "grpc-azure-auth", AuthorizationURI: idp.AuthorizeURL(), ClientID: idp.ClientID()}))
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		d := decisions
		decisions = nil
		return d
	}

	source := func(t *testing.T, opts ...bearer.Option) *bearer.Source {
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: idp.Authority() + "/"},
				Transport: idp.Client(),
				Retry:     azpolicy.RetryOptions{MaxRetries: -1},
			},
			TenantID: idp.TenantID(), ClientID: entratest.DefaultSPAClientID,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				return idp.ApproveDeviceCode(m.UserCode, "alice")
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		src, err := bearer.FromAzure(cred, []string{idp.AppIDURI() + "/Items.Write"}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	deleteREST := func(t *testing.T, src *bearer.Source) *http.Response {
		req, err := http.NewRequest(http.MethodDelete, web.URL+"/v1/stepup", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: src.Transport(nil)}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	dial := func(t *testing.T, src *bearer.Source, opts ...grpc.DialOption) *grpc.ClientConn {
		c, err := grpc.NewClient(conn.Target(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(src.PerRPCCredentials())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	stepUp := func(ctx context.Context, c *grpc.ClientConn) error {
		return c.Invoke(ctx, authztest.StepUp, &emptypb.Empty{}, &emptypb.Empty{})
	}

	t.Run("REST: the Transport answers the 401 and the retry succeeds", func(t *testing.T) {
		if resp := deleteREST(t, source(t, bearer.WithCP1())); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s, want 200 after the step-up", resp.Status)
		}
		if got := strings.Join(taken(), "; "); got != "unauthenticated INSUFFICIENT_CLAIMS; allowed " {
			t.Fatalf("decisions %q: want the challenge, then the stepped-up call allowed", got)
		}
	})
	t.Run("gRPC: ClaimsChallenge and ContextWithClaims", func(t *testing.T) {
		c := dial(t, source(t, bearer.WithCP1()))
		err := stepUp(t.Context(), c)
		claims, ok := bearer.ClaimsChallenge(err)
		if !ok || claims != `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}` {
			t.Fatalf("%v: ClaimsChallenge = %q, %v", err, claims, ok)
		}
		if err := stepUp(bearer.ContextWithClaims(t.Context(), claims), c); err != nil {
			t.Fatalf("the call with the challenge's claims: %v", err)
		}
		taken()
	})
	t.Run("gRPC: the unary client interceptor retries by itself", func(t *testing.T) {
		src := source(t, bearer.WithCP1())
		if err := stepUp(t.Context(), dial(t, src, grpc.WithUnaryInterceptor(src.UnaryClientInterceptor()))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(taken(), "; "); got != "unauthenticated INSUFFICIENT_CLAIMS; allowed " {
			t.Fatalf("decisions %q", got)
		}
	})
	t.Run("a client without cp1 is refused, naming the context", func(t *testing.T) {
		src := source(t)
		if resp := deleteREST(t, src); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("REST: %s, want 403", resp.Status)
		}
		err := stepUp(t.Context(), dial(t, src))
		if status.Code(err) != codes.PermissionDenied || authzerr.FromError(err).GetReason() != authzerr.ReasonAuthContextRequired ||
			authzerr.FromError(err).GetMetadata()[authzerr.MetadataAuthContexts] != "c1" {
			t.Fatalf("gRPC: %v", err)
		}
	})
}
