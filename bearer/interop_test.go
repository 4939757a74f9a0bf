package bearer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// usGov is where the interop tests' identity provider answers: a real
// host name over TLS (the US Government cloud's), served on loopback.
const usGov = "https://login.microsoftonline.us"

// serviceA is the middle tier of the on-behalf-of tests: a confidential
// client of the identity provider, and a protected API of its own.
var serviceA = entratest.App{Name: "Service A", ClientID: "service-a", ClientSecret: "a-secret",
	ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a45"}

// newTLSProvider starts the identity provider as login.microsoftonline.us,
// with service A among its apps and a public client for device code.
func newTLSProvider(t *testing.T) *entratest.Server {
	return entratest.NewServerAt(t, usGov, entratest.WithApps(append(entratest.DefaultApps(), serviceA)...))
}

// azOptions are the Azure SDK client options that reach the provider: its
// host as the cloud's authority, its client (trusting its test CA) as the
// transport.
func azOptions(idp *entratest.Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: idp.Authority() + "/"},
		Transport: idp.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1}, // a failure is the answer, not a reason to wait
	}
}

// callBoth calls the Echo service over gRPC and over REST with src's
// tokens and returns who it saw each time.
func callBoth(t *testing.T, svc *protected, src *bearer.Source) (viaGRPC, viaREST map[string]any) {
	t.Helper()
	viaGRPC, err := svc.callGRPC(t.Context(), whoAmI, grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
	if err != nil {
		t.Fatalf("gRPC: %v", err)
	}
	code, viaREST := svc.callREST(t, &http.Client{Transport: src.Transport(nil)})
	if code != http.StatusOK {
		t.Fatalf("REST: %d", code)
	}
	return viaGRPC, viaREST
}

func checkCaller(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (caller %v)", k, got[k], v, got)
		}
	}
}

func TestAzureSDKCredentialsCallProtectedServices(t *testing.T) {
	idp := newTLSProvider(t)
	echo := serve(t, idp, idp.ClientID(), echoService, "WhoAmI", callerOf)
	apiDefault := idp.AppIDURI() + "/.default"
	bob := idp.Users()[1]
	daemon := idp.Apps()[0] // reporting-daemon, app role Items.Export

	tests := []struct {
		name   string
		cred   func(t *testing.T) azcore.TokenCredential
		scopes []string
		want   map[string]any
	}{
		{
			name: "a daemon with a client secret calls as itself",
			cred: func(t *testing.T) azcore.TokenCredential {
				c, err := azidentity.NewClientSecretCredential(idp.TenantID(), daemon.ClientID, daemon.ClientSecret,
					&azidentity.ClientSecretCredentialOptions{ClientOptions: azOptions(idp)})
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
			scopes: []string{apiDefault},
			want:   map[string]any{"app": true, "azp": daemon.ClientID, "oid": daemon.ObjectID, "roles": "Items.Export", "scp": ""},
		},
		{
			name: "a user signed in with a device code calls with the delegated scope",
			cred: func(t *testing.T) azcore.TokenCredential {
				c, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
					ClientOptions: azOptions(idp), TenantID: idp.TenantID(), ClientID: entratest.DefaultSPAClientID,
					// The user, on another device, enters the code: here
					// the test approves it as the credential shows it.
					UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
						if !strings.Contains(m.Message, m.UserCode) || m.VerificationURL != idp.DeviceLoginURL() {
							return errors.New("unexpected prompt: " + m.Message)
						}
						return idp.ApproveDeviceCode(m.UserCode, bob.Username)
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
			scopes: []string{idp.AppIDURI() + "/Items.Read"},
			want:   map[string]any{"app": false, "azp": entratest.DefaultSPAClientID, "oid": bob.ObjectID, "scp": "Items.Read", "user": bob.Username},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := bearer.FromAzure(tt.cred(t), tt.scopes)
			if err != nil {
				t.Fatal(err)
			}
			before := idp.Fetches().Token
			viaGRPC, viaREST := callBoth(t, echo, src)
			checkCaller(t, viaGRPC, tt.want)
			checkCaller(t, viaREST, tt.want)
			if n := idp.Fetches().Token - before; n != 1 {
				t.Errorf("%d tokens issued for two calls, want 1", n)
			}
		})
	}
}

func TestOAuth2ClientCredentialsCallProtectedServices(t *testing.T) {
	idp := newTLSProvider(t)
	echo := serve(t, idp, idp.ClientID(), echoService, "WhoAmI", callerOf)
	daemon := idp.Apps()[0]
	cfg := clientcredentials.Config{
		ClientID: daemon.ClientID, ClientSecret: daemon.ClientSecret, TokenURL: idp.TokenURL(),
		Scopes: []string{idp.AppIDURI() + "/.default"}, AuthStyle: oauth2.AuthStyleInParams,
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, idp.Client())
	src, err := bearer.FromOAuth2(cfg.TokenSource(ctx))
	if err != nil {
		t.Fatal(err)
	}
	viaGRPC, viaREST := callBoth(t, echo, src)
	want := map[string]any{"app": true, "azp": daemon.ClientID, "roles": "Items.Export"}
	checkCaller(t, viaGRPC, want)
	checkCaller(t, viaREST, want)
}

func TestOnBehalfOfServiceACallsServiceBAsTheUser(t *testing.T) {
	idp := newTLSProvider(t)
	// Service B: the provider's API.
	b := serve(t, idp, idp.ClientID(), echoService, "WhoAmI", callerOf)
	// Service A: protected for tokens to itself; its handler calls B on
	// behalf of its caller, through one connection shared by all callers.
	obo, err := bearer.NewOnBehalfOf(
		bearer.OnBehalfOfSecret(idp.TenantID(), serviceA.ClientID, serviceA.ClientSecret,
			&azidentity.OnBehalfOfCredentialOptions{ClientOptions: azOptions(idp)}),
		[]string{idp.AppIDURI() + "/Items.Read"})
	if err != nil {
		t.Fatal(err)
	}
	a := serve(t, idp, serviceA.ClientID, frontService, "WhoIsBehind", func(ctx context.Context) (*structpb.Struct, error) {
		who, err := b.callGRPC(ctx, whoAmI, grpc.WithPerRPCCredentials(obo.PerRPCCredentials(bearer.CallerToken)))
		if err != nil {
			return nil, err
		}
		return structpb.NewStruct(who)
	})
	bob := idp.Users()[1]
	userToA := idp.Issue(entratest.ForUser(bob.Username), entratest.Audience(serviceA.ClientID), entratest.Scopes("Items.Read"))
	src, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: userToA, TokenType: "Bearer"}))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("B sees the user, with A as the client application, over gRPC and REST", func(t *testing.T) {
		viaGRPC, err := a.callGRPC(t.Context(), whoIsBehind, grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		code, viaREST := a.callREST(t, &http.Client{Transport: src.Transport(nil)})
		if code != http.StatusOK {
			t.Fatalf("REST: %d", code)
		}
		// B's pairwise sub for bob: the one a token of bob's to B carries.
		want := map[string]any{"oid": bob.ObjectID, "sub": subOf(t, idp.Issue(entratest.ForUser(bob.Username))),
			"user": bob.Username, "scp": "Items.Read", "azp": serviceA.ClientID, "app": false}
		checkCaller(t, viaGRPC, want)
		checkCaller(t, viaREST, want)
	})
	t.Run("one exchange serves the same caller's later calls", func(t *testing.T) {
		before := idp.Fetches().Token
		if _, err := a.callGRPC(t.Context(), whoIsBehind, grpc.WithPerRPCCredentials(src.PerRPCCredentials())); err != nil {
			t.Fatal(err)
		}
		if n := idp.Fetches().Token - before; n != 0 || obo.Len() != 1 {
			t.Fatalf("%d more exchanges, %d cached, want 0 and 1", n, obo.Len())
		}
	})
	t.Run("a token B would not take to A is refused by A before any exchange", func(t *testing.T) {
		toB := idp.Issue(entratest.ForUser(bob.Username), entratest.Scopes("Items.Read"))
		wrong, _ := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: toB, TokenType: "Bearer"}))
		_, err := a.callGRPC(t.Context(), whoIsBehind, grpc.WithPerRPCCredentials(wrong.PerRPCCredentials()))
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("%v, want Unauthenticated", err)
		}
	})
}

func TestAzureSDKErrorsCarryTheAADSTSCode(t *testing.T) {
	idp := newTLSProvider(t)
	tests := []struct {
		name, code string
		cred       func() (azcore.TokenCredential, error)
		scope      string
	}{
		{"a wrong client secret", "AADSTS7000215", func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(idp.TenantID(), entratest.AdminDaemonClientID, "wrong",
				&azidentity.ClientSecretCredentialOptions{ClientOptions: azOptions(idp)})
		}, idp.AppIDURI() + "/.default"},
		{"a named scope with client credentials", "AADSTS1002012", func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(idp.TenantID(), entratest.AdminDaemonClientID, "dev-secret",
				&azidentity.ClientSecretCredentialOptions{ClientOptions: azOptions(idp)})
		}, idp.AppIDURI() + "/Items.Read"},
		{"an on-behalf-of assertion for another audience", "AADSTS50013", func() (azcore.TokenCredential, error) {
			return azidentity.NewOnBehalfOfCredentialWithSecret(idp.TenantID(), serviceA.ClientID, idp.Issue(), serviceA.ClientSecret,
				&azidentity.OnBehalfOfCredentialOptions{ClientOptions: azOptions(idp)})
		}, idp.AppIDURI() + "/Items.Read"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails with "+tt.code, func(t *testing.T) {
			cred, err := tt.cred()
			if err != nil {
				t.Fatal(err)
			}
			src, err := bearer.FromAzure(cred, []string{tt.scope})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(t.Context())
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) || !strings.Contains(err.Error(), tt.code) {
				t.Fatalf("%v, want an AuthenticationFailedError with %s", err, tt.code)
			}
		})
	}
}

func TestAnAuthorityTheAzureSDKDoesNotKnowNeedsDisableInstanceDiscovery(t *testing.T) {
	// MSAL asks login.microsoftonline.com about hosts it does not know;
	// the provider's client reaches the provider only.
	idp := entratest.NewServerAt(t, "https://idp.example.test")
	scope := []string{idp.AppIDURI() + "/.default"}
	for _, disable := range []bool{false, true} {
		cred, err := azidentity.NewClientSecretCredential(idp.TenantID(), entratest.AdminDaemonClientID, "dev-secret",
			&azidentity.ClientSecretCredentialOptions{ClientOptions: azOptions(idp), DisableInstanceDiscovery: disable})
		if err != nil {
			t.Fatal(err)
		}
		src, _ := bearer.FromAzure(cred, scope)
		_, err = src.Token(t.Context())
		if disable != (err == nil) || (!disable && !strings.Contains(err.Error(), "login.microsoftonline.com")) {
			t.Errorf("DisableInstanceDiscovery %v: %v", disable, err)
		}
	}
}

// subOf reads the sub claim of a token the test provider issued.
func subOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Sub == "" {
		t.Fatalf("no sub: %v", err)
	}
	return c.Sub
}

func TestOnBehalfOfEntriesEndWithTheIncomingToken(t *testing.T) {
	idp := newTLSProvider(t)
	clk := newClock()
	obo, err := bearer.NewOnBehalfOf(
		bearer.OnBehalfOfSecret(idp.TenantID(), serviceA.ClientID, serviceA.ClientSecret,
			&azidentity.OnBehalfOfCredentialOptions{ClientOptions: azOptions(idp)}),
		[]string{idp.AppIDURI() + "/Items.Read"}, bearer.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	// Service A's interceptor validated bob's token, which lives 10
	// minutes; the downstream token lives longer (an hour).
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(serviceA.ClientID), entra.WithHTTPClient(idp.Client()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := v.Validate(t.Context(), idp.Issue(entratest.ForUser("bob"), entratest.Audience(serviceA.ClientID),
		entratest.Scopes("Items.Read"), entratest.ExpiresIn(10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	handlerCtx := entra.NewContext(t.Context(), bob)
	assertion, exp, err := bearer.CallerToken(handlerCtx)
	if err != nil || assertion != bob.Token().Value() || !exp.Equal(bob.ExpiresAt) {
		t.Fatalf("CallerToken: %v, expiry %v, want the caller's token and its exp %v", err, exp, bob.ExpiresAt)
	}
	token := func() (string, error) { return obo.Token(handlerCtx, assertion, exp) }

	first, err := token()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		at       time.Time
		exchange bool  // whether the identity provider is asked
		err      error // nil: the cached downstream token
	}{
		{name: "just before the incoming token expires, the cached token serves", at: exp.Add(-time.Second)},
		{name: "within the clock skew past its expiry, the cached token serves", at: exp.Add(bearer.AssertionSkew - time.Second)},
		{name: "past its expiry and the skew, the entry is gone", at: exp.Add(bearer.AssertionSkew), err: bearer.ErrAssertionExpired},
		{name: "and stays gone", at: exp.Add(time.Hour), err: bearer.ErrAssertionExpired},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Add(st.at.Sub(clk.Now()))
			before := idp.Fetches().Token
			got, err := token()
			if n := idp.Fetches().Token - before; n != 0 {
				t.Fatalf("%d exchanges", n)
			}
			if st.err == nil {
				if err != nil || got != first {
					t.Fatalf("%v: not the cached token", err)
				}
				return
			}
			if !errors.Is(err, st.err) || got != "" {
				t.Fatalf("got a token %t, %v, want %v", got != "", err, st.err)
			}
			if obo.Len() != 0 {
				t.Fatalf("%d entries cached", obo.Len())
			}
		})
	}
}
