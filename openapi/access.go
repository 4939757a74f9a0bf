package openapi

import (
	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

// access is what a method's rule says about calling its operation, in the
// terms of an OpenAPI operation: the security requirements, the answers the
// server gives to callers the rule does not admit, a note for readers and
// the x-azureauth-* extensions for tools. A new kind of rule adds its
// case to accessOf; apply writes whatever it set.
type access struct {
	// security is the operation's list of alternative requirements; an
	// empty requirement ({}) makes the token optional.
	security []any
	// scopes are the short scope names the requirements name.
	scopes []string
	// unauthorized and forbidden describe the 401 and 403 answers; "" when
	// the server never gives them for this operation.
	unauthorized, forbidden string
	// forbiddenChallenge is true when a 403 carries WWW-Authenticate
	// (error="insufficient_scope").
	forbiddenChallenge bool
	note               string
	extensions         map[string]any
}

// The answers' descriptions.
const (
	badToken     = "The token is missing, expired or invalid: WWW-Authenticate says how to sign in, with error=\"invalid_token\" when a token was sent."
	badTokenAnon = "A token was sent and is expired or invalid (a call without any token is let in): WWW-Authenticate has error=\"invalid_token\"."
	challenge    = "Bearer realm, authorization_uri and client_id; error and error_description when a token was refused (RFC 6750); scope, the full names of the scopes that would do, with error=\"insufficient_scope\"."
	guest        = " Guest users are refused (403 without a challenge) when the server does not admit guests."
)

// accessOf maps a rule (ok false: the method has none) to its access.
func accessOf(r *policy.Rule, ok bool, prefix string) access {
	anyToken := map[string]any{SchemeName: []any{}}
	switch {
	case !ok:
		return access{
			security:   []any{anyToken},
			forbidden:  "Denied to every caller: this method has no access rule.",
			note:       "**Denied to every caller**: this method has no access rule.",
			extensions: map[string]any{"x-azureauth-denied": true},
		}
	case r.Anonymous:
		return access{
			// Optional: Swagger UI sends a signed-in user's token, so the
			// method sees its caller.
			security:     []any{map[string]any{}, anyToken},
			unauthorized: badTokenAnon,
			note:         "Open to anyone, with or without a token; a token that is sent must be valid.",
			extensions:   map[string]any{"x-azureauth-rule": r.String()},
		}
	case r.Authenticated:
		return access{
			security:     []any{anyToken},
			unauthorized: badToken,
			forbidden:    "The token was refused although valid." + guest,
			note:         "Requires a valid access token for this API, with any scopes or roles.",
			extensions:   map[string]any{"x-azureauth-rule": r.String()},
		}
	}
	a := access{
		unauthorized:       badToken,
		forbidden:          "The token lacks what the rule requires: " + r.String() + "." + guest,
		forbiddenChallenge: true,
		note:               "Requires " + r.String() + ".",
		extensions:         map[string]any{"x-azureauth-rule": r.String()},
	}
	full := make([]any, 0, len(r.Scopes))
	for _, s := range r.Scopes {
		a.scopes = append(a.scopes, s)
		full = append(full, prefix+s)
	}
	switch {
	case len(full) == 0:
	case r.AnyScope:
		for _, s := range full {
			a.security = append(a.security, map[string]any{SchemeName: []any{s}})
		}
	default:
		a.security = append(a.security, map[string]any{SchemeName: full})
	}
	if len(r.Roles) > 0 {
		// An OAuth2 requirement can name scopes only: the role alternative
		// is a token of the scheme without a particular scope, and the
		// roles are named in x-azureauth-roles and the description.
		a.security = append(a.security, anyToken)
		roles := make([]any, len(r.Roles))
		for i, role := range r.Roles {
			roles[i] = role
		}
		a.extensions["x-azureauth-roles"] = roles
		a.note += " App roles are in the token's roles claim: granted to applications (client credentials, an app-only token) or assigned to users."
	}
	return a
}

// apply writes a to the Swagger 2.0 operation op; statusSchema is true
// when the document defines rpcStatus, the body of every denial.
func (a access) apply(op map[string]any, statusSchema bool) {
	op["security"] = a.security
	for k, v := range a.extensions {
		op[k] = v
	}
	if d, _ := op["description"].(string); d != "" {
		a.note = d + "\n\n" + a.note
	}
	op["description"] = a.note
	responses, _ := op["responses"].(map[string]any)
	if responses == nil {
		responses = map[string]any{}
		op["responses"] = responses
	}
	answer := func(description string, withChallenge bool) map[string]any {
		r := map[string]any{"description": description}
		if withChallenge {
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"type": "string", "description": challenge}}
		}
		if statusSchema {
			r["schema"] = map[string]any{"$ref": "#/definitions/rpcStatus"}
		}
		return r
	}
	if a.unauthorized != "" {
		responses["401"] = answer(a.unauthorized, true)
	}
	if a.forbidden != "" {
		responses["403"] = answer(a.forbidden, a.forbiddenChallenge)
	}
}
