// Package interceptor protects gRPC services with Microsoft Entra ID access
// tokens.
//
// An [Authorizer] answers one question per call: may this caller call this
// method? It reads the method's rule from a [policy.Policy] (the proto
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
