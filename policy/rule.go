package policy

import (
	"errors"
	"strings"
)

// ErrDenied is matched by every error that [Rule.Authorize] returns.
var ErrDenied = errors.New("permission denied")

// Caller is what a rule needs to know about a validated token.
// *entra.Claims implements it.
type Caller interface {
	// HasScope reports whether the token's scp claim lists scope.
	HasScope(scope string) bool
	// HasRole reports whether the token's roles claim lists role.
	HasRole(role string) bool
	// IsAppOnly reports whether the token was issued to an application
	// acting as itself (client credentials) rather than to a signed-in user.
	IsAppOnly() bool
}

// Rule is the validated form of an azureauth.v1.Rule option.
// Treat it as read-only: a Policy shares it between requests.
type Rule struct {
	// Anonymous lets any caller in, with or without a token.
	Anonymous bool
	// Authenticated lets in any caller with a valid access token, user or
	// application, whatever its scopes and roles.
	Authenticated bool
	// Scopes are delegated permissions matched against the scp claim. They
	// admit signed-in users only, never app-only tokens.
	Scopes []string
	// AnyScope is true when one of Scopes is enough, false when all are needed.
	AnyScope bool
	// Roles are app roles matched against the roles claim.
	Roles []string
	// AnyRole is true when one of Roles is enough, false when all are needed.
	AnyRole bool
}

// Authorize returns nil when c satisfies the rule, or a *DeniedError
// (matching [ErrDenied]) naming what is required. A rule with both scopes and
// roles is satisfied by either, except that an app-only caller is admitted
// by roles alone: scopes are delegated permissions, and a scp claim in an
// app's token must not stand in for a user. An authenticated rule admits
// every caller. c is nil when no token came: only anonymous rules admit it.
func (r *Rule) Authorize(c Caller) error {
	if r.Anonymous {
		return nil
	}
	if c == nil {
		return &DeniedError{Rule: r}
	}
	if r.Authenticated {
		return nil
	}
	appOnly := c.IsAppOnly()
	if !appOnly && len(r.Scopes) > 0 && satisfied(r.Scopes, r.AnyScope, c.HasScope) {
		return nil
	}
	if len(r.Roles) > 0 && satisfied(r.Roles, r.AnyRole, c.HasRole) {
		return nil
	}
	return &DeniedError{Rule: r, AppOnly: appOnly}
}

func satisfied(names []string, any bool, has func(string) bool) bool {
	for _, n := range names {
		if has(n) == any {
			return any
		}
	}
	return !any
}

// String describes what the rule requires, e.g. "scope Items.Read or role
// Items.Export", "a valid access token" or "anonymous".
func (r *Rule) String() string {
	switch {
	case r.Anonymous:
		return "anonymous"
	case r.Authenticated:
		return "a valid access token"
	}
	var parts []string
	if len(r.Scopes) > 0 {
		parts = append(parts, describe("scope", r.Scopes, r.AnyScope))
	}
	if len(r.Roles) > 0 {
		parts = append(parts, describe("role", r.Roles, r.AnyRole))
	}
	return strings.Join(parts, " or ")
}

func describe(kind string, names []string, any bool) string {
	switch {
	case len(names) == 1:
		return kind + " " + names[0]
	case any:
		return "one of " + kind + "s " + strings.Join(names, ", ")
	default:
		return kind + "s " + strings.Join(names, " and ")
	}
}

// DeniedError says that a caller lacks what a rule requires.
type DeniedError struct {
	// Rule is the rule that was not satisfied.
	Rule *Rule
	// AppOnly is true when the caller was an app-only token, which the
	// rule's scopes never admit.
	AppOnly bool
}

// Error reads "requires scope Items.Read", "requires scopes Items.Write and
// Items.Import", "requires scope Items.Read or role Items.Export", …. When
// an app-only caller was refused a rule that names scopes, it adds "(scopes
// do not count for an app-only token)", so a scp claim in its token does not
// leave the caller wondering.
func (e *DeniedError) Error() string {
	msg := "requires " + e.Rule.String()
	if e.AppOnly && len(e.Rule.Scopes) > 0 {
		msg += " (scopes do not count for an app-only token)"
	}
	return msg
}

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }
