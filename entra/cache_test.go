package entra_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

func TestTheCacheCannotWeakenValidation(t *testing.T) {
	start := time.Now()
	clk := newClock(start)
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithClock(clk.now), entra.WithClockSkew(time.Minute))
	ctx := context.Background()

	t.Run("an expired token is rejected on a hit", func(t *testing.T) {
		tok := idp.Issue(entratest.ExpiresIn(10 * time.Minute))
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		clk.add(11 * time.Minute)
		if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrExpired) {
			t.Fatalf("err = %v, want ErrExpired", err)
		}
		clk.set(start)
	})
	t.Run("a tampered token never hits", func(t *testing.T) {
		tok := idp.Issue(entratest.Scopes("Items.Read"))
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		p := strings.Split(tok, ".")
		sig := []byte(p[2])
		sig[10] ^= 1
		for _, tampered := range []string{tok + "A", p[0] + "." + p[1] + "." + string(sig), strings.Replace(tok, ".", "..", 1)} {
			if _, err := v.Validate(ctx, tampered); err == nil {
				t.Fatalf("tampered token %q accepted", tampered)
			}
		}
	})
	t.Run("a token signed by a key the last refresh removed is rejected", func(t *testing.T) {
		old := idp.Issue()
		if _, err := v.Validate(ctx, old); err != nil {
			t.Fatal(err)
		}
		idp.RotateKeys()
		clk.add(5 * time.Minute)
		if _, err := v.Validate(ctx, idp.Issue()); err != nil { // unknown kid: refetch, old key gone
			t.Fatal(err)
		}
		if _, err := v.Validate(ctx, old); !errors.Is(err, entra.ErrUnknownKey) {
			t.Fatalf("err = %v, want ErrUnknownKey", err)
		}
	})
	t.Run("each call gets its own claims", func(t *testing.T) {
		tok := idp.Issue(entratest.ForUser("bob"))
		a, _ := v.Validate(ctx, tok)
		a.Name = "changed by a handler"
		b, err := v.Validate(ctx, tok)
		if err != nil || b.Name != "Bob Reader" {
			t.Fatalf("a handler's change leaked: %v, %v", b, err)
		}
	})
}

func TestTheCacheCanBeTurnedOff(t *testing.T) {
	clk := newClock(time.Now())
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithCacheSize(0), entra.WithClock(clk.now))
	tok := idp.Issue(entratest.ExpiresIn(time.Minute))
	for i := 0; i < 3; i++ {
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	clk.add(5 * time.Minute)
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrExpired) {
		t.Fatalf("err = %v", err)
	}
	if _, err := entra.NewValidator(entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithCacheSize(-1)); err == nil {
		t.Fatal("negative cache size accepted")
	}
}
