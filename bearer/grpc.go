package bearer

import (
	"context"
	"errors"
	"net/url"

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
	return err == nil && loopback.Host(u.Hostname())
}
