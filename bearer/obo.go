package bearer

import (
	"container/list"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"google.golang.org/grpc/credentials"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/caller"
)

// CredentialFunc makes the on-behalf-of credential of one incoming token
// (the user assertion): azidentity's OnBehalfOfCredential, for the
// middle-tier application's client ID and secret, certificate or client
// assertion. [OnBehalfOfSecret] and [OnBehalfOfCertificate] make the
// usual ones.
type CredentialFunc func(assertion string) (azcore.TokenCredential, error)

// OnBehalfOfSecret returns the CredentialFunc of an application
// (tenantID, clientID) that authenticates with a client secret.
func OnBehalfOfSecret(tenantID, clientID, secret string, options *azidentity.OnBehalfOfCredentialOptions) CredentialFunc {
	return func(assertion string) (azcore.TokenCredential, error) {
		return azidentity.NewOnBehalfOfCredentialWithSecret(tenantID, clientID, assertion, secret, options)
	}
}

// OnBehalfOfCertificate returns the CredentialFunc of an application
// (tenantID, clientID) that authenticates with a certificate.
func OnBehalfOfCertificate(tenantID, clientID string, certs []*x509.Certificate, key crypto.PrivateKey, options *azidentity.OnBehalfOfCredentialOptions) CredentialFunc {
	return func(assertion string) (azcore.TokenCredential, error) {
		return azidentity.NewOnBehalfOfCredentialWithCertificate(tenantID, clientID, assertion, certs, key, options)
	}
}

// AssertionFunc returns the token the current call came with, to exchange:
// in a handler protected by package interceptor, the raw token of the
// caller that entra.FromContext(ctx) describes.
type AssertionFunc func(ctx context.Context) (string, error)

// ErrNoAssertion means a call that should go on behalf of its caller has
// no caller's token to exchange.
var ErrNoAssertion = errors.New("bearer: no incoming token to exchange on behalf of")

// CallerToken is the AssertionFunc of handlers behind package interceptor:
// the token of the caller that entra.FromContext(ctx) describes, which the
// interceptor has already validated. It returns ErrNoAssertion when the
// call has no caller (an anonymous method called without a token).
func CallerToken(ctx context.Context) (string, error) {
	c, ok := caller.FromContext(ctx)
	if !ok || c.Token().IsZero() {
		return "", ErrNoAssertion
	}
	return c.Token().Value(), nil
}

// OnBehalfOf exchanges incoming tokens for tokens to a downstream API with
// the on-behalf-of grant: the downstream API sees the same user, and the
// calling service as the client application (azp). It keeps one [Source]
// per incoming token, so repeated calls for one caller reuse its
// downstream token, in a cache bounded by [WithCacheSize] and keyed by the
// SHA-256 of the incoming token. It is safe for concurrent use.
type OnBehalfOf struct {
	newCred CredentialFunc
	scopes  []string
	opts    []Option
	plain   bool
	size    int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element
	lru     *list.List // of *oboEntry, most recent first
}

type oboEntry struct {
	key [sha256.Size]byte
	src *Source
}

// NewOnBehalfOf returns an OnBehalfOf that gets tokens for the downstream
// API's scopes ("api://{downstream client ID}/.default" or named
// delegated scopes) with the credentials newCred makes. The options apply
// to every downstream Source.
func NewOnBehalfOf(newCred CredentialFunc, scopes []string, opts ...Option) (*OnBehalfOf, error) {
	if newCred == nil {
		return nil, errors.New("bearer: NewOnBehalfOf: nil CredentialFunc")
	}
	if err := checkScopes(scopes); err != nil {
		return nil, err
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &OnBehalfOf{
		newCred: newCred, scopes: append([]string(nil), scopes...), opts: append([]Option(nil), opts...),
		plain: o.plaintext, size: o.cacheSize,
		entries: map[[sha256.Size]byte]*list.Element{}, lru: list.New(),
	}, nil
}

// Source returns the Source of downstream tokens for the caller whose
// token is assertion.
func (o *OnBehalfOf) Source(assertion string) (*Source, error) {
	if assertion == "" {
		return nil, ErrNoAssertion
	}
	key := sha256.Sum256([]byte(assertion))
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.entries[key]; ok {
		o.lru.MoveToFront(e)
		return e.Value.(*oboEntry).src, nil
	}
	cred, err := o.newCred(assertion)
	if err != nil {
		return nil, err
	}
	src, err := FromAzure(cred, o.scopes, o.opts...)
	if err != nil {
		return nil, err
	}
	o.entries[key] = o.lru.PushFront(&oboEntry{key: key, src: src})
	for o.lru.Len() > o.size {
		last := o.lru.Back()
		o.lru.Remove(last)
		delete(o.entries, last.Value.(*oboEntry).key)
	}
	return src, nil
}

// Len returns how many incoming tokens have a downstream Source cached.
func (o *OnBehalfOf) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lru.Len()
}

// Token returns a downstream token for the caller whose token is
// assertion.
func (o *OnBehalfOf) Token(ctx context.Context, assertion string) (string, error) {
	src, err := o.Source(assertion)
	if err != nil {
		return "", err
	}
	return src.Token(ctx)
}

// tokenFor returns a token getter that exchanges what assertion finds in
// the call's context.
func (o *OnBehalfOf) tokenFor(assertion AssertionFunc) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if assertion == nil {
			return "", ErrNoAssertion
		}
		a, err := assertion(ctx)
		if err != nil {
			return "", err
		}
		return o.Token(ctx, a)
	}
}

// PerRPCCredentials returns gRPC per-RPC credentials for a connection to
// the downstream API shared by every caller: each call carries the
// downstream token of the caller whose token assertion finds in the
// call's context (the handler's). The transport checks of
// [Source.PerRPCCredentials] apply.
func (o *OnBehalfOf) PerRPCCredentials(assertion AssertionFunc) credentials.PerRPCCredentials {
	return &perRPC{token: o.tokenFor(assertion), plaintext: o.plain}
}

// Transport returns an http.RoundTripper, over base, that gives each
// request the downstream token of the caller whose token assertion finds
// in the request's context. The checks of [Source.Transport] apply.
func (o *OnBehalfOf) Transport(base http.RoundTripper, assertion AssertionFunc) http.RoundTripper {
	return &transport{token: o.tokenFor(assertion), base: base, plaintext: o.plain}
}
