package rules

import (
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
)

// ErrDenied is matched by every denial of a rule: the errors of
// [Rule.Authorize], [Rule.AuthorizeContexts], [Rule.AuthorizeMessage] and
// [Rule.Evaluate].
var ErrDenied = errors.New("permission denied")

// ErrStepUp is matched by a [*StepUpError]: the token lacks an
// authentication context the rule requires.
var ErrStepUp = errors.New("authentication context required")

// ErrCondition is matched by a [*ConditionError]: the rule's condition did
// not hold, or could not be evaluated.
var ErrCondition = errors.New("condition not met")

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
	// AuthContexts are the Conditional Access authentication context IDs
	// ("c1"…"c99") that the token's acrs claim must all list, checked by
	// [Rule.AuthorizeContexts].
	AuthContexts []string
	// Condition is the source of the rule's CEL condition, "" for none,
	// checked by [Rule.AuthorizeMessage]. Only a rule read by [Load] or
	// [ForServices] has it compiled: a Rule made by hand with a Condition
	// denies every message.
	Condition string

	cond *condition // Condition, compiled against the method's request type
}

// CapabilityClaimsChallenge is the client capability (in the token's xms_cc
// claim) of a client that can handle a claims challenge.
const CapabilityClaimsChallenge = "cp1"

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

// AuthorizeContexts returns nil when c holds every authentication context
// the rule requires, and otherwise a *StepUpError (matching [ErrStepUp] and
// [ErrDenied]) naming the missing ones. An app-only token never satisfies
// an authentication context: contexts are what a user's sign-in achieved.
// c is the caller as conditions see it, nil when no token came. Call it
// after [Rule.Authorize] holds; it does not allocate when the contexts are
// present.
func (r *Rule) AuthorizeContexts(c *azureauthv1.Caller) error {
	if len(r.AuthContexts) == 0 {
		return nil
	}
	if c == nil || c.GetAppOnly() {
		return &StepUpError{Rule: r, Missing: r.AuthContexts, AppOnly: c != nil}
	}
	acrs := c.GetAcrs()
	for i, want := range r.AuthContexts {
		if !contains(acrs, want) {
			missing := []string{want}
			for _, w := range r.AuthContexts[i+1:] {
				if !contains(acrs, w) {
					missing = append(missing, w)
				}
			}
			return &StepUpError{Rule: r, Missing: missing,
				ClientCapable: contains(c.GetClientCapabilities(), CapabilityClaimsChallenge)}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HasCondition reports whether the rule has a condition, which
// [Rule.AuthorizeMessage] must check on every request message.
func (r *Rule) HasCondition() bool { return r.Condition != "" }

// AuthorizeMessage returns nil when the rule's condition holds for one
// request message req and caller c (nil when no token came), and
// otherwise a *ConditionError (matching [ErrCondition] and [ErrDenied]): the
// condition was false, or could not be evaluated (a claim that is not
// there, a runtime type error, a message of another type than the method's
// request, the cost limit): every doubt denies. A rule without condition
// returns nil. Call it after [Rule.Authorize] and [Rule.AuthorizeContexts]
// hold, on the request of a unary or server-streaming call and on every
// message a client- or bidi-streaming call receives. Evaluation never
// panics, whatever the message holds.
func (r *Rule) AuthorizeMessage(c *azureauthv1.Caller, req proto.Message) error {
	if r.Condition == "" {
		return nil
	}
	if r.cond == nil {
		return &ConditionError{Rule: r, Err: errors.New("condition was not compiled: rules with conditions come from Load or ForServices")}
	}
	ok, err := r.cond.eval(c, req)
	if err != nil {
		return &ConditionError{Rule: r, Err: err}
	}
	if !ok {
		return &ConditionError{Rule: r}
	}
	return nil
}

// Evaluate runs every part of the rule on one call, in the order the
// interceptor does: [Rule.Authorize] on claims (nil: no token),
// [Rule.AuthorizeContexts] and [Rule.AuthorizeMessage] on view, the same
// caller as conditions see it, and req. It returns the first denial, or
// nil. req nil stands for a stream that has received no message yet: the
// condition is then left for [Rule.AuthorizeMessage] on each message.
//
// It is how a shadow rule (see [Policy.Shadow]) is tried: its result is
// compared with the enforced decision, never acted on; [OutcomeOf] names it.
func (r *Rule) Evaluate(claims Caller, view *azureauthv1.Caller, req proto.Message) error {
	if err := r.Authorize(claims); err != nil {
		return err
	}
	if err := r.AuthorizeContexts(view); err != nil {
		return err
	}
	if req == nil {
		return nil
	}
	return r.AuthorizeMessage(view, req)
}

// Outcomes of [OutcomeOf]: "ALLOWED", or the authzerr reason of the denial.
const (
	OutcomeAllowed = "ALLOWED"
	// OutcomeOther is a denial that is not a rule's: the caller should not
	// see it, it is counted as such.
	OutcomeOther = "OTHER"
)

// OutcomeOf names the result of a rule's check for counting and logging:
// [OutcomeAllowed] for nil, and otherwise the authzerr reason the denial
// carries: authzerr.ReasonInsufficientScope for a [*DeniedError],
// authzerr.ReasonAuthContextRequired for a [*StepUpError],
// authzerr.ReasonConditionFailed for a [*ConditionError], [OutcomeOther]
// for any other error.
func OutcomeOf(err error) string {
	var (
		denied    *DeniedError
		stepUp    *StepUpError
		condition *ConditionError
	)
	switch {
	case err == nil:
		return OutcomeAllowed
	case errors.As(err, &denied):
		return authzerr.ReasonInsufficientScope
	case errors.As(err, &stepUp):
		return authzerr.ReasonAuthContextRequired
	case errors.As(err, &condition):
		return authzerr.ReasonConditionFailed
	}
	return OutcomeOther
}

// String describes what the rule requires, e.g. "scope Items.Read or role
// Items.Export", "a valid access token" or "anonymous", followed by its
// authentication contexts and condition when it has them: "scope
// Notes.Write, authentication context c1",
// "scope Notes.Read, if request.user_id == caller.object_id".
func (r *Rule) String() string {
	s := r.who()
	if len(r.AuthContexts) > 0 {
		s += ", " + describe("authentication context", r.AuthContexts, false)
	}
	if r.Condition != "" {
		s += ", if " + r.Condition
	}
	return s
}

// who describes the scopes and roles part of the rule.
func (r *Rule) who() string {
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
	msg := "requires " + e.Rule.who()
	if e.AppOnly && len(e.Rule.Scopes) > 0 {
		msg += " (scopes do not count for an app-only token)"
	}
	return msg
}

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// StepUpError says that a token lacks an authentication context its rule
// requires. To a user whose client can handle a claims challenge
// (ClientCapable), the answer is the challenge [StepUpError.Claims]:
// Unauthenticated, 401 over REST; to others, PermissionDenied naming the
// context.
type StepUpError struct {
	// Rule is the rule whose AuthContexts were not all satisfied.
	Rule *Rule
	// Missing are the required contexts the token's acrs lacks, in the
	// rule's order. Treat as read-only.
	Missing []string
	// AppOnly is true when the token was app-only: no sign-in to step up,
	// it can never satisfy an authentication context.
	AppOnly bool
	// ClientCapable is true when the token's xms_cc lists
	// [CapabilityClaimsChallenge]: its client can answer a claims
	// challenge by signing the user in again.
	ClientCapable bool
}

// Error reads "requires authentication context c1", or "requires
// authentication contexts c1 and c2 (an app-only token has none)".
func (e *StepUpError) Error() string {
	msg := "requires " + describe("authentication context", e.Missing, false)
	if e.AppOnly {
		msg += " (an app-only token has none)"
	}
	return msg
}

// Is makes errors.Is(err, ErrStepUp) and errors.Is(err, ErrDenied) true.
func (e *StepUpError) Is(target error) bool { return target == ErrStepUp || target == ErrDenied }

// Claims is the claims request that asks the identity provider for the
// first missing context, the value of a claims challenge (base64 in
// WWW-Authenticate's claims parameter) and of a token request's claims
// parameter: {"access_token":{"acrs":{"essential":true,"value":"c1"}}}.
// One context is asked for at a time, in the shape Microsoft documents; a
// client that still lacks another after stepping up is challenged again.
func (e *StepUpError) Claims() string {
	if len(e.Missing) == 0 {
		return ""
	}
	v, _ := json.Marshal(e.Missing[0]) // a validated ID: cannot fail
	return `{"access_token":{"acrs":{"essential":true,"value":` + string(v) + `}}}`
}

// ConditionError says that a rule's condition did not hold for a request
// message, or could not be evaluated (Err).
type ConditionError struct {
	// Rule is the rule whose condition failed.
	Rule *Rule
	// Err is why the condition could not be evaluated, nil when it was
	// false. It may name claims or fields of the request: log it, do not
	// return it to the caller.
	Err error
}

// Error reads "condition not met: request.user_id == caller.object_id", or
// "condition could not be evaluated: …" followed by the condition: what is
// safe to tell the caller (the condition is public, as the OpenAPI
// document states it).
func (e *ConditionError) Error() string {
	if e.Err != nil {
		return "condition could not be evaluated: " + e.Rule.Condition
	}
	return "condition not met: " + e.Rule.Condition
}

// Unwrap returns Err.
func (e *ConditionError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCondition) and errors.Is(err, ErrDenied) true.
func (e *ConditionError) Is(target error) bool {
	return target == ErrCondition || target == ErrDenied
}
