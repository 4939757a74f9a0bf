package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/rules"
)

// Label values standing for anything outside the bounded sets.
const (
	// UnknownMethod is the method label of calls to a method not
	// registered on the server (the grpc_service and grpc_method labels of
	// the per-RPC metrics, the method label of decisions).
	UnknownMethod = "unknown"
	OtherValue    = "OTHER" // an outcome or reason this package does not know
)

// unknownFullMethod is the full method the per-RPC metrics are told for a
// call to an unregistered method: grpc_service and grpc_method "unknown".
const unknownFullMethod = "/" + UnknownMethod + "/" + UnknownMethod

// reasons are the decision reasons kept as label values: authzerr's
// reasons, and "" for an allowed call.
var reasons = func() map[string]bool {
	m := map[string]bool{"": true}
	for _, r := range authzerr.Reasons() {
		m[r] = true
	}
	return m
}()

// shadowOutcomes are the outcomes kept as label values of shadow decisions:
// rules.OutcomeOf's.
var shadowOutcomes = map[string]bool{
	rules.OutcomeAllowed:               true,
	authzerr.ReasonInsufficientScope:   true,
	authzerr.ReasonAuthContextRequired: true,
	authzerr.ReasonConditionFailed:     true,
	rules.OutcomeOther:                 true,
}

var outcomes = []interceptor.Outcome{
	interceptor.OutcomeAllowed, interceptor.OutcomeUnauthenticated, interceptor.OutcomeDenied, interceptor.OutcomeUnavailable,
}

// Recorder holds the collectors of one server in a registry of its own.
// Create it with [New], call [Recorder.InitializeMetrics] once the services
// are registered, and serve [Recorder.Handler].
type Recorder struct {
	registry   *prometheus.Registry
	grpc       *grpcprom.ServerMetrics
	decisions  *prometheus.CounterVec
	shadow     *prometheus.CounterVec
	validation *prometheus.HistogramVec
	observers  map[interceptor.Outcome]prometheus.Observer // one per known outcome, resolved once
	// allowed maps each registered full method to its allowed-calls
	// counter, resolved once so the common decision costs one map lookup
	// and one atomic add; nil until InitializeMetrics.
	allowed atomic.Pointer[map[string]prometheus.Counter]
}

// New builds the collectors and registers them, with the Go runtime and
// process collectors, in a new registry.
func New(opts ...Option) (*Recorder, error) {
	o := options{buckets: DefaultValidationBuckets}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.errs) > 0 {
		return nil, errors.Join(o.errs...)
	}
	m := &Recorder{
		registry: prometheus.NewRegistry(),
		grpc:     grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_azure_auth_decisions_total",
			Help: "Authorization decisions by method, outcome (allowed, unauthenticated, denied, unavailable) and reason.",
		}, []string{"method", "outcome", "reason"}),
		shadow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_azure_auth_shadow_decisions_total",
			Help: "Calls on which a method's shadow rule disagreed with its enforced rule, by method, enforced outcome and shadow outcome (ALLOWED or the denial's reason).",
		}, []string{"method", "enforced", "shadow"}),
		validation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_azure_auth_token_validation_seconds",
			Help:    "Time spent validating a presented bearer token, by decision outcome.",
			Buckets: o.buckets,
		}, []string{"outcome"}),
		observers: map[interceptor.Outcome]prometheus.Observer{},
	}
	for _, out := range outcomes {
		m.observers[out] = m.validation.WithLabelValues(string(out))
	}
	cs := []prometheus.Collector{
		m.grpc, m.decisions, m.shadow, m.validation,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if o.validator != nil {
		cs = append(cs, newStatsCollector(o.validator))
	}
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// InitializeMetrics records the methods registered on srv, the only ones
// method labels will name, and creates their per-RPC series at zero. Call
// it once every service is registered and before serving.
func (m *Recorder) InitializeMetrics(srv reflection.ServiceInfoProvider) {
	m.grpc.InitializeMetrics(srv)
	allowed := map[string]prometheus.Counter{}
	for name, info := range srv.GetServiceInfo() {
		for _, method := range info.Methods {
			full := "/" + name + "/" + method.Name
			allowed[full] = m.decisions.WithLabelValues(full, string(interceptor.OutcomeAllowed), "")
		}
	}
	m.allowed.Store(&allowed)
}

// DecisionHook counts a decision and observes its validation time; give it
// to interceptor.WithDecisionHook. It does not block.
func (m *Recorder) DecisionHook(_ context.Context, d interceptor.Decision) {
	if d.ValidationTime > 0 {
		obs, ok := m.observers[d.Outcome]
		if !ok {
			obs = m.validation.WithLabelValues(OtherValue)
		}
		obs.Observe(d.ValidationTime.Seconds())
	}
	method := UnknownMethod
	if allowed := m.allowed.Load(); allowed != nil {
		if c, ok := (*allowed)[d.FullMethod]; ok {
			if d.Outcome == interceptor.OutcomeAllowed && d.Reason == "" {
				c.Inc()
				return
			}
			method = d.FullMethod
		}
	}
	outcome := OtherValue
	if _, ok := m.observers[d.Outcome]; ok {
		outcome = string(d.Outcome)
	}
	reason := d.Reason
	if !reasons[reason] {
		reason = OtherValue
	}
	m.decisions.WithLabelValues(method, outcome, reason).Inc()
}

// ShadowHook counts a call on which a shadow rule disagreed with the
// enforced one; give it to interceptor.WithShadowHook. It does not block.
func (m *Recorder) ShadowHook(_ context.Context, d interceptor.ShadowDecision) {
	method := d.FullMethod
	if !m.registered(method) {
		method = UnknownMethod
	}
	enforced, shadow := d.Enforced, d.Shadow
	if !shadowOutcomes[enforced] {
		enforced = OtherValue
	}
	if !shadowOutcomes[shadow] {
		shadow = OtherValue
	}
	m.shadow.WithLabelValues(method, enforced, shadow).Inc()
}

// UnaryServerInterceptor records per-RPC metrics of unary calls. Put it
// before the authorization interceptor so that refused calls are counted
// with their status code. A call to a method not registered on the server
// (one a grpc.UnknownServiceHandler receives) is counted as service and
// method [UnknownMethod]: the caller does not choose the series.
func (m *Recorder) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	record := m.grpc.UnaryServerInterceptor()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !m.registered(info.FullMethod) {
			// Only the metrics see the substitute: the chain after them
			// keeps the info it was given.
			info = &grpc.UnaryServerInfo{Server: info.Server, FullMethod: unknownFullMethod}
		}
		return record(ctx, req, info, handler)
	}
}

// StreamServerInterceptor records per-RPC metrics of streaming calls,
// with unregistered methods counted as [UnknownMethod] as for unary calls.
func (m *Recorder) StreamServerInterceptor() grpc.StreamServerInterceptor {
	record := m.grpc.StreamServerInterceptor()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !m.registered(info.FullMethod) {
			info = &grpc.StreamServerInfo{FullMethod: unknownFullMethod, IsClientStream: info.IsClientStream, IsServerStream: info.IsServerStream}
		}
		return record(srv, ss, info, handler)
	}
}

// registered reports whether fullMethod was registered on the server given
// to InitializeMetrics; before it, none is.
func (m *Recorder) registered(fullMethod string) bool {
	allowed := m.allowed.Load()
	if allowed == nil {
		return false
	}
	_, ok := (*allowed)[fullMethod]
	return ok
}

// Registry is where the collectors are registered; register the service's
// own collectors here to serve them from the same [Recorder.Handler].
func (m *Recorder) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Recorder) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
}
