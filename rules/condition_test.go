package rules_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	itemsv1 "github.com/grpc-azure-auth/grpc-azure-auth/internal/example/gen/items/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// serviceRules are the options of the test service cond.v1.S, whose method M takes
// a cond.v1.Req and whose method N takes a google.protobuf.Empty.
type serviceRules struct {
	def, m, n          *azureauthv1.Rule // default_rule, rule of M, rule of N
	shadowDef, shadowM *azureauthv1.Rule // default_shadow_rule, shadow_rule of M
	requestOfN         string            // N's input type, ".google.protobuf.Empty" when ""
}

const (
	methodM = "/cond.v1.S/M"
	methodN = "/cond.v1.S/N"
)

// condService builds the service cond.v1.S with the given rules.
func condService(t testing.TB, r serviceRules) protoreflect.ServiceDescriptor {
	t.Helper()
	opts := func(m, s *azureauthv1.Rule, mx, sx protoreflect.ExtensionType) (*descriptorpb.MethodOptions, *descriptorpb.ServiceOptions) {
		mo, so := &descriptorpb.MethodOptions{}, &descriptorpb.ServiceOptions{}
		if m != nil {
			proto.SetExtension(mo, mx, m)
		}
		if s != nil {
			proto.SetExtension(so, sx, s)
		}
		return mo, so
	}
	mOpts, svcOpts := opts(r.m, r.def, azureauthv1.E_Rule, azureauthv1.E_DefaultRule)
	if r.shadowM != nil {
		proto.SetExtension(mOpts, azureauthv1.E_ShadowRule, r.shadowM)
	}
	if r.shadowDef != nil {
		proto.SetExtension(svcOpts, azureauthv1.E_DefaultShadowRule, r.shadowDef)
	}
	nOpts := &descriptorpb.MethodOptions{}
	if r.n != nil {
		proto.SetExtension(nOpts, azureauthv1.E_Rule, r.n)
	}
	inN := r.requestOfN
	if inN == "" {
		inN = ".google.protobuf.Empty"
	}
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	const (
		opt = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		rep = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("cond/v1/s.proto"),
		Package:    proto.String("cond.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
				field("user_id", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""),
				field("page_size", 2, descriptorpb.FieldDescriptorProto_TYPE_INT32, opt, ""),
				field("tags", 3, descriptorpb.FieldDescriptorProto_TYPE_STRING, rep, ""),
				field("inner", 4, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, opt, ".cond.v1.Inner"),
				field("labels", 5, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, rep, ".cond.v1.Req.LabelsEntry"),
				field("children", 6, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, rep, ".cond.v1.Req"),
				field("blob", 7, descriptorpb.FieldDescriptorProto_TYPE_BYTES, opt, ""),
				field("ratio", 8, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, ""),
			}, NestedType: []*descriptorpb.DescriptorProto{{
				Name: proto.String("LabelsEntry"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("key", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""),
					field("value", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""),
				},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}}},
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{
				field("owner", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""),
			}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:    proto.String("S"),
			Options: svcOpts,
			Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("M"), InputType: proto.String(".cond.v1.Req"), OutputType: proto.String(".google.protobuf.Empty"), Options: mOpts},
				{Name: proto.String("N"), InputType: proto.String(inN), OutputType: proto.String(".google.protobuf.Empty"), Options: nOpts},
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Services().Get(0)
}

// load builds the policy of cond.v1.S with the given rules.
func load(t testing.TB, r serviceRules) (*rules.Policy, protoreflect.ServiceDescriptor) {
	t.Helper()
	sd := condService(t, r)
	p, err := rules.ForServices(sd)
	if err != nil {
		t.Fatal(err)
	}
	return p, sd
}

// request builds a cond.v1.Req of sd from its JSON form.
func request(t testing.TB, sd protoreflect.ServiceDescriptor, js string) proto.Message {
	t.Helper()
	m := dynamicpb.NewMessage(sd.Methods().ByName("M").Input())
	if err := protojson.Unmarshal([]byte(js), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func userRule(cond string) *azureauthv1.Rule {
	return &azureauthv1.Rule{Scopes: []string{"Notes.Read"}, Roles: []string{"Notes.Admin"}, ScopeMatch: azureauthv1.Match_MATCH_ANY, Condition: cond}
}

func TestConditionErrorsAreStartupErrorsNamingTheMethod(t *testing.T) {
	tests := []struct {
		name  string
		rules serviceRules
		where string // the method or option the error names
		want  []string
	}{
		{"a typo in a request field", serviceRules{m: userRule("request.usr_id == caller.object_id")}, methodM, []string{"undefined field 'usr_id'", "request.usr_id"}},
		{"a typo in a caller field", serviceRules{m: userRule("request.user_id == caller.oid")}, methodM, []string{"undefined field 'oid'"}},
		{"a field of a nested message that does not exist", serviceRules{m: userRule("request.inner.owner_id == caller.object_id")}, methodM, []string{"undefined field 'owner_id'"}},
		{"an unknown variable", serviceRules{m: userRule("req.user_id == caller.object_id")}, methodM, []string{"undeclared reference to 'req'"}},
		{"a string where a bool is wanted", serviceRules{m: userRule("request.user_id")}, methodM, []string{"is of type string, want bool"}},
		{"a number where a bool is wanted", serviceRules{m: userRule("request.page_size + 1")}, methodM, []string{"is of type int, want bool"}},
		{"a dynamic claim is not a bool until compared", serviceRules{m: userRule(`caller.claims["admin"]`)}, methodM, []string{"want bool"}},
		{"comparing a string with a number", serviceRules{m: userRule("request.user_id == 1")}, methodM, []string{"no matching overload"}},
		{"a syntax error", serviceRules{m: userRule("request.user_id ==")}, methodM, []string{"Syntax error"}},
		{"an unknown function", serviceRules{m: userRule("isOwner(request.user_id)")}, methodM, []string{"undeclared reference to 'isOwner'"}},
		{"a blank condition", serviceRules{m: userRule("  ")}, methodM, []string{"condition is blank"}},
		{"a condition too long", serviceRules{m: userRule("true" + strings.Repeat(" && true", rules.MaxConditionLength/8))}, methodM, []string{"longer than"}},
		{"the caller in an anonymous rule's condition", serviceRules{m: &azureauthv1.Rule{Anonymous: true, Condition: `caller.object_id != ""`}}, methodM,
			[]string{"undeclared reference to 'caller'", "an anonymous rule's condition may read the request only"}},
		{"a default_rule condition that does not fit one method's request", serviceRules{def: userRule(`request.user_id == caller.object_id`)}, methodN + " (default_rule of cond.v1.S)",
			[]string{"undefined field 'user_id'"}},
		{"a shadow rule's condition", serviceRules{m: userRule("true"), shadowM: userRule("request.usr_id == caller.object_id")}, methodM + " (shadow_rule)", []string{"undefined field 'usr_id'"}},
		{"a default_shadow_rule's condition", serviceRules{m: userRule("true"), n: userRule("true"), shadowDef: userRule("request.user_id != caller.object_id")}, methodN + " (default_shadow_rule of cond.v1.S)", []string{"undefined field 'user_id'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.ForServices(condService(t, tt.rules))
			if err == nil {
				t.Fatal("policy built, want a startup error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "rules: "+tt.where+": condition") {
				t.Errorf("error does not name %q:\n%s", tt.where, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestInvalidAuthContextsAndShadowRulesAreStartupErrors(t *testing.T) {
	ctx := func(ids ...string) *azureauthv1.Rule {
		return &azureauthv1.Rule{Scopes: []string{"Notes.Write"}, AuthContexts: ids}
	}
	tests := []struct {
		name  string
		rules serviceRules
		want  string // with the method or option it names
	}{
		{"an upper-case context ID", serviceRules{m: ctx("C1")}, "/cond.v1.S/M: authentication context \"C1\": Entra's IDs are c1 to c99"},
		{"context c0", serviceRules{m: ctx("c0")}, "\"c0\": Entra's IDs are c1 to c99"},
		{"context c100", serviceRules{m: ctx("c100")}, "\"c100\": Entra's IDs"},
		{"context c01", serviceRules{m: ctx("c01")}, "\"c01\": Entra's IDs"},
		{"a context named like a display name", serviceRules{m: ctx("High security")}, "\"High security\": Entra's IDs"},
		{"an empty context", serviceRules{m: ctx("")}, "\"\": Entra's IDs"},
		{"a bare c", serviceRules{m: ctx("c")}, "\"c\": Entra's IDs"},
		{"a context listed twice", serviceRules{m: ctx("c1", "c2", "c1")}, "\"c1\" is listed twice"},
		{"contexts on an anonymous rule", serviceRules{m: &azureauthv1.Rule{Anonymous: true, AuthContexts: []string{"c1"}}}, "an anonymous rule cannot require authentication contexts"},
		{"a condition alone", serviceRules{m: &azureauthv1.Rule{Condition: "true"}}, "/cond.v1.S/M: a rule must be anonymous, authenticated, or name"},
		{"contexts alone", serviceRules{m: &azureauthv1.Rule{AuthContexts: []string{"c1"}}}, "a rule must be anonymous, authenticated, or name"},
		{"an invalid shadow rule", serviceRules{m: ctx("c1"), shadowM: &azureauthv1.Rule{Scopes: []string{"api://x/Notes.Read"}}}, "/cond.v1.S/M (shadow_rule): scope \"api://x/Notes.Read\""},
		{"an invalid default shadow rule", serviceRules{shadowDef: &azureauthv1.Rule{}}, "cond.v1.S (default_shadow_rule): a rule must be"},
		{"an invalid context in a default rule", serviceRules{def: ctx("c7x")}, "cond.v1.S (default_rule): authentication context \"c7x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.ForServices(condService(t, tt.rules))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidRulesWithConditionsContextsAndShadowsLoad(t *testing.T) {
	p, _ := load(t, serviceRules{
		def:       &azureauthv1.Rule{Authenticated: true, AuthContexts: []string{"c1", "c99"}},
		m:         &azureauthv1.Rule{Anonymous: true, Condition: "request.page_size <= 100"},
		shadowDef: &azureauthv1.Rule{Scopes: []string{"Notes.Read", "Notes.Share"}},
		shadowM:   userRule(`request.user_id == caller.object_id || "Notes.Admin" in caller.roles`),
	})
	for _, tt := range []struct {
		get    func(string) (*rules.Rule, bool)
		method string
		want   string
	}{
		{p.Rule, methodM, "anonymous, if request.page_size <= 100"},
		{p.Rule, methodN, "a valid access token, authentication contexts c1 and c99"},
		{p.Shadow, methodM, `scope Notes.Read or role Notes.Admin, if request.user_id == caller.object_id || "Notes.Admin" in caller.roles`},
		{p.Shadow, methodN, "scopes Notes.Read and Notes.Share"},
	} {
		r, ok := tt.get(tt.method)
		if !ok || r.String() != tt.want {
			t.Errorf("%s: got %v (ok=%v), want %q", tt.method, r, ok, tt.want)
		}
	}
	if _, ok := p.Shadow("/cond.v1.S/Other"); ok {
		t.Error("a method the policy does not know has a shadow rule")
	}
}

// claims builds the claims map of a Caller from JSON.
func claims(t testing.TB, js string) map[string]*structpb.Value {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s.GetFields()
}

// tags is the JSON of a cond.v1.Req with n tags "t".
func tags(n int) string {
	return `{"tags":[` + strings.TrimSuffix(strings.Repeat(`"t",`, n), ",") + `]}`
}

func TestConditions(t *testing.T) {
	ann := &azureauthv1.Caller{ObjectId: "ann-oid", TenantId: "tid-1", Scopes: []string{"Notes.Read"}, Username: "ann@contoso.com",
		Claims: claims(t, `{"oid":"ann-oid","dept":"Finance","level":3}`)}
	daemon := &azureauthv1.Caller{ObjectId: "daemon-oid", AppOnly: true, Roles: []string{"Notes.Admin"}, Claims: claims(t, `{}`)}
	const own = `request.user_id == caller.object_id || (caller.app_only && "Notes.Admin" in caller.roles)`
	tests := []struct {
		name    string
		cond    string
		anon    bool
		caller  *azureauthv1.Caller
		request string // JSON of a cond.v1.Req
		want    string // "" allowed, "false" condition false, else part of the evaluation error
	}{
		{"a user reading their own resource is allowed", own, false, ann, `{"user_id":"ann-oid"}`, ""},
		{"a user reading another's resource is denied", own, false, ann, `{"user_id":"ben-oid"}`, "false"},
		{"an admin app reading anyone's is allowed", own, false, daemon, `{"user_id":"ben-oid"}`, ""},
		{"an empty request field does not match an empty claim", `request.user_id == caller.name`, false, ann, `{}`, ""}, // both "": documented, equal
		{"a nested field is read", `request.inner.owner == caller.object_id`, false, ann, `{"inner":{"owner":"ann-oid"}}`, ""},
		{"an unset nested message reads as its defaults", `request.inner.owner == caller.object_id`, false, ann, `{}`, "false"},
		{"a repeated field", `caller.object_id in request.tags`, false, ann, `{"tags":["x","ann-oid"]}`, ""},
		{"a map field", `request.labels["owner"] == caller.username`, false, ann, `{"labels":{"owner":"ann@contoso.com"}}`, ""},
		{"a missing map key is an evaluation error", `request.labels["owner"] == caller.username`, false, ann, `{}`, "no such key: owner"},
		{"a custom claim", `caller.claims["dept"] == "Finance"`, false, ann, `{}`, ""},
		{"a custom claim of another value", `caller.claims["dept"] == "Sales"`, false, ann, `{}`, "false"},
		{"a missing claim is an evaluation error", `caller.claims["ctry"] == "NO"`, false, ann, `{}`, "no such key: ctry"},
		{"a missing claim tested first is false, not an error", `"ctry" in caller.claims && caller.claims["ctry"] == "NO"`, false, ann, `{}`, "false"},
		{"a numeric claim compares with an int field", `caller.claims["level"] >= request.page_size`, false, ann, `{"page_size":3}`, ""},
		{"a runtime type error", `caller.claims["dept"] + 1 == 2`, false, ann, `{}`, "no such overload"},
		{"a division by zero", `100 / request.page_size > 1`, false, ann, `{}`, "division by zero"},
		{"a string function", `caller.username.endsWith("@contoso.com")`, false, ann, `{}`, ""},
		{"no caller where the condition reads it", own, false, nil, `{"user_id":"ann-oid"}`, "no such attribute"},
		{"no caller where the condition reads the request only", `request.page_size <= 100`, false, nil, `{"page_size":10}`, ""},
		{"an anonymous rule's condition holds", `request.page_size <= 100`, true, nil, `{"page_size":100}`, ""},
		{"an anonymous rule's condition fails alike with a token", `request.page_size <= 100`, true, ann, `{"page_size":101}`, "false"},
		{"a comprehension over the request", `request.children.all(c, c.user_id == caller.object_id)`, false, ann, `{"children":[{"user_id":"ann-oid"},{"user_id":"ann-oid"}]}`, ""},
		{"a comprehension of MaxIterations iterations completes", `request.tags.all(t, t == "t")`, false, ann, tags(rules.MaxIterations), ""},
		{"a comprehension of one more iteration stops and denies", `request.tags.all(t, t == "t")`, false, ann, tags(rules.MaxIterations + 1), "interrupted"},
		{"nested comprehensions count every iteration", `request.tags.all(a, request.tags.all(b, a == b))`, false, ann, tags(40), "interrupted"},
		{"a comprehension past the cost limit stops and denies", `request.tags.all(a, a in request.tags)`, false, ann, tags(500), "cost limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := userRule(tt.cond)
			if tt.anon {
				rule = &azureauthv1.Rule{Anonymous: true, Condition: tt.cond}
			}
			p, sd := load(t, serviceRules{m: rule})
			r, _ := p.Rule(methodM)
			err := r.AuthorizeMessage(tt.caller, request(t, sd, tt.request))
			var ce *rules.ConditionError
			switch {
			case tt.want == "":
				if err != nil {
					t.Fatalf("denied: %v (cause %v)", err, errors.Unwrap(err))
				}
				return
			case err == nil:
				t.Fatalf("allowed, want a denial (%s)", tt.want)
			case !errors.As(err, &ce) || !errors.Is(err, rules.ErrCondition) || !errors.Is(err, rules.ErrDenied):
				t.Fatalf("err = %#v, want a *ConditionError matching ErrCondition and ErrDenied", err)
			case rules.OutcomeOf(err) != authzerr.ReasonConditionFailed:
				t.Errorf("OutcomeOf = %s, want %s", rules.OutcomeOf(err), authzerr.ReasonConditionFailed)
			}
			if tt.want == "false" {
				if ce.Err != nil || err.Error() != "condition not met: "+tt.cond {
					t.Fatalf("err = %q (cause %v), want the condition not met", err, ce.Err)
				}
				return
			}
			if ce.Err == nil || !strings.Contains(ce.Err.Error(), tt.want) {
				t.Fatalf("cause = %v, want one containing %q", ce.Err, tt.want)
			}
			if err.Error() != "condition could not be evaluated: "+tt.cond || strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q tells the caller the cause, or not the condition", err)
			}
		})
	}
}

func TestConditionsAreSafeForConcurrentUse(t *testing.T) {
	p, sd := load(t, serviceRules{m: userRule(`request.user_id == caller.object_id && request.tags.all(t, t != "")`)})
	r, _ := p.Rule(methodM)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	other := request(t, sd, `{"user_id":"someone"}`)
	for i := range 8 {
		me := fmt.Sprintf("user-%d", i)
		view := &azureauthv1.Caller{ObjectId: me}
		own := request(t, sd, `{"user_id":"`+me+`","tags":["a"]}`)
		wg.Go(func() {
			for range 200 {
				if err := r.AuthorizeMessage(view, own); err != nil {
					errs <- fmt.Errorf("%s denied their own: %w", me, err)
					return
				}
				if err := r.AuthorizeMessage(view, other); !errors.Is(err, rules.ErrCondition) {
					errs <- fmt.Errorf("%s reading another's: %v", me, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAConditionRefusesMessagesItWasNotCheckedAgainst(t *testing.T) {
	p, sd := load(t, serviceRules{m: userRule(`request.user_id == caller.object_id`)})
	r, _ := p.Rule(methodM)
	other := condService(t, serviceRules{}) // another descriptor of cond.v1.Req
	ann := &azureauthv1.Caller{ObjectId: "ann-oid"}
	for _, tt := range []struct {
		name string
		req  proto.Message
		want string
	}{
		{"no message", nil, "no request message"},
		{"a message of another type", &emptypb.Empty{}, "request is a google.protobuf.Empty, the condition reads a cond.v1.Req"},
		{"a message of a copy of the type", request(t, other, `{"user_id":"ann-oid"}`), "another descriptor"},
		{"a typed nil of another type", (*itemsv1.GetItemRequest)(nil), "request is a example.items.v1.GetItemRequest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := r.AuthorizeMessage(ann, tt.req)
			if err == nil || !strings.Contains(errors.Unwrap(err).Error(), tt.want) {
				t.Fatalf("err = %v (cause %v), want a cause containing %q", err, errors.Unwrap(err), tt.want)
			}
		})
	}
	if err := r.AuthorizeMessage(ann, request(t, sd, `{"user_id":"ann-oid"}`)); err != nil {
		t.Fatalf("the method's own type is denied: %v", err)
	}
	handMade := &rules.Rule{Authenticated: true, Condition: "true"}
	if err := handMade.AuthorizeMessage(ann, request(t, sd, `{}`)); !errors.Is(err, rules.ErrCondition) {
		t.Fatalf("a hand-made rule with an uncompiled condition: err = %v, want a denial", err)
	}
	if err := (&rules.Rule{Authenticated: true}).AuthorizeMessage(nil, nil); err != nil {
		t.Fatalf("a rule without condition denied: %v", err)
	}
}

func TestAuthContexts(t *testing.T) {
	one := &rules.Rule{Scopes: []string{"Notes.Write"}, AuthContexts: []string{"c1"}}
	two := &rules.Rule{Authenticated: true, AuthContexts: []string{"c1", "c2"}}
	tests := []struct {
		name          string
		rule          *rules.Rule
		caller        *azureauthv1.Caller
		missing       []string // nil: allowed
		appOnly       bool
		capable       bool
		claimsRequest string
	}{
		{"a user with the context is allowed", one, &azureauthv1.Caller{Acrs: []string{"c1"}}, nil, false, false, ""},
		{"a user with more contexts than needed is allowed", one, &azureauthv1.Caller{Acrs: []string{"c3", "c1"}}, nil, false, false, ""},
		{"a capable user without the context is challenged", one, &azureauthv1.Caller{ClientCapabilities: []string{"cp1"}},
			[]string{"c1"}, false, true, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"a user without the context whose client is not capable", one, &azureauthv1.Caller{Acrs: []string{"c2"}, ClientCapabilities: []string{"cp2"}},
			[]string{"c1"}, false, false, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"contexts match case-sensitively", one, &azureauthv1.Caller{Acrs: []string{"C1"}}, []string{"c1"}, false, false, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"every context is required", two, &azureauthv1.Caller{Acrs: []string{"c2"}, ClientCapabilities: []string{"cp1"}},
			[]string{"c1"}, false, true, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"every missing context is named, the first is asked for", two, &azureauthv1.Caller{ClientCapabilities: []string{"cp1"}},
			[]string{"c1", "c2"}, false, true, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"both contexts are enough", two, &azureauthv1.Caller{Acrs: []string{"c2", "c1"}}, nil, false, false, ""},
		{"an app-only token never satisfies a context", one, &azureauthv1.Caller{AppOnly: true, Acrs: []string{"c1"}, ClientCapabilities: []string{"cp1"}},
			[]string{"c1"}, true, false, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"no caller is denied", one, nil, []string{"c1"}, false, false, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"a rule without contexts allows an app", &rules.Rule{Roles: []string{"A"}}, &azureauthv1.Caller{AppOnly: true}, nil, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.AuthorizeContexts(tt.caller)
			if tt.missing == nil {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			var se *rules.StepUpError
			if !errors.As(err, &se) || !errors.Is(err, rules.ErrStepUp) || !errors.Is(err, rules.ErrDenied) {
				t.Fatalf("err = %v, want a *StepUpError matching ErrStepUp and ErrDenied", err)
			}
			if fmt.Sprint(se.Missing) != fmt.Sprint(tt.missing) || se.AppOnly != tt.appOnly || se.ClientCapable != tt.capable {
				t.Errorf("got missing %v app-only %v capable %v, want %v %v %v", se.Missing, se.AppOnly, se.ClientCapable, tt.missing, tt.appOnly, tt.capable)
			}
			if got := se.Claims(); got != tt.claimsRequest || !json.Valid([]byte(got)) {
				t.Errorf("Claims() = %s, want %s", got, tt.claimsRequest)
			}
			if rules.OutcomeOf(err) != authzerr.ReasonAuthContextRequired {
				t.Errorf("OutcomeOf = %s", rules.OutcomeOf(err))
			}
		})
	}
	if got := (&rules.StepUpError{Missing: []string{"c1", "c2"}, AppOnly: true}).Error(); got != "requires authentication contexts c1 and c2 (an app-only token has none)" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&rules.StepUpError{Missing: []string{"c1"}}).Error(); got != "requires authentication context c1" {
		t.Errorf("Error() = %q", got)
	}
}

// TestEvaluateRunsThePartsInOrder shows a shadow rule tried next to the
// enforced one: Evaluate's outcome, never acted on.
func TestEvaluateRunsThePartsInOrder(t *testing.T) {
	p, sd := load(t, serviceRules{
		m:       &azureauthv1.Rule{Scopes: []string{"Notes.Read"}, AuthContexts: []string{"c1"}, Condition: `request.user_id == caller.object_id`},
		shadowM: &azureauthv1.Rule{Scopes: []string{"Notes.Read", "Notes.Share"}},
	})
	r, _ := p.Rule(methodM)
	shadow, _ := p.Shadow(methodM)
	ben := caller{scopes: []string{"Notes.Read"}}
	benView := &azureauthv1.Caller{ObjectId: "ben-oid", Scopes: []string{"Notes.Read"}, Acrs: []string{"c1"}}
	own := request(t, sd, `{"user_id":"ben-oid"}`)
	tests := []struct {
		name   string
		rule   *rules.Rule
		claims rules.Caller
		view   *azureauthv1.Caller
		req    proto.Message
		want   string
	}{
		{"everything holds", r, ben, benView, own, rules.OutcomeAllowed},
		{"no token: the scopes fail first", r, nil, nil, own, authzerr.ReasonInsufficientScope},
		{"the scopes fail before the contexts", r, caller{}, &azureauthv1.Caller{ObjectId: "ben-oid"}, own, authzerr.ReasonInsufficientScope},
		{"the contexts fail before the condition", r, ben, &azureauthv1.Caller{ObjectId: "x"}, own, authzerr.ReasonAuthContextRequired},
		{"the condition fails last", r, ben, benView, request(t, sd, `{"user_id":"ann-oid"}`), authzerr.ReasonConditionFailed},
		{"a stream before its first message: no condition yet", r, ben, benView, nil, rules.OutcomeAllowed},
		{"the shadow rule would deny what the rule allows", shadow, ben, benView, own, authzerr.ReasonInsufficientScope},
		{"the shadow rule allows what it should", shadow, caller{scopes: []string{"Notes.Share", "Notes.Read"}}, benView, own, rules.OutcomeAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules.OutcomeOf(tt.rule.Evaluate(tt.claims, tt.view, tt.req)); got != tt.want {
				t.Fatalf("outcome %s, want %s", got, tt.want)
			}
		})
	}
	if got := rules.OutcomeOf(errors.New("boom")); got != rules.OutcomeOther {
		t.Errorf("OutcomeOf(another error) = %s", got)
	}
}

// FuzzCondition feeds request messages of any shape (any bytes, read as the
// method's request type, however far the reading got) to conditions that
// read every kind of field: evaluation never panics and always decides.
func FuzzCondition(f *testing.F) {
	conds := []string{
		`request.user_id == caller.object_id`,
		`request.inner.owner == caller.object_id && request.page_size < 10`,
		`request.labels["owner"] == caller.username`,
		`request.tags.exists(t, t in caller.roles) || request.children.all(c, c.user_id == caller.object_id)`,
		`request.children.all(c, c.children.all(d, d.tags.all(t, t.startsWith(request.user_id))))`,
		`size(request.blob) < 100 && request.ratio / double(request.page_size) > 0.5`,
		`request.labels.all(k, request.labels[k] == caller.claims[k])`,
		`has(request.inner) ? request.inner.owner.matches(request.user_id) : request.user_id.contains(caller.name)`,
	}
	type compiledRule struct {
		rule    *rules.Rule
		request protoreflect.MessageDescriptor
	}
	var compiled []compiledRule
	for _, c := range conds {
		sd := condService(f, serviceRules{m: userRule(c)})
		p, err := rules.ForServices(sd)
		if err != nil {
			f.Fatal(err)
		}
		r, _ := p.Rule(methodM)
		compiled = append(compiled, compiledRule{r, sd.Methods().ByName("M").Input()})
	}
	sd := condService(f, serviceRules{})
	view := &azureauthv1.Caller{ObjectId: "ann", Username: "ann@x", Name: "a", Roles: []string{"r"}, Claims: claims(f, `{"owner":"ann","n":1}`)}
	for _, seed := range []string{
		`{"user_id":"ann"}`,
		`{"inner":{"owner":"ann"},"page_size":3,"tags":["r"],"labels":{"owner":"ann@x"}}`,
		`{"children":[{"user_id":"ann","children":[{"tags":["ann1"]}]}],"blob":"AAEC","ratio":2.5}`,
	} {
		m := dynamicpb.NewMessage(sd.Methods().ByName("M").Input())
		if err := protojson.Unmarshal([]byte(seed), m); err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range compiled {
			r, req := c.rule, dynamicpb.NewMessage(c.request)
			_ = proto.Unmarshal(b, req) // whatever was read before an error
			for _, c := range []*azureauthv1.Caller{view, nil} {
				err := r.AuthorizeMessage(c, req)
				if err != nil && rules.OutcomeOf(err) != authzerr.ReasonConditionFailed {
					t.Fatalf("%s: %v is not a condition denial", r.Condition, err)
				}
				var ce *rules.ConditionError
				if errors.As(err, &ce) && ce.Err != nil && strings.Contains(ce.Err.Error(), "internal error") {
					t.Fatalf("%s: evaluation panicked: %v", r.Condition, ce.Err)
				}
			}
		}
	})
}

// itemsService is a service bench.v1.S whose method Get takes the Items
// example's generated GetItemRequest, under rule.
func itemsService(tb testing.TB, rule *azureauthv1.Rule) protoreflect.ServiceDescriptor {
	tb.Helper()
	mOpts := &descriptorpb.MethodOptions{}
	proto.SetExtension(mOpts, azureauthv1.E_Rule, rule)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("bench/v1/s.proto"),
		Package:    proto.String("bench.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{itemsv1.File_example_items_v1_items_proto.Path()},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("S"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Get"), InputType: proto.String(".example.items.v1.GetItemRequest"),
				OutputType: proto.String(".example.items.v1.GetItemResponse"), Options: mOpts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		tb.Fatal(err)
	}
	return fd.Services().Get(0)
}

// BenchmarkAuthorizedCall is what the interceptor asks of a rule on an
// authorized unary call (Authorize, AuthorizeContexts, AuthorizeMessage),
// with a condition comparing a request field with a caller claim and
// without one, on the generated request type. Compare with
//
//	go test -run '^$' -bench AuthorizedCall -benchmem -count 10 ./policy | tee /tmp/a.txt
//	go tool benchstat -col /condition /tmp/a.txt
func BenchmarkAuthorizedCall(b *testing.B) {
	for _, bc := range []struct{ name, cond string }{
		{"none", ""},
		{"field-eq-claim", "request.id == caller.object_id"},
	} {
		b.Run("condition="+bc.name, func(b *testing.B) {
			p, err := rules.ForServices(itemsService(b, &azureauthv1.Rule{Scopes: []string{"Items.Read"}, Condition: bc.cond}))
			if err != nil {
				b.Fatal(err)
			}
			r, _ := p.Rule("/bench.v1.S/Get")
			var claims rules.Caller = caller{scopes: []string{"openid", "Items.Read", "Items.Write"}} // boxed once, as *entra.Claims is a pointer
			view := &azureauthv1.Caller{ObjectId: "00000000-0000-0000-0000-0000000000a1", Scopes: []string{"openid", "Items.Read", "Items.Write"}}
			req := &itemsv1.GetItemRequest{Id: view.ObjectId}
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Authorize(claims); err != nil {
					b.Fatal(err)
				}
				if err := r.AuthorizeContexts(view); err != nil {
					b.Fatal(err)
				}
				if err := r.AuthorizeMessage(view, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
