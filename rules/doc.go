// Package rules reads grpc-azure-auth access rules from protobuf descriptors
// and decides whether a caller satisfies them.
//
// Rules are declared once, as options on methods and services (see
// proto/azureauth/v1/options.proto):
//
//	service ItemService {
//	  option (azureauth.v1.default_rule) = {scopes: "Items.Read"};
//	  rpc DeleteItem(DeleteItemRequest) returns (DeleteItemResponse) {
//	    option (azureauth.v1.rule) = {roles: "Items.Admin"};
//	  }
//	}
//
// [Load] and [ForServices] read and validate every rule when they are called,
// so a mistake in a proto is an error at startup, never a surprise at request
// time. A method without a rule, on itself or its service, has no entry in
// the [Policy]: callers of [Policy.Rule] get ok == false and must deny.
//
// # The parts of a rule
//
// A call is checked in this order, and the first part that fails decides:
//
//  1. who: anonymous, authenticated, or the scopes and roles
//     ([Rule.Authorize], a [*DeniedError]);
//  2. authentication contexts: every Conditional Access context in
//     auth_contexts must be in the token's acrs claim
//     ([Rule.AuthorizeContexts], a [*StepUpError]); app-only tokens have none;
//  3. the condition: a CEL expression over `request` (the request message,
//     typed) and `caller` (an azureauth.v1.Caller) must be true
//     ([Rule.AuthorizeMessage], a [*ConditionError]); an evaluation error
//     denies too. Unary and server-streaming calls check it on their
//     request; client- and bidi-streaming calls on every message received.
//
// A user lists only their own notes, an application with the Notes.Admin
// app role anyone's:
//
//	rpc ListUserNotes(ListUserNotesRequest) returns (ListUserNotesResponse) {
//	  option (azureauth.v1.rule) = {
//	    scopes: "Notes.Read" roles: "Notes.Admin"
//	    condition: "request.user_id == caller.object_id || (caller.app_only && 'Notes.Admin' in caller.roles)"
//	  };
//	}
//
// Conditions are compiled and type-checked against each method's request
// type when the policy is built: a field or variable that does not exist, a
// syntax error or a result that is not a bool is a startup error naming the
// method. Conditions with comprehensions (all, exists, map, filter) stop
// and deny past [MaxIterations] iterations or [CostLimit].
//
// # Anonymous rules and conditions
//
// An anonymous rule admits a call without a token, so nothing it asks may
// need one: it cannot require authentication contexts, and its condition
// sees `request` only (reading `caller` is a startup error). A condition on
// an anonymous rule is a check of the request that every caller, with a
// token or without, passes or fails alike. Authenticated and scope/role
// rules always have a caller when their condition runs.
//
// # The caller
//
// The condition's caller is an [azureauthv1.Caller], a plain message the
// interceptor fills from the validated token: the package never sees the
// token itself. Build it once per validated token, not once per call, and
// pass nil when no token came.
//
// # Shadow rules
//
// A shadow_rule (or a service's default_shadow_rule) is validated like a
// rule and found with [Policy.Shadow]. It never decides: [Rule.Evaluate]
// runs it on the same call and [OutcomeOf] names its outcome, to be compared
// with the enforced one.
package rules
