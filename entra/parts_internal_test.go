package entra

import (
	"context"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// BenchmarkValidateParts measures what Validate does besides the RSA
// verify: the bench module's ratio to the bare RSA floor is this over it.
func BenchmarkValidateParts(b *testing.B) {
	idp := entratest.NewServer(b)
	v := newFuzzValidator(b, idp)
	tok := idp.Issue(entratest.ForUser("alice"))
	ctx := context.Background()
	vt, err := v.verify(ctx, tok, signingInput{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("part=parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jwt.Parse(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=claims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tc jwt.Claims
			if err := jwt.ParseClaims(vt.payload, &tc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=check", func(b *testing.B) {
		var tc jwt.Claims
		if err := jwt.ParseClaims(vt.payload, &tc); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.check(&tc, vt.key, vt.state, vt.kid, vt.payload, v.now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkValidateCached measures a cache hit.
func BenchmarkValidateCached(b *testing.B) {
	idp := entratest.NewServer(b)
	v := newFuzzValidator(b, idp)
	tok := idp.Issue(entratest.ForUser("alice"))
	ctx := context.Background()
	if _, err := v.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
