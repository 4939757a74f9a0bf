package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

// DefaultMaxBodyBytes bounds a request body.
const DefaultMaxBodyBytes = 1 << 20

// RegisterFunc registers a service's REST handlers on mux, calling the
// service through conn: the generated Register…Handler functions (never the
// Register…HandlerServer ones, which would bypass the interceptors).
type RegisterFunc func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error

// Option configures [New].
type Option func(*options)

type options struct {
	challenge    Challenge
	origins      []string
	maxBody      int64
	trustedProxy bool
}

// WithChallenge sets what WWW-Authenticate answers say about the API.
func WithChallenge(c Challenge) Option { return func(o *options) { o.challenge = c } }

// WithCORSOrigins allows cross-origin calls from exactly these origins
// (scheme://host[:port]). Without it, no cross-origin call is allowed.
func WithCORSOrigins(origins ...string) Option {
	return func(o *options) { o.origins = append(o.origins, origins...) }
}

// WithMaxBodyBytes bounds request bodies, [DefaultMaxBodyBytes] by default.
// A larger body is answered 413 Content Too Large, whether its
// Content-Length says so up front or it is cut while being read.
func WithMaxBodyBytes(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithTrustedProxy forwards the request's X-Forwarded-For and
// X-Forwarded-Host headers as metadata: x-forwarded-host becomes the
// header's value instead of the request's Host, and x-forwarded-for lists the
// header's addresses ahead of the peer address. Without it both headers are
// dropped, since any caller can set them.
//
// Use it only when every request reaches the gateway through a proxy that
// sets X-Forwarded-Host and sets or appends to X-Forwarded-For. A proxy that
// appends keeps the caller's own entries in front: trust only the entries
// your proxies added, counted from the right.
func WithTrustedProxy() Option { return func(o *options) { o.trustedProxy = true } }

// stateKey is the context key of a request's *requestState.
type stateKey struct{}

// requestState is what the gateway learns about a request while serving it.
type requestState struct {
	header   http.Header // the response's
	tooLarge bool        // the body went past the limit
}

// limitedBody is a request body cut at the limit that remembers it was.
type limitedBody struct {
	io.ReadCloser
	state *requestState
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.state.tooLarge = true
	}
	return n, err
}

// Errors of requests refused before they reach a service.
var (
	errManyAuthorization  = authzerr.New(codes.Unauthenticated, authzerr.ReasonInvalidRequest, "more than one Authorization header", nil)
	errAuthorizationBytes = authzerr.New(codes.Unauthenticated, authzerr.ReasonInvalidRequest, "Authorization header has bytes outside printable ASCII", nil)
)

// checkAuthorization refuses what grpc-gateway would forward only in part:
// several Authorization headers (a service must see exactly the one the
// caller sent, or none), and values with bytes gRPC metadata cannot carry
// (tab, control, non-ASCII), which grpc-gateway drops silently, leaving an
// anonymous method to see no token at all.
func checkAuthorization(h http.Header) error {
	n, unprintable := 0, false
	for k, vs := range h {
		if !strings.EqualFold(k, "Authorization") {
			continue
		}
		n += len(vs)
		for _, v := range vs {
			for i := 0; i < len(v) && !unprintable; i++ {
				unprintable = v[i] < 0x20 || v[i] > 0x7e
			}
		}
	}
	switch {
	case n > 1:
		return errManyAuthorization
	case unprintable:
		return errAuthorizationBytes
	}
	return nil
}

// New returns an HTTP handler serving the services that register registers,
// each called through conn.
func New(ctx context.Context, conn *grpc.ClientConn, register []RegisterFunc, opts ...Option) (http.Handler, error) {
	o := options{challenge: Challenge{Realm: "api"}, maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if conn == nil || len(register) == 0 {
		return nil, errors.New("gateway: a connection and at least one service are required")
	}
	if o.maxBody <= 0 {
		return nil, fmt.Errorf("gateway: max body bytes %d must be positive", o.maxBody)
	}
	if err := checkOrigins(o.origins); err != nil {
		return nil, err
	}
	c := o.challenge
	mux := runtime.NewServeMux(
		// Authorization is forwarded by grpc-gateway itself; no other
		// header becomes metadata. grpc-gateway also sets x-forwarded-for
		// and x-forwarded-host, taking the caller's X-Forwarded- headers
		// when present: withoutForwarded drops them unless the proxy is
		// trusted.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithErrorHandler(func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
			if st, ok := r.Context().Value(stateKey{}).(*requestState); ok && st.tooLarge {
				// The generated handlers report a body cut at the
				// limit as a decoding error, 400; it is 413.
				err = tooLarge(o.maxBody)
			}
			// The default handler copies the status message into
			// WWW-Authenticate; ours replaces it as the header is written.
			runtime.DefaultHTTPErrorHandler(ctx, mux, m, &challengeWriter{ResponseWriter: w, c: c, err: err}, r, err)
		}),
		// A stream that fails before its first message is answered with the
		// error's HTTP status; the challenge must be on that answer too.
		runtime.WithStreamErrorHandler(func(ctx context.Context, err error) *status.Status {
			if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
				c.setChallenge(st.header, err)
			}
			return runtime.DefaultStreamErrorHandler(ctx, err)
		}),
	)
	for _, reg := range register {
		if reg == nil {
			return nil, errors.New("gateway: nil RegisterFunc")
		}
		if err := reg(ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{header: w.Header()}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		if err := checkAuthorization(r.Header); err != nil {
			_, m := runtime.MarshalerForRequest(mux, r)
			runtime.HTTPError(r.Context(), mux, m, w, r, err)
			return
		}
		if r.ContentLength > o.maxBody {
			st.tooLarge = true
			_, m := runtime.MarshalerForRequest(mux, r)
			runtime.HTTPError(r.Context(), mux, m, w, r, tooLarge(o.maxBody))
			return
		}
		r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, o.maxBody), state: st}
		if !o.trustedProxy {
			r.Header = withoutForwarded(r.Header)
		}
		mux.ServeHTTP(w, r)
	})
	return cors(o.origins, h), nil
}

// tooLarge is the answer to a body past the limit: 413.
func tooLarge(limit int64) error {
	return &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge,
		Err: status.Errorf(codes.InvalidArgument, "request body larger than %d bytes", limit)}
}

// withoutForwarded returns h without X-Forwarded-For and X-Forwarded-Host,
// so that grpc-gateway derives both from the connection's peer address and
// the request's Host. It copies h only when there is something to remove.
func withoutForwarded(h http.Header) http.Header {
	if _, ok := h["X-Forwarded-For"]; !ok {
		if _, ok := h["X-Forwarded-Host"]; !ok {
			return h
		}
	}
	h = h.Clone()
	h.Del("X-Forwarded-For")
	h.Del("X-Forwarded-Host")
	return h
}

// challengeWriter sets the RFC 6750 challenge, and only it, when the
// status line is written.
type challengeWriter struct {
	http.ResponseWriter
	c   Challenge
	err error
}

func (w *challengeWriter) WriteHeader(code int) {
	w.Header().Del("WWW-Authenticate")
	w.c.setChallenge(w.Header(), w.err)
	w.ResponseWriter.WriteHeader(code)
}

func (w *challengeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func checkOrigins(origins []string) error {
	for _, o := range origins {
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(o, "/") {
			return fmt.Errorf("gateway: CORS origin %q: want scheme://host[:port], never *", o)
		}
	}
	return nil
}

// cors answers preflights and marks answers to the allowed origins. Tokens
// travel in the Authorization header, not cookies, so credentials are never
// allowed.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := origin != "" && slices.Contains(origins, origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		next.ServeHTTP(w, r)
	})
}
