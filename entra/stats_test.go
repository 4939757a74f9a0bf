package entra_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

func TestStatsCountWhatTheValidatorDid(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := newClock(start)
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithClock(clk.now))
	ctx := context.Background()
	check := func(step string, want entra.Stats) {
		t.Helper()
		got := v.Stats()
		if got.KeySetLoadedAt.Equal(want.KeySetLoadedAt) {
			got.KeySetLoadedAt = want.KeySetLoadedAt
		}
		if got != want {
			t.Fatalf("%s: stats %+v, want %+v", step, got, want)
		}
	}

	check("before anything", entra.Stats{})
	if err := v.Preload(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a preload", entra.Stats{KeySetFetches: 1, KeySetLoadedAt: start})

	tok := idp.Issue()
	for range 3 {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	check("after one token thrice", entra.Stats{CacheHits: 2, CacheMisses: 1, CacheEntries: 1, KeySetFetches: 1, KeySetLoadedAt: start})

	// A refused token is looked up (a miss) and never stored.
	if _, err := v.Validate(ctx, idp.Issue(entratest.Audience("someone-else"))); !errors.Is(err, entra.ErrAudience) {
		t.Fatalf("err = %v, want ErrAudience", err)
	}
	check("after a refused token", entra.Stats{CacheHits: 2, CacheMisses: 2, CacheEntries: 1, KeySetFetches: 1, KeySetLoadedAt: start})

	// An unknown key makes the validator fetch; the provider is down.
	idp.RotateKeys()
	idp.SetDown(true)
	clk.add(5 * time.Minute)
	if _, err := v.Validate(ctx, idp.Issue()); !errors.Is(err, entra.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	check("after a failed fetch", entra.Stats{CacheHits: 2, CacheMisses: 3, CacheEntries: 1, KeySetFetches: 1, KeySetFetchFailures: 1, KeySetLoadedAt: start})

	idp.SetDown(false)
	clk.add(5 * time.Minute)
	if _, err := v.Validate(ctx, idp.Issue()); err != nil {
		t.Fatal(err)
	}
	later := start.Add(2 * 5 * time.Minute)
	check("after a good fetch", entra.Stats{CacheHits: 2, CacheMisses: 4, CacheEntries: 2, KeySetFetches: 2, KeySetFetchFailures: 1, KeySetLoadedAt: later})

	// The token of the rotated-out key is dropped from the cache on lookup.
	if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	if s := v.Stats(); s.CacheEntries != 1 || s.CacheMisses != 5 {
		t.Fatalf("after a stale entry: stats %+v, want 1 entry and 5 misses", s)
	}
}

func TestStatsOfAValidatorWithoutCacheCountNoLookups(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp, entra.WithCacheSize(0))
	tok := idp.Issue()
	for range 2 {
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if s := v.Stats(); s.CacheHits != 0 || s.CacheMisses != 0 || s.CacheEntries != 0 || s.KeySetFetches != 1 || s.KeySetLoadedAt.IsZero() {
		t.Fatalf("stats %+v", s)
	}
}

func TestReadingStatsAllocatesNothing(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = v.Stats() }); n != 0 {
		t.Fatalf("Stats allocates %v times", n)
	}
}
