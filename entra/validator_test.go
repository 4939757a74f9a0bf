package entra_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) {
	c.ns.Add(int64(d))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newValidator(t testing.TB, idp *entratest.Server, opts ...entra.Option) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(append([]entra.Option{
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID(), idp.AppIDURI()),
		entra.WithLogger(quiet),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidTokenGivesTheCaller(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	alice := idp.Users()[0]
	c, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("alice"), entratest.Scopes("Items.Read", "Items.Write"), entratest.Claim("upn", "alice@contoso")))
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectID != alice.ObjectID || c.TenantID != idp.TenantID() || c.Name != alice.Name || c.PreferredUsername != "alice" ||
		c.ClientID() != entratest.DefaultSPAClientID || c.IsAppOnly() || c.Audience != idp.ClientID() || c.Version != "2.0" ||
		c.Scopes.String() != "Items.Read Items.Write" || !c.HasScope("Items.Write") || c.HasScope("items.write") {
		t.Fatalf("claims %+v", c)
	}
	var raw map[string]any
	if err := c.Decode(&raw); err != nil || raw["upn"] != "alice@contoso" {
		t.Fatalf("claims %v, %v", raw, err)
	}
	app, err := v.Validate(context.Background(), idp.Issue(entratest.ForApp("admin-daemon"), entratest.Audience(idp.AppIDURI())))
	if err != nil {
		t.Fatal(err)
	}
	if !app.IsAppOnly() || !app.HasRole("Items.Admin") || app.ClientID() != entratest.AdminDaemonClientID || app.Audience != idp.AppIDURI() {
		t.Fatalf("app claims %+v", app)
	}
}

func TestClockSkew(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := newClock(start)
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	tok := idp.Issue(entratest.ExpiresIn(time.Hour))
	future := idp.Issue(entratest.NotBefore(start.Add(10 * time.Minute)))
	v := newValidator(t, idp, entra.WithClock(clk.now), entra.WithClockSkew(time.Minute))
	tests := []struct {
		name  string
		at    time.Time
		token string
		want  error
	}{
		{"a token is valid at issue time", start, tok, nil},
		{"a token is valid within the skew after exp", start.Add(time.Hour + 59*time.Second), tok, nil},
		{"a token is expired at exp plus the skew", start.Add(time.Hour + time.Minute), tok, entra.ErrExpired},
		{"a token is not yet valid before nbf minus the skew", start.Add(8 * time.Minute), future, entra.ErrNotYetValid},
		{"a token is valid within the skew before nbf", start.Add(9*time.Minute + time.Second), future, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.set(tt.at)
			_, err := v.Validate(context.Background(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKeysAreFetchedOnceForConcurrentFirstRequests(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	tok := idp.Issue()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Validate(context.Background(), tok); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := idp.Fetches(); failed.Load() != 0 || f.Discovery != 1 || f.JWKS != 1 {
		t.Fatalf("%d failures, fetches %+v; want 0 failures, 1 discovery, 1 JWKS", failed.Load(), f)
	}
}

func TestUnknownKeyIDsRefetchAtMostOncePerInterval(t *testing.T) {
	clk := newClock(time.Now())
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithClock(clk.now), entra.WithMinRefreshInterval(5*time.Minute))
	if err := v.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	stranger := idp.Issue(entratest.SignedWithUnknownKey())
	for i := 0; i < 10000; i++ {
		if _, err := v.Validate(context.Background(), stranger); !errors.Is(err, entra.ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
	}
	if f := idp.Fetches(); f.JWKS != 1 {
		t.Fatalf("10,000 unknown-kid tokens within the interval caused %d key set fetches, want 1 (the preload)", f.JWKS)
	}
	// Rotation: a token under the new key is accepted after exactly one
	// refetch, once the interval has passed.
	idp.RotateKeys()
	rotated := idp.Issue()
	if _, err := v.Validate(context.Background(), rotated); !errors.Is(err, entra.ErrUnknownKey) {
		t.Fatalf("within the interval: err = %v, want ErrUnknownKey", err)
	}
	clk.add(5 * time.Minute)
	if _, err := v.Validate(context.Background(), rotated); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if f := idp.Fetches(); f.JWKS != 2 {
		t.Fatalf("JWKS fetches %d, want 2", f.JWKS)
	}
}

func TestProviderDownAtStartThenRecovers(t *testing.T) {
	clk := newClock(time.Now())
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	idp.SetDown(true)
	v := newValidator(t, idp, entra.WithClock(clk.now))
	tok := idp.Issue()
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	if v.Ready() {
		t.Fatal("ready without keys")
	}
	idp.SetDown(false)
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatalf("retry before the retry interval: err = %v", err)
	}
	clk.add(entra.DefaultRetryInterval)
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	// Down after start: the cached keys keep validating.
	idp.SetDown(true)
	clk.add(time.Hour)
	if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
		t.Fatalf("provider down after start: %v", err)
	}
}

func TestInvalidConfigurationFailsConstruction(t *testing.T) {
	tests := []struct {
		name string
		opts []entra.Option
		want string
	}{
		{"no tenant", []entra.Option{entra.WithAudiences("a")}, "tenant is required"},
		{"a multi-tenant name without a tenant list", []entra.Option{entra.WithTenant("common"), entra.WithAudiences("a")}, "accepts every tenant's tokens"},
		{"allowed tenants on a single tenant", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithAudiences("a"), entra.WithAllowedTenants("72f988bf-86f1-41af-91ab-2d7cd011db47")}, "need a multi-tenant tenant"},
		{"an allowed tenant that is not a GUID", []entra.Option{entra.WithTenant("organizations"), entra.WithAudiences("a"), entra.WithAllowedTenants("contoso.com")}, "not a tenant ID"},
		{"a filter and any tenant", []entra.Option{entra.WithTenant("organizations"), entra.WithAudiences("a"), entra.WithTenantFilter(func(string) bool { return true }), entra.InsecureAllowAnyTenant()}, "contradict"},
		{"B2C with v1 tokens", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithAudiences("a"), entra.WithB2CPolicy("B2C_1_susi"), entra.WithTokenVersions(entra.V1)}, "v2 tokens only"},
		{"B2C with a multi-tenant name", []entra.Option{entra.WithTenant("common"), entra.WithAudiences("a"), entra.InsecureAllowAnyTenant(), entra.WithB2CPolicy("B2C_1_susi")}, "not a multi-tenant name"},
		{"a B2C policy with a slash", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithAudiences("a"), entra.WithB2CPolicy("a/b")}, "user flow name"},
		{"an unknown token version", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithTokenVersions("3.0")}, "token version"},
		{"a tenant with a slash", []entra.Option{entra.WithTenant("a/b"), entra.WithAudiences("a")}, "not a tenant ID"},
		{"no audience", []entra.Option{entra.WithTenant("t")}, "audience"},
		{"an HMAC algorithm", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithAlgorithms("HS256")}, `"HS256" is not allowed`},
		{"alg none", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithAlgorithms("none")}, `"none" is not allowed`},
		{"an http authority off loopback", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithAuthorityHost("http://login.microsoftonline.com")}, "loopback"},
		{"a negative skew", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithClockSkew(-time.Second)}, "clock skew"},
		{"a tiny token limit", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithMaxTokenBytes(10)}, "max token bytes"},
		{"a nil logger", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithLogger(nil)}, "WithLogger: nil"},
		{"a nil HTTP client", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithHTTPClient(nil)}, "WithHTTPClient: nil"},
		{"a nil clock", []entra.Option{entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithClock(nil)}, "WithClock: nil"},
		{"a nil tenant filter", []entra.Option{entra.WithTenant("organizations"), entra.WithAudiences("a"), entra.WithTenantFilter(nil)}, "WithTenantFilter: nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := entra.NewValidator(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

var sentinels = []error{
	entra.ErrMalformed, entra.ErrTooLarge, entra.ErrAlgorithm, entra.ErrMissingKeyID, entra.ErrUnknownKey,
	entra.ErrSignature, entra.ErrExpired, entra.ErrNotYetValid, entra.ErrIssuer, entra.ErrAudience,
	entra.ErrNotAccessToken, entra.ErrKeysUnavailable,
}

// FuzzValidate feeds arbitrary input to a validator with loaded keys: it
// never panics, accepts no token but the one valid seed (a token has one
// spelling, so no rewriting of it is accepted), and every error wraps one
// of the package's sentinels.
func FuzzValidate(f *testing.F) {
	idp := entratest.NewServer(f)
	v := newValidator(f, idp, entra.WithMinRefreshInterval(time.Hour))
	if err := v.Preload(context.Background()); err != nil {
		f.Fatal(err)
	}
	good := idp.Issue()
	for _, s := range []string{
		good, idp.Issue(entratest.AlgNone()), idp.Issue(entratest.HS256WithPublicKey()), idp.Issue(entratest.SignedWithWrongKey()),
		idp.Issue(entratest.Header("crit", []string{"exp"})), "", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.e30.AA",
		`{"payload":"e30","signatures":[]}`,
		idp.Issue(entratest.IDToken(), entratest.Roles("Items.Admin")),
		idp.Issue(entratest.ClaimsJSON(prepend(`"ROLES":["Items.Admin"]`))),
		idp.Issue(entratest.ClaimsJSON(prepend(`"roles":["Items.Admin"],"roles":[]`))),
		idp.Issue(entratest.HeaderJSON(prepend(`"alg":"none"`))),
	} {
		f.Add(s)
	}
	// The signature's last character written with other unused bits.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[len(good)-1])
	for low := 1; low < 4; low++ {
		f.Add(good[:len(good)-1] + string(alphabet[last^low]))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Validate(context.Background(), raw)
		if err == nil {
			if raw != good || c == nil {
				t.Fatalf("accepted %q, which is not the token the provider issued", raw)
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	})
}

// TestATokenIsAcceptedOnlyAsWritten: the signature covers the base64url
// text, but decoders also read padding, the standard alphabet and line
// breaks; a token rewritten that way is refused, so each accepted token
// has exactly one form.
func TestATokenIsAcceptedOnlyAsWritten(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	good := idp.Issue()
	if _, err := v.Validate(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	p := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"a line break in the signature": p[0] + "." + p[1] + "." + p[2][:10] + "\r\n" + p[2][10:],
		"a trailing line break":         good + "\n",
		"a line break in the payload":   p[0] + "." + p[1][:5] + "\n" + p[1][5:] + "." + p[2],
		"padding":                       good + "==",
		"the standard alphabet":         strings.NewReplacer("-", "+", "_", "/").Replace(good),
		"a space":                       p[0] + ". " + p[1] + "." + p[2],
	} {
		if tok == good {
			continue // the replacer found nothing to replace
		}
		t.Run(name, func(t *testing.T) {
			if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestValidUntilIsExpiryPlusSkewOnTheRealClock(t *testing.T) {
	const skew = 90 * time.Second
	idp := entratest.NewServer(t)
	iat := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	tok := idp.Issue(entratest.IssuedAt(iat), entratest.ExpiresIn(time.Hour))
	exp := iat.Add(time.Hour)
	for _, cache := range []int{0, 10_000} {
		real := newValidator(t, idp, entra.WithClockSkew(skew), entra.WithCacheSize(cache))
		// The injected clock runs 20 minutes ahead of the real one: the
		// token has 20 minutes less left by it.
		ahead := 20 * time.Minute
		fake := newValidator(t, idp, entra.WithClockSkew(skew), entra.WithCacheSize(cache), entra.WithClock(func() time.Time { return time.Now().Add(ahead) }))
		for range 2 { // the second time from the cache, if any
			c, err := real.Validate(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if !c.ValidUntil().Equal(exp.Add(skew)) {
				t.Errorf("cache %d: ValidUntil %v, want exp plus skew %v", cache, c.ValidUntil(), exp.Add(skew))
			}
			before := time.Now()
			c, err = fake.Validate(context.Background(), tok)
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			if lo, hi := exp.Add(skew-ahead).Add(-after.Sub(before)), exp.Add(skew-ahead).Add(after.Sub(before)); c.ValidUntil().Before(lo) || c.ValidUntil().After(hi) {
				t.Errorf("cache %d, clock %v ahead: ValidUntil %v, want %v", cache, ahead, c.ValidUntil(), exp.Add(skew-ahead))
			}
		}
	}
	if hand := (&entra.Claims{ExpiresAt: exp}); !hand.ValidUntil().Equal(exp) {
		t.Errorf("Claims made by hand: ValidUntil %v, want ExpiresAt", hand.ValidUntil())
	}
}
