package server

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Limits of the HTTP listener (HTTP_ADDR), for a server on the internet.
//
// There is no http.Server ReadTimeout or WriteTimeout: REST carries streams
// both ways (a request body that is a sequence of messages, a response
// that lasts as long as a server stream, idle while nothing happens), and
// either would cut them; over HTTP/1.1 an expired ReadTimeout even cancels
// the context of a handler still writing. Instead [ioDeadlines] bounds
// progress: each read of a request body, and the writing of a response,
// must move within httpIOTimeout, however long the whole exchange lasts.
const (
	httpReadHeaderTimeout = 10 * time.Second  // slowloris
	httpIdleTimeout       = 120 * time.Second // keep-alive between requests
	httpIOTimeout         = 30 * time.Second  // one read of a body, one write of a response
	httpMaxHeaderBytes    = 64 << 10          // a bearer token is a few KB; Go's default is 1 MB
)

// ioDeadlines bounds the progress of each request of h by d: a client
// that stops reading its response or sending its body for d is cut off,
// while a stream that is merely idle (no message to send) is not.
//
// A response's deadline is armed when the handler starts; a unary response
// is written within it. The first Flush marks a stream: from then on the
// deadline is armed only around each write and flush, so the stream may
// wait between messages as long as it likes. Each read of the body is
// bounded the same way.
func ioDeadlines(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(d))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, d: d}
		}
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: d}, r)
		_ = rc.SetWriteDeadline(time.Time{})
	})
}

// deadlineWriter arms the write deadline around each write and flush once
// the response has become a stream.
type deadlineWriter struct {
	http.ResponseWriter
	rc        *http.ResponseController
	d         time.Duration
	streaming bool
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	if !w.streaming {
		return w.ResponseWriter.Write(p)
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	defer func() { _ = w.rc.SetWriteDeadline(time.Time{}) }()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher: a flushed response is a stream.
func (w *deadlineWriter) Flush() {
	w.streaming = true
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	_ = w.rc.Flush()
	_ = w.rc.SetWriteDeadline(time.Time{})
}

// Unwrap gives http.ResponseController the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// deadlineBody arms the read deadline around each read of a request body.
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController
	d  time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.d))
	defer func() { _ = b.rc.SetReadDeadline(time.Time{}) }()
	return b.ReadCloser.Read(p)
}

// newHTTPServer is the HTTP listener's server, with limits for the
// internet. With TLS the listener is already a TLS listener; net/http
// serves HTTP/2 on it when the client negotiates h2.
func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           ioDeadlines(h, httpIOTimeout),
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
}

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
