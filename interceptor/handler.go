package interceptor

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Deny returns the error a handler returns to refuse its caller for a
// reason of its own, a resource-level check a rule cannot express ("only the
// item's owner may delete it"). It answers exactly as the interceptor
// answers a caller a rule does not admit: codes.PermissionDenied with
// authzerr.ReasonInsufficientScope and msg as the status message, which
// the gateway turns into 403 with an insufficient_scope challenge. msg is
// sent to the caller: say what is required, never internal details.
//
// When ctx carries no caller (an anonymous method called without a token),
// Deny answers codes.Unauthenticated with authzerr.ReasonTokenMissing
// instead, 401 over REST: the caller has not said who it is yet.
//
// The interceptors log the denials handlers return, as they log their own.
func Deny(ctx context.Context, msg string) error {
	if _, ok := entra.FromContext(ctx); !ok {
		return handlerDenied(denial{code: codes.Unauthenticated, reason: authzerr.ReasonTokenMissing, msg: msg})
	}
	return handlerDenied(denial{code: codes.PermissionDenied, reason: authzerr.ReasonInsufficientScope, msg: msg})
}

// RequireScope returns nil when the caller in ctx is a signed-in user whose
// token carries every one of scopes, and otherwise the very error a method
// whose rule names these scopes answers: PermissionDenied, "requires scope
// …", authzerr.ReasonInsufficientScope with authzerr.MetadataScopes listing
// them (403 with the full scope names over REST). As in rules, scopes never
// admit an app-only token. Without a caller in ctx it answers as [Deny]
// does. Naming no scope, or a name a rule could not hold
// (rules.ValidateNames), is a bug, answered codes.Internal, never allowed.
func RequireScope(ctx context.Context, scopes ...string) error {
	return require(ctx, &rules.Rule{Scopes: scopes}, len(scopes))
}

// RequireRole is [RequireScope] for app roles: it returns nil when the
// caller's token carries every one of roles (user or app-only), and
// otherwise the error a method whose rule names these roles answers.
func RequireRole(ctx context.Context, roles ...string) error {
	return require(ctx, &rules.Rule{Roles: roles}, len(roles))
}

func require(ctx context.Context, r *rules.Rule, names int) error {
	if names == 0 || rules.ValidateNames("scope", r.Scopes) != nil || rules.ValidateNames("role", r.Roles) != nil {
		// A bug in the handler: fail closed, without telling the caller.
		return status.Error(codes.Internal, "internal error")
	}
	c, ok := entra.FromContext(ctx)
	if !ok {
		msg := "requires " + r.String()
		return handlerDenied(denial{code: codes.Unauthenticated, reason: authzerr.ReasonTokenMissing, msg: msg})
	}
	if err := r.Authorize(c); err != nil {
		return handlerDenied(denial{code: codes.PermissionDenied, reason: authzerr.ReasonInsufficientScope, msg: err.Error(), rule: r})
	}
	return nil
}

// handlerDenial is the error of a denial a handler returns: a gRPC status
// the interceptors recognise, to log it.
type handlerDenial struct {
	d  denial
	st *status.Status
}

func handlerDenied(d denial) *handlerDenial {
	return &handlerDenial{d: d, st: status.Convert(d.err())}
}

func (e *handlerDenial) Error() string { return e.st.Err().Error() }

// GRPCStatus makes the denial the call's status (status.FromError).
func (e *handlerDenial) GRPCStatus() *status.Status { return e.st }

// logHandlerDenial logs err when it is a denial a handler returned.
func (a *Authorizer) logHandlerDenial(ctx context.Context, method string, err error) {
	if err == nil || !a.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// Declared here: errors.As moves hd to the heap, an allocation the
	// calls without an error need not pay.
	var hd *handlerDenial
	if !errors.As(err, &hd) {
		return
	}
	c, _ := entra.FromContext(ctx)
	attrs := append(callerAttrs(c), slog.String("method", method), slog.String("outcome", "deny"),
		slog.String("reason", hd.d.reason), slog.String("detail", hd.d.msg), slog.String("by", "handler"))
	a.logger.LogAttrs(ctx, slog.LevelInfo, "authorization", attrs...)
}
