package interceptor

import (
	"log/slog"

	"github.com/grpc-azure-auth/grpc-azure-auth/policy"
)

// Option configures an [Authorizer].
type Option func(*options)

type options struct {
	policy *policy.Policy
	logger *slog.Logger
}

// WithPolicy sets the access rules. Default: the rules of every service
// linked into the program (policy.Load(protoregistry.GlobalFiles)).
func WithPolicy(p *policy.Policy) Option { return func(o *options) { o.policy = p } }

// WithLogger sets where decisions are logged, slog.Default() by default.
// Denials are logged at Info, grants at Debug.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }
