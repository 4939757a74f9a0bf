package interceptor

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ShadowDecision is a call on which a method's shadow rule disagreed with
// its enforced rule, reported to a shadow hook ([WithShadowHook]).
//
// Outcomes are rules.OutcomeOf's: "ALLOWED", or the reason the rule
// would give (INSUFFICIENT_SCOPE, AUTH_CONTEXT_REQUIRED, CONDITION_FAILED),
// a bounded set fit for a metric label. Both rules are judged alike: a call
// without a token is INSUFFICIENT_SCOPE to a rule that is not anonymous,
// and a step-up is AUTH_CONTEXT_REQUIRED whether or not the client could
// be challenged, so a shadow rule equal to the enforced one never
// disagrees.
type ShadowDecision struct {
	FullMethod string // "/pkg.Service/Method"
	Enforced   string // the outcome of the enforced rule, which decided
	Shadow     string // the outcome the shadow rule would have had
}

// DefaultShadowLogInterval is how often, at most, a method's disagreements
// between its shadow and enforced rules are logged.
const DefaultShadowLogInterval = time.Minute

// shadowLog logs disagreements at most once per method per interval, with
// the number left unlogged since the last line.
type shadowLog struct {
	interval time.Duration
	now      func() time.Time
	mu       sync.Mutex
	methods  map[string]*shadowLogState // bounded: methods with a shadow rule
}

type shadowLogState struct {
	next       time.Time // the first time another line may be logged
	suppressed int       // disagreements not logged since the last line
}

// compareShadow counts and logs a call whose shadow outcome differs from
// its enforced one.
func (a *Authorizer) compareShadow(ctx context.Context, c *call, enforced, shadow string) {
	method := c.method
	if enforced == shadow {
		return
	}
	if a.shadowHook != nil {
		a.shadowHook(ctx, ShadowDecision{FullMethod: method, Enforced: enforced, Shadow: shadow})
	}
	if !a.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	suppressed, ok := a.shadowLog.allow(method)
	if !ok {
		return
	}
	attrs := append(callerAttrs(c.claims), slog.String("method", method), slog.String("enforced", enforced),
		slog.String("shadow", shadow), slog.Int("unlogged_since_last", suppressed))
	a.logger.LogAttrs(ctx, slog.LevelInfo, "shadow rule disagrees", attrs...)
}

// allow reports whether a disagreement of method may be logged now, and
// how many were not since the last one that was.
func (l *shadowLog) allow(method string) (suppressed int, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.methods[method]
	if st == nil {
		st = &shadowLogState{}
		l.methods[method] = st
	}
	if now.Before(st.next) {
		st.suppressed++
		return 0, false
	}
	suppressed, st.suppressed = st.suppressed, 0
	st.next = now.Add(l.interval)
	return suppressed, true
}
