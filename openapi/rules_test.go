package openapi_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/openapi"
	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

// ruleFiles describes service rules.v1.S whose methods carry one rule kind
// each, named after it; NoRule has none.
func ruleFiles(t *testing.T) (*protoregistry.Files, *policy.Policy) {
	t.Helper()
	rules := map[string]*azureauthv1.Rule{
		"Anonymous":     {Anonymous: true},
		"Authenticated": {Authenticated: true},
		"Scope":         {Scopes: []string{"Notes.Read"}},
		"AnyScope":      {Scopes: []string{"Notes.Write", "Notes.Admin"}, ScopeMatch: azureauthv1.Match_MATCH_ANY},
		"Role":          {Roles: []string{"Notes.Export"}},
		"ScopeOrRole":   {Scopes: []string{"Notes.Read"}, Roles: []string{"Notes.Export"}},
		"NoRule":        nil,
	}
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("S")}
	for _, name := range []string{"Anonymous", "Authenticated", "Scope", "AnyScope", "Role", "ScopeOrRole", "NoRule"} {
		opts := &descriptorpb.MethodOptions{}
		if r := rules[name]; r != nil {
			proto.SetExtension(opts, azureauthv1.E_Rule, r)
		}
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".rules.v1.Empty"), OutputType: proto.String(".rules.v1.Empty"), Options: opts,
		})
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("rules/v1/s.proto"),
		Package:     proto.String("rules.v1"),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Empty")}},
		Service:     []*descriptorpb.ServiceDescriptorProto{svc},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	p, err := policy.ForServices(fd.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	return files, p
}

func TestEveryRuleKindBecomesItsSecurityRequirement(t *testing.T) {
	files, p := ruleFiles(t)
	paths := map[string]any{}
	for _, m := range []string{"Anonymous", "Authenticated", "Scope", "AnyScope", "Role", "ScopeOrRole", "NoRule"} {
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
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string `json:"security"`
			Rule      string                `json:"x-azureauth-rule"`
			Denied    bool                  `json:"x-azureauth-denied"`
			Roles     []string              `json:"x-azureauth-roles"`
			Responses map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out.OpenAPI, &doc); err != nil {
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
				if op.Responses[code] == nil {
					t.Errorf("no %s response; have %v", code, got)
				}
			}
		})
	}
}
