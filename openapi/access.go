package openapi

import (
	"encoding/base64"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// access is what a method's rule says about calling its operation, in the
// terms of an OpenAPI operation: the security requirements, the answers the
// server gives to callers the rule does not admit, a note for readers and
// the x-azureauth-* extensions for tools. A new kind of rule adds its
// case to whoOf or stepUpAndCondition; apply writes whatever they set.
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
	// stepUp is true when a 401 may be a claims challenge
	// (error="insufficient_claims"): the rule requires authentication
	// contexts.
	stepUp     bool
	note       string
	extensions map[string]any
}

// The answers' descriptions.
const (
	badToken     = "The token is missing, expired or invalid: WWW-Authenticate says how to sign in, with error=\"invalid_token\" when a token was sent."
	badTokenAnon = "A token was sent and is expired or invalid (a call without any token is let in): WWW-Authenticate has error=\"invalid_token\"."
	challenge    = "Bearer realm, authorization_uri and client_id; error and error_description when a token was refused (RFC 6750); scope, the full names of the scopes that would do, with error=\"insufficient_scope\"."
	guest        = " Guest users are refused (403 without a challenge) when the server does not admit guests."
	// challengeClaims is added to challenge where the rule requires an
	// authentication context.
	challengeClaims = " A claims challenge has error=\"insufficient_claims\" and claims, the base64 of the claims request to send with the next token request."
)

// accessOf maps a rule (ok false: the method has none) to its access:
// who may call (whoOf), then its authentication contexts and its
// condition (stepUpAndCondition). Shadow rules are not in the documents:
// they decide nothing, so a caller sees exactly the enforced rule.
func accessOf(r *rules.Rule, ok bool, prefix string) access {
	a := whoOf(r, ok, prefix)
	if ok {
		a.stepUpAndCondition(r)
	}
	return a
}

// stepUpAndCondition adds to a what the rule's authentication contexts and
// condition change: x-azureauth-auth-contexts and x-azureauth-condition,
// a sentence each in the description, and the answers they give.
func (a *access) stepUpAndCondition(r *rules.Rule) {
	if len(r.AuthContexts) > 0 {
		ids := make([]any, len(r.AuthContexts))
		for i, id := range r.AuthContexts {
			ids[i] = id
		}
		a.extensions["x-azureauth-auth-contexts"] = ids
		claims := base64.StdEncoding.EncodeToString([]byte((&rules.StepUpError{Missing: r.AuthContexts}).Claims()))
		contexts := strings.Join(r.AuthContexts, ", ")
		a.note += " Requires a sign-in that satisfied the Conditional Access authentication context " + contexts +
			" (the token's acrs claim lists it). A user's token without it is answered 401 with a claims challenge" +
			" (WWW-Authenticate error=\"insufficient_claims\", claims=\"" + claims + "\") when its client declared the capability cp1" +
			" (xms_cc claim): ask for a new token with that claims request and call again. Otherwise, and always for an app-only token, 403."
		a.unauthorized += " Or a claims challenge: the user's token lacks authentication context " + contexts +
			" and its client declared cp1; WWW-Authenticate has error=\"insufficient_claims\" and claims=\"" + claims + "\"."
		a.forbidden += " Or the token lacks authentication context " + contexts + " and its client did not declare cp1, or the token is app-only."
		a.stepUp = true
	}
	if r.Condition != "" {
		a.extensions["x-azureauth-condition"] = r.Condition
		a.note += " Allowed only when the condition `" + r.Condition + "` (CEL, over the request and the caller's token) holds; otherwise 403."
		if a.forbidden == "" {
			a.forbidden = "The request does not satisfy the condition " + r.Condition + "."
		} else {
			a.forbidden += " Or the request does not satisfy the condition " + r.Condition + "."
		}
	}
}

// whoOf maps the scopes and roles part of a rule (ok false: the method has
// none) to its access.
func whoOf(r *rules.Rule, ok bool, prefix string) access {
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
	header := challenge
	if a.stepUp {
		header += challengeClaims
	}
	answer := func(description string, withChallenge bool) map[string]any {
		r := map[string]any{"description": description}
		if withChallenge {
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"type": "string", "description": header}}
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
