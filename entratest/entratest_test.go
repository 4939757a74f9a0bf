package entratest_test

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

func get(t *testing.T, c *http.Client, u string, v any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func parts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not compact: %q", tok)
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}

func TestDiscoveryAndKeysLookLikeEntra(t *testing.T) {
	idp := entratest.NewServer(t)
	if !strings.HasPrefix(idp.Authority(), "http://127.0.0.1:") {
		t.Fatalf("authority %s is not on loopback", idp.Authority())
	}
	var doc map[string]any
	if code := get(t, idp.Client(), idp.DiscoveryURL(), &doc); code != 200 {
		t.Fatalf("discovery: %d", code)
	}
	want := map[string]string{
		"issuer":                 idp.Authority() + "/" + idp.TenantID() + "/v2.0",
		"jwks_uri":               idp.Authority() + "/" + idp.TenantID() + "/discovery/v2.0/keys",
		"token_endpoint":         idp.Authority() + "/" + idp.TenantID() + "/oauth2/v2.0/token",
		"authorization_endpoint": idp.Authority() + "/" + idp.TenantID() + "/oauth2/v2.0/authorize",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
	var set jwksDoc
	get(t, idp.Client(), idp.JWKSURL(), &set)
	if len(set.Keys) != 1 {
		t.Fatalf("keys: %v", set.Keys)
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["use"] != "sig" || k["kid"] == "" || k["alg"] != nil {
		t.Fatalf("key %v: want RSA, use sig, a kid and no alg", k)
	}
	h, _ := parts(t, idp.Issue())
	if h["kid"] != k["kid"] || h["alg"] != "RS256" || h["typ"] != "JWT" {
		t.Fatalf("token header %v does not name the published key", h)
	}
	// The published key verifies the token with jwx.
	b, _ := json.Marshal(set)
	ks, err := jwk.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte(idp.Issue()), jws.WithKeySet(ks, jws.WithInferAlgorithmFromKey(true))); err != nil {
		t.Fatalf("issued token does not verify with the JWKS: %v", err)
	}
	if f := idp.Fetches(); f.Discovery != 1 || f.JWKS != 1 {
		t.Fatalf("fetches = %+v", f)
	}
	if code := get(t, idp.Client(), idp.Authority()+"/other-tenant/v2.0/.well-known/openid-configuration", nil); code != 400 {
		t.Fatalf("unknown tenant: %d, want 400", code)
	}
	if code := get(t, idp.Client(), idp.Authority()+"/nowhere", nil); code != 404 {
		t.Fatalf("unknown path: %d, want 404", code)
	}
}

func TestTokensHaveEntrasClaims(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	idp := entratest.NewServer(t, entratest.WithClock(func() time.Time { return now }))
	bob := idp.Users()[1]
	_, c := parts(t, idp.Issue(entratest.ForUser("bob")))
	checks := map[string]any{
		"aud": idp.ClientID(), "iss": idp.Issuer(), "tid": idp.TenantID(), "oid": bob.ObjectID,
		"name": bob.Name, "preferred_username": "bob", "scp": "Items.Read", "ver": "2.0",
		"azp": entratest.DefaultSPAClientID, "iat": float64(now.Unix()), "nbf": float64(now.Unix()),
		"exp": float64(now.Add(time.Hour).Unix()),
	}
	for k, v := range checks {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if c["sub"] == bob.ObjectID || c["roles"] != nil {
		t.Errorf("sub must be pairwise and roles absent: %v", c)
	}
	_, app := parts(t, idp.Issue(entratest.ForApp("admin-daemon")))
	if app["idtyp"] != "app" || app["scp"] != nil || app["azp"] != "admin-daemon" || len(app["roles"].([]any)) != 2 {
		t.Errorf("app token claims %v", app)
	}
	_, c = parts(t, idp.Issue(entratest.Claim("acct", 1), entratest.WithoutClaim("name"), entratest.Audience("api://x"), entratest.ExpiresIn(-time.Minute)))
	if c["acct"] != float64(1) || c["name"] != nil || c["aud"] != "api://x" || c["exp"] != float64(now.Add(-time.Minute).Unix()) {
		t.Errorf("options not applied: %v", c)
	}
}

func TestBadTokensAreBadInExactlyOneWay(t *testing.T) {
	idp := entratest.NewServer(t)
	var set jwksDoc
	get(t, idp.Client(), idp.JWKSURL(), &set)
	kid := set.Keys[0]["kid"]
	b, _ := json.Marshal(set)
	ks, _ := jwk.Parse(b)
	pubKey, _ := ks.Key(0)
	var pub rsa.PublicKey
	if err := pubKey.Raw(&pub); err != nil {
		t.Fatal(err)
	}

	h, _ := parts(t, idp.Issue(entratest.AlgNone()))
	if tok := idp.Issue(entratest.AlgNone()); h["alg"] != "none" || !strings.HasSuffix(tok, ".") {
		t.Fatalf("alg none token %q", tok)
	}

	tok := idp.Issue(entratest.HS256WithPublicKey())
	h, _ = parts(t, tok)
	der, _ := x509.MarshalPKIXPublicKey(&pub)
	mac := hmac.New(sha256.New, der)
	i := strings.LastIndexByte(tok, '.')
	mac.Write([]byte(tok[:i]))
	if h["alg"] != "HS256" || h["kid"] != kid || base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != tok[i+1:] {
		t.Fatalf("HS256 token is not keyed with the public key: %v", h)
	}

	tok = idp.Issue(entratest.SignedWithWrongKey())
	h, _ = parts(t, tok)
	if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, &pub)); h["kid"] != kid || err == nil {
		t.Fatalf("wrong-key token: kid %v, verify err %v", h["kid"], err)
	}

	h, _ = parts(t, idp.Issue(entratest.SignedWithUnknownKey()))
	if h["kid"] == kid || h["kid"] == "" {
		t.Fatalf("unknown-key token names kid %v", h["kid"])
	}

	tok = idp.Issue(entratest.Algorithm("RS384"))
	if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS384, &pub)); err != nil {
		t.Fatalf("RS384 token: %v", err)
	}
	if h, _ = parts(t, idp.Issue(entratest.WithoutKeyID(), entratest.Header("jku", "http://x"))); h["kid"] != nil || h["jku"] != "http://x" {
		t.Fatalf("header options: %v", h)
	}
}

func TestTokenEndpoint(t *testing.T) {
	idp := entratest.NewServer(t)
	api := idp.AppIDURI()
	tests := []struct {
		name  string
		form  url.Values
		code  int
		error string
		check func(t *testing.T, claims map[string]any)
	}{
		{"client credentials give an app token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"admin-daemon"}, "client_secret": {"dev-secret"}, "scope": {api + "/.default"}}, 200, "",
			func(t *testing.T, c map[string]any) {
				if c["idtyp"] != "app" || c["azp"] != "admin-daemon" {
					t.Fatalf("claims %v", c)
				}
			}},
		{"a wrong client secret is invalid_client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"admin-daemon"}, "client_secret": {"nope"}, "scope": {api + "/.default"}}, 401, "invalid_client", nil},
		{"client credentials without .default is invalid_scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {"admin-daemon"}, "client_secret": {"dev-secret"}, "scope": {api + "/Items.Read"}}, 400, "invalid_scope", nil},
		{"the password grant gives the requested scopes", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"dev"}, "scope": {"openid " + api + "/Items.Write " + idp.ClientID() + "/Items.Read"}}, 200, "",
			func(t *testing.T, c map[string]any) {
				if c["scp"] != "Items.Read Items.Write" || c["preferred_username"] != "alice" {
					t.Fatalf("claims %v", c)
				}
			}},
		{"the password grant with .default gives all the user's scopes", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/.default"}}, 200, "",
			func(t *testing.T, c map[string]any) {
				if c["scp"] != "Items.Read" {
					t.Fatalf("claims %v", c)
				}
			}},
		{"a wrong password is invalid_grant", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"x"}, "scope": {api + "/.default"}}, 400, "invalid_grant", nil},
		{"a scope the user lacks is invalid_scope", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/Items.Write"}}, 400, "invalid_scope", nil},
		{"an unknown grant is unsupported_grant_type", url.Values{"grant_type": {"implicit"}}, 400, "unsupported_grant_type", nil},
		{"no grant is invalid_request", url.Values{}, 400, "invalid_request", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, idp.Client(), idp.TokenURL(), tt.form)
			if code != tt.code || (tt.error != "" && body["error"] != tt.error) {
				t.Fatalf("got %d %v, want %d %s", code, body, tt.code, tt.error)
			}
			if tt.check != nil {
				_, c := parts(t, body["access_token"].(string))
				tt.check(t, c)
			}
		})
	}
	resp, err := idp.Client().Post(idp.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(strings.Repeat("a", 100<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("oversized body: %d, want 400", resp.StatusCode)
	}
}

func TestRotateAndDown(t *testing.T) {
	idp := entratest.NewServer(t)
	var before, after jwksDoc
	get(t, idp.Client(), idp.JWKSURL(), &before)
	idp.RotateKeys()
	get(t, idp.Client(), idp.JWKSURL(), &after)
	if before.Keys[0]["kid"] == after.Keys[0]["kid"] || len(after.Keys) != 1 {
		t.Fatalf("rotation kept the old key: %v -> %v", before.Keys, after.Keys)
	}
	h, _ := parts(t, idp.Issue())
	if h["kid"] != after.Keys[0]["kid"] {
		t.Fatal("tokens after rotation are not signed with the new key")
	}
	idp.SetDown(true)
	if code := get(t, idp.Client(), idp.DiscoveryURL(), nil); code != 503 {
		t.Fatalf("down: %d", code)
	}
	idp.SetDown(false)
	if code := get(t, idp.Client(), idp.DiscoveryURL(), nil); code != 200 {
		t.Fatalf("up again: %d", code)
	}
	if f := idp.Fetches(); f.Discovery != 1 {
		t.Fatalf("a request while down was counted: %+v", f)
	}
}

func TestProviderUnderAPathPrefix(t *testing.T) {
	p, err := entratest.NewProvider("http://127.0.0.1:8000/dev-idp")
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer() != "http://127.0.0.1:8000/dev-idp/"+entratest.DefaultTenantID+"/v2.0" {
		t.Fatalf("issuer %s", p.Issuer())
	}
	for _, bad := range []string{"127.0.0.1:8000", "http://x/", "ftp://x", "http://x?q"} {
		if _, err := entratest.NewProvider(bad); err == nil {
			t.Errorf("authority %q accepted", bad)
		}
	}
}

type jwksDoc struct {
	Keys []map[string]any `json:"keys"`
}
