package devidp_test

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// Any client assertion an attacker sends is refused without a crash: only
// one signed with a registered certificate's key authenticates, and the
// fuzzer has none.
func FuzzClientAssertion(f *testing.F) {
	_, cert := certificateApp(f, time.Now().Add(time.Hour))
	p, err := devidp.NewProvider("http://127.0.0.1:8000", devidp.WithApps(devidp.App{Name: "daemon", ClientID: "daemon",
		ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a4b", Certificates: []*x509.Certificate{cert}}))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJkYWVtb24ifQ.",
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJkYWVtb24iLCJzdWIiOiJkYWVtb24ifQ.AAAA",
		"{\"payload\":\"e30\",\"signatures\":[]}", strings.Repeat("A", 20000) + ".." + "A",
	} {
		f.Add(seed, "daemon")
	}
	f.Fuzz(func(t *testing.T, assertion, clientID string) {
		form := url.Values{
			"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {p.AppIDURI() + "/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
		}
		req := httptest.NewRequest(http.MethodPost, p.TokenURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Fatalf("assertion %q authenticated %q", assertion, clientID)
		}
	})
}

// Whatever Host and X-Forwarded-Proto a request carries, the URLs the
// discovery document advertises are the authority's or on a loopback
// host, and parse as URLs.
func FuzzAdvertisedURLs(f *testing.F) {
	p, err := devidp.NewProvider("http://127.0.0.1:8000/dev-idp")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][2]string{
		{"127.0.0.1:8000", ""}, {"localhost", "https"}, {"[::1]:8000", "http"}, {"evil.example", "https"},
		{"localhost@evil.example", ""}, {"localhost:80/evil", ""}, {"LOCALHOST.:1", ""}, {"127.0.0.1:8000#x", "https"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, host, proto string) {
		req := httptest.NewRequest(http.MethodGet, p.DiscoveryURL(), nil)
		req.Host = host
		req.Header.Set("X-Forwarded-Proto", proto)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"token_endpoint", "jwks_uri", "authorization_endpoint", "device_authorization_endpoint"} {
			s, _ := doc[k].(string)
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" || u.RawQuery != "" {
				t.Fatalf("Host %q: %s = %q", host, k, s)
			}
			name := strings.ToLower(u.Hostname())
			if name != "localhost" && name != "127.0.0.1" && name != "::1" && !strings.HasPrefix(name, "127.") {
				t.Fatalf("Host %q: %s = %q is off loopback", host, k, s)
			}
			if !strings.HasPrefix(u.Path, "/dev-idp/") {
				t.Fatalf("Host %q: %s = %q leaves the provider's prefix", host, k, s)
			}
		}
	})
}
