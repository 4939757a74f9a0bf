package entra

import (
	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"

	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
)

// KeySet gives a [Validator] the identity provider's signing keys. By
// default a validator fetches them from the provider (discovery document,
// then key set); [WithKeySet] replaces that, so that tests and air-gapped
// deployments validate without HTTP. [NewStaticKeySet] is a KeySet of
// fixed keys.
type KeySet interface {
	// PublicKey returns the signing key published under kid: an
	// *rsa.PublicKey of at least 2048 bits, the only keys that verify. An
	// error wrapping [ErrUnknownKey] says there is no such key; any other
	// error that the keys cannot be had now ([ErrKeysUnavailable]).
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// WithKeySet validates signatures with the keys of ks instead of fetching
// the identity provider's, and accepts the issuers Entra ID gives the
// tenant's tokens: {authority host}/{tenant ID}/v2.0 for v2 tokens and,
// with the public cloud, https://sts.windows.net/{tenant ID}/ for v1
// tokens. The tenant must then be a tenant ID, or a multi-tenant name
// ("organizations", "common", "consumers"); B2C, a discovery URL and
// app-specific keys need the discovery document and cannot be combined
// with it. A nil ks is an error.
func WithKeySet(ks KeySet) Option {
	return func(c *config) {
		c.keySet = ks
		if ks == nil {
			c.nilOptions = append(c.nilOptions, "WithKeySet")
		}
	}
}

// NewStaticKeySet returns a KeySet of the keys of a JSON Web Key Set such
// as Entra publishes (https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys),
// read as a fetched one is: RSA signing keys of at least 2048 bits with a
// kid, a kid listed twice dropped, an alg or issuer a key names kept and
// enforced. A key set without such a key is an error.
func NewStaticKeySet(jwks []byte) (KeySet, error) {
	keys, err := parseJWKS(jwks)
	if err != nil {
		return nil, fmt.Errorf("entra: static key set: %w", err)
	}
	return &staticKeySet{keys: keys}, nil
}

// staticKeySet is the KeySet of NewStaticKeySet.
type staticKeySet struct{ keys map[string]*publicKey }

func (s *staticKeySet) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	if k, ok := s.keys[kid]; ok {
		return k.key, nil
	}
	return nil, ErrUnknownKey
}

// fromKeySet returns the key of ks named kid; the keys of a static set
// come with the alg and issuer their key set gave them.
func fromKeySet(ctx context.Context, ks KeySet, kid string) (*publicKey, error) {
	if s, ok := ks.(*staticKeySet); ok {
		if k, ok := s.keys[kid]; ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}
	pub, err := ks.PublicKey(ctx, kid)
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok || k == nil || k.N == nil || k.N.BitLen() < minRSABits || k.E < 3 || k.E%2 == 0 {
		return nil, fmt.Errorf("%w: key %s is not an RSA key of at least %d bits", ErrUnknownKey, jwt.QuoteShort(kid), minRSABits)
	}
	return &publicKey{key: k}, nil
}

// staticIssuers derives the issuers of a validator with a KeySet, which
// reads no discovery document to learn them.
func (c *config) staticIssuers(host string) ([]issuer, []error) {
	var tid string
	switch {
	case c.multiTenant:
		tid = tenantTemplate
	case c.personal:
		tid = PersonalAccountsTenantID
	case isTenantID(c.tenant):
		tid = c.tenant
	default:
		return nil, []error{fmt.Errorf("WithKeySet: tenant %q: want a tenant ID (a lowercase GUID), which the issuers name", c.tenant)}
	}
	var errs []error
	if c.b2cPolicy != "" || c.discoveryURL != "" || c.appID != "" {
		errs = append(errs, errors.New("WithKeySet: B2C, a discovery URL or app-specific keys need the discovery document"))
	}
	var issuers []issuer
	for _, v := range c.versions {
		switch {
		case v == V2:
			issuers = append(issuers, issuer{value: host + "/" + tid + "/v2.0", version: string(V2)})
		case host == PublicCloud:
			issuers = append(issuers, issuer{value: "https://sts.windows.net/" + tid + "/", version: string(V1)})
		default:
			errs = append(errs, fmt.Errorf("WithKeySet: the issuer of v1 tokens of %s is not known: accept v2 tokens", host))
		}
	}
	return issuers, errs
}
