package bearer

import (
	"context"
	"net/http"
	"strings"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// Transport returns an http.RoundTripper that sends requests through base
// (http.DefaultTransport when nil) with the Source's token in the
// Authorization header ("Bearer …"), replacing any the request had.
//
// It refuses, with [ErrInsecureTransport], http:// URLs of hosts other
// than loopback, and any scheme but http and https. A redirect to another
// host than the request's own is followed without the token.
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
	if !t.plaintext && !secureURL(req) {
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
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return base.RoundTrip(r)
}

// secureURL reports whether req goes over https, or over http to loopback.
func secureURL(req *http.Request) bool {
	switch strings.ToLower(req.URL.Scheme) {
	case "https":
		return true
	case "http":
		return entra.IsLoopbackHost(req.URL.Hostname())
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
