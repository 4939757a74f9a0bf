package interceptor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

// ErrStreamExpired is the context.Cause of a stream handler's context once
// the caller's token has expired. It matches entra.ErrExpired.
var ErrStreamExpired = fmt.Errorf("stream outlived its token: %w", entra.ErrExpired)

// TokenValidator validates a raw bearer token; *entra.Validator implements
// it. Errors should wrap the entra.Err… values so the answer can say what
// failed. A stream ends at its caller's entra.Claims.ValidUntil.
type TokenValidator interface {
	Validate(ctx context.Context, raw string) (*entra.Claims, error)
}

// Authorizer decides, for each call, whether the caller may call the method.
type Authorizer struct {
	validator TokenValidator
	policy    *policy.Policy
	logger    *slog.Logger
	hook      func(context.Context, Decision) // nil when no hook is set
}

// New returns an Authorizer that validates tokens with v and enforces the
// rules of the policy (by default every service linked into the program).
// Invalid rules are an error here, never at request time.
func New(v TokenValidator, opts ...Option) (*Authorizer, error) {
	if v == nil || isNilPointer(v) {
		return nil, errors.New("interceptor: nil validator")
	}
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.errs) > 0 {
		return nil, fmt.Errorf("interceptor: %w", errors.Join(o.errs...))
	}
	if !o.policySet {
		p, err := policy.Load(protoregistry.GlobalFiles)
		if err != nil {
			return nil, fmt.Errorf("interceptor: %w", err)
		}
		o.policy = p
	}
	return &Authorizer{validator: v, policy: o.policy, logger: o.logger, hook: joinHooks(o.hooks)}, nil
}

// isNilPointer reports whether v holds a nil pointer, such as a nil
// *entra.Validator, which is not == nil once in an interface.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// joinHooks returns one function calling every hook in order, nil for none.
func joinHooks(hooks []func(context.Context, Decision)) func(context.Context, Decision) {
	switch len(hooks) {
	case 0:
		return nil
	case 1:
		return hooks[0]
	}
	return func(ctx context.Context, d Decision) {
		for _, h := range hooks {
			h(ctx, d)
		}
	}
}

// Policy returns the rules the Authorizer enforces.
func (a *Authorizer) Policy() *policy.Policy { return a.policy }

// UnaryServerInterceptor authorizes unary calls before the handler runs.
// It consults nothing but the policy: a service cannot opt out of its rules
// (go-grpc-middleware's ServiceAuthFuncOverride, for one, is ignored).
func (a *Authorizer) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.Authorize(ctx, info.FullMethod, metadata.ValueFromIncomingContext(ctx, "authorization"))
		if err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		a.logHandlerDenial(ctx, info.FullMethod, err)
		return resp, err
	}
}

// StreamServerInterceptor authorizes streams before the handler runs, and
// ends them when the caller's token expires: the handler's context is done
// at entra.Claims.ValidUntil, exp plus the validator's clock skew (context.Cause is
// [ErrStreamExpired]), its sends and receives fail from then on, and the
// stream ends with the answer a token expired at the start gets
// (Unauthenticated, authzerr.ReasonTokenExpired). Like the unary
// interceptor, it consults nothing but the policy.
func (a *Authorizer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.Authorize(ss.Context(), info.FullMethod, metadata.ValueFromIncomingContext(ss.Context(), "authorization"))
		if err != nil {
			return err
		}
		claims, ok := entra.FromContext(ctx)
		if !ok {
			// Anonymous, without a token: nothing to outlive.
			err = handler(srv, ss)
		} else {
			err = a.untilExpiry(ctx, claims, srv, ss, info.FullMethod, handler)
		}
		a.logHandlerDenial(ctx, info.FullMethod, err)
		return err
	}
}

// untilExpiry runs an authorized stream's handler, with ctx as its context,
// no longer than its caller's token is valid.
func (a *Authorizer) untilExpiry(ctx context.Context, claims *entra.Claims, srv any, ss grpc.ServerStream, method string, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithDeadlineCause(ctx, claims.ValidUntil(), ErrStreamExpired)
	defer cancel()
	err := handler(srv, &expiringStream{ServerStream: ss, ctx: ctx})
	if errors.Is(context.Cause(ctx), ErrStreamExpired) {
		return a.deny(ctx, method, claims, streamExpired())
	}
	return err
}

// expiringStream is a stream whose context ends when the caller's token
// expires. Sends and receives check it too, so that no message crosses
// after expiry even when the handler never looks at its context.
type expiringStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *expiringStream) Context() context.Context { return s.ctx }

func (s *expiringStream) SendMsg(m any) error {
	if s.expired() {
		return streamExpired().err()
	}
	return s.ServerStream.SendMsg(m)
}

func (s *expiringStream) RecvMsg(m any) error {
	if s.expired() {
		return streamExpired().err()
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.expired() {
		return streamExpired().err()
	}
	return nil
}

func (s *expiringStream) expired() bool {
	return s.ctx.Err() != nil && errors.Is(context.Cause(s.ctx), ErrStreamExpired)
}

// streamExpired is the denial of a stream whose token expired while it ran.
func streamExpired() denial {
	code, reason, msg := validationFailure(ErrStreamExpired)
	return denial{code: code, reason: reason, msg: msg, cause: ErrStreamExpired}
}

// Authorize decides a call of fullMethod whose authorization metadata holds
// values, as the interceptors do, for transports that are not gRPC servers.
// On success the returned context carries the caller (entra.FromContext),
// unless the method is anonymous and no token came.
func (a *Authorizer) Authorize(ctx context.Context, fullMethod string, values []string) (context.Context, error) {
	rule, ok := a.policy.Rule(fullMethod)
	if !ok {
		return nil, a.deny(ctx, fullMethod, nil, denial{code: codes.PermissionDenied, reason: authzerr.ReasonNoRule, msg: "method has no access rule"})
	}
	if rule.Anonymous && len(values) == 0 {
		a.grant(ctx, fullMethod, nil, 0)
		return ctx, nil
	}
	raw, err := bearerToken(values)
	if err != nil {
		reason := authzerr.ReasonTokenInvalid
		switch {
		case errors.Is(err, errNoToken):
			reason = authzerr.ReasonTokenMissing
		case errors.Is(err, errManyTokens):
			reason = authzerr.ReasonInvalidRequest
		}
		return nil, a.deny(ctx, fullMethod, nil, denial{code: codes.Unauthenticated, reason: reason, msg: err.Error()})
	}
	var start time.Time
	if a.hook != nil {
		start = time.Now()
	}
	claims, err := a.validator.Validate(ctx, raw)
	var took time.Duration
	if a.hook != nil {
		took = time.Since(start)
	}
	if err != nil {
		code, reason, msg := validationFailure(err)
		return nil, a.deny(ctx, fullMethod, nil, denial{code: code, reason: reason, msg: msg, cause: err, took: took})
	}
	if err := rule.Authorize(claims); err != nil {
		return nil, a.deny(ctx, fullMethod, claims, denial{code: codes.PermissionDenied, reason: authzerr.ReasonInsufficientScope, msg: err.Error(), rule: rule, took: took})
	}
	a.grant(ctx, fullMethod, claims, took)
	return entra.NewContext(ctx, claims), nil
}

// validationFailure is the answer to a token that failed validation, as
// the entra.Error it wraps classifies it; its text is safe to return. Any
// other error is answered "invalid token".
func validationFailure(err error) (codes.Code, string, string) {
	var e *entra.Error
	switch {
	case !errors.As(err, &e):
		return codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token"
	case e.HTTPStatus() == http.StatusServiceUnavailable:
		return codes.Unavailable, authzerr.ReasonKeysUnavailable, e.Error() + ", try again later"
	case e.HTTPStatus() == http.StatusForbidden:
		return codes.PermissionDenied, authzerr.ReasonGuest, e.Error()
	case e == entra.ErrExpired:
		return codes.Unauthenticated, authzerr.ReasonTokenExpired, "invalid token: " + e.Error()
	}
	return codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token: " + e.Error()
}

// denial is one refused call.
type denial struct {
	code   codes.Code
	reason string        // ErrorInfo reason
	msg    string        // safe to return to the caller
	cause  error         // logged, never returned: may hold details unfit for the caller
	rule   *policy.Rule  // the unsatisfied rule, for INSUFFICIENT_SCOPE
	took   time.Duration // time spent validating the token, for the hook
}

// deny logs the decision and returns its status.
func (a *Authorizer) deny(ctx context.Context, method string, c *entra.Claims, d denial) error {
	if a.logger.Enabled(ctx, slog.LevelInfo) {
		attrs := append(callerAttrs(c), slog.String("method", method), slog.String("outcome", "deny"),
			slog.String("reason", d.reason), slog.String("detail", d.msg))
		if d.cause != nil {
			attrs = append(attrs, slog.String("cause", d.cause.Error()))
		}
		a.logger.LogAttrs(ctx, slog.LevelInfo, "authorization", attrs...)
	}
	if a.hook != nil {
		a.hook(ctx, Decision{FullMethod: method, Outcome: outcomeOf(d.code), Reason: d.reason, ValidationTime: d.took})
	}
	return d.err()
}

// outcomeOf is the Outcome of a denial with code.
func outcomeOf(code codes.Code) Outcome {
	switch code {
	case codes.Unauthenticated:
		return OutcomeUnauthenticated
	case codes.Unavailable:
		return OutcomeUnavailable
	default:
		return OutcomeDenied
	}
}

// err is the status of the denial.
func (d denial) err() error {
	var md map[string]string
	if d.rule != nil {
		md = map[string]string{}
		if len(d.rule.Scopes) > 0 {
			md[authzerr.MetadataScopes] = strings.Join(d.rule.Scopes, " ")
		}
		if len(d.rule.Roles) > 0 {
			md[authzerr.MetadataRoles] = strings.Join(d.rule.Roles, " ")
		}
	}
	return authzerr.New(d.code, d.reason, d.msg, md)
}

func (a *Authorizer) grant(ctx context.Context, method string, c *entra.Claims, took time.Duration) {
	if a.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := append(callerAttrs(c), slog.String("method", method), slog.String("outcome", "allow"))
		a.logger.LogAttrs(ctx, slog.LevelDebug, "authorization", attrs...)
	}
	if a.hook != nil {
		a.hook(ctx, Decision{FullMethod: method, Outcome: OutcomeAllowed, ValidationTime: took})
	}
}

func callerAttrs(c *entra.Claims) []slog.Attr {
	if c == nil {
		return make([]slog.Attr, 0, 6)
	}
	return append(make([]slog.Attr, 0, 8),
		slog.String("oid", c.ObjectID), slog.String("tid", c.TenantID), slog.String("appid", c.ClientID()))
}
