package server

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Limits of the gRPC listener (GRPC_ADDR), which faces the same internet as
// the HTTP listener. grpc-go's defaults accept 16 MiB of metadata per call
// and any number of concurrent streams per connection.
const (
	// grpcMaxHeaderListSize caps the metadata of one call, as
	// httpMaxHeaderBytes caps a request's headers: a bearer token is a few
	// KB. A gRPC client refuses to send more (the server announces the
	// cap); from any other client the server decodes no more than the cap
	// and closes the connection, before any interceptor runs.
	grpcMaxHeaderListSize = httpMaxHeaderBytes
	// grpcMaxConcurrentStreams caps the calls in flight on one connection:
	// the least RFC 9113 §6.5.2 recommends (so well-behaved clients are not
	// throttled; Go's own HTTP/2 server allows 250), and with the header cap
	// at most 6.25 MiB of metadata held per connection. A client past it
	// waits for a free stream; one that ignores the setting is refused
	// (REFUSED_STREAM).
	grpcMaxConcurrentStreams = 100
	// grpcKeepaliveMinTime is the shortest interval between a client's
	// pings; a client pinging more often is sent GOAWAY (too_many_pings).
	// Pings without a call in flight are allowed (clients behind NAT keep
	// their connection so), but idle connections still close.
	grpcKeepaliveMinTime = 30 * time.Second
	// grpcMaxConnectionIdle closes a connection without calls for this long.
	grpcMaxConnectionIdle = 15 * time.Minute
	// grpcKeepaliveTime and grpcKeepaliveTimeout: after a minute without
	// activity the server pings, and closes the connection unless the
	// client answers within 20 s, so a vanished client does not keep its
	// streams (and their share of the stream limit) for the hours TCP takes.
	grpcKeepaliveTime    = time.Minute
	grpcKeepaliveTimeout = 20 * time.Second
)

// grpcLimits are the gRPC listener's limits. They come before the options
// of WithGRPCServerOptions, whose later options replace them (grpc-go
// applies server options in order, the last one of a kind winning).
func grpcLimits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxHeaderListSize(grpcMaxHeaderListSize),
		grpc.MaxConcurrentStreams(grpcMaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: grpcKeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: grpcMaxConnectionIdle,
			Time:              grpcKeepaliveTime,
			Timeout:           grpcKeepaliveTimeout,
		}),
	}
}
