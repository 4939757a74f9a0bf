package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// Serve protected gRPC services over REST: the gateway calls them through a
// gRPC connection, so the server's interceptors decide every REST call, and
// it turns their denials into RFC 6750 challenges.
func ExampleNew() {
	// The test identity provider stands in for Entra ID.
	mux := http.NewServeMux()
	web := httptest.NewServer(mux)
	defer web.Close()
	idp, err := entratest.NewProvider(web.URL + "/idp")
	if err != nil {
		panic(err)
	}
	mux.Handle("/idp/", idp)
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()))
	if err != nil {
		panic(err)
	}
	authz, err := interceptor.New(v, interceptor.WithPolicy(authztest.Policy()))
	if err != nil {
		panic(err)
	}

	// The protected gRPC server.
	srv := grpc.NewServer(grpc.UnaryInterceptor(authz.UnaryServerInterceptor()), grpc.StreamInterceptor(authz.StreamServerInterceptor()))
	srv.RegisterService(authztest.ItemsDesc, authztest.NewItems()) // your generated Register…Server
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	// The gateway in front of it, with your generated Register…Handler
	// functions (never the …HandlerServer ones, which skip the interceptors).
	h, err := gateway.New(context.Background(), conn,
		[]gateway.RegisterFunc{authztest.RegisterREST},
		gateway.WithChallenge(gateway.Challenge{Realm: "items", ScopePrefix: "api://items/"}),
	)
	if err != nil {
		panic(err)
	}
	api := httptest.NewServer(h)
	defer api.Close()

	get := func(token string) {
		req, _ := http.NewRequest("GET", api.URL+"/v1/items/item-1", nil) // rule: scope Items.Read
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
	}
	get(idp.Issue(entratest.Scopes("Items.Read")))
	get("")
	get(idp.Issue(entratest.Scopes("Items.Write")))
	// Output:
	// 200
	// 401 Bearer realm="items"
	// 403 Bearer realm="items", error="insufficient_scope", error_description="requires scope Items.Read", scope="api://items/Items.Read"
}
