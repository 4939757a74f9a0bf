package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
)

// MaxNameLength bounds one scope or role name. Entra ID limits both to 120
// characters; the bound leaves room without letting a typo pass unnoticed.
const MaxNameLength = 256

// Policy maps full gRPC method names ("/pkg.Service/Method") to their rules
// and shadow rules. A Policy is immutable and safe for concurrent use.
type Policy struct {
	rules   map[string]*Rule
	shadows map[string]*Rule
}

// Load reads the rules of every service in files, typically
// protoregistry.GlobalFiles, which holds every generated file linked into the
// program. It returns an error naming each invalid rule.
func Load(files *protoregistry.Files) (*Policy, error) {
	var services []protoreflect.ServiceDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			services = append(services, fd.Services().Get(i))
		}
		return true
	})
	return ForServices(services...)
}

// FullMethod is the name gRPC gives a method of a service (as in
// grpc.Method and grpc.UnaryServerInfo.FullMethod), the name rules are
// found by: "/example.items.v1.ItemService/GetItem".
func FullMethod(service, method string) string { return "/" + service + "/" + method }

// ForServices reads the rules of the given services only. It returns an
// error naming each invalid rule; a condition is compiled and type-checked
// against the request type of each method it applies to, and its errors
// name that method.
func ForServices(services ...protoreflect.ServiceDescriptor) (*Policy, error) {
	p := &Policy{rules: make(map[string]*Rule), shadows: make(map[string]*Rule)}
	var (
		comp *compiler // made by the first condition: most policies have none
		errs []error
	)
	for _, sd := range services {
		for _, kind := range ruleKinds {
			def, hasDef := ruleOption(sd.Options(), kind.service)
			for i := 0; i < sd.Methods().Len(); i++ {
				md := sd.Methods().Get(i)
				name := FullMethod(string(sd.FullName()), string(md.Name()))
				pb, ok := ruleOption(md.Options(), kind.method)
				where := name + kind.label
				if !ok {
					if !hasDef {
						continue
					}
					pb = def
					where = string(sd.FullName()) + " (" + kind.defaultName + ")"
				}
				r, err := newRule(pb)
				if err != nil {
					errs = append(errs, fmt.Errorf("rules: %s: %w", where, err))
					continue
				}
				if r.Condition != "" {
					if comp == nil {
						if comp, err = newCompiler(); err != nil {
							return nil, err
						}
					}
					if r.cond, err = comp.compile(r.Condition, md.Input(), r.Anonymous); err != nil {
						if !ok {
							where = name + " (" + kind.defaultName + " of " + string(sd.FullName()) + ")"
						}
						errs = append(errs, fmt.Errorf("rules: %s: %w", where, err))
						continue
					}
				}
				kind.of(p)[name] = r
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	return p, nil
}

// ruleKinds are the two rules a method can have: the enforced one and the
// shadow one, each with its method and service options.
var ruleKinds = []struct {
	method, service protoreflect.ExtensionType
	label           string // after the method's name in errors
	defaultName     string // the service option's name, in errors
	of              func(*Policy) map[string]*Rule
}{
	{azureauthv1.E_Rule, azureauthv1.E_DefaultRule, "", "default_rule", func(p *Policy) map[string]*Rule { return p.rules }},
	{azureauthv1.E_ShadowRule, azureauthv1.E_DefaultShadowRule, " (shadow_rule)", "default_shadow_rule", func(p *Policy) map[string]*Rule { return p.shadows }},
}

// Rule returns the rule of a full method name such as
// "/example.items.v1.ItemService/GetItem". ok is false when the method has no
// rule; the caller must then deny.
func (p *Policy) Rule(fullMethod string) (r *Rule, ok bool) {
	r, ok = p.rules[fullMethod]
	return r, ok
}

// Shadow returns the shadow rule of a full method name, and whether it has
// one. A shadow rule never decides: try it with [Rule.Evaluate] next to the
// enforced rule and count where their outcomes ([OutcomeOf]) differ.
func (p *Policy) Shadow(fullMethod string) (r *Rule, ok bool) {
	r, ok = p.shadows[fullMethod]
	return r, ok
}

// Methods returns the full names of every method that has a rule, sorted.
func (p *Policy) Methods() []string {
	names := make([]string, 0, len(p.rules))
	for n := range p.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Unprotected returns, sorted, the full names of the methods of a server's
// services (as from grpc.Server.GetServiceInfo) that have no rule and so are
// denied to every caller. Servers log them at startup.
func (p *Policy) Unprotected(services map[string]grpc.ServiceInfo) []string {
	var names []string
	for svc, info := range services {
		for _, m := range info.Methods {
			name := FullMethod(svc, m.Name)
			if _, ok := p.rules[name]; !ok {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func ruleOption(opts proto.Message, xt protoreflect.ExtensionType) (*azureauthv1.Rule, bool) {
	if opts == nil || !proto.HasExtension(opts, xt) {
		return nil, false
	}
	r, ok := proto.GetExtension(opts, xt).(*azureauthv1.Rule)
	return r, ok && r != nil
}

// dedupe drops repeated errors: an invalid service default is reported once,
// not once per method that inherits it.
func dedupe(errs []error) []error {
	seen := make(map[string]bool, len(errs))
	out := errs[:0]
	for _, err := range errs {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return out
}

func newRule(pb *azureauthv1.Rule) (*Rule, error) {
	r := &Rule{
		Anonymous:     pb.GetAnonymous(),
		Authenticated: pb.GetAuthenticated(),
		Scopes:        append([]string(nil), pb.GetScopes()...),
		Roles:         append([]string(nil), pb.GetRoles()...),
		AuthContexts:  append([]string(nil), pb.GetAuthContexts()...),
		Condition:     pb.GetCondition(),
	}
	var err error
	if r.AnyScope, err = anyOf(pb.GetScopeMatch(), "scope_match", len(r.Scopes)); err != nil {
		return nil, err
	}
	if r.AnyRole, err = anyOf(pb.GetRoleMatch(), "role_match", len(r.Roles)); err != nil {
		return nil, err
	}
	switch {
	case r.Anonymous && r.Authenticated:
		return nil, errors.New("a rule cannot be both anonymous and authenticated")
	case r.Anonymous && (len(r.Scopes) > 0 || len(r.Roles) > 0):
		return nil, errors.New("an anonymous rule cannot also name scopes or roles")
	case r.Authenticated && (len(r.Scopes) > 0 || len(r.Roles) > 0):
		return nil, errors.New("an authenticated rule cannot also name scopes or roles: it admits any valid token, the names would never be checked")
	case !r.Anonymous && !r.Authenticated && len(r.Scopes) == 0 && len(r.Roles) == 0:
		return nil, errors.New("a rule must be anonymous, authenticated, or name at least one scope or role (authentication contexts and a condition add to one of these)")
	}
	if err := ValidateNames("scope", r.Scopes); err != nil {
		return nil, err
	}
	if err := ValidateNames("role", r.Roles); err != nil {
		return nil, err
	}
	if err := checkAuthContexts(r.AuthContexts); err != nil {
		return nil, err
	}
	if r.Anonymous && len(r.AuthContexts) > 0 {
		return nil, errors.New("an anonymous rule cannot require authentication contexts: a call without a token has none")
	}
	return r, nil
}

// checkAuthContexts accepts the IDs Entra gives authentication contexts:
// "c1" to "c99".
func checkAuthContexts(ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		n := strings.TrimPrefix(id, "c")
		if len(n) == len(id) || len(n) == 0 || len(n) > 2 || n[0] == '0' || strings.Trim(n, "0123456789") != "" {
			return fmt.Errorf("authentication context %q: Entra's IDs are c1 to c99", id)
		}
		if seen[id] {
			return fmt.Errorf("authentication context %q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

func anyOf(m azureauthv1.Match, field string, n int) (bool, error) {
	switch m {
	case azureauthv1.Match_MATCH_UNSPECIFIED:
		return false, nil
	case azureauthv1.Match_MATCH_ALL, azureauthv1.Match_MATCH_ANY:
		if n == 0 {
			return false, fmt.Errorf("%s is set but the list it applies to is empty", field)
		}
		return m == azureauthv1.Match_MATCH_ANY, nil
	default:
		return false, fmt.Errorf("%s has unknown value %d", field, m)
	}
}

// ValidateNames reports the first of names, scope or role names (kind
// says which, for the message), that a rule cannot hold: empty, longer than
// [MaxNameLength], a full URI instead of the short name, listed twice, or
// with a character RFC 6749 does not allow in a scope token (only printable
// ASCII but space, '"' and '\', so that every name can be written into a
// WWW-Authenticate header verbatim). Rules are checked with it when
// loaded, and interceptor.RequireScope and RequireRole check their
// arguments with it.
func ValidateNames(kind string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n == "":
			return fmt.Errorf("empty %s name", kind)
		case len(n) > MaxNameLength:
			return fmt.Errorf("%s name longer than %d bytes", kind, MaxNameLength)
		case strings.Contains(n, "://"):
			return fmt.Errorf("%s %q: write the short name as it appears in the token (e.g. %q), not the full URI", kind, n, n[strings.LastIndexByte(n, '/')+1:])
		case seen[n]:
			return fmt.Errorf("%s %q is listed twice", kind, n)
		}
		for i := 0; i < len(n); i++ {
			if c := n[i]; c <= ' ' || c == '"' || c == '\\' || c >= 0x7f {
				return fmt.Errorf("%s %q: character %q is not allowed in a scope or role name", kind, n, c)
			}
		}
		seen[n] = true
	}
	return nil
}
