package bearer

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
)

// Transport returns an http.RoundTripper that sends requests through base
// (http.DefaultTransport when nil) with the Source's token in the
// Authorization header ("Bearer …"), replacing any the request had.
//
// It refuses, with [ErrInsecureTransport], http:// URLs of hosts other
// than loopback, and any scheme but http and https. An http:// request to
// loopback goes out only through a base that is an *http.Transport (or
// nil): one whose proxy, if any, is on loopback, and whose connection is
// checked to end at a loopback address before the request is written
// (through net/http/httptrace), so neither a proxy nor a name that resolves
// elsewhere carries the token in clear. Wrap the returned RoundTripper, not
// the base, to add instrumentation. A redirect to another host than the
// request's own is followed without the token.
func (s *Source) Transport(base http.RoundTripper) http.RoundTripper {
	return &transport{token: s.Token, base: base, plaintext: s.opts.plaintext}
}

type transport struct {
	token     func(context.Context) (string, error)
	base      http.RoundTripper
	plaintext bool
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	plain := !t.plaintext && strings.EqualFold(req.URL.Scheme, "http")
	if !t.plaintext && (!secureURL(req) || plain && !loopbackRoute(base, req)) {
		closeBody(req)
		return nil, ErrInsecureTransport
	}
	if req.Response != nil && req.Response.Request != nil && !strings.EqualFold(req.Response.Request.URL.Host, req.URL.Host) {
		return base.RoundTrip(req) // a redirect elsewhere: no token
	}
	tok, err := t.token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	if plain {
		ctx = httptrace.WithClientTrace(ctx, loopbackOnly)
	}
	r := req.Clone(ctx)
	r.Header.Set("Authorization", "Bearer "+tok)
	return base.RoundTrip(r)
}

// loopbackRoute reports whether base sends the plaintext request req to
// loopback directly or through a loopback proxy: base must be an
// *http.Transport, whose connections loopbackOnly can check.
func loopbackRoute(base http.RoundTripper, req *http.Request) bool {
	tr, ok := base.(*http.Transport)
	if !ok {
		return false
	}
	if tr.Proxy == nil {
		return true
	}
	proxy, err := tr.Proxy(req)
	return err == nil && (proxy == nil || loopback.Host(proxy.Hostname()))
}

// loopbackOnly closes a plaintext request's connection before anything is
// written on it unless its peer is a loopback address.
var loopbackOnly = &httptrace.ClientTrace{
	GotConn: func(info httptrace.GotConnInfo) {
		if !loopback.Addr(info.Conn.RemoteAddr()) {
			_ = info.Conn.Close()
		}
	},
}

// secureURL reports whether req goes over https, or over http to loopback.
func secureURL(req *http.Request) bool {
	switch strings.ToLower(req.URL.Scheme) {
	case "https":
		return true
	case "http":
		return loopback.Host(req.URL.Hostname())
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
