package bearer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
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
// the base, to add instrumentation.
//
// The token goes only to the origin (scheme, host and port, the scheme's
// default port filled in, host names compared without case) of the
// request that started a redirect chain: an http.Client follows a
// redirect to another origin, however many hops later and whichever host
// the previous hop was on, without the token and without any
// Authorization header, and a redirect back to the first origin has the
// token again. So https://api.example.com → http://api.example.com, or
// → https://api.example.com:8443, drops it as well.
//
// A claims challenge (a 401 with WWW-Authenticate: Bearer
// error="insufficient_claims", claims="…", see [ResponseClaimsChallenge])
// from that origin is answered once when the Source can send claims
// ([FromAzure], [FromOAuth2Func]) and the request's body can be replayed
// (none, or GetBody set, as http.NewRequest sets it for in-memory
// bodies): the request goes again, to the same URL, with a token obtained
// with the challenge's claims, cached apart from the plain token. The
// answer to that second request is the answer, whatever it is. A request
// whose body cannot be replayed gets the challenge; send it again with
// [ContextWithClaims].
func (s *Source) Transport(base http.RoundTripper) http.RoundTripper {
	return &transport{token: s.Token, base: base, plaintext: s.opts.plaintext, stepUp: s.canClaims}
}

type transport struct {
	token     func(context.Context) (string, error)
	base      http.RoundTripper
	plaintext bool
	stepUp    bool // answer claims challenges
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
	if !sameOrigin(req) {
		return base.RoundTrip(withoutAuthorization(req))
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
	resp, err := base.RoundTrip(r)
	if err != nil || !t.stepUp {
		return resp, err
	}
	return t.stepUpOnce(ctx, base, req, resp)
}

// maxDrainBytes bounds what is read of a challenge's body so that its
// connection can be reused.
const maxDrainBytes = 64 << 10

// stepUpOnce answers resp, the answer to req, when it is a claims
// challenge ([ResponseClaimsChallenge]) that req's own claims did not
// already answer: req is sent once more, with a token obtained with the
// challenge's claims, when its body can be replayed (no body, or
// GetBody). Otherwise resp is the answer. ctx is the context req was sent
// with.
func (t *transport) stepUpOnce(ctx context.Context, base http.RoundTripper, req *http.Request, resp *http.Response) (*http.Response, error) {
	claims, ok := ResponseClaimsChallenge(resp)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !ok || !replayable || claims == claimsFrom(req.Context()) {
		return resp, nil
	}
	r := req.Clone(ContextWithClaims(ctx, claims))
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		var err error
		if r.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	_ = resp.Body.Close()
	tok, err := t.token(ContextWithClaims(req.Context(), claims))
	if err != nil {
		closeBody(r)
		return nil, fmt.Errorf("bearer: answering a claims challenge: %w", err)
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return base.RoundTrip(r)
}

// maxHops bounds the walk back along a redirect chain; an http.Client
// stops after 10 redirects.
const maxHops = 64

// sameOrigin reports whether req goes to the origin of the request that
// started its redirect chain (req itself when it is not a redirect). A
// chain whose start cannot be found is another origin.
func sameOrigin(req *http.Request) bool {
	first := req
	for hops := 0; first.Response != nil; hops++ {
		if hops == maxHops || first.Response.Request == nil {
			return false
		}
		first = first.Response.Request
	}
	return first == req || origin(first.URL) == origin(req.URL)
}

// origin is u's scheme, host and port, in lower case and with the
// scheme's default port filled in.
func origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// withoutAuthorization returns req, or a copy of it without an
// Authorization header when it had one (an http.Client copies the first
// request's headers onto redirects to the same domain or a subdomain).
func withoutAuthorization(req *http.Request) *http.Request {
	var r *http.Request
	for k := range req.Header {
		if strings.EqualFold(k, "Authorization") { // a key set without canonicalization too
			if r == nil {
				r = req.Clone(req.Context())
			}
			delete(r.Header, k)
		}
	}
	if r == nil {
		return req
	}
	return r
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
