package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"google.golang.org/grpc"

	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/metrics"
)

// MetricsPath is where the metrics listener (METRICS_ADDR) serves the
// Prometheus exposition.
const MetricsPath = "/metrics"

// setupMetrics, when METRICS_ADDR is set, listens on it and builds the
// collectors; it returns the options that feed them: the decision hook of
// the authorizer and the per-RPC interceptors, which run before every
// other so that refused calls are counted too.
//
// Metrics have a listener of their own rather than a path on HTTP_ADDR:
// the HTTP listener faces the internet through the ingress, and the
// method names, traffic and refusal counts a scrape shows are for the
// operator, not for callers. A separate port is reachable only where the
// network lets it (the pod network, for Prometheus), needs no exemption
// from the access rules, and carries no bearer tokens, so it speaks plain
// HTTP.
func (s *Server) setupMetrics() ([]interceptor.Option, []grpc.ServerOption, error) {
	if s.cfg.MetricsAddr == "" {
		return nil, nil, nil
	}
	m, err := metrics.New(metrics.WithValidator(s.validator))
	if err != nil {
		return nil, nil, err
	}
	if s.metricsLis, err = net.Listen("tcp", s.cfg.MetricsAddr); err != nil {
		return nil, nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	s.metrics = m
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, m.Handler())
	s.metricsHTTP = s.newHTTPServer(mux)
	return []interceptor.Option{interceptor.WithDecisionHook(m.DecisionHook), interceptor.WithShadowHook(m.ShadowHook)},
		[]grpc.ServerOption{
			grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(m.StreamServerInterceptor()),
		}, nil
}

// initMetrics records the registered methods, the only ones metric labels
// name.
func (s *Server) initMetrics() {
	if s.metrics != nil {
		s.metrics.InitializeMetrics(s.grpc)
	}
}

// serveMetrics serves the metrics listener, reporting a failure on errc,
// and returns how to stop it.
func (s *Server) serveMetrics(errc chan<- error) (shutdown func(context.Context)) {
	if s.metricsHTTP == nil {
		return func(context.Context) {}
	}
	s.logger.Info("serving metrics", "url", s.MetricsURL())
	go func() {
		if err := s.metricsHTTP.Serve(s.metricsLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return func(ctx context.Context) { _ = s.metricsHTTP.Shutdown(ctx) }
}

// closeMetrics releases the metrics listener of a server that will not
// serve.
func (s *Server) closeMetrics() {
	if s.metricsLis != nil {
		s.metricsLis.Close()
	}
}

// Metrics returns the server's collectors, or nil without METRICS_ADDR.
// Register the service's own collectors in its Registry to serve them
// from the same endpoint.
func (s *Server) Metrics() *metrics.Recorder { return s.metrics }

// MetricsURL is the URL of the metrics endpoint, http://host:port/metrics,
// or "" without METRICS_ADDR.
func (s *Server) MetricsURL() string {
	if s.metricsLis == nil {
		return ""
	}
	return "http://" + s.metricsLis.Addr().String() + MetricsPath
}
