package bench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is one test provider, one Entra-shaped user token (about 1.2 KB)
// and its public key, shared by every variant.
type fixture struct {
	idp   *entratest.Server
	token string
	pub   *rsa.PublicKey
}

func newFixture(b *testing.B) *fixture {
	idp := entratest.NewServer(b)
	tok := idp.Issue(entratest.ForUser("alice"))
	resp, err := idp.Client().Get(idp.JWKSURL())
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := jwk.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	k, _ := set.Key(0)
	var pub rsa.PublicKey
	if err := k.Raw(&pub); err != nil {
		b.Fatal(err)
	}
	return &fixture{idp: idp, token: tok, pub: &pub}
}

func (f *fixture) validator(b *testing.B, opts ...entra.Option) *entra.Validator {
	v, err := entra.NewValidator(append([]entra.Option{
		entra.WithAuthorityHost(f.idp.Authority()),
		entra.WithTenant(f.idp.TenantID()),
		entra.WithAudiences(f.idp.ClientID()),
		entra.WithLogger(quiet),
	}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Preload(context.Background()); err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkValidate validates the same token with each implementation.
// Compare the columns with: benchstat -col /impl.
func BenchmarkValidate(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()

	b.Run("impl=floor", func(b *testing.B) {
		// The physical floor: SHA-256 of the signing input and one RSA
		// PKCS#1 v1.5 verify, with the signature already decoded.
		i := strings.LastIndexByte(f.token, '.')
		sig, err := base64.RawURLEncoding.DecodeString(f.token[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		input := []byte(f.token[:i])
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			sum := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})

	uncached := f.validator(b, entra.WithCacheSize(0))
	b.Run("impl=ours-uncached", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := uncached.Validate(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})

	cached := f.validator(b)
	b.Run("impl=ours-cached", func(b *testing.B) {
		if _, err := cached.Validate(ctx, f.token); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := cached.Validate(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})

	kf, err := keyfunc.NewDefaultCtx(ctx, []string{f.idp.JWKSURL()})
	if err != nil {
		b.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(f.idp.Issuer()),
		jwt.WithAudience(f.idp.ClientID()), jwt.WithExpirationRequired())
	b.Run("impl=golang-jwt+keyfunc", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := parser.Parse(f.token, kf.Keyfunc); err != nil {
				b.Fatal(err)
			}
		}
	})

	provider, err := oidc.NewProvider(ctx, f.idp.Issuer())
	if err != nil {
		b.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: f.idp.ClientID(), SupportedSigningAlgs: []string{"RS256"}})
	if _, err := verifier.Verify(ctx, f.token); err != nil {
		b.Fatal(err)
	}
	b.Run("impl=go-oidc", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			if _, err := verifier.Verify(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
