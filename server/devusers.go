package server

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// devAccounts gives devidp's default users and apps the scopes and app
// roles that the rules of p name:
//
//   - alice: every scope;
//   - bob: the read-only scopes, those whose name contains "Read" but not
//     "Write" (Items.Read, Notes.Read, not Notes.ReadWrite), or, when no
//     name does, the first scope in alphabetical order;
//   - admin-daemon: every app role;
//   - reporting-daemon: the app roles that a rule accepts in place of
//     scopes bob has (a rule {scopes: "Items.Read", roles: "Items.Export"}
//     gives it Items.Export): a reader's permissions for a daemon.
//
// Scopes and roles are sorted. WithDevIdentityProvider's WithUsers and
// WithApps, applied after, replace them.
func devAccounts(p *rules.Policy) ([]devidp.User, []devidp.App) {
	var all []*rules.Rule
	var scopes, roles []string
	for _, m := range p.Methods() {
		r, _ := p.Rule(m)
		all = append(all, r)
		scopes = append(scopes, r.Scopes...)
		roles = append(roles, r.Roles...)
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	slices.Sort(roles)
	roles = slices.Compact(roles)

	var read []string
	for _, s := range scopes {
		if strings.Contains(s, "Read") && !strings.Contains(s, "Write") {
			read = append(read, s)
		}
	}
	if len(read) == 0 && len(scopes) > 0 {
		read = scopes[:1]
	}
	var readRoles []string
	for _, r := range all {
		if len(r.Roles) > 0 && len(r.Scopes) > 0 && admits(r.Scopes, r.AnyScope, read) {
			readRoles = append(readRoles, r.Roles...)
		}
	}
	slices.Sort(readRoles)
	readRoles = slices.Compact(readRoles)

	users, apps := devidp.DefaultUsers(), devidp.DefaultApps()
	users[0].Scopes = slices.Clone(scopes)
	users[1].Scopes = slices.Clone(read)
	for i := range apps {
		switch apps[i].ClientID {
		case devidp.AdminDaemonClientID:
			apps[i].Roles = slices.Clone(roles)
		case devidp.ReportingDaemonClientID:
			apps[i].Roles = readRoles
		}
	}
	return users, apps
}

// admits reports whether a caller with the scopes has the names a rule
// requires: one of them when any, else all.
func admits(names []string, any bool, has []string) bool {
	for _, n := range names {
		if slices.Contains(has, n) == any {
			return any
		}
	}
	return !any
}

// warnStartup logs the mistakes that leave a server working but not as
// meant: see warnUncovered and warnNoGateway.
func (s *Server) warnStartup(p *rules.Policy) {
	if s.devIDP != nil {
		s.warnUncovered(p)
	}
	s.warnNoGateway()
}

// warnUncovered warns, for each scope that no development user has and
// each app role that no development user or app has, that the methods
// whose rules name it cannot be called with its development tokens: the
// rules have a name the users of WithDevIdentityProvider lack, or a typo.
func (s *Server) warnUncovered(p *rules.Policy) {
	scopes, roles := map[string]bool{}, map[string]bool{}
	for _, u := range s.devIDP.Users() {
		for _, sc := range u.Scopes {
			scopes[sc] = true
		}
		for _, r := range u.Roles {
			roles[r] = true
		}
	}
	for _, a := range s.devIDP.Apps() {
		for _, r := range a.Roles {
			roles[r] = true
		}
	}
	missingScopes, missingRoles := map[string][]string{}, map[string][]string{}
	var scopeOrder, roleOrder []string
	for _, m := range p.Methods() {
		r, _ := p.Rule(m)
		for _, sc := range r.Scopes {
			if !scopes[sc] {
				if missingScopes[sc] == nil {
					scopeOrder = append(scopeOrder, sc)
				}
				missingScopes[sc] = append(missingScopes[sc], m)
			}
		}
		for _, ro := range r.Roles {
			if !roles[ro] {
				if missingRoles[ro] == nil {
					roleOrder = append(roleOrder, ro)
				}
				missingRoles[ro] = append(missingRoles[ro], m)
			}
		}
	}
	slices.Sort(scopeOrder)
	slices.Sort(roleOrder)
	for _, sc := range scopeOrder {
		s.logger.Warn("development mode: no development user has a scope that rules name, so the development identity provider issues no token with it; give it to a user with WithDevIdentityProvider(devidp.WithUsers(...))",
			"scope", sc, "methods", missingScopes[sc])
	}
	for _, ro := range roleOrder {
		s.logger.Warn("development mode: no development user or app has an app role that rules name, so the development identity provider issues no token with it; give it to an app with WithDevIdentityProvider(devidp.WithApps(...))",
			"role", ro, "methods", missingRoles[ro])
	}
}

// warnNoGateway warns when the OpenAPI document lists REST paths but no
// service gave RegisterGateway: the document and Swagger UI offer
// operations that every call answers 404 (nothing serves them).
func (s *Server) warnNoGateway() {
	if s.o.spec == nil || slices.ContainsFunc(s.o.services, func(svc Service) bool { return svc.RegisterGateway != nil }) {
		return
	}
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if json.Unmarshal(s.o.spec, &doc) != nil || len(doc.Paths) == 0 {
		return
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	s.logger.Warn("the OpenAPI document lists REST paths but no service has a RegisterGateway, so no REST call is served: set Service.RegisterGateway to the generated Register…Handler",
		"paths", paths)
}
