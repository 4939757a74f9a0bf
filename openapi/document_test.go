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

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

var sec = openapi.Security{
	AuthorizationURL: "https://login.microsoftonline.com/t/oauth2/v2.0/authorize",
	TokenURL:         "https://login.microsoftonline.com/t/oauth2/v2.0/token",
	ScopePrefix:      "api://c/",
}

func document(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	p, err := policy.Load(protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openapi.Document(items.OpenAPI(), protoregistry.GlobalFiles, p, sec)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, b
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
		"ItemService_DeleteItem":   {req()},             // role only: any token, role spelled out
		"ItemService_ExportItems":  {req("Items.Read")}, // scope or role: the scope is what a user can get
		"ItemService_WatchItems":   {req("Items.Read")},
		"ItemService_ImportItems":  {req("Items.Write", "Items.Import")}, // all: one requirement
		"InfoService_GetInfo":      {},                                   // anonymous: none
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
	scheme := doc["securityDefinitions"].(map[string]any)["entra"].(map[string]any)
	if scheme["flow"] != "accessCode" || scheme["authorizationUrl"] != sec.AuthorizationURL || scheme["tokenUrl"] != sec.TokenURL {
		t.Errorf("scheme %v", scheme)
	}
	gotScopes := scheme["scopes"].(map[string]any)
	if len(gotScopes) != 3 || gotScopes["api://c/Items.Import"] == nil || gotScopes["api://c/Items.Read"] == nil || gotScopes["api://c/Items.Write"] == nil {
		t.Errorf("scopes %v, want the three REST-reachable scopes of the rules", gotScopes)
	}
}

func TestTheDocumentValidates(t *testing.T) {
	_, b := document(t)
	var v2 openapi2.T
	if err := json.Unmarshal(b, &v2); err != nil {
		t.Fatal(err)
	}
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		t.Fatal(err)
	}
	if err := v3.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	if v2.Info.Title != "Items API" {
		t.Fatalf("title %q", v2.Info.Title)
	}
}

func TestDocumentRefusesBadInput(t *testing.T) {
	p, _ := policy.Load(protoregistry.GlobalFiles)
	if _, err := openapi.Document(items.OpenAPI(), protoregistry.GlobalFiles, p, openapi.Security{AuthorizationURL: "/relative", TokenURL: sec.TokenURL}); err == nil {
		t.Error("relative authorization URL accepted")
	}
	if _, err := openapi.Document([]byte(`{"paths":{"/x":{"get":{"operationId":"Nope_Nothing"}}}}`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("operation without method accepted")
	}
	if _, err := openapi.Document([]byte(`not json`), protoregistry.GlobalFiles, p, sec); err == nil {
		t.Error("garbage accepted")
	}
}

func TestHandlerServesDocumentAndUI(t *testing.T) {
	_, b := document(t)
	h, err := openapi.Handler(b, openapi.UI{ClientID: `spa"</script>`})
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
	if code, h, body := get("/openapi.json"); code != 200 || h.Get("Content-Type") != "application/json" || body != string(b) {
		t.Fatalf("/openapi.json: %d %v", code, h)
	}
	if code, _, body := get("/docs/"); code != 200 || !strings.Contains(body, "swagger-ui-bundle.js") {
		t.Fatalf("/docs/: %d", code)
	}
	code, _, body := get("/docs/swagger-initializer.js")
	if code != 200 || !strings.Contains(body, "usePkceWithAuthorizationCodeGrant: true") ||
		!strings.Contains(body, `"api://c/Items.Read"`) || strings.Contains(body, "</script>") {
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
	if _, err := openapi.Handler(b, openapi.UI{}); err == nil {
		t.Error("no client ID accepted")
	}
}
