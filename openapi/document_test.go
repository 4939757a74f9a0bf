package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

var sec = openapi.Security{
	AuthorizationURL: "https://login.microsoftonline.com/t/oauth2/v2.0/authorize",
	TokenURL:         "https://login.microsoftonline.com/t/oauth2/v2.0/token",
	ScopePrefix:      "api://c/",
}

// document completes the Items example's document; doc is its OpenAPI 3.1
// form, parsed.
func document(t *testing.T) (map[string]any, *openapi.Documents) {
	t.Helper()
	p, err := rules.Load(protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := openapi.Document(items.OpenAPI(), protoregistry.GlobalFiles, p, sec)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, docs
}

func TestEveryOperationCarriesTheSecurityOfItsRule(t *testing.T) {
	doc, _ := document(t)
	req := func(scopes ...string) map[string]any {
		s := make([]any, len(scopes))
		for i, x := range scopes {
			s[i] = "api://c/" + x
		}
		return map[string]any{"entra": s}
	}
	want := map[string][]any{
		"ItemService_GetItem":      {req("Items.Read")},
		"ItemService_ListItems":    {req("Items.Read")},
		"ItemService_CreateItem":   {req("Items.Write")},
		"ItemService_DeleteItem":   {req()},                    // role only: any token, role spelled out
		"ItemService_ExportItems":  {req("Items.Read"), req()}, // scope or role: the scope, or a token with the role
		"ItemService_WatchItems":   {req("Items.Read")},
		"ItemService_ImportItems":  {req("Items.Write", "Items.Import")}, // all: one requirement
		"InfoService_GetInfo":      {map[string]any{}, req()},            // anonymous: a token is optional
		"InfoService_GetDebugInfo": {req()},                              // no rule: denied, marked
	}
	seen := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for verb, o := range item.(map[string]any) {
			op := o.(map[string]any)
			id := op["operationId"].(string)
			seen[id] = true
			w, ok := want[id]
			if !ok {
				t.Errorf("%s %s: unexpected operation %s", verb, path, id)
				continue
			}
			if got, _ := op["security"].([]any); !reflect.DeepEqual(got, w) && !(len(got) == 0 && len(w) == 0) {
				t.Errorf("%s: security %v, want %v", id, got, w)
			}
			if _, has := op["security"]; !has {
				t.Errorf("%s: no security member (would inherit a global one)", id)
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("operation %s missing", id)
		}
	}
	ops := doc["paths"].(map[string]any)
	if d := ops["/v1/debug"].(map[string]any)["get"].(map[string]any); d["x-azureauth-denied"] != true {
		t.Errorf("GetDebugInfo is not marked denied: %v", d)
	}
	if d := ops["/v1/items/{id}"].(map[string]any)["delete"].(map[string]any); d["x-azureauth-rule"] != "role Items.Admin" ||
		!strings.Contains(d["description"].(string), "Requires role Items.Admin") {
		t.Errorf("DeleteItem does not spell out its role: %v", d)
	}
	scheme := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["entra"].(map[string]any)
	flow, _ := scheme["flows"].(map[string]any)["authorizationCode"].(map[string]any)
	if scheme["type"] != "oauth2" || flow["authorizationUrl"] != sec.AuthorizationURL || flow["tokenUrl"] != sec.TokenURL {
		t.Errorf("scheme %v", scheme)
	}
	gotScopes := flow["scopes"].(map[string]any)
	if len(gotScopes) != 3 || gotScopes["api://c/Items.Import"] == nil || gotScopes["api://c/Items.Read"] == nil || gotScopes["api://c/Items.Write"] == nil {
		t.Errorf("scopes %v, want the three REST-reachable scopes of the rules", gotScopes)
	}
}

func TestTheDocumentIsOpenAPI31AndValidates(t *testing.T) {
	doc, docs := document(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v, want 3.1.0", doc["openapi"])
	}
	loader := openapi3.NewLoader()
	v3, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := v3.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	if v3.Info.Title != "Items API" {
		t.Fatalf("title %q", v3.Info.Title)
	}
	var v2 map[string]any
	if err := json.Unmarshal(docs.Swagger, &v2); err != nil || v2["swagger"] != "2.0" {
		t.Fatalf("the Swagger document is not 2.0: %v %v", err, v2["swagger"])
	}
}

// The generated document lists schemes [http, https] (the example protos'
// openapiv2 option): Swagger UI takes the first, so a page loaded over https
// called the API over http.
func TestTheDocumentsLeaveTheSchemeToThePage(t *testing.T) {
	var generated map[string]any
	if err := json.Unmarshal(items.OpenAPI(), &generated); err != nil {
		t.Fatal(err)
	}
	if generated["schemes"] == nil {
		t.Fatal("the generated document has no schemes: this test no longer shows the bug")
	}
	doc, docs := document(t)
	servers, _ := doc["servers"].([]any)
	if len(servers) != 1 || servers[0].(map[string]any)["url"] != "/" {
		t.Errorf("servers %v, want the one relative URL /", doc["servers"])
	}
	var v2 map[string]any
	if err := json.Unmarshal(docs.Swagger, &v2); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schemes", "host"} {
		if v2[k] != nil {
			t.Errorf("the Swagger 2.0 document states %s %v", k, v2[k])
		}
	}
}

func TestFieldDescriptionsBesideARefSurvive(t *testing.T) {
	doc, docs := document(t)
	item := doc["components"].(map[string]any)["schemas"].(map[string]any)["v1GetItemResponse"].(map[string]any)["properties"].(map[string]any)["item"].(map[string]any)
	if item["description"] != "item found." || item["$ref"] != nil ||
		!reflect.DeepEqual(item["allOf"], []any{map[string]any{"$ref": "#/components/schemas/v1Item"}}) {
		t.Errorf("GetItemResponse.item = %v, want allOf its $ref with the field's description", item)
	}
	if strings.Contains(string(docs.Swagger), `"type": "object",
        "$ref"`) {
		t.Error("the Swagger 2.0 document keeps a type beside a $ref")
	}
}

func TestAnswersAreDocumentedAsTheServerGivesThem(t *testing.T) {
	doc, _ := document(t)
	op := func(path, verb string) map[string]any {
		return doc["paths"].(map[string]any)[path].(map[string]any)[verb].(map[string]any)["responses"].(map[string]any)
	}
	challenge := func(r any) bool {
		h, _ := r.(map[string]any)["headers"].(map[string]any)
		return h["WWW-Authenticate"] != nil
	}
	tests := []struct {
		name, path, verb string
		has401, has403   bool
		challenge403     bool
	}{
		{"a scope operation answers 401 and 403, both with the challenge", "/v1/items", "post", true, true, true},
		{"an anonymous operation answers 401 for a bad token only", "/v1/info", "get", true, false, false},
		{"an operation denied to all answers 403 only, without a challenge", "/v1/debug", "get", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := op(tt.path, tt.verb)
			if (rs["401"] != nil) != tt.has401 || (rs["403"] != nil) != tt.has403 {
				t.Fatalf("responses %v", rs)
			}
			if tt.has401 && !challenge(rs["401"]) {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.has403 && challenge(rs["403"]) != tt.challenge403 {
				t.Errorf("403 WWW-Authenticate documented: %v, want %v", challenge(rs["403"]), tt.challenge403)
			}
			for code, r := range rs {
				if code == "200" {
					continue
				}
				schema := r.(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
				if schema["$ref"] != "#/components/schemas/rpcStatus" {
					t.Errorf("%s body %v, want the google.rpc.Status the gateway writes", code, schema)
				}
			}
		})
	}
}

func TestDocumentRefusesBadInput(t *testing.T) {
	p, _ := rules.Load(protoregistry.GlobalFiles)
	if _, err := openapi.Document(items.OpenAPI(), protoregistry.GlobalFiles, p, openapi.Security{AuthorizationURL: "/relative", TokenURL: sec.TokenURL}); err == nil {
		t.Error("relative authorization URL accepted")
	}
	if _, err := openapi.Document([]byte(`{"swagger":"2.0","paths":{"/x":{"get":{"operationId":"Nope_Nothing"}}}}`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("operation without method accepted")
	}
	if _, err := openapi.Document([]byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{"/v1/info":{"get":{"operationId":"InfoService_GetInfo","responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/Nope"}}}}}}}`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("a reference to a schema that does not exist accepted")
	}
	// An example or default that does not match its schema is documentation
	// gone wrong, not a reason to refuse to start (the validators report
	// it); a lookahead is valid JSON Schema, though not Go's RE2.
	if _, err := openapi.Document([]byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{"/v1/info":{"get":{"operationId":"InfoService_GetInfo","responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/X"}}}}}},
		"definitions":{"X":{"type":"object","properties":{"quantity":{"type":"string","format":"int64","example":12,"default":3},"code":{"type":"string","pattern":"^(?=[A-Z])[A-Z0-9]+$"}}}}}`), protoregistry.GlobalFiles, p, sec); err != nil {
		t.Errorf("a mismatched example or default, or an ECMAScript pattern, refused: %v", err)
	}
	if _, err := openapi.Document([]byte(`not json`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := openapi.Document([]byte(`{"openapi":"3.1.0","paths":{}}`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("a document that is not Swagger 2.0 accepted")
	}
}

func TestHandlerServesDocumentAndUI(t *testing.T) {
	_, docs := document(t)
	h, err := openapi.Handler(docs, openapi.UI{ClientID: `spa"</script>`, AuthorizationParams: map[string]string{"prompt": "select_account", "domain_hint": "contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, http.Header, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	if code, h, body := get("/openapi.json"); code != 200 || h.Get("Content-Type") != "application/json" || body != string(docs.OpenAPI) {
		t.Fatalf("/openapi.json: %d %v", code, h)
	}
	if code, h, body := get("/swagger.json"); code != 200 || h.Get("Content-Type") != "application/json" || body != string(docs.Swagger) {
		t.Fatalf("/swagger.json: %d %v", code, h)
	}
	if code, _, body := get("/docs/"); code != 200 || !strings.Contains(body, "swagger-ui-bundle.js") {
		t.Fatalf("/docs/: %d", code)
	}
	code, _, body := get("/docs/swagger-initializer.js")
	if code != 200 || !strings.Contains(body, "usePkceWithAuthorizationCodeGrant: true") ||
		!strings.Contains(body, `"api://c/Items.Read"`) || strings.Contains(body, "</script>") ||
		!strings.Contains(body, `"domain_hint":"contoso.com"`) || !strings.Contains(body, "additionalQueryStringParams: cfg.params") ||
		!strings.Contains(body, "showExtensions: true") {
		t.Fatalf("initializer: %d %s", code, body)
	}
	for _, asset := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/oauth2-redirect.html", "/docs/oauth2-redirect.js"} {
		if code, _, _ := get(asset); code != 200 {
			t.Errorf("%s: %d", asset, code)
		}
	}
	if code, h, _ := get("/docs"); code != 200 || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/docs (redirected): %d %v", code, h)
	}
	if _, err := openapi.Handler(docs, openapi.UI{}); err == nil {
		t.Error("no client ID accepted")
	}
	if _, err := openapi.Handler(docs, openapi.UI{ClientID: "spa", AuthorizationParams: map[string]string{"redirect_uri": "https://evil.example/"}}); err == nil {
		t.Error("an authorization parameter Swagger UI sets was accepted")
	}
	if _, err := openapi.Handler(docs, openapi.UI{ClientID: "spa", Scopes: []string{"api://c/Items.Raed"}}); err == nil {
		t.Error("a preselected scope the document does not have was accepted")
	}
	h, err = openapi.Handler(docs, openapi.UI{ClientID: "spa", Scopes: []string{"api://c/Items.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/docs/swagger-initializer.js", nil))
	if body := rec.Body.String(); !strings.Contains(body, `"scopes":["api://c/Items.Read"]`) {
		t.Errorf("the initializer does not preselect Items.Read alone:\n%s", body)
	}
}
