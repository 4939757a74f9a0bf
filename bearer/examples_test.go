package bearer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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

	// In a handler of service A, with the token bob called it with; the
	// connection to B would use obo.PerRPCCredentials(…) or obo.Transport(…).
	bobToA := idp.Issue(entratest.ForUser("bob"), entratest.Audience(a.ClientID), entratest.Scopes("Items.Read"))
	tokenToB, err := obo.Token(context.Background(), bobToA)
	if err != nil {
		panic(err)
	}

	// Service B validates it as any token.
	v, _ := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithHTTPClient(idp.Client()), entra.WithLogger(quiet))
	c, err := v.Validate(context.Background(), tokenToB)
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
