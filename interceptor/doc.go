// Package interceptor protects gRPC services with Microsoft Entra ID access
// tokens.
//
// An [Authorizer] answers one question per call: may this caller call this
// method? It reads the method's rule from a [rules.Policy] (the proto
// options, read once), the bearer token from the "authorization" metadata,
// validates the token with an entra.Validator and checks the rule. The
// validated caller is stored in the handler's context, read with
// entra.FromContext.
//
// Its unary and stream interceptors consult the policy and nothing else: no
// service can opt out of its rules (go-grpc-middleware's auth interceptors
// would let a service implementing ServiceAuthFuncOverride skip them; these
// do not). Methods that must stay open without a rule (health checks,
// reflection) are exempted in the server wiring, visibly, with
// go-grpc-middleware's selector, not inside this package.
//
// A rule can ask more than scopes and roles (see package rules): the
// Conditional Access authentication contexts the token's acrs must hold,
// and a CEL condition over the request and the caller. The interceptors
// check the condition on the request of a unary call before its handler
// runs, and on every message a stream receives (the request of a server
// stream included) as the handler receives it: the first message that
// fails ends the stream with PermissionDenied, whatever the handler does
// next. The caller a condition sees (an azureauthv1.Caller) is built once
// per validated token, from entra's strict reading of it; a token whose
// acrs or xms_cc is not an array of strings is refused as invalid.
//
// A method's shadow rule is tried on every call next to its rule and
// never decides: calls on which the two disagree go to [WithShadowHook]
// (package metrics counts them) and are logged at most once per method per
// [DefaultShadowLogInterval].
//
// A stream lasts no longer than its caller's token: at exp plus the
// validator's clock skew its handler's context is done, its sends and
// receives fail, and it ends as a call with an expired token would have
// (Unauthenticated, authzerr.ReasonTokenExpired). A handler waiting in Recv on a
// silent client ends when the client next sends or leaves.
//
// Failures are gRPC statuses carrying an errdetails.ErrorInfo of domain
// authzerr.Domain whose Reason is one of the authzerr.Reason… constants (read
// it with authzerr.FromError):
//
//   - codes.Unauthenticated: no token, or a token that failed validation
//     (the message says what failed: expired, wrong audience, …);
//   - codes.PermissionDenied: a valid token that lacks the required scope or
//     role (the message and the ErrorInfo metadata name them; an app-only
//     token qualifies by role only, whatever scp it carries), or a method
//     without a rule;
//   - codes.PermissionDenied, authzerr.ReasonConditionFailed: the rule's
//     condition did not hold for the request or a received message, or
//     could not be evaluated (the message states the condition; the CEL
//     error is logged, never returned);
//   - codes.Unauthenticated, authzerr.ReasonInsufficientClaims: a claims
//     challenge: a user's token lacks an authentication context the rule
//     requires and its client declared the capability cp1 (xms_cc); the
//     ErrorInfo's metadata holds the claims to ask for (base64, as
//     bearer.ClaimsChallenge reads them) and the missing contexts; over
//     REST a 401 with WWW-Authenticate error="insufficient_claims";
//   - codes.PermissionDenied, authzerr.ReasonAuthContextRequired: the
//     same for a client that cannot answer a challenge, or an app-only
//     token, which never satisfies an authentication context (403 over
//     REST, naming the context);
//   - codes.Unavailable: the identity provider's keys could not be loaded.
//
// A handler decides what no rule can express, a resource-level check such as
// "only the item's owner may delete it", with [Deny], [RequireScope] and
// [RequireRole]: their errors are the interceptor's own answers (same code,
// reason and metadata), so gRPC and REST callers see a rule's denial.
//
// Every decision is logged with log/slog (method, outcome, reason, caller
// oid, tid and client ID), handlers' denials included; tokens never are.
// [WithDecisionHook] reports each decision of the interceptors as a
// [Decision], for metrics or audit.
package interceptor
