package entra_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// offline is the test identity provider as a handler that never listens,
// with Entra's public cloud as its authority, and its key set.
func offline(t *testing.T, opts ...entratest.Option) (*entratest.Provider, []byte) {
	t.Helper()
	idp, err := entratest.NewProvider(entra.PublicCloud, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, idp.JWKSURL(), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("key set: %d %s", rec.Code, rec.Body)
	}
	return idp, rec.Body.Bytes()
}

// noHTTP fails the test on any request.
type noHTTP struct{ t *testing.T }

func (n noHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a validator with a key set sent %s %s", r.Method, r.URL)
	return nil, errors.New("no HTTP")
}

func keySetValidator(t *testing.T, ks entra.KeySet, opts ...entra.Option) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(append([]entra.Option{
		entra.WithKeySet(ks), entra.WithAudiences(entratest.DefaultClientID),
		entra.WithHTTPClient(&http.Client{Transport: noHTTP{t}}), entra.WithLogger(quiet),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAStaticKeySetValidatesWithoutHTTP(t *testing.T) {
	idp, jwks := offline(t, entratest.WithV1IssuerBase("https://sts.windows.net"))
	ks, err := entra.NewStaticKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	for _, cache := range []int{0, 10_000} {
		v := keySetValidator(t, ks, entra.WithTenant(idp.TenantID()), entra.WithTokenVersions(entra.V1, entra.V2), entra.WithCacheSize(cache))
		if !v.Ready() || v.Preload(context.Background()) != nil {
			t.Fatal("a validator with a key set is not ready")
		}
		tests := []struct {
			name string
			tok  string
			want error
		}{
			{"a v2 token of the tenant is valid", idp.Issue(), nil},
			{"a v1 token of the tenant is valid", idp.Issue(entratest.V1Token(), entratest.Audience(entratest.DefaultClientID)), nil},
			{"a token by a key the set lacks is refused", idp.Issue(entratest.SignedWithUnknownKey()), entra.ErrUnknownKey},
			{"a token by another key under a kid of the set is refused", idp.Issue(entratest.SignedWithWrongKey()), entra.ErrSignature},
			{"a token of another tenant's issuer is refused", idp.Issue(entratest.IssuerClaim(entra.PublicCloud + "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")), entra.ErrIssuer},
			{"a token of a development provider's issuer is refused", idp.Issue(entratest.IssuerClaim("http://127.0.0.1:1/" + idp.TenantID() + "/v2.0")), entra.ErrIssuer},
		}
		for _, tt := range tests {
			for range 2 { // the second time from the cache, if any
				if _, err := v.Validate(context.Background(), tt.tok); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Errorf("cache %d: %s: got %v, want %v", cache, tt.name, err, tt.want)
				}
			}
		}
	}
}

// custom is a KeySet of the caller's: the static one, behind switches.
type custom struct {
	static    entra.KeySet
	withdrawn atomic.Bool // every key is gone
	down      atomic.Bool // the keys cannot be had
	key       crypto.PublicKey
	calls     atomic.Int64
}

func (c *custom) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	c.calls.Add(1)
	switch {
	case c.down.Load():
		return nil, errors.New("vault sealed")
	case c.withdrawn.Load():
		return nil, entra.ErrUnknownKey
	case c.key != nil:
		return c.key, nil
	}
	return c.static.PublicKey(ctx, kid)
}

func TestACustomKeySetIsAskedAndObeyed(t *testing.T) {
	idp, jwks := offline(t)
	static, err := entra.NewStaticKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := idp.Issue()

	t.Run("a withdrawn key stops validating tokens the cache holds", func(t *testing.T) {
		ks := &custom{static: static}
		v := keySetValidator(t, ks, entra.WithTenant(idp.TenantID()))
		for range 2 {
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if ks.calls.Load() != 2 {
			t.Fatalf("the key set was asked %d times, want once per validation", ks.calls.Load())
		}
		ks.withdrawn.Store(true)
		if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrUnknownKey) {
			t.Fatalf("got %v, want ErrUnknownKey", err)
		}
		ks.withdrawn.Store(false)
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a key set that fails is keys unavailable", func(t *testing.T) {
		ks := &custom{static: static}
		ks.down.Store(true)
		v := keySetValidator(t, ks, entra.WithTenant(idp.TenantID()))
		if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrKeysUnavailable) || !strings.Contains(err.Error(), "vault sealed") {
			t.Fatalf("got %v, want ErrKeysUnavailable", err)
		}
	})
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.PublicKey{"an RSA key of 1024 bits": &small.PublicKey, "an EC key": &ec.PublicKey, "a nil RSA key": (*rsa.PublicKey)(nil)} {
		t.Run(name+" verifies nothing", func(t *testing.T) {
			v := keySetValidator(t, &custom{static: static, key: key}, entra.WithTenant(idp.TenantID()))
			if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrUnknownKey) {
				t.Fatalf("got %v, want ErrUnknownKey", err)
			}
		})
	}
}

func TestKeySetConfigurationsThatCannotWorkFailConstruction(t *testing.T) {
	idp, jwks := offline(t)
	ks, err := entra.NewStaticKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []entra.Option
		want string
	}{
		{"a nil key set", []entra.Option{entra.WithKeySet(nil), entra.WithTenant(idp.TenantID())}, "WithKeySet: nil"},
		{"a tenant named by its domain", []entra.Option{entra.WithKeySet(ks), entra.WithTenant("contoso.onmicrosoft.com")}, "want a tenant ID"},
		{"B2C", []entra.Option{entra.WithKeySet(ks), entra.WithTenant(idp.TenantID()), entra.WithB2CPolicy("B2C_1_signin")}, "need the discovery document"},
		{"a discovery URL", []entra.Option{entra.WithKeySet(ks), entra.WithTenant(idp.TenantID()), entra.WithDiscoveryURL("https://example.com/.well-known/openid-configuration")}, "need the discovery document"},
		{"v1 tokens outside the public cloud", []entra.Option{entra.WithKeySet(ks), entra.WithTenant(idp.TenantID()), entra.WithAuthorityHost(entra.China), entra.WithTokenVersions(entra.V1)}, "issuer of v1 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := entra.NewValidator(append(tt.opts, entra.WithAudiences(idp.ClientID()))...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	for name, body := range map[string]string{"not JSON": "{", "no keys": `{"keys":[]}`, "only a small key": `{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}`} {
		if _, err := entra.NewStaticKeySet([]byte(body)); err == nil {
			t.Errorf("NewStaticKeySet accepted a key set with %s", name)
		}
	}
}

func TestAMultiTenantKeySetValidatorFillsTheTenantIntoTheIssuer(t *testing.T) {
	const other = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	idp, _ := offline(t)
	// The key set of every tenant, as Entra publishes it for
	// "organizations": each key names the issuer template.
	rec := httptest.NewRecorder()
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, entra.PublicCloud+"/organizations/discovery/v2.0/keys", nil))
	ks, err := entra.NewStaticKeySet(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	v := keySetValidator(t, ks, entra.WithTenant("organizations"), entra.WithAllowedTenants(idp.TenantID()))
	if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), idp.Issue(entratest.FromTenant(other))); !errors.Is(err, entra.ErrTenant) {
		t.Fatalf("a tenant not allowed: got %v, want ErrTenant", err)
	}
}
