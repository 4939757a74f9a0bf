package openapi_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// ruleKinds name the methods of service rules.v1.S, each with the kind of
// rule it is named after.
var ruleKinds = []string{"Anonymous", "Authenticated", "Scope", "AnyScope", "Role", "ScopeOrRole", "NoRule", "Condition", "AnonymousCondition", "StepUp", "Shadowed"}

// ruleFiles describes service rules.v1.S whose methods carry one rule kind
// each, named after it; NoRule has none.
func ruleFiles(t *testing.T) (*protoregistry.Files, *rules.Policy) {
	t.Helper()
	byName := map[string]*azureauthv1.Rule{
		"Anonymous":          {Anonymous: true},
		"Authenticated":      {Authenticated: true},
		"Scope":              {Scopes: []string{"Notes.Read"}},
		"AnyScope":           {Scopes: []string{"Notes.Write", "Notes.Admin"}, ScopeMatch: azureauthv1.Match_MATCH_ANY},
		"Role":               {Roles: []string{"Notes.Export"}},
		"ScopeOrRole":        {Scopes: []string{"Notes.Read"}, Roles: []string{"Notes.Export"}},
		"NoRule":             nil,
		"Condition":          {Scopes: []string{"Notes.Read"}, Condition: "request.user_id == caller.object_id"},
		"AnonymousCondition": {Anonymous: true, Condition: "request.user_id != ''"},
		"StepUp":             {Scopes: []string{"Notes.Write"}, AuthContexts: []string{"c1"}},
		"Shadowed":           {Scopes: []string{"Notes.Read"}},
	}
	// Shadowed also carries a shadow rule, which the documents leave out.
	shadows := map[string]*azureauthv1.Rule{
		"Shadowed": {Scopes: []string{"Notes.Read", "Notes.Shadow"}, AuthContexts: []string{"c2"}, Condition: "caller.app_only"},
	}
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("S")}
	for _, name := range ruleKinds {
		opts := &descriptorpb.MethodOptions{}
		if r := byName[name]; r != nil {
			proto.SetExtension(opts, azureauthv1.E_Rule, r)
		}
		if r := shadows[name]; r != nil {
			proto.SetExtension(opts, azureauthv1.E_ShadowRule, r)
		}
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".rules.v1.Req"), OutputType: proto.String(".rules.v1.Req"), Options: opts,
		})
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("rules/v1/s.proto"),
		Package: proto.String("rules.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: proto.String("user_id"), JsonName: proto.String("userId"), Number: proto.Int32(1),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		}}}},
		Service: []*descriptorpb.ServiceDescriptorProto{svc},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	p, err := rules.ForServices(fd.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	return files, p
}

// ruleDocument is the document of service rules.v1.S, one POST operation
// per method.
func ruleDocument(t *testing.T) *openapi.Documents {
	t.Helper()
	files, p := ruleFiles(t)
	paths := map[string]any{}
	for _, m := range ruleKinds {
		paths["/v1/"+m] = map[string]any{"post": map[string]any{
			"operationId": "S_" + m,
			"responses":   map[string]any{"200": map[string]any{"description": "A successful response."}},
		}}
	}
	spec, err := json.Marshal(map[string]any{"swagger": "2.0", "info": map[string]any{"title": "t", "version": "1"}, "paths": paths, "schemes": []string{"http", "https"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := openapi.Document(spec, files, p, openapi.Security{
		AuthorizationURL: "https://login.example/authorize", TokenURL: "https://login.example/token", ScopePrefix: "api://c/",
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ruleOperations reads the operations of a rule document.
type ruleOperations struct {
	Paths map[string]map[string]struct {
		Security  []map[string][]string `json:"security"`
		Rule      string                `json:"x-azureauth-rule"`
		Denied    bool                  `json:"x-azureauth-denied"`
		Roles     []string              `json:"x-azureauth-roles"`
		Condition string                `json:"x-azureauth-condition"`
		Contexts  []string              `json:"x-azureauth-auth-contexts"`
		Shadow    any                   `json:"x-azureauth-shadow-rule"`
		Responses map[string]struct {
			Description string `json:"description"`
			Headers     map[string]struct {
				Description string `json:"description"`
			} `json:"headers"`
		} `json:"responses"`
		Description string `json:"description"`
	} `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Flows struct {
				AuthorizationCode struct {
					Scopes map[string]string `json:"scopes"`
				} `json:"authorizationCode"`
			} `json:"flows"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

func TestEveryRuleKindBecomesItsSecurityRequirement(t *testing.T) {
	var doc ruleOperations
	if err := json.Unmarshal(ruleDocument(t).OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	anyToken := []map[string][]string{{openapi.SchemeName: {}}}
	tests := []struct {
		name, method string
		security     []map[string][]string
		rule         string
		roles        []string
		denied       bool
		responses    []string
	}{
		{"an anonymous method takes a token if there is one, and refuses a bad one", "Anonymous", []map[string][]string{{}, {openapi.SchemeName: {}}}, "anonymous", nil, false, []string{"200", "401"}},
		{"an authenticated method needs a token with no particular scope", "Authenticated", anyToken, "a valid access token", nil, false, []string{"200", "401", "403"}},
		{"a scope method needs its scope", "Scope", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Read"}}}, "scope Notes.Read", nil, false, []string{"200", "401", "403"}},
		{"an any-of method offers one requirement per scope", "AnyScope", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Write"}}, {openapi.SchemeName: {"api://c/Notes.Admin"}}}, "one of scopes Notes.Write, Notes.Admin", nil, false, []string{"200", "401", "403"}},
		{"a role method needs a token and names the role", "Role", anyToken, "role Notes.Export", []string{"Notes.Export"}, false, []string{"200", "401", "403"}},
		{"a scope-or-role method offers the scope and the role alternative", "ScopeOrRole", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Read"}}, {openapi.SchemeName: {}}}, "scope Notes.Read or role Notes.Export", []string{"Notes.Export"}, false, []string{"200", "401", "403"}},
		{"a method without rule is marked denied and answers 403 only", "NoRule", anyToken, "", nil, true, []string{"200", "403"}},
		{"a condition adds to the scope's requirement, not replaces it", "Condition", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Read"}}}, "scope Notes.Read, if request.user_id == caller.object_id", nil, false, []string{"200", "401", "403"}},
		{"an anonymous method with a condition answers 403 when it fails", "AnonymousCondition", []map[string][]string{{}, {openapi.SchemeName: {}}}, "anonymous, if request.user_id != ''", nil, false, []string{"200", "401", "403"}},
		{"a step-up method needs its scope, and names its context in the rule", "StepUp", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Write"}}}, "scope Notes.Write, authentication context c1", nil, false, []string{"200", "401", "403"}},
		{"a method with a shadow rule reads as its enforced rule alone", "Shadowed", []map[string][]string{{openapi.SchemeName: {"api://c/Notes.Read"}}}, "scope Notes.Read", nil, false, []string{"200", "401", "403"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := doc.Paths["/v1/"+tt.method]["post"]
			if !reflect.DeepEqual(op.Security, tt.security) {
				t.Errorf("security = %v, want %v", op.Security, tt.security)
			}
			if !reflect.DeepEqual(op.Roles, tt.roles) {
				t.Errorf("x-azureauth-roles = %v, want %v", op.Roles, tt.roles)
			}
			if op.Rule != tt.rule || op.Denied != tt.denied {
				t.Errorf("x-azureauth-rule = %q, x-azureauth-denied = %v; want %q, %v", op.Rule, op.Denied, tt.rule, tt.denied)
			}
			var got []string
			for code := range op.Responses {
				got = append(got, code)
			}
			if len(got) != len(tt.responses) {
				t.Errorf("responses = %v, want %v", got, tt.responses)
			}
			for _, code := range tt.responses {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("no %s response; have %v", code, got)
				}
			}
		})
	}
}

func TestConditionsAndAuthContextsAreStatedAndShadowRulesLeftOut(t *testing.T) {
	out := ruleDocument(t)
	var doc ruleOperations
	if err := json.Unmarshal(out.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	// The challenge of StepUp: base64 of the claims request for c1.
	claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`))
	tests := []struct {
		name, method string
		condition    string
		contexts     []string
		// in lists what the description, the 401 and the 403 answers (and
		// the 401's WWW-Authenticate) must each say.
		description, unauthorized, forbidden, challenge []string
	}{
		{"a condition is stated in the extension, the description and the 403", "Condition", "request.user_id == caller.object_id", nil,
			[]string{"`request.user_id == caller.object_id`"}, nil, []string{"request.user_id == caller.object_id"}, nil},
		{"an anonymous condition is stated the same way", "AnonymousCondition", "request.user_id != ''", nil,
			[]string{"`request.user_id != ''`"}, nil, []string{"request.user_id != ''"}, nil},
		{"an authentication context is stated with its claims challenge (401) and its 403", "StepUp", "", []string{"c1"},
			[]string{"authentication context c1", `error="insufficient_claims"`, `claims="` + claims + `"`, "cp1"},
			[]string{`error="insufficient_claims"`, `claims="` + claims + `"`},
			[]string{"authentication context c1", "cp1", "app-only"},
			[]string{`error="insufficient_claims"`}},
		{"a rule of scopes only states neither", "Scope", "", nil, nil, nil, nil, nil},
		{"a shadow rule is not in the operation", "Shadowed", "", nil, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := doc.Paths["/v1/"+tt.method]["post"]
			if op.Condition != tt.condition {
				t.Errorf("x-azureauth-condition = %q, want %q", op.Condition, tt.condition)
			}
			if !reflect.DeepEqual(op.Contexts, tt.contexts) {
				t.Errorf("x-azureauth-auth-contexts = %v, want %v", op.Contexts, tt.contexts)
			}
			if op.Shadow != nil {
				t.Errorf("x-azureauth-shadow-rule = %v: shadow rules are left out", op.Shadow)
			}
			for what, texts := range map[string]struct {
				got  string
				want []string
			}{
				"description":          {op.Description, tt.description},
				"401":                  {op.Responses["401"].Description, tt.unauthorized},
				"403":                  {op.Responses["403"].Description, tt.forbidden},
				"401 WWW-Authenticate": {op.Responses["401"].Headers["WWW-Authenticate"].Description, tt.challenge},
			} {
				for _, want := range texts.want {
					if !strings.Contains(texts.got, want) {
						t.Errorf("%s %q does not say %q", what, texts.got, want)
					}
				}
				if texts.want == nil && strings.Contains(texts.got, "insufficient_claims") {
					t.Errorf("%s %q speaks of a claims challenge the operation never gives", what, texts.got)
				}
			}
		})
	}
	// Nothing of the shadow rule reaches either document: not its scope
	// (which no enforced rule names), nor its condition.
	for name, d := range map[string][]byte{"OpenAPI": out.OpenAPI, "Swagger": out.Swagger} {
		for _, s := range []string{"Notes.Shadow", "caller.app_only", "shadow"} {
			if strings.Contains(string(d), s) {
				t.Errorf("the %s document mentions %q of the shadow rule", name, s)
			}
		}
	}
}
