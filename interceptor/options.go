package interceptor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Option configures an [Authorizer].
type Option func(*options)

type options struct {
	policy    *rules.Policy
	policySet bool
	logger    *slog.Logger
	hooks     []func(context.Context, Decision)
	shadow    []func(context.Context, ShadowDecision)
	errs      []error
}

// WithPolicy sets the access rules. Default: the rules of every service
// linked into the program (rules.Load(protoregistry.GlobalFiles)). A nil
// policy is an error from [New].
func WithPolicy(p *rules.Policy) Option {
	return func(o *options) {
		if p == nil {
			o.errs = append(o.errs, errors.New("WithPolicy: nil policy"))
		}
		o.policy, o.policySet = p, true
	}
}

// WithLogger sets where decisions are logged, slog.Default() by default.
// Denials are logged at Info, grants at Debug. A nil logger is an error
// from [New]; to log nothing, pass a logger whose handler discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l == nil {
			o.errs = append(o.errs, errors.New("WithLogger: nil logger"))
		}
		o.logger = l
	}
}

// Decision is what the Authorizer decided for one call, reported to a
// DecisionHook.
type Decision struct {
	FullMethod     string        // "/pkg.Service/Method"
	Outcome        Outcome       // bounded set
	Reason         string        // ErrorInfo reason (e.g. TOKEN_EXPIRED, INSUFFICIENT_SCOPE); "" when allowed
	ValidationTime time.Duration // time spent validating the token (0 when none was presented)
}

// Outcome is the kind of a [Decision]: one of the Outcome… constants, a
// bounded set fit for a metric label.
type Outcome string

// Outcomes of a [Decision], one per gRPC status a decision can end in.
const (
	OutcomeAllowed         Outcome = "allowed"         // the call reaches its handler
	OutcomeUnauthenticated Outcome = "unauthenticated" // codes.Unauthenticated: no token, or a token that failed validation
	OutcomeDenied          Outcome = "denied"          // codes.PermissionDenied: a valid caller the rule does not admit
	OutcomeUnavailable     Outcome = "unavailable"     // codes.Unavailable: the identity provider's keys could not be loaded
)

// WithDecisionHook calls hook synchronously after each decision; it must not
// block and must not retain ctx. Use it for metrics or audit. Each call is
// decided once before its handler runs; a stream that outlives its token is
// reported a second time when it is ended (OutcomeUnauthenticated,
// TOKEN_EXPIRED), and so is a stream ended by a received message that
// fails its rule's condition (OutcomeDenied, CONDITION_FAILED), as is a
// message refused by [Authorizer.AuthorizeMessage]. Denials a handler
// returns ([Deny], [RequireScope], [RequireRole]) are logged, not
// reported: the call was already reported allowed. Several hooks run in the order given. A nil hook is an error
// from [New].
func WithDecisionHook(hook func(ctx context.Context, d Decision)) Option {
	return func(o *options) {
		if hook == nil {
			o.errs = append(o.errs, errors.New("WithDecisionHook: nil hook"))
			return
		}
		o.hooks = append(o.hooks, hook)
	}
}

// WithShadowHook calls hook synchronously for each call on which a
// method's shadow rule (azureauth.v1 shadow_rule or default_shadow_rule)
// disagrees with its enforced rule; it must not block and must not retain
// ctx. Use it for metrics. Shadow rules are tried on every call whose
// token is absent or valid (a call refused for its token, or to a method
// without a rule, is not compared): unary calls once, with their request;
// streams once when they start and then on each message received, while
// both rules admitted the stream. They never decide. Disagreements are
// also logged at Info, at most once per method per
// [DefaultShadowLogInterval]. Several hooks run in the order given. A nil
// hook is an error from [New].
func WithShadowHook(hook func(ctx context.Context, d ShadowDecision)) Option {
	return func(o *options) {
		if hook == nil {
			o.errs = append(o.errs, errors.New("WithShadowHook: nil hook"))
			return
		}
		o.shadow = append(o.shadow, hook)
	}
}
