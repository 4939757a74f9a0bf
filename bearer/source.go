package bearer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/oauth2"
)

// ErrNoToken means the token source answered without a usable token: an
// empty one, or one that had already expired.
var ErrNoToken = errors.New("bearer: the token source gave no usable token")

// Source gets access tokens for one API, caches them and gets the next one
// before the current one expires. It is safe for concurrent use: while a
// token is being fetched, every caller that needs one waits for that
// fetch. A Source's PerRPCCredentials and Transport share its token.
//
// A Source of [FromAzure] or [FromOAuth2Func] also answers claims
// challenges (step-up, see [ContextWithClaims]): the token it gets with a
// challenge's claims is cached apart from the plain one, keyed by the
// claims, for as many as [MaxStepUps] different challenges.
type Source struct {
	fetch     fetchFunc
	canClaims bool // whether fetch can ask for claims
	opts      options

	mu      sync.Mutex
	plain   cached
	stepped map[string]*cached // by the claims asked for
	tick    uint64             // a clock of uses, for stepped's least recently used
}

// fetchFunc gets a token, with claims (a claims request, JSON) when not "".
type fetchFunc func(ctx context.Context, claims string) (token string, expiresOn, refreshOn time.Time, err error)

// cached is one token of a Source and the fetch of its next one.
type cached struct {
	token   string
	expires time.Time // zero: never
	refresh time.Time // when to get the next token; zero: never
	flight  *flight   // the fetch in progress, or nil
	used    uint64    // the Source's tick when last used
}

// flight is one fetch that every caller needing a token waits for.
type flight struct {
	done  chan struct{}
	token string
	err   error
}

// FromAzure returns a Source of tokens from an Azure SDK credential
// (azidentity's ClientSecretCredential, ManagedIdentityCredential,
// WorkloadIdentityCredential, AzureCLICredential, DeviceCodeCredential,
// DefaultAzureCredential…) for scopes: "api://{API client ID}/.default"
// for an application acting as itself, the delegated scopes for a user.
//
// It answers claims challenges: the credential is asked for a token with
// the challenge's claims (policy.TokenRequestOptions.Claims). [WithCP1]
// declares the capability cp1 with the credential's own switch
// (policy.TokenRequestOptions.EnableCAE), which makes MSAL merge
// {"access_token":{"xms_cc":{"values":["cp1"]}}} into every token
// request.
func FromAzure(cred azcore.TokenCredential, scopes []string, opts ...Option) (*Source, error) {
	if cred == nil {
		return nil, errors.New("bearer: FromAzure: nil credential")
	}
	if err := checkScopes(scopes); err != nil {
		return nil, err
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	scopes = append([]string(nil), scopes...)
	return &Source{canClaims: true, opts: o, fetch: func(ctx context.Context, claims string) (string, time.Time, time.Time, error) {
		t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scopes, Claims: claims, EnableCAE: o.cp1})
		return t.Token, t.ExpiresOn, t.RefreshOn, err
	}}, nil
}

// FromOAuth2 returns a Source of tokens from ts, such as a
// clientcredentials.Config's TokenSource. A token without an expiry is
// used for ever, as oauth2 does. An oauth2.TokenSource cannot send claims:
// such a Source does not answer claims challenges and refuses [WithCP1];
// see [FromOAuth2Func].
func FromOAuth2(ts oauth2.TokenSource, opts ...Option) (*Source, error) {
	if ts == nil {
		return nil, errors.New("bearer: FromOAuth2: nil token source")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.cp1 {
		return nil, errors.New("bearer: FromOAuth2: WithCP1 needs a source that can send claims: FromAzure or FromOAuth2Func")
	}
	return &Source{opts: o, fetch: func(context.Context, string) (string, time.Time, time.Time, error) {
		return oauth2Token(ts.Token())
	}}, nil
}

// TokenFunc gets an OAuth 2 token with golang.org/x/oauth2 whose token
// request carries claims, the claims request parameter (JSON), when it is
// not "": pass oauth2.SetAuthURLParam("claims", claims) to
// Config.Exchange (authorization code), Config.DeviceAuth and
// Config.DeviceAccessToken (device code), or set it in a
// clientcredentials.Config's EndpointParams. (Config.PasswordCredentialsToken
// takes no parameters: the password grant cannot send claims with
// x/oauth2.)
type TokenFunc func(ctx context.Context, claims string) (*oauth2.Token, error)

// FromOAuth2Func returns a Source of tokens from f, which can send claims,
// so the Source answers claims challenges: f is called with the
// challenge's claims, merged with {"access_token":{"xms_cc":{"values":["cp1"]}}}
// under [WithCP1] (and with that alone for plain tokens). A token without
// an expiry is used for ever, as oauth2 does.
func FromOAuth2Func(f TokenFunc, opts ...Option) (*Source, error) {
	if f == nil {
		return nil, errors.New("bearer: FromOAuth2Func: nil TokenFunc")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Source{canClaims: true, opts: o, fetch: func(ctx context.Context, claims string) (string, time.Time, time.Time, error) {
		if o.cp1 {
			var err error
			if claims, err = mergeCP1(claims); err != nil {
				return "", time.Time{}, time.Time{}, err
			}
		}
		return oauth2Token(f(ctx, claims))
	}}, nil
}

// oauth2Token reads an oauth2 token: a Bearer token, its expiry.
func oauth2Token(t *oauth2.Token, err error) (string, time.Time, time.Time, error) {
	if err != nil || t == nil {
		return "", time.Time{}, time.Time{}, err
	}
	if t.Type() != "Bearer" {
		return "", time.Time{}, time.Time{}, fmt.Errorf("bearer: token of type %q, want Bearer", t.Type())
	}
	return t.AccessToken, t.Expiry, time.Time{}, nil
}

// checkScopes checks that scopes name at least one scope, each one word.
func checkScopes(scopes []string) error {
	if len(scopes) == 0 {
		return errors.New(`bearer: no scope: want the API's, such as "api://{client ID}/.default"`)
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("bearer: scope %q: want one scope per string", s)
		}
	}
	return nil
}

// Token returns a valid access token for the API, from the cache or, when
// it is due for renewal, from the token source. Should getting a new
// token fail while the cached one is still valid, the cached one is
// returned. ctx bounds the wait, not the fetch, which other callers may
// be waiting for too.
//
// When ctx carries claims ([ContextWithClaims]), the token is one obtained
// with those claims (a step-up), cached apart from the plain one; a
// Source that cannot send claims fails with [ErrClaimsUnsupported].
func (s *Source) Token(ctx context.Context) (string, error) {
	claims := claimsFrom(ctx)
	if claims != "" {
		if !s.canClaims {
			return "", ErrClaimsUnsupported
		}
		if err := checkClaims(claims); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	e := s.entry(claims)
	if e.token != "" && (e.refresh.IsZero() || s.opts.now().Before(e.refresh)) {
		tok := e.token
		s.mu.Unlock()
		return tok, nil
	}
	f := e.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		e.flight = f
		go s.get(context.WithoutCancel(ctx), e, claims, f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", fmt.Errorf("bearer: waiting for a token: %w", context.Cause(ctx))
	}
	if f.err == nil {
		return f.token, nil
	}
	s.mu.Lock()
	tok, exp := e.token, e.expires
	s.mu.Unlock()
	if tok != "" && (exp.IsZero() || s.opts.now().Before(exp)) {
		return tok, nil
	}
	return "", f.err
}

// MaxStepUps is how many tokens obtained with different claims a Source
// keeps; the least recently used goes first.
const MaxStepUps = 16

// entry returns the cache entry of the tokens obtained with claims ("" for
// the plain ones), made if need be. s.mu is held.
func (s *Source) entry(claims string) *cached {
	s.tick++
	if claims == "" {
		return &s.plain
	}
	if e, ok := s.stepped[claims]; ok {
		e.used = s.tick
		return e
	}
	if s.stepped == nil {
		s.stepped = map[string]*cached{}
	}
	if len(s.stepped) >= MaxStepUps {
		oldest := ""
		for k, e := range s.stepped {
			if oldest == "" || e.used < s.stepped[oldest].used {
				oldest = k
			}
		}
		delete(s.stepped, oldest) // a fetch in flight still answers its waiters
	}
	e := &cached{used: s.tick}
	s.stepped[claims] = e
	return e
}

// get fetches a token with claims into e for the callers waiting on f.
func (s *Source) get(ctx context.Context, e *cached, claims string, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	tok, exp, refreshOn, err := s.fetch(ctx, claims)
	now := s.opts.now()
	switch {
	case err != nil:
		err = fmt.Errorf("bearer: getting a token: %w", err)
	case tok == "" || (!exp.IsZero() && !now.Before(exp)):
		err = ErrNoToken
	}
	s.mu.Lock()
	e.flight = nil
	if err == nil {
		e.token, e.expires, e.refresh = tok, exp, s.refreshAt(now, exp, refreshOn)
	}
	s.mu.Unlock()
	f.token, f.err = tok, err
	close(f.done)
}

// refreshAt is when to replace a token fetched at now that expires at
// exp, which the identity provider suggests replacing at refreshOn.
func (s *Source) refreshAt(now, exp, refreshOn time.Time) time.Time {
	if exp.IsZero() {
		return time.Time{}
	}
	at := exp.Add(-s.opts.margin)
	if life := exp.Sub(now); life < 2*s.opts.margin {
		at = now.Add(life / 2)
	}
	if !refreshOn.IsZero() && refreshOn.Before(at) {
		at = refreshOn
	}
	return at
}
