package bearer_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/exampletb"
)

// A daemon calls a protected gRPC API as itself: client credentials with
// azidentity, for the API's .default scope. In production the credential
// is azidentity.NewClientSecretCredential(tenantID, clientID, secret, nil)
// (or managed identity, workload identity…) and the scope
// "api://{API client ID}/.default"; here the test identity provider
// answers as the US Government cloud's login host.
func ExampleSource_PerRPCCredentials() {
	tb := new(exampletb.TB)
	defer tb.Close()
	idp := entratest.NewServerAt(tb, "https://login.microsoftonline.us")
	cred, err := azidentity.NewClientSecretCredential(idp.TenantID(), entratest.ReportingDaemonClientID, "dev-secret",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: idp.Authority() + "/"},
			Transport: idp.Client(), // trusts the test provider's certificate
		}})
	if err != nil {
		panic(err)
	}
	src, err := bearer.FromAzure(cred, []string{idp.AppIDURI() + "/.default"})
	if err != nil {
		panic(err)
	}

	addr, stop := startGRPCServer(idp) // a server on loopback that says who called
	defer stop()
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // loopback only: use TLS elsewhere
		grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	who := new(wrapperspb.StringValue)
	if err := conn.Invoke(context.Background(), "/example.v1.Echo/WhoAmI", &emptypb.Empty{}, who); err != nil {
		panic(err)
	}
	fmt.Println(who.GetValue())
	// Output: 7e1d2c3b-4a5f-4b6c-8d7e-9f0a1b2c3d4e roles=Items.Export
}

// An HTTP client calls a protected REST API with a token from x/oauth2's
// client credentials.
func ExampleSource_Transport() {
	tb := new(exampletb.TB)
	defer tb.Close()
	idp := entratest.NewServer(tb)
	cfg := clientcredentials.Config{
		ClientID: entratest.AdminDaemonClientID, ClientSecret: "dev-secret", TokenURL: idp.TokenURL(),
		Scopes: []string{idp.AppIDURI() + "/.default"},
	}
	src, err := bearer.FromOAuth2(cfg.TokenSource(context.Background()))
	if err != nil {
		panic(err)
	}
	api := httptest.NewServer(whoAmIHandler(idp))
	defer api.Close()

	client := &http.Client{Transport: src.Transport(nil)}
	resp, err := client.Get(api.URL + "/v1/whoami")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	fmt.Println(resp.Header.Get("Caller"))
	// Output:
	// 200 OK
	// 9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d roles=Items.Admin Items.Export
}

// Service A, called by a user, calls service B on behalf of that user:
// the on-behalf-of grant exchanges the user's token to A for a token to B,
// for the same user, with A as the client application.
func ExampleOnBehalfOf() {
	a := entratest.App{Name: "Service A", ClientID: "service-a", ClientSecret: "a-secret"}
	tb := new(exampletb.TB)
	defer tb.Close()
	idp := entratest.NewServerAt(tb, "https://login.microsoftonline.us",
		entratest.WithApps(append(entratest.DefaultApps(), a)...))

	// Once, when service A starts.
	obo, err := bearer.NewOnBehalfOf(
		bearer.OnBehalfOfSecret(idp.TenantID(), a.ClientID, a.ClientSecret, &azidentity.OnBehalfOfCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: idp.Authority() + "/"},
				Transport: idp.Client(),
			}}),
		[]string{idp.AppIDURI() + "/Items.Read"}) // service B's scope
	if err != nil {
		panic(err)
	}

	// In a handler of service A, with the token bob called it with, which
	// A's interceptor validated; the connection to B would use
	// obo.PerRPCCredentials(bearer.CallerToken) or obo.Transport(…).
	validatorFor := func(aud string) *entra.Validator {
		v, _ := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
			entra.WithAudiences(aud), entra.WithHTTPClient(idp.Client()), entra.WithLogger(quiet))
		return v
	}
	bobToA := idp.Issue(entratest.ForUser("bob"), entratest.Audience(a.ClientID), entratest.Scopes("Items.Read"))
	bob, err := validatorFor(a.ClientID).Validate(context.Background(), bobToA)
	if err != nil {
		panic(err)
	}
	tokenToB, err := obo.Token(context.Background(), bob.Token().Value(), bob.ExpiresAt)
	if err != nil {
		panic(err)
	}

	// Service B validates it as any token.
	c, err := validatorFor(idp.ClientID()).Validate(context.Background(), tokenToB)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.PreferredUsername, c.Scopes, "via", c.ClientID())
	// Output: bob Items.Read via service-a
}

// Tokens do not go in plaintext to hosts other than loopback.
func ExampleErrInsecureTransport() {
	src, _ := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "never-sent"}))
	client := &http.Client{Transport: src.Transport(nil)}
	_, err := client.Get("http://api.example.com/v1/items")
	fmt.Println(err)
	// Output: Get "http://api.example.com/v1/items": bearer: refusing to send a token unencrypted to a host other than loopback
}

// quiet discards the validators' logs.
var quiet = slog.New(slog.DiscardHandler)

// caller describes a validated caller in one line.
func caller(c *entra.Claims) string {
	return c.ClientID() + " roles=" + c.Roles.String()
}

// validator validates the provider's tokens for its API.
func validator(idp *entratest.Server) *entra.Validator {
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithHTTPClient(idp.Client()), entra.WithLogger(quiet))
	if err != nil {
		panic(err)
	}
	return v
}

// whoAmIHandler answers with the validated caller in a Caller header.
func whoAmIHandler(idp *entratest.Server) http.Handler {
	v := validator(idp)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.Validate(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Caller", caller(c))
	})
}

// startGRPCServer starts a gRPC server on loopback that answers every
// call with the validated caller.
func startGRPCServer(idp *entratest.Server) (addr string, stop func()) {
	v := validator(idp)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		c, err := v.Validate(ss.Context(), strings.TrimPrefix(strings.Join(md.Get("authorization"), ""), "Bearer "))
		if err != nil {
			return status.Error(codes.Unauthenticated, "unauthenticated")
		}
		if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		return ss.SendMsg(wrapperspb.String(caller(c)))
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), srv.Stop
}

// A user's client declares cp1 and completes a step-up: the API's delete
// needs the authentication context c1, so the first request gets a claims
// challenge, and the Transport asks the credential (here a device code
// sign-in, approved as the prompt shows) for a token with the challenge's
// claims and sends the request again.
func ExampleWithCP1() {
	tb := new(exampletb.TB)
	defer tb.Close()
	idp := entratest.NewServerAt(tb, "https://login.microsoftonline.us")
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: idp.Authority() + "/"},
			Transport: idp.Client(),
		},
		TenantID: idp.TenantID(), ClientID: entratest.DefaultSPAClientID,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			return idp.ApproveDeviceCode(m.UserCode, "alice") // the user signs in (and completes MFA)
		},
	})
	if err != nil {
		panic(err)
	}
	src, err := bearer.FromAzure(cred, []string{idp.AppIDURI() + "/Items.Write"}, bearer.WithCP1())
	if err != nil {
		panic(err)
	}
	api := httptest.NewServer(needsC1(idp))
	defer api.Close()

	client := &http.Client{Transport: src.Transport(nil)}
	req, _ := http.NewRequest(http.MethodDelete, api.URL+"/v1/items/1", nil)
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Acrs"))
	// Output: 200 OK c1
}

// needsC1 is an API whose one operation needs the authentication context
// c1: a token without it, from a client that declared cp1, gets a claims
// challenge.
func needsC1(idp *entratest.Server) http.Handler {
	v := validator(idp)
	challenge := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.Validate(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		var step struct {
			ACRs  []string `json:"acrs"`
			XmsCC []string `json:"xms_cc"`
		}
		switch {
		case err != nil || c.Decode(&step) != nil:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case slices.Contains(step.ACRs, "c1"):
			w.Header().Set("Acrs", strings.Join(step.ACRs, " "))
		case slices.Contains(step.XmsCC, "cp1"):
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+idp.AuthorizeURL()+`", error="insufficient_claims", claims="`+challenge+`"`)
			http.Error(w, "step-up required", http.StatusUnauthorized)
		default:
			http.Error(w, "forbidden", http.StatusForbidden)
		}
	})
}

// A gRPC client reads a claims challenge from a call's error and makes
// the call again with a context asking for a token with its claims.
func ExampleClaimsChallenge() {
	// The error a server answers when a rule needs the context c1.
	err := authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "authentication context c1 required",
		map[string]string{authzerr.MetadataClaims: "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"})

	claims, ok := bearer.ClaimsChallenge(err)
	fmt.Println(ok, claims)
	// Then: conn.Invoke(bearer.ContextWithClaims(ctx, claims), method, req, reply)
	// sends the token obtained with those claims through the Source's
	// PerRPCCredentials.
	// Output: true {"access_token":{"acrs":{"essential":true,"value":"c1"}}}
}
