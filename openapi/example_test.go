package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1" // links the example's descriptors and rules
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Document completes what protoc-gen-openapiv2 wrote (here a document cut
// down to three operations of the Items example) with the security each
// method's proto rule implies: GetInfo is anonymous, CreateItem needs the
// scope Items.Write, and GetDebugInfo has no rule, so it is denied to all.
// The result is OpenAPI 3.1 (and, for older tools, Swagger 2.0).
func ExampleDocument() {
	spec := []byte(`{"swagger": "2.0", "info": {"title": "Items", "version": "1"}, "paths": {
		"/v1/info": {"get": {"operationId": "InfoService_GetInfo", "responses": {"200": {"description": "OK"}}}},
		"/v1/items": {"post": {"operationId": "ItemService_CreateItem", "responses": {"200": {"description": "OK"}}}},
		"/v1/debug": {"get": {"operationId": "InfoService_GetDebugInfo", "responses": {"200": {"description": "OK"}}}}
	}}`)
	rules, err := rules.Load(protoregistry.GlobalFiles)
	if err != nil {
		fmt.Println(err)
		return
	}
	docs, err := openapi.Document(spec, protoregistry.GlobalFiles, rules, openapi.Security{
		AuthorizationURL: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
		TokenURL:         "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
		ScopePrefix:      "api://11111111-2222-3333-4444-555555555555/",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
			Denied   bool                  `json:"x-azureauth-denied"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("OpenAPI", out.OpenAPI)
	fmt.Println("GET /v1/info:", out.Paths["/v1/info"]["get"].Security)
	fmt.Println("POST /v1/items:", out.Paths["/v1/items"]["post"].Security)
	fmt.Println("GET /v1/debug denied:", out.Paths["/v1/debug"]["get"].Denied)
	// Output:
	// OpenAPI 3.1.0
	// GET /v1/info: [map[] map[entra:[]]]
	// POST /v1/items: [map[entra:[api://11111111-2222-3333-4444-555555555555/Items.Write]]]
	// GET /v1/debug denied: true
}

// Handler serves what Document built: OpenAPI 3.1 at /openapi.json,
// Swagger 2.0 at /swagger.json and Swagger UI at /docs/, here with the
// sign-in page told to let the user pick an account.
func ExampleHandler() {
	rules, err := rules.Load(protoregistry.GlobalFiles)
	if err != nil {
		fmt.Println(err)
		return
	}
	docs, err := openapi.Document(items.OpenAPI(), protoregistry.GlobalFiles, rules, openapi.Security{
		AuthorizationURL: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
		TokenURL:         "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
		ScopePrefix:      "api://11111111-2222-3333-4444-555555555555/",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := openapi.Handler(docs, openapi.UI{
		ClientID:            "66666666-7777-8888-9999-000000000000", // the Swagger UI app registration
		AuthorizationParams: map[string]string{"prompt": "select_account"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, path := range []string{"/openapi.json", "/swagger.json"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		var doc struct {
			OpenAPI string `json:"openapi"`
			Swagger string `json:"swagger"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(path, doc.OpenAPI+doc.Swagger)
	}
	// Output:
	// /openapi.json 3.1.0
	// /swagger.json 2.0
}
