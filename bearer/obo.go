package bearer

import (
	"container/list"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"google.golang.org/grpc/credentials"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/caller"
)

// CredentialFunc makes the on-behalf-of credential of one incoming token
// (the user assertion): azidentity's OnBehalfOfCredential, for the
// middle-tier application's client ID and secret, certificate or client
// assertion. [OnBehalfOfSecret] and [OnBehalfOfCertificate] make the
// usual ones; their credentials follow no redirect from the identity
// provider (an *http.Client given as the Transport is copied without its
// CheckRedirect), since an exchange carries the application's secret or
// assertion and the user's token.
type CredentialFunc func(assertion string) (azcore.TokenCredential, error)

// OnBehalfOfSecret returns the CredentialFunc of an application
// (tenantID, clientID) that authenticates with a client secret.
func OnBehalfOfSecret(tenantID, clientID, secret string, options *azidentity.OnBehalfOfCredentialOptions) CredentialFunc {
	options = withoutRedirects(options)
	return func(assertion string) (azcore.TokenCredential, error) {
		return azidentity.NewOnBehalfOfCredentialWithSecret(tenantID, clientID, assertion, secret, options)
	}
}

// OnBehalfOfCertificate returns the CredentialFunc of an application
// (tenantID, clientID) that authenticates with a certificate.
func OnBehalfOfCertificate(tenantID, clientID string, certs []*x509.Certificate, key crypto.PrivateKey, options *azidentity.OnBehalfOfCredentialOptions) CredentialFunc {
	options = withoutRedirects(options)
	return func(assertion string) (azcore.TokenCredential, error) {
		return azidentity.NewOnBehalfOfCredentialWithCertificate(tenantID, clientID, assertion, certs, key, options)
	}
}

// errRedirected means the identity provider answered a token request with
// a redirect, which is not followed.
var errRedirected = errors.New("bearer: the identity provider redirected a token request; not followed")

// withoutRedirects returns a copy of options whose transport follows no
// redirect. An exchange posts the application's secret or assertion and
// the user's token, and azcore's HTTP client follows redirects (a 307
// keeps the body) to any host. A token endpoint answers; it does not
// redirect. A Transport that is not an *http.Client is used as it is.
func withoutRedirects(options *azidentity.OnBehalfOfCredentialOptions) *azidentity.OnBehalfOfCredentialOptions {
	var o azidentity.OnBehalfOfCredentialOptions
	if options != nil {
		o = *options
	}
	refuse := func(*http.Request, []*http.Request) error { return errRedirected }
	switch t := o.Transport.(type) {
	case nil:
		o.Transport = &http.Client{CheckRedirect: refuse}
	case *http.Client:
		c := *t
		c.CheckRedirect = refuse
		o.Transport = &c
	}
	return &o
}

// AssertionFunc returns the token the current call came with, to
// exchange, and when it expires (its validated exp claim): in a handler
// protected by package interceptor, the token of the caller that
// entra.FromContext(ctx) describes, and its ExpiresAt.
type AssertionFunc func(ctx context.Context) (token string, expiresAt time.Time, err error)

// ErrNoAssertion means a call that should go on behalf of its caller has
// no caller's token to exchange.
var ErrNoAssertion = errors.New("bearer: no incoming token to exchange on behalf of")

// ErrAssertionExpired means the incoming token to exchange has expired
// (beyond [AssertionSkew]): neither a cached downstream token nor a new
// exchange serves it.
var ErrAssertionExpired = errors.New("bearer: the incoming token to exchange on behalf of has expired")

// AssertionSkew is how long past its expiry an incoming token still has
// its downstream Source: the validator's default clock skew
// (entra.DefaultClockSkew), during which it may still accept the token.
const AssertionSkew = 2 * time.Minute

// CallerToken is the AssertionFunc of handlers behind package interceptor:
// the token of the caller that entra.FromContext(ctx) describes, which the
// interceptor has already validated, with its expiry. It returns
// ErrNoAssertion when the call has no caller (an anonymous method called
// without a token).
func CallerToken(ctx context.Context) (string, time.Time, error) {
	c, ok := caller.FromContext(ctx)
	if !ok {
		return "", time.Time{}, ErrNoAssertion
	}
	t := c.Token()
	if t.IsZero() {
		return "", time.Time{}, ErrNoAssertion
	}
	return t.Value(), caller.Expiry(t), nil
}

// OnBehalfOf exchanges incoming tokens for tokens to a downstream API with
// the on-behalf-of grant: the downstream API sees the same user, and the
// calling service as the client application (azp). It keeps one [Source]
// per incoming token, so repeated calls for one caller reuse its
// downstream token, in a cache bounded by [WithCacheSize] and keyed by the
// SHA-256 of the incoming token. An entry lasts no longer than its
// incoming token (plus [AssertionSkew]): the identity provider would not
// exchange it again, so neither is its downstream token used any more. It
// is safe for concurrent use.
type OnBehalfOf struct {
	newCred CredentialFunc
	scopes  []string
	opts    []Option
	plain   bool
	size    int
	now     func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element
	lru     *list.List // of *oboEntry, most recent first
}

type oboEntry struct {
	key   [sha256.Size]byte
	src   *Source
	until time.Time // the incoming token's expiry plus AssertionSkew
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
		plain: o.plaintext, size: o.cacheSize, now: o.now,
		entries: map[[sha256.Size]byte]*list.Element{}, lru: list.New(),
	}, nil
}

// Source returns the Source of downstream tokens for the caller whose
// token is assertion, which expires at expiresAt (its validated exp
// claim). Past expiresAt plus [AssertionSkew] it fails with
// [ErrAssertionExpired], and the caller's cached Source is dropped.
func (o *OnBehalfOf) Source(assertion string, expiresAt time.Time) (*Source, error) {
	if assertion == "" {
		return nil, ErrNoAssertion
	}
	if expiresAt.IsZero() {
		return nil, fmt.Errorf("%w: its expiry is unknown", ErrNoAssertion)
	}
	key := sha256.Sum256([]byte(assertion))
	until := expiresAt.Add(AssertionSkew)
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.entries[key]; ok {
		entry := e.Value.(*oboEntry)
		if now.Before(entry.until) && now.Before(until) {
			o.lru.MoveToFront(e)
			return entry.src, nil
		}
		o.remove(e)
	}
	if !now.Before(until) {
		return nil, ErrAssertionExpired
	}
	o.sweep(now)
	cred, err := o.newCred(assertion)
	if err != nil {
		return nil, err
	}
	src, err := FromAzure(cred, o.scopes, o.opts...)
	if err != nil {
		return nil, err
	}
	o.entries[key] = o.lru.PushFront(&oboEntry{key: key, src: src, until: until})
	for o.lru.Len() > o.size {
		o.remove(o.lru.Back())
	}
	return src, nil
}

// remove drops the entry e. o.mu is held.
func (o *OnBehalfOf) remove(e *list.Element) {
	o.lru.Remove(e)
	delete(o.entries, e.Value.(*oboEntry).key)
}

// sweep drops the entries whose incoming token expired by now. o.mu is
// held; it runs before each exchange, which costs far more.
func (o *OnBehalfOf) sweep(now time.Time) {
	for e := o.lru.Front(); e != nil; {
		next := e.Next()
		if !now.Before(e.Value.(*oboEntry).until) {
			o.remove(e)
		}
		e = next
	}
}

// Len returns how many incoming tokens that have not expired have a
// downstream Source cached.
func (o *OnBehalfOf) Len() int {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sweep(now)
	return o.lru.Len()
}

// Token returns a downstream token for the caller whose token is
// assertion, which expires at expiresAt (see [OnBehalfOf.Source]).
func (o *OnBehalfOf) Token(ctx context.Context, assertion string, expiresAt time.Time) (string, error) {
	src, err := o.Source(assertion, expiresAt)
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
		a, exp, err := assertion(ctx)
		if err != nil {
			return "", err
		}
		return o.Token(ctx, a, exp)
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
