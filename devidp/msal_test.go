package devidp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// postForm posts form to u and returns the status and the JSON answer.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// payload returns a token's claims, unverified (the tests verify
// elsewhere that the provider signs what it issues).
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// What MSAL needs to keep a user signed in: an ID token, client_info when
// asked, a refresh token with offline_access, and scope.
func TestUserSignInAnswersWhatMSALKeeps(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	api := p.AppIDURI()
	status, body := postForm(t, srv.Client(), p.TokenURL(), url.Values{
		"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID}, "client_info": {"1"},
		"username": {"bob"}, "password": {"dev"}, "scope": {api + "/Items.Read openid profile offline_access"},
	})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	if body["scope"] != api+"/Items.Read openid profile offline_access" {
		t.Errorf("scope %v", body["scope"])
	}
	id := payload(t, body["id_token"].(string))
	bob := p.Users()[1]
	for k, want := range map[string]any{"aud": devidp.DefaultSPAClientID, "oid": bob.ObjectID, "tid": p.TenantID(), "preferred_username": "bob", "iss": p.Issuer()} {
		if id[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, id[k], want)
		}
	}
	for _, absent := range []string{"scp", "nonce", "azp"} {
		if _, ok := id[absent]; ok {
			t.Errorf("id_token has %s", absent)
		}
	}
	info, err := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
	if err != nil || string(info) != `{"uid":"`+bob.ObjectID+`","utid":"`+p.TenantID()+`"}` {
		t.Errorf("client_info %s, %v", info, err)
	}
	if at := payload(t, body["access_token"].(string)); at["azp"] != devidp.DefaultSPAClientID || at["azpacr"] != "0" {
		t.Errorf("access token azp %v azpacr %v", at["azp"], at["azpacr"])
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" {
		t.Fatal("no refresh_token with offline_access")
	}

	refresh := func(clientID, token string) (int, map[string]any) {
		return postForm(t, srv.Client(), p.TokenURL(), url.Values{
			"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {token},
			"scope": {api + "/Items.Read openid offline_access"},
		})
	}
	if status, body := refresh("another-client", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("another client redeemed the refresh token: %d %v", status, body)
	}
	// A failed attempt spends it too, as an authorization code is spent:
	// get a fresh one.
	_, body = postForm(t, srv.Client(), p.TokenURL(), url.Values{
		"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID},
		"username": {"bob"}, "password": {"dev"}, "scope": {api + "/Items.Read offline_access"},
	})
	rt = body["refresh_token"].(string)
	if _, ok := body["id_token"]; ok {
		t.Error("an ID token without openid")
	}
	status, body = refresh(devidp.DefaultSPAClientID, rt)
	if status != http.StatusOK || payload(t, body["access_token"].(string))["scp"] != "Items.Read" || body["refresh_token"] == nil || body["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if status, body := refresh(devidp.DefaultSPAClientID, rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("a refresh token was redeemed twice: %d %v", status, body)
	}
}

// The token and device code endpoints of organizations and common sign
// the tenant's users in, and their discovery documents list them.
func TestMultiTenantAuthoritiesSignUsersIn(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	for _, tenant := range []string{"organizations", "common"} {
		var doc map[string]any
		resp, err := srv.Client().Get(p.Authority() + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		tokenURL := p.Authority() + "/" + tenant + "/oauth2/v2.0/token"
		if doc["token_endpoint"] != tokenURL || doc["device_authorization_endpoint"] != p.Authority()+"/"+tenant+"/oauth2/v2.0/devicecode" {
			t.Fatalf("%s discovery: %v", tenant, doc)
		}
		status, body := postForm(t, srv.Client(), tokenURL, url.Values{
			"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID},
			"username": {"alice"}, "password": {"dev"}, "scope": {p.AppIDURI() + "/.default"},
		})
		if status != http.StatusOK || payload(t, body["access_token"].(string))["tid"] != p.TenantID() {
			t.Fatalf("%s token endpoint: %d %v", tenant, status, body)
		}
	}
}

// Discovery documents and the URLs the provider hands out follow the
// scheme and loopback host of the request; other hosts get the authority.
// Issuers never follow it.
func TestAdvertisedURLsFollowTheRequest(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	port := srv.Listener.Addr().String()[strings.LastIndex(srv.Listener.Addr().String(), ":"):]
	tests := []struct {
		name, host, proto, want string
	}{
		{"127.0.0.1 gets 127.0.0.1", "127.0.0.1" + port, "", "http://127.0.0.1" + port},
		{"localhost gets localhost", "localhost" + port, "", "http://localhost" + port},
		{"[::1] gets [::1]", "[::1]" + port, "", "http://[::1]" + port},
		{"behind a local TLS terminator, https", "localhost", "https", "https://localhost"},
		{"a host off loopback gets the authority", "evil.example" + port, "https", p.Authority()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, p.DiscoveryURL(), nil)
			req.Host = tt.host
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&doc)
			tenant := "/" + p.TenantID()
			if doc["token_endpoint"] != tt.want+tenant+"/oauth2/v2.0/token" || doc["jwks_uri"] != tt.want+tenant+"/discovery/v2.0/keys" {
				t.Errorf("token_endpoint %v, jwks_uri %v; want them under %s", doc["token_endpoint"], doc["jwks_uri"], tt.want)
			}
			if doc["issuer"] != p.Issuer() {
				t.Errorf("issuer %v, want %s", doc["issuer"], p.Issuer())
			}
		})
	}
}

// certificateApp is an app whose certificate is cert (key priv).
func certificateApp(t testing.TB, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return priv, cert
}

// Certificate credentials: a client assertion signed with the key of a
// registered certificate authenticates the app (azpacr 2); anything else
// is invalid_client.
func TestCertificateClientCredentials(t *testing.T) {
	key, cert := certificateApp(t, time.Now().Add(time.Hour))
	otherKey, _ := certificateApp(t, time.Now().Add(time.Hour))
	expiredKey, expired := certificateApp(t, time.Now().Add(-time.Hour))
	p, srv := serve(t, devidp.WithApps(devidp.App{Name: "daemon", ClientID: "daemon", ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a4b",
		Roles: []string{"Items.Export"}, Certificates: []*x509.Certificate{cert, expired}}))
	sign := func(k *rsa.PrivateKey, alg jwa.SignatureAlgorithm, claims map[string]any) string {
		b, _ := json.Marshal(claims)
		sum := sha256.Sum256(cert.Raw)
		h := jws.NewHeaders()
		_ = h.Set("x5t#S256", base64.RawURLEncoding.EncodeToString(sum[:]))
		out, err := jws.Sign(b, jws.WithKey(alg, k, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	now := time.Now().Unix()
	good := map[string]any{"aud": p.TokenURL(), "iss": "daemon", "sub": "daemon", "exp": now + 600, "nbf": now - 5, "jti": "1"}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for a, b := range good {
			c[a] = b
		}
		c[k] = v
		return c
	}
	tests := []struct {
		name      string
		assertion string
		clientID  string
		status    int
	}{
		{"an RS256 assertion of the registered certificate is accepted", sign(key, jwa.RS256, good), "daemon", 200},
		{"a PS256 assertion (MSAL with a SHA-256 thumbprint) is accepted", sign(key, jwa.PS256, good), "daemon", 200},
		{"another key's assertion is refused", sign(otherKey, jwa.RS256, good), "daemon", 401},
		{"an expired certificate's assertion is refused", sign(expiredKey, jwa.RS256, good), "daemon", 401},
		{"an assertion for another audience is refused", sign(key, jwa.RS256, with("aud", "https://login.microsoftonline.com/x/oauth2/v2.0/token")), "daemon", 401},
		{"an assertion naming another client is refused", sign(key, jwa.RS256, with("sub", "admin")), "daemon", 401},
		{"an expired assertion is refused", sign(key, jwa.RS256, with("exp", now-1)), "daemon", 401},
		{"an assertion valid a moment from now is accepted (MSAL rounds the second)", sign(key, jwa.RS256, with("nbf", now+1)), "daemon", 200},
		{"an assertion valid only in an hour is refused", sign(key, jwa.RS256, with("nbf", now+3600)), "daemon", 401},
		{"an assertion for an unknown client is refused", sign(key, jwa.RS256, good), "stranger", 401},
		{"an HS256 assertion is refused", func() string {
			out, _ := jws.Sign([]byte(`{}`), jws.WithKey(jwa.HS256, []byte("secret")))
			return string(out)
		}(), "daemon", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postForm(t, srv.Client(), p.TokenURL(), url.Values{
				"grant_type": {"client_credentials"}, "client_id": {tt.clientID}, "scope": {p.AppIDURI() + "/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {tt.assertion},
			})
			if status != tt.status {
				t.Fatalf("%d %v, want %d", status, body, tt.status)
			}
			if status == 200 {
				if c := payload(t, body["access_token"].(string)); c["azp"] != "daemon" || c["azpacr"] != "2" {
					t.Fatalf("azp %v azpacr %v", c["azp"], c["azpacr"])
				}
			} else if body["error"] != "invalid_client" {
				t.Fatalf("error %v", body["error"])
			}
		})
	}
	// An app without a secret cannot use an empty one.
	status, _ := postForm(t, srv.Client(), p.TokenURL(), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"daemon"}, "client_secret": {""}, "scope": {p.AppIDURI() + "/.default"},
	})
	if status != http.StatusUnauthorized {
		t.Fatalf("an empty secret: %d", status)
	}
}

func TestTokenLifetimeAndPollInterval(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p, srv := serve(t, append(withPermissions(), devidp.WithTokenLifetime(10*time.Minute), devidp.WithClock(func() time.Time { return now }), devidp.WithDevicePollInterval(time.Second))...)
	if c := payload(t, p.Issue()); c["exp"] != float64(now.Add(10*time.Minute).Unix()) {
		t.Fatalf("exp %v", c["exp"])
	}
	_, body := postForm(t, srv.Client(), p.TokenURL(), url.Values{
		"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {p.AppIDURI() + "/.default"},
	})
	if body["expires_in"] != float64(599) {
		t.Fatalf("expires_in %v", body["expires_in"])
	}
	_, body = postForm(t, srv.Client(), p.DeviceCodeURL(), url.Values{"client_id": {devidp.DefaultSPAClientID}, "scope": {p.AppIDURI() + "/.default"}})
	if body["interval"] != float64(1) {
		t.Fatalf("interval %v", body["interval"])
	}
	for _, o := range []devidp.Option{devidp.WithTokenLifetime(time.Second), devidp.WithTokenLifetime(48 * time.Hour),
		devidp.WithDevicePollInterval(0), devidp.WithDevicePollInterval(1500 * time.Millisecond)} {
		if _, err := devidp.NewProvider("http://127.0.0.1", o); err == nil {
			t.Error("an out-of-range option was accepted")
		}
	}
}

// The signing key is kept with mode 0600 and read back; a key file others
// may read is refused, not used.
func TestSigningKeyIsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	k1, err := devidp.LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := devidp.LoadOrCreateSigningKey(dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("the second load gave another key (%v)", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, devidp.SigningKeyFile))
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v, want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	if err := os.Chmod(filepath.Join(dir, devidp.SigningKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := devidp.LoadOrCreateSigningKey(dir); err == nil {
		t.Fatal("a key file others may read was used")
	}
}

// The development certificate is for loopback only, kept across calls,
// and a CA constrained to loopback names.
func TestTLSCertificateIsForLoopbackOnly(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := devidp.LoadOrCreateTLSCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := devidp.LoadOrCreateTLSCertificate(dir)
	if err != nil || again != certFile {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
		t.Error("the certificate verifies for example.com")
	}
	if !leaf.PermittedDNSDomainsCritical || len(leaf.PermittedIPRanges) != 2 {
		t.Error("the certificate's CA is not constrained to loopback")
	}
	// A TLS server with it is trusted by a client trusting the file.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// Key set entries carry the key's certificate in x5c, as Entra's do: a
// certificate of the very key, the same for the same key.
func TestKeySetEntriesCarryTheKeysCertificate(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	fetch := func() map[string]any {
		resp, err := srv.Client().Get(p.JWKSURL())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("key set: %v", err)
		}
		return set.Keys[0]
	}
	entry := fetch()
	chain, _ := entry["x5c"].([]any)
	if len(chain) != 1 {
		t.Fatalf("x5c %v", entry["x5c"])
	}
	der, err := base64.StdEncoding.DecodeString(chain[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	u := p.Unsigned()
	if !u.Key.Public().(*rsa.PublicKey).Equal(cert.PublicKey) || entry["kid"] != u.KeyID {
		t.Fatal("x5c is not the certificate of the signing key")
	}
	if again := fetch(); again["x5c"].([]any)[0] != chain[0] {
		t.Fatal("the certificate changed between two fetches")
	}
	// x5t is the certificate's SHA-1 thumbprint (RFC 7517), which JWKS
	// readers such as keyfunc's check against x5c.
	sum := sha1.Sum(der)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); entry["x5t"] != want {
		t.Fatalf("x5t %v, want the certificate's thumbprint %s", entry["x5t"], want)
	}
}

// idtyp is an optional claim in Entra: app tokens carry it only when the
// API's registration asks for it.
func TestIDTypOnlyWhenConfigured(t *testing.T) {
	plain, err := devidp.NewProvider("http://127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	withClaim, err := devidp.NewProvider("http://127.0.0.1", devidp.WithIDTypClaim())
	if err != nil {
		t.Fatal(err)
	}
	if c := payload(t, plain.Issue(devidp.ForApp("admin-daemon"))); c["idtyp"] != nil || c["azp"] != devidp.AdminDaemonClientID {
		t.Errorf("by default: idtyp %v, azp %v", c["idtyp"], c["azp"])
	}
	if c := payload(t, withClaim.Issue(devidp.ForApp("admin-daemon"))); c["idtyp"] != "app" {
		t.Errorf("WithIDTypClaim: idtyp %v", c["idtyp"])
	}
	if c := payload(t, withClaim.Issue(devidp.ForUser("bob"))); c["idtyp"] != nil {
		t.Errorf("a user token with idtyp %v", c["idtyp"])
	}
}

// The answer's scope names what was asked for as the client wrote it,
// {api}/.default included, with the granted scopes' full names: MSAL (Go)
// takes a requested scope it does not find there as declined.
func TestResponseScopeEchoesWhatWasAskedFor(t *testing.T) {
	p, srv := serve(t, withPermissions()...)
	api := p.AppIDURI()
	tests := []struct{ requested, want string }{
		{api + "/.default", api + "/.default " + api + "/Items.Read"},
		{p.ClientID() + "/Items.Read openid", p.ClientID() + "/Items.Read openid"},
		{api + "/Items.Read offline_access", api + "/Items.Read offline_access"},
	}
	for _, tt := range tests {
		status, body := postForm(t, srv.Client(), p.TokenURL(), url.Values{
			"grant_type": {"password"}, "client_id": {devidp.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {tt.requested},
		})
		if status != http.StatusOK || body["scope"] != tt.want {
			t.Errorf("asked for %q: %d, scope %q, want %q", tt.requested, status, body["scope"], tt.want)
		}
	}
}
