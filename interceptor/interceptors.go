package interceptor

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	azureauthv1 "github.com/grpc-azure-auth/grpc-azure-auth/gen/azureauth/v1"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
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
	policy    *rules.Policy
	logger    *slog.Logger
	hook      func(context.Context, Decision) // nil when no hook is set
	// shadowHook is nil when no hook is set.
	shadowHook func(context.Context, ShadowDecision)
	shadowLog  *shadowLog
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
		p, err := rules.Load(protoregistry.GlobalFiles)
		if err != nil {
			return nil, fmt.Errorf("interceptor: %w", err)
		}
		o.policy = p
	}
	a := &Authorizer{validator: v, policy: o.policy, logger: o.logger, hook: joinHooks(o.hooks),
		shadowLog: &shadowLog{interval: DefaultShadowLogInterval, now: time.Now, methods: map[string]*shadowLogState{}}}
	if len(o.shadow) > 0 {
		hooks := o.shadow
		a.shadowHook = func(ctx context.Context, d ShadowDecision) {
			for _, h := range hooks {
				h(ctx, d)
			}
		}
	}
	return a, nil
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
func (a *Authorizer) Policy() *rules.Policy { return a.policy }

// UnaryServerInterceptor authorizes unary calls before the handler runs.
// It consults nothing but the policy: a service cannot opt out of its rules
// (go-grpc-middleware's ServiceAuthFuncOverride, for one, is ignored).
func (a *Authorizer) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, _ := req.(proto.Message)
		ctx, _, err := a.authorize(ctx, info.FullMethod, metadata.ValueFromIncomingContext(ctx, "authorization"), msg, true)
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
// interceptor, it consults nothing but the rules.
func (a *Authorizer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, c, err := a.authorize(ss.Context(), info.FullMethod, metadata.ValueFromIncomingContext(ss.Context(), "authorization"), nil, false)
		if err != nil {
			return err
		}
		if c.checksMessages() {
			// Every message received, the request of a server stream
			// included, must satisfy the condition.
			handler = a.guard(handler, c)
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
// A method whose rule has a condition (rules.Rule.HasCondition) is
// denied here, since the condition needs the request: decide such calls
// with [Authorizer.AuthorizeRequest]. On success the returned context
// carries the caller (entra.FromContext), unless the method is anonymous
// and no token came.
func (a *Authorizer) Authorize(ctx context.Context, fullMethod string, values []string) (context.Context, error) {
	if rule, ok := a.policy.Rule(fullMethod); ok && rule.HasCondition() {
		return nil, a.deny(ctx, fullMethod, nil, denial{code: codes.PermissionDenied, reason: authzerr.ReasonConditionFailed,
			msg: "the method's condition was not checked: it needs the request"})
	}
	ctx, _, err := a.authorize(ctx, fullMethod, values, nil, false)
	return ctx, err
}

// AuthorizeRequest decides a call of fullMethod, as [Authorizer.Authorize]
// does, with req, its request (the first request message of a stream),
// checked against the condition of the method's rule. Each further
// request message of a stream goes to [Authorizer.AuthorizeMessage] with
// the returned context before it is acted on.
func (a *Authorizer) AuthorizeRequest(ctx context.Context, fullMethod string, values []string, req proto.Message) (context.Context, error) {
	ctx, _, err := a.authorize(ctx, fullMethod, values, req, true)
	return ctx, err
}

// AuthorizeMessage checks one further request message of a call that
// [Authorizer.AuthorizeRequest] or [Authorizer.Authorize] admitted, with
// ctx the context it returned, against the condition of the method's rule,
// and tries the method's shadow rule on it. The rule is checked again on
// the caller ctx carries, so a context that did not come from them is
// refused as its caller would be. It returns nil when the rule admits the
// caller and has no condition or the condition holds, and otherwise the
// denial (for a failed condition PermissionDenied,
// authzerr.ReasonConditionFailed), logged and reported to the decision
// hooks as a second decision of the call.
func (a *Authorizer) AuthorizeMessage(ctx context.Context, fullMethod string, msg proto.Message) error {
	c, err := a.callOf(ctx, fullMethod)
	if err != nil {
		return err
	}
	return a.checkMessage(ctx, c, msg)
}

// callOf rebuilds the call Authorize decided from its context, and checks
// again that the method's rule admits its caller (up to the condition): a
// context that did not come from Authorize is not taken on trust.
func (a *Authorizer) callOf(ctx context.Context, method string) (*call, error) {
	rule, ok := a.policy.Rule(method)
	if !ok {
		return nil, a.deny(ctx, method, nil, denial{code: codes.PermissionDenied, reason: authzerr.ReasonNoRule, msg: "method has no access rule"})
	}
	c := &call{method: method, rule: rule}
	c.shadow, _ = a.policy.Shadow(method)
	c.claims, _ = entra.FromContext(ctx)
	if c.claims != nil {
		var err error
		if c.view, err = callerOf(c.claims); err != nil {
			return nil, a.deny(ctx, method, c.claims, unreadableCaller(err))
		}
	}
	if err := rule.Evaluate(c.who(), c.view, nil); err != nil {
		return nil, a.deny(ctx, method, c.claims, ruleDenial(rule, err))
	}
	// The shadow rule's condition is compared on the message when the
	// shadow rule admits the caller, as after Authorize.
	c.shadowAllowed = c.shadow != nil && c.shadow.Evaluate(c.who(), c.view, nil) == nil
	return c, nil
}

// call is one call being decided: its rules and its caller.
type call struct {
	method string
	rule   *rules.Rule
	shadow *rules.Rule         // nil without a shadow rule
	claims *entra.Claims       // nil without a token
	view   *azureauthv1.Caller // the caller as conditions see it; nil without a token
	// shadowAllowed is true when the shadow rule admitted the call up to
	// its condition: its condition is then compared on each message.
	shadowAllowed bool
}

// checksMessages reports whether the messages of a stream must be looked
// at: a condition to enforce, or one to try in shadow.
func (c *call) checksMessages() bool {
	return c.rule.HasCondition() || (c.shadowAllowed && c.shadow.HasCondition())
}

// who is claims as a rules.Caller: a nil interface without a token, never
// a typed nil.
func (c *call) who() rules.Caller {
	if c.claims == nil {
		return nil
	}
	return c.claims
}

// authorize decides a call. With hasMsg (unary calls), msg is its request
// and the condition is checked on it; without, the condition is left for
// each message received. The returned call is the decided one, for the
// checks of a stream's messages.
func (a *Authorizer) authorize(ctx context.Context, method string, values []string, msg proto.Message, hasMsg bool) (context.Context, *call, error) {
	rule, ok := a.policy.Rule(method)
	if !ok {
		return nil, nil, a.deny(ctx, method, nil, denial{code: codes.PermissionDenied, reason: authzerr.ReasonNoRule, msg: "method has no access rule"})
	}
	c := &call{method: method, rule: rule}
	c.shadow, _ = a.policy.Shadow(method)
	var took time.Duration
	if !rule.Anonymous || len(values) > 0 {
		raw, err := bearerToken(values)
		if err != nil {
			reason := authzerr.ReasonTokenInvalid
			switch {
			case errors.Is(err, errNoToken):
				reason = authzerr.ReasonTokenMissing
				// No token is a caller the rules can judge: nil.
				if c.shadow != nil {
					a.tryShadow(ctx, c, &rules.DeniedError{Rule: rule}, msg, hasMsg)
				}
			case errors.Is(err, errManyTokens):
				reason = authzerr.ReasonInvalidRequest
			}
			return nil, nil, a.deny(ctx, method, nil, denial{code: codes.Unauthenticated, reason: reason, msg: err.Error()})
		}
		var start time.Time
		if a.hook != nil {
			start = time.Now()
		}
		claims, err := a.validator.Validate(ctx, raw)
		if a.hook != nil {
			took = time.Since(start)
		}
		if err != nil {
			code, reason, msg := validationFailure(err)
			return nil, nil, a.deny(ctx, method, nil, denial{code: code, reason: reason, msg: msg, cause: err, took: took})
		}
		c.claims = claims
		if needsCaller(rule) || (c.shadow != nil && needsCaller(c.shadow)) {
			if c.view, err = callerOf(claims); err != nil {
				d := unreadableCaller(err)
				d.took = took
				return nil, nil, a.deny(ctx, method, claims, d)
			}
		}
	}
	err := rule.Authorize(c.who())
	if err == nil {
		err = rule.AuthorizeContexts(c.view)
	}
	if err == nil && hasMsg {
		err = rule.AuthorizeMessage(c.view, msg)
	}
	if c.shadow != nil {
		a.tryShadow(ctx, c, err, msg, hasMsg)
	}
	if err != nil {
		d := ruleDenial(rule, err)
		d.took = took
		return nil, nil, a.deny(ctx, method, c.claims, d)
	}
	a.grant(ctx, method, c.claims, took)
	if c.claims == nil {
		return ctx, c, nil
	}
	return entra.NewContext(ctx, c.claims), c, nil
}

// unreadableCaller is the denial of a token whose claims a condition's
// caller cannot be built from.
func unreadableCaller(err error) denial {
	return denial{code: codes.Unauthenticated, reason: authzerr.ReasonTokenInvalid, msg: "invalid token: " + errCallerClaims.Error(), cause: err}
}

// ruleDenial is the denial of a rule's error.
func ruleDenial(rule *rules.Rule, err error) denial {
	var (
		stepUp *rules.StepUpError
		cond   *rules.ConditionError
	)
	switch {
	case errors.As(err, &stepUp):
		md := map[string]string{authzerr.MetadataAuthContexts: strings.Join(stepUp.Missing, " ")}
		if stepUp.ClientCapable && !stepUp.AppOnly {
			md[authzerr.MetadataClaims] = base64.StdEncoding.EncodeToString([]byte(stepUp.Claims()))
			return denial{code: codes.Unauthenticated, reason: authzerr.ReasonInsufficientClaims, msg: err.Error(), md: md}
		}
		return denial{code: codes.PermissionDenied, reason: authzerr.ReasonAuthContextRequired, msg: err.Error(), md: md}
	case errors.As(err, &cond):
		// The CEL error is logged, never returned: it may name claims.
		return denial{code: codes.PermissionDenied, reason: authzerr.ReasonConditionFailed, msg: err.Error(), cause: cond.Err}
	}
	return denial{code: codes.PermissionDenied, reason: authzerr.ReasonInsufficientScope, msg: err.Error(), rule: rule}
}

// checkMessage checks one request message of an admitted call against
// the rule's condition, and tries the shadow rule's on it.
func (a *Authorizer) checkMessage(ctx context.Context, c *call, msg proto.Message) error {
	err := c.rule.AuthorizeMessage(c.view, msg)
	if c.shadowAllowed && (c.rule.HasCondition() || c.shadow.HasCondition()) {
		a.compareShadow(ctx, c, rules.OutcomeOf(err), rules.OutcomeOf(c.shadow.AuthorizeMessage(c.view, msg)))
	}
	if err != nil {
		return a.deny(ctx, c.method, c.claims, ruleDenial(c.rule, err))
	}
	return nil
}

// needsCaller reports whether a rule reads the caller as conditions see
// it: authentication contexts or a condition.
func needsCaller(r *rules.Rule) bool { return len(r.AuthContexts) > 0 || r.HasCondition() }

// tryShadow evaluates the shadow rule on the call the enforced rule
// decided with enforced (nil: admitted), and compares their outcomes.
// With hasMsg, msg is the call's request, nil when it is not a proto
// message (its condition then fails).
func (a *Authorizer) tryShadow(ctx context.Context, c *call, enforced error, msg proto.Message, hasMsg bool) {
	shadow := c.shadow.Evaluate(c.who(), c.view, nil)
	c.shadowAllowed = shadow == nil
	if shadow == nil && hasMsg {
		shadow = c.shadow.AuthorizeMessage(c.view, msg)
	}
	a.compareShadow(ctx, c, rules.OutcomeOf(enforced), rules.OutcomeOf(shadow))
}

// guard makes handler's stream check each message it receives with
// checkMessage: the first that fails ends the stream with its denial,
// whatever the handler returns, and no message is sent or received after
// it.
func (a *Authorizer) guard(handler grpc.StreamHandler, c *call) grpc.StreamHandler {
	return func(srv any, ss grpc.ServerStream) error {
		gs := &guardedStream{ServerStream: ss, a: a, c: c}
		err := handler(srv, gs)
		if denied := gs.denied.Load(); denied != nil {
			return *denied
		}
		return err
	}
}

// guardedStream is a stream whose received messages must satisfy the
// condition of its method's rule.
type guardedStream struct {
	grpc.ServerStream
	a      *Authorizer
	c      *call
	denied atomic.Pointer[error] // the denial of the first message that failed
}

func (s *guardedStream) RecvMsg(m any) error {
	if denied := s.denied.Load(); denied != nil {
		return *denied
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	msg, _ := m.(proto.Message) // not a proto message: the condition fails
	if err := s.a.checkMessage(s.ServerStream.Context(), s.c, msg); err != nil {
		s.denied.CompareAndSwap(nil, &err)
		return err
	}
	return nil
}

func (s *guardedStream) SendMsg(m any) error {
	if denied := s.denied.Load(); denied != nil {
		return *denied
	}
	return s.ServerStream.SendMsg(m)
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
	reason string            // ErrorInfo reason
	msg    string            // safe to return to the caller
	cause  error             // logged, never returned: may hold details unfit for the caller
	rule   *rules.Rule       // the unsatisfied rule, for INSUFFICIENT_SCOPE
	md     map[string]string // the ErrorInfo's metadata, when rule is nil
	took   time.Duration     // time spent validating the token, for the hook
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
	md := d.md
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
