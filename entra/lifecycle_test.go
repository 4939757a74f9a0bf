package entra_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// The signing-key lifecycle. Cases that validator_test.go already has are
// not repeated here:
//   - 1,000 concurrent first requests on one tenant: one discovery and one
//     key set fetch (TestKeysAreFetchedOnceForConcurrentFirstRequests);
//   - 10,000 unknown-kid tokens within one interval: no refetch, and a
//     rotated key accepted after exactly one refetch once the interval has
//     passed (TestUnknownKeyIDsRefetchAtMostOncePerInterval);
//   - provider down at start: ErrKeysUnavailable, not ready, then recovery
//     after the retry interval; down after start: still validating
//     (TestProviderDownAtStartThenRecovers);
//   - an http authority off loopback refused at construction
//     (TestInvalidConfigurationFailsConstruction).
// Every count below comes from the provider's Fetches, never from timing.

// withKeyID returns tok with its header replaced by one naming kid. The
// signature no longer matches, which does not matter: the key is looked up
// before the signature is checked, and no key has that ID.
func withKeyID(tok, kid string) string {
	_, rest, _ := strings.Cut(tok, ".")
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}`))
	return h + "." + rest
}

// validateAll validates the tokens concurrently and returns the errors
// that are not want.
func validateAll(v *entra.Validator, tokens []string, want error) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := v.Validate(context.Background(), tok); !errors.Is(err, want) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

func TestUnknownKeyIDsRefetchOncePerIntervalAcrossTwoIntervals(t *testing.T) {
	start := time.Now()
	clk := newClock(start)
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithClock(clk.now), entra.WithMinRefreshInterval(5*time.Minute))
	if err := v.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 10,000 tokens, each under a kid of its own (an attacker spraying key
	// IDs), in ten waves of 1,000 concurrent requests: five waves spread
	// over the first interval after the preload's, five over the second.
	stranger := idp.Issue(entratest.SignedWithUnknownKey())
	offsets := []time.Duration{
		5 * time.Minute, 6 * time.Minute, 7 * time.Minute, 8 * time.Minute, 10*time.Minute - time.Second,
		10 * time.Minute, 11 * time.Minute, 12 * time.Minute, 13 * time.Minute, 15*time.Minute - time.Second,
	}
	for i, off := range offsets {
		clk.set(start.Add(off))
		tokens := make([]string, 1000)
		for j := range tokens {
			tokens[j] = withKeyID(stranger, fmt.Sprintf("spray-%d-%d", i, j))
		}
		if errs := validateAll(v, tokens, entra.ErrUnknownKey); len(errs) > 0 {
			t.Fatalf("wave at +%v: %d unexpected results, first %v", off, len(errs), errs[0])
		}
	}
	// The preload, then one refetch per interval: at +5m and at +10m.
	if f := idp.Fetches(); f.JWKS != 3 || f.Discovery != 3 {
		t.Fatalf("fetches %+v after 10,000 unknown kids over two intervals; want 3 of each (the preload and exactly 2 refetches)", f)
	}
	if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
		t.Fatalf("a good token after the spray: %v", err)
	}
}

func TestConcurrentFirstRequestsFetchEachDocumentOnce(t *testing.T) {
	tests := []struct {
		name           string
		idpOpts        []entratest.Option
		opts           func(idp *entratest.Server) []entra.Option
		token          []entratest.TokenOption
		discovery, set int
	}{
		{"both token versions: the v1 and v2 documents once each", nil,
			func(idp *entratest.Server) []entra.Option {
				return []entra.Option{entra.WithTokenVersions(entra.V1, entra.V2)}
			}, []entratest.TokenOption{entratest.V1Token()}, 2, 2},
		{"multi-tenant with both versions: the organizations documents once each", nil,
			func(idp *entratest.Server) []entra.Option {
				return []entra.Option{entra.WithTenant("organizations"), entra.InsecureAllowAnyTenant(), entra.WithTokenVersions(entra.V2, entra.V1)}
			}, []entratest.TokenOption{entratest.FromTenant("3f2e1d0c-9b8a-4765-8432-10fedcba9876")}, 2, 2},
		{"B2C: the user flow's documents once", []entratest.Option{entratest.WithB2C("contoso", "B2C_1_susi")},
			func(idp *entratest.Server) []entra.Option {
				return []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithB2CPolicy("B2C_1_susi")}
			}, nil, 1, 1},
		{"app-specific keys: the ?appid= documents once", []entratest.Option{entratest.WithCustomSigningKey()},
			func(idp *entratest.Server) []entra.Option {
				return []entra.Option{entra.WithAppSpecificKeys(idp.ClientID())}
			}, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := entratest.NewServer(t, tt.idpOpts...)
			v := newValidator(t, idp, tt.opts(idp)...)
			tok := idp.Issue(tt.token...)
			tokens := make([]string, 1000)
			for i := range tokens {
				tokens[i] = tok
			}
			if errs := validateAll(v, tokens, nil); len(errs) > 0 {
				t.Fatalf("%d of 1,000 failed, first %v", len(errs), errs[0])
			}
			if f := idp.Fetches(); f.Discovery != tt.discovery || f.JWKS != tt.set || f.Failed != 0 {
				t.Fatalf("fetches %+v, want %d discovery documents and %d key sets", f, tt.discovery, tt.set)
			}
		})
	}
}

// failure is a way for the identity provider to fail, and how to undo it.
type failure struct {
	name  string
	apply func(*entratest.Server)
	// want is in the error of the failed fetch.
	want string
	// failed is how many answers the provider failed on purpose per
	// attempt; -1 when it cannot tell (a slow answer the client gave up on).
	failed int
	// discovery is how many discovery documents it serves per attempt.
	discovery int
}

// slowDelay is longer than the client timeout the tests give validators,
// and shorter than a test should ever wait.
const (
	slowDelay     = 30 * time.Second
	clientTimeout = 2 * time.Second
)

var failures = []failure{
	{"down (503)", func(idp *entratest.Server) { idp.SetDown(true) }, "503", 1, 0},
	{"a garbage discovery document", func(idp *entratest.Server) { idp.SetFault(entratest.GarbageDiscovery) }, "not a discovery document", 1, 0},
	{"a garbage key set", func(idp *entratest.Server) { idp.SetFault(entratest.GarbageKeySet) }, "not a key set", 1, 1},
	{"a 2 MiB key set", func(idp *entratest.Server) { idp.SetFault(entratest.HugeKeySet) }, "larger than", 1, 1},
	{"a key set of 500 keys", func(idp *entratest.Server) { idp.SetFault(entratest.TooManyKeys) }, "more than 100", 1, 1},
	{"an answer slower than the client's timeout", func(idp *entratest.Server) { idp.SetDelay(slowDelay) }, "Client.Timeout", -1, 0},
}

func heal(idp *entratest.Server) {
	idp.SetDown(false)
	idp.SetFault(entratest.NoFault)
	idp.SetDelay(0)
}

// newLifecycleValidator is a validator on a fake clock whose client gives
// up after clientTimeout.
func newLifecycleValidator(t *testing.T, idp *entratest.Server, clk *clock) *entra.Validator {
	client := idp.Client()
	client = &http.Client{Transport: client.Transport, Timeout: clientTimeout}
	return newValidator(t, idp, entra.WithClock(clk.now), entra.WithHTTPClient(client))
}

func TestBadAnswersAtStartAreErrorsThenRecover(t *testing.T) {
	for _, f := range failures {
		t.Run(f.name+" leaves the validator unready, and it recovers", func(t *testing.T) {
			clk := newClock(time.Now())
			idp := entratest.NewServer(t, entratest.WithClock(clk.now))
			f.apply(idp)
			v := newLifecycleValidator(t, idp, clk)
			tok := idp.Issue()
			if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrKeysUnavailable) || !strings.Contains(err.Error(), f.want) {
				t.Fatalf("err = %v, want ErrKeysUnavailable saying %q", err, f.want)
			}
			if v.Ready() {
				t.Fatal("ready without keys")
			}
			got := idp.Fetches()
			if got.JWKS != 0 || got.Discovery != f.discovery || (f.failed >= 0 && got.Failed != f.failed) {
				t.Fatalf("fetches %+v, want %d discovery documents, no key set, %d failed", got, f.discovery, f.failed)
			}
			heal(idp)
			clk.add(entra.DefaultRetryInterval)
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatalf("after the provider healed: %v", err)
			}
			if !v.Ready() || idp.Fetches().JWKS != 1 {
				t.Fatalf("ready %v, fetches %+v", v.Ready(), idp.Fetches())
			}
		})
	}
}

func TestAnOutageAtStartCostsOneAttemptPerRetryInterval(t *testing.T) {
	clk := newClock(time.Now())
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	v := newValidator(t, idp, entra.WithClock(clk.now))
	tok := idp.Issue()
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = tok
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if errs := validateAll(v, tokens, entra.ErrKeysUnavailable); len(errs) > 0 {
			t.Fatalf("%d unexpected results, first %v", len(errs), errs[0])
		}
		if f := idp.Fetches(); f.Failed != attempt {
			t.Fatalf("after %d retry intervals of 1,000 requests: %d attempts, want %d", attempt-1, f.Failed, attempt)
		}
		clk.add(entra.DefaultRetryInterval)
	}
}

func TestAFailedRefreshKeepsTheLastGoodKeys(t *testing.T) {
	for _, f := range failures {
		t.Run(f.name+" keeps the keys", func(t *testing.T) {
			clk := newClock(time.Now())
			idp := entratest.NewServer(t, entratest.WithClock(clk.now))
			v := newLifecycleValidator(t, idp, clk)
			if err := v.Preload(context.Background()); err != nil {
				t.Fatal(err)
			}
			before := idp.Fetches()
			f.apply(idp)
			// Past the refresh interval, a request starts the background
			// refresh and is answered from the keys at hand.
			clk.add(12 * time.Hour)
			if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
				t.Fatalf("while the background refresh runs: %v", err)
			}
			// A token under an unknown kid joins that refresh and waits for
			// its end: then the refresh has failed.
			if _, err := v.Validate(context.Background(), idp.Issue(entratest.SignedWithUnknownKey())); !errors.Is(err, entra.ErrUnknownKey) {
				t.Fatalf("unknown kid: %v", err)
			}
			got := idp.Fetches()
			if got.JWKS != before.JWKS || (f.failed >= 0 && got.Failed != before.Failed+f.failed) {
				t.Fatalf("fetches %+v (before %+v): want the refresh to have failed", got, before)
			}
			for i := range 3 {
				clk.add(entra.DefaultRetryInterval)
				if _, err := v.Validate(context.Background(), idp.Issue()); err != nil {
					t.Fatalf("%d retry intervals after the failed refresh: %v", i+1, err)
				}
			}
			if !v.Ready() {
				t.Fatal("not ready any more")
			}
		})
	}
}

func TestKeysAreDroppedOnlyWhenASuccessfulFetchNoLongerListsThem(t *testing.T) {
	clk := newClock(time.Now())
	idp := entratest.NewServer(t, entratest.WithClock(clk.now))
	v := newValidator(t, idp, entra.WithClock(clk.now), entra.WithMinRefreshInterval(5*time.Minute))
	old := idp.Issue()
	if _, err := v.Validate(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	idp.RotateKeys()
	rotated := idp.Issue()
	steps := []struct {
		name        string
		apply       func()
		wait        time.Duration // before the step's requests
		old, newKey error         // what each token gets after the step
		jwks        int
	}{
		{"within the interval, no refetch: the old key still verifies", func() {}, 0, nil, entra.ErrUnknownKey, 1},
		{"a refetch that fails (down) keeps the old key", func() { idp.SetDown(true) }, 5 * time.Minute, nil, entra.ErrUnknownKey, 1},
		{"a refetch that fails (garbage) keeps the old key", func() { idp.SetDown(false); idp.SetFault(entratest.GarbageKeySet) }, 5 * time.Minute, nil, entra.ErrUnknownKey, 1},
		{"a successful refetch drops the old key and adds the new one", func() { idp.SetFault(entratest.NoFault) }, 5 * time.Minute, entra.ErrUnknownKey, nil, 2},
	}
	for _, s := range steps {
		s.apply()
		clk.add(s.wait)
		// The rotated token asks for the refetch, then the old one is tried.
		_, errNew := v.Validate(context.Background(), rotated)
		_, errOld := v.Validate(context.Background(), old)
		if !errors.Is(errNew, s.newKey) || !errors.Is(errOld, s.old) || idp.Fetches().JWKS != s.jwks {
			t.Fatalf("%s: old token %v, new token %v, fetches %+v; want %v, %v, %d key sets",
				s.name, errOld, errNew, idp.Fetches(), s.old, s.newKey, s.jwks)
		}
	}
}

// recordingTransport serves loopback requests and refuses, recording them,
// requests to any other host: a test never leaves the machine.
type recordingTransport struct {
	mu       sync.Mutex
	offHosts []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := req.URL.Hostname(); h != "127.0.0.1" && h != "localhost" {
		rt.mu.Lock()
		rt.offHosts = append(rt.offHosts, req.URL.String())
		rt.mu.Unlock()
		return nil, errors.New("test transport: off-loopback request refused")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (rt *recordingTransport) requested() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.offHosts...)
}

func TestPlainHTTPOffLoopbackIsRefused(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/jwks-off-loopback", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"http://keys.example.com/keys"}`, srv.URL+"/issuer")
	})
	mux.HandleFunc("/issuer-off-loopback", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":"http://sts.example.com/t/","jwks_uri":%q}`, srv.URL+"/keys")
	})
	mux.HandleFunc("/redirect-off-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://login.example.com/t/v2.0/.well-known/openid-configuration", http.StatusFound)
	})
	tests := []struct {
		name, path, want string
	}{
		{"a key set URL with http off loopback is never fetched", "/jwks-off-loopback", "jwks_uri"},
		{"an issuer with http off loopback is refused", "/issuer-off-loopback", "issuer"},
		{"a redirect to http off loopback is not followed", "/redirect-off-loopback", "redirect refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingTransport{}
			v, err := entra.NewValidator(entra.WithTenant("t"), entra.WithAudiences("a"), entra.WithLogger(quiet),
				entra.WithDiscoveryURL(srv.URL+tt.path), entra.WithHTTPClient(&http.Client{Transport: rt}))
			if err != nil {
				t.Fatal(err)
			}
			err = v.Preload(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "loopback") {
				t.Fatalf("err = %v, want a refusal of http off loopback (%s)", err, tt.want)
			}
			if off := rt.requested(); len(off) > 0 {
				t.Fatalf("requested %v", off)
			}
		})
	}
}
