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
type Source struct {
	fetch func(context.Context) (token string, expiresOn, refreshOn time.Time, err error)
	opts  options

	mu      sync.Mutex
	token   string
	expires time.Time // zero: never
	refresh time.Time // when to get the next token; zero: never
	flight  *flight   // the fetch in progress, or nil
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
func FromAzure(cred azcore.TokenCredential, scopes []string, opts ...Option) (*Source, error) {
	if cred == nil {
		return nil, errors.New("bearer: FromAzure: nil credential")
	}
	if err := checkScopes(scopes); err != nil {
		return nil, err
	}
	scopes = append([]string(nil), scopes...)
	return newSource(func(ctx context.Context) (string, time.Time, time.Time, error) {
		t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scopes})
		return t.Token, t.ExpiresOn, t.RefreshOn, err
	}, opts)
}

// FromOAuth2 returns a Source of tokens from ts, such as a
// clientcredentials.Config's TokenSource. A token without an expiry is
// used for ever, as oauth2 does.
func FromOAuth2(ts oauth2.TokenSource, opts ...Option) (*Source, error) {
	if ts == nil {
		return nil, errors.New("bearer: FromOAuth2: nil token source")
	}
	return newSource(func(context.Context) (string, time.Time, time.Time, error) {
		t, err := ts.Token()
		if err != nil || t == nil {
			return "", time.Time{}, time.Time{}, err
		}
		if t.Type() != "Bearer" {
			return "", time.Time{}, time.Time{}, fmt.Errorf("bearer: token of type %q, want Bearer", t.Type())
		}
		return t.AccessToken, t.Expiry, time.Time{}, nil
	}, opts)
}

func newSource(fetch func(context.Context) (string, time.Time, time.Time, error), opts []Option) (*Source, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Source{fetch: fetch, opts: o}, nil
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
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && (s.refresh.IsZero() || s.opts.now().Before(s.refresh)) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		go s.get(context.WithoutCancel(ctx), f)
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
	tok, exp := s.token, s.expires
	s.mu.Unlock()
	if tok != "" && (exp.IsZero() || s.opts.now().Before(exp)) {
		return tok, nil
	}
	return "", f.err
}

// get fetches a token for the callers waiting on f.
func (s *Source) get(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	tok, exp, refreshOn, err := s.fetch(ctx)
	now := s.opts.now()
	switch {
	case err != nil:
		err = fmt.Errorf("bearer: getting a token: %w", err)
	case tok == "" || (!exp.IsZero() && !now.Before(exp)):
		err = ErrNoToken
	}
	s.mu.Lock()
	s.flight = nil
	if err == nil {
		s.token, s.expires, s.refresh = tok, exp, s.refreshAt(now, exp, refreshOn)
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
