package bearer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpproxy"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/loopback"
)

// ErrInsecureTransport means a token was about to go in plaintext to a
// host that is not loopback: nothing was sent.
var ErrInsecureTransport = errors.New("bearer: refusing to send a token unencrypted to a host other than loopback")

// PerRPCCredentials returns gRPC per-RPC credentials that put the Source's
// token in each call's authorization metadata ("Bearer …"). Give them to
// grpc.WithPerRPCCredentials, or to one call with grpc.PerRPCCredentials.
//
// Its RequireTransportSecurity reports false, so that a plaintext
// connection to loopback (a local server, a sidecar) can be dialled; each
// call checks its own connection instead: unless the connection has
// privacy and integrity (TLS), its peer must be a loopback address (or a
// Unix socket) and its authority a loopback host, or the call fails with
// [ErrInsecureTransport] (as an Unauthenticated status) before any token
// is fetched.
//
// The authority is only a name: grpc.WithAuthority("localhost") makes the
// authority check pass whatever the target, so the peer address decides.
// A loopback peer may still be a proxy: grpc-go sends connections to
// targets off loopback through the CONNECT proxy of HTTPS_PROXY, and the
// proxy carries the call on to a target these credentials cannot see. So
// a plaintext call is also refused when the environment names an HTTPS
// proxy that its peer may be: one that is not an IP address off loopback
// (0.0.0.0 and :: are dialled on loopback), on the peer's port (443 or 80
// when it names none). Only
// [InsecureAllowPlaintext] lets a token through such a proxy in plaintext.
func (s *Source) PerRPCCredentials() credentials.PerRPCCredentials {
	return &perRPC{token: s.Token, plaintext: s.opts.plaintext}
}

// perRPC is the gRPC face of a token getter.
type perRPC struct {
	token     func(context.Context) (string, error)
	plaintext bool
}

func (c *perRPC) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	if !c.plaintext && !secureCall(ctx, uri) {
		return nil, ErrInsecureTransport
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity reports false: GetRequestMetadata checks each
// call's connection itself, with the loopback exception.
func (c *perRPC) RequireTransportSecurity() bool { return false }

// secureCall reports whether a call may carry a token: its connection
// has privacy and integrity, or it is plaintext to loopback (the peer's
// address and the authority the call names both).
func secureCall(ctx context.Context, uri []string) bool {
	type commonInfo interface {
		GetCommonAuthInfo() credentials.CommonAuthInfo
	}
	ri, ok := credentials.RequestInfoFromContext(ctx)
	if !ok {
		return false
	}
	// Stricter than credentials.CheckSecurityLevel, which lets an AuthInfo
	// that does not say its level pass.
	if ci, ok := ri.AuthInfo.(commonInfo); ok && ci.GetCommonAuthInfo().SecurityLevel >= credentials.PrivacyAndIntegrity {
		return true
	}
	p, ok := peer.FromContext(ctx)
	if !ok || !loopback.Addr(p.Addr) || len(uri) == 0 {
		return false
	}
	u, err := url.Parse(uri[0])
	return err == nil && loopback.Host(u.Hostname()) && !mayBeProxy(p.Addr)
}

// mayBeProxy reports whether the loopback peer a may be the proxy that
// grpc-go takes from the environment (HTTPS_PROXY or https_proxy), which
// would carry the call on to a target this side cannot see: the authority
// is only a name the caller chose (grpc.WithAuthority). grpc-go tunnels TCP
// connections to targets that are not loopback (nor exempt by NO_PROXY)
// through that proxy; the peer is then the proxy. A proxy given as an IP
// address off loopback (and not unspecified: a connection to 0.0.0.0 or ::
// ends on loopback) cannot be a loopback peer; otherwise the peer may
// be the proxy when their ports match: the proxy's own, or when it gives
// none 443 (what grpc-go's resolver fills in) and 80 (the http scheme's),
// or any port when the proxy cannot be read.
func mayBeProxy(a net.Addr) bool {
	if _, unix := a.(*net.UnixAddr); unix {
		return false // grpc-go does not proxy Unix sockets
	}
	raw := httpproxy.FromEnvironment().HTTPSProxy
	if raw == "" {
		return false
	}
	proxy, err := url.Parse(raw)
	if !strings.Contains(raw, "://") {
		proxy, err = url.Parse("http://" + raw) // as net/http reads "host:port"
	}
	if err != nil || proxy.Host == "" {
		return true
	}
	if ip, err := netip.ParseAddr(proxy.Hostname()); err == nil {
		// An unspecified address (0.0.0.0, ::) is dialled on loopback.
		if ip = ip.WithZone("").Unmap(); !ip.IsLoopback() && !ip.IsUnspecified() {
			return false
		}
	}
	_, port, err := net.SplitHostPort(a.String())
	switch {
	case err != nil:
		return true
	case proxy.Port() == "":
		return port == "443" || port == "80"
	}
	return port == proxy.Port()
}
