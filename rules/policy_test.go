package rules_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// service builds a service descriptor test.v1.S with the given default rule
// and one method M with the given rule (nil: no option).
func service(t *testing.T, def, rule *azureauthv1.Rule) protoreflect.ServiceDescriptor {
	t.Helper()
	svcOpts := &descriptorpb.ServiceOptions{}
	if def != nil {
		proto.SetExtension(svcOpts, azureauthv1.E_DefaultRule, def)
	}
	mOpts := &descriptorpb.MethodOptions{}
	if rule != nil {
		proto.SetExtension(mOpts, azureauthv1.E_Rule, rule)
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("test/v1/s.proto"),
		Package:     proto.String("test.v1"),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Empty")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:    proto.String("S"),
			Options: svcOpts,
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("M"), InputType: proto.String(".test.v1.Empty"), OutputType: proto.String(".test.v1.Empty"),
				Options: mOpts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Services().Get(0)
}

type caller struct {
	scopes, roles []string
	appOnly       bool
}

func (c caller) HasScope(s string) bool { return contains(c.scopes, s) }
func (c caller) HasRole(r string) bool  { return contains(c.roles, r) }
func (c caller) IsAppOnly() bool        { return c.appOnly }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestInvalidRulesAreRejectedWhenThePolicyIsBuilt(t *testing.T) {
	tests := []struct {
		name string
		rule *azureauthv1.Rule
		want string
	}{
		{"an empty rule", &azureauthv1.Rule{}, "must be anonymous, authenticated, or name"},
		{"anonymous and authenticated", &azureauthv1.Rule{Anonymous: true, Authenticated: true}, "both anonymous and authenticated"},
		{"authenticated with scopes", &azureauthv1.Rule{Authenticated: true, Scopes: []string{"A"}}, "authenticated rule cannot"},
		{"authenticated with roles", &azureauthv1.Rule{Authenticated: true, Roles: []string{"A"}}, "authenticated rule cannot"},
		{"anonymous with scopes", &azureauthv1.Rule{Anonymous: true, Scopes: []string{"A"}}, "anonymous rule cannot"},
		{"anonymous with roles", &azureauthv1.Rule{Anonymous: true, Roles: []string{"A"}}, "anonymous rule cannot"},
		{"an empty scope name", &azureauthv1.Rule{Scopes: []string{""}}, "empty scope"},
		{"an empty role name", &azureauthv1.Rule{Roles: []string{"R", ""}}, "empty role"},
		{"a scope with a space", &azureauthv1.Rule{Scopes: []string{"Items Read"}}, "not allowed"},
		{"a scope with a tab", &azureauthv1.Rule{Scopes: []string{"Items\tRead"}}, "not allowed"},
		{"a role with a quote", &azureauthv1.Rule{Roles: []string{`A"B`}}, "not allowed"},
		{"a scope with a backslash", &azureauthv1.Rule{Scopes: []string{`A\B`}}, "not allowed"},
		{"a scope with a newline", &azureauthv1.Rule{Scopes: []string{"A\nB"}}, "not allowed"},
		{"a non-ASCII scope", &azureauthv1.Rule{Scopes: []string{"Élément"}}, "not allowed"},
		{"a full scope URI", &azureauthv1.Rule{Scopes: []string{"api://x/Items.Read"}}, `short name`},
		{"a duplicated scope", &azureauthv1.Rule{Scopes: []string{"A", "A"}}, "listed twice"},
		{"a too long role", &azureauthv1.Rule{Roles: []string{strings.Repeat("r", rules.MaxNameLength+1)}}, "longer than"},
		{"scope_match without scopes", &azureauthv1.Rule{Roles: []string{"R"}, ScopeMatch: azureauthv1.Match_MATCH_ANY}, "scope_match is set"},
		{"role_match without roles", &azureauthv1.Rule{Scopes: []string{"S"}, RoleMatch: azureauthv1.Match_MATCH_ALL}, "role_match is set"},
		{"an unknown match value", &azureauthv1.Rule{Scopes: []string{"S"}, ScopeMatch: 9}, "unknown value 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" on a method", func(t *testing.T) {
			_, err := rules.ForServices(service(t, nil, tt.rule))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "/test.v1.S/M") {
				t.Fatalf("err = %v, want one naming /test.v1.S/M and containing %q", err, tt.want)
			}
		})
		t.Run(tt.name+" as a service default", func(t *testing.T) {
			_, err := rules.ForServices(service(t, tt.rule, nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "test.v1.S (default_rule)") {
				t.Fatalf("err = %v, want one naming the service default and containing %q", err, tt.want)
			}
		})
	}
}

func TestRuleLookup(t *testing.T) {
	scopeA := &azureauthv1.Rule{Scopes: []string{"A"}}
	roleB := &azureauthv1.Rule{Roles: []string{"B"}}
	tests := []struct {
		name      string
		def, rule *azureauthv1.Rule
		want      string // Rule.String, or "" for no rule
	}{
		{"a method without rule in a service without default has no rule", nil, nil, ""},
		{"a method without rule inherits the service default", scopeA, nil, "scope A"},
		{"a method rule replaces the service default", scopeA, roleB, "role B"},
		{"a method rule stands alone", nil, roleB, "role B"},
		{"an anonymous method rule overrides a strict default", scopeA, &azureauthv1.Rule{Anonymous: true}, "anonymous"},
		{"an authenticated method rule overrides a strict default", scopeA, &azureauthv1.Rule{Authenticated: true}, "a valid access token"},
		{"an authenticated service default applies to a method without rule", &azureauthv1.Rule{Authenticated: true}, nil, "a valid access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rules.ForServices(service(t, tt.def, tt.rule))
			if err != nil {
				t.Fatal(err)
			}
			r, ok := p.Rule("/test.v1.S/M")
			if tt.want == "" {
				if ok {
					t.Fatalf("got rule %v, want none", r)
				}
				return
			}
			if !ok || r.String() != tt.want {
				t.Fatalf("got %v (ok=%v), want %q", r, ok, tt.want)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	all := &rules.Rule{Scopes: []string{"W", "I"}}
	anyOf := &rules.Rule{Scopes: []string{"W", "S"}, AnyScope: true}
	scopeOrRole := &rules.Rule{Scopes: []string{"R"}, Roles: []string{"E"}}
	roles := &rules.Rule{Roles: []string{"A1", "A2"}, AnyRole: true}
	anon := &rules.Rule{Anonymous: true}
	authn := &rules.Rule{Authenticated: true}
	tests := []struct {
		name   string
		rule   *rules.Rule
		caller rules.Caller
		allow  bool
		msg    string
	}{
		{"all scopes present is allowed", all, caller{scopes: []string{"I", "W"}}, true, ""},
		{"one of two required scopes is denied", all, caller{scopes: []string{"W"}}, false, "requires scopes W and I"},
		{"any: one scope is enough", anyOf, caller{scopes: []string{"S"}}, true, ""},
		{"any: none of the scopes is denied", anyOf, caller{scopes: []string{"X"}}, false, "requires one of scopes W, S"},
		{"scope-or-role: the scope is enough", scopeOrRole, caller{scopes: []string{"R"}}, true, ""},
		{"scope-or-role: the role is enough", scopeOrRole, caller{roles: []string{"E"}}, true, ""},
		{"scope-or-role: a role named like the scope is not enough", scopeOrRole, caller{roles: []string{"R"}}, false, "requires scope R or role E"},
		{"scope-or-role: a scope named like the role is not enough", scopeOrRole, caller{scopes: []string{"E"}}, false, "requires scope R or role E"},
		{"role rule: scopes never satisfy it", roles, caller{scopes: []string{"A1", "A2"}}, false, "requires one of roles A1, A2"},
		{"role rule: one role is enough", roles, caller{roles: []string{"A2"}}, true, ""},
		{"matching is case-sensitive", all, caller{scopes: []string{"w", "i"}}, false, "requires scopes W and I"},
		{"a longer name does not satisfy a shorter one", &rules.Rule{Scopes: []string{"Items.Read"}}, caller{scopes: []string{"Items.ReadWrite"}}, false, "requires scope Items.Read"},
		{"role rule: a user's role is enough", roles, caller{scopes: []string{"X"}, roles: []string{"A1"}}, true, ""},
		{"app-only: all scopes present is denied", all, caller{appOnly: true, scopes: []string{"W", "I"}}, false, "requires scopes W and I (scopes do not count for an app-only token)"},
		{"app-only: any of the scopes is denied", anyOf, caller{appOnly: true, scopes: []string{"S"}, roles: []string{"W", "S"}}, false, "requires one of scopes W, S (scopes do not count for an app-only token)"},
		{"app-only: scope-or-role, the scope is not enough", scopeOrRole, caller{appOnly: true, scopes: []string{"R"}}, false, "requires scope R or role E (scopes do not count for an app-only token)"},
		{"app-only: scope-or-role, the role is enough", scopeOrRole, caller{appOnly: true, scopes: []string{"R"}, roles: []string{"E"}}, true, ""},
		{"app-only: role rule, one role is enough", roles, caller{appOnly: true, roles: []string{"A1"}}, true, ""},
		{"app-only: role rule, scopes named like the roles are denied", roles, caller{appOnly: true, scopes: []string{"A1", "A2"}}, false, "requires one of roles A1, A2"},
		{"no caller is denied", all, nil, false, "requires scopes W and I"},
		{"anonymous allows no caller", anon, nil, true, ""},
		{"authenticated allows a user without scopes", authn, caller{}, true, ""},
		{"authenticated allows an app-only caller without roles", authn, caller{appOnly: true}, true, ""},
		{"authenticated denies no caller", authn, nil, false, "requires a valid access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Authorize(tt.caller)
			if tt.allow {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.msg || !errors.Is(err, rules.ErrDenied) {
				t.Fatalf("err = %v, want %q matching ErrDenied", err, tt.msg)
			}
		})
	}
}

func TestExampleServicesLoadWithTheirRules(t *testing.T) {
	p, err := rules.Load(protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/example.items.v1.ItemService/GetItem":     "scope Items.Read",
		"/example.items.v1.ItemService/ListItems":   "scope Items.Read",
		"/example.items.v1.ItemService/CreateItem":  "scope Items.Write",
		"/example.items.v1.ItemService/DeleteItem":  "role Items.Admin",
		"/example.items.v1.ItemService/ExportItems": "scope Items.Read or role Items.Export",
		"/example.items.v1.ItemService/WatchItems":  "scope Items.Read",
		"/example.items.v1.ItemService/ImportItems": "scopes Items.Write and Items.Import",
		"/example.items.v1.ItemService/SyncItems":   "one of scopes Items.Write, Items.Sync",
		"/example.items.v1.InfoService/GetInfo":     "anonymous",
	}
	for m, w := range want {
		r, ok := p.Rule(m)
		if !ok || r.String() != w {
			t.Errorf("%s: got %v (ok=%v), want %q", m, r, ok, w)
		}
	}
	if r, ok := p.Rule("/example.items.v1.InfoService/GetDebugInfo"); ok {
		t.Errorf("GetDebugInfo has rule %v, want none", r)
	}
	srv := grpc.NewServer()
	itemsv1.RegisterInfoServiceServer(srv, itemsv1.UnimplementedInfoServiceServer{})
	got := p.Unprotected(srv.GetServiceInfo())
	if len(got) != 1 || got[0] != "/example.items.v1.InfoService/GetDebugInfo" {
		t.Fatalf("Unprotected = %v, want [/example.items.v1.InfoService/GetDebugInfo]", got)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	r := &rules.Rule{Scopes: []string{"Items.Write", "Items.Import"}}
	var c rules.Caller = caller{scopes: []string{"openid", "Items.Read", "Items.Write", "Items.Import"}} // boxed once, as *entra.Claims is a pointer
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Authorize(c); err != nil {
			b.Fatal(err)
		}
	}
}
