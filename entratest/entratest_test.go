package entratest_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// get fetches u and decodes its JSON body into v (when v is not nil).
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

// post posts a form to u and decodes the JSON answer.
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

// parts decodes a compact token's header and claims without verifying it.
// checkClaims checks that claims has want's values (compared as printed)
// and none of absent.
func checkClaims(t *testing.T, claims, want map[string]any, absent []string) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(claims[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range absent {
		if _, ok := claims[k]; ok {
			t.Errorf("%s = %v, want no such claim", k, claims[k])
		}
	}
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

type jwksDoc struct {
	Keys []map[string]any `json:"keys"`
}

// keySet fetches the provider's JWKS, raw and parsed by jwx.
func keySet(t *testing.T, idp *entratest.Server) (jwksDoc, jwk.Set) {
	t.Helper()
	var doc jwksDoc
	if code := get(t, idp.Client(), idp.JWKSURL(), &doc); code != http.StatusOK {
		t.Fatalf("key set: %d", code)
	}
	b, _ := json.Marshal(doc)
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc, set
}

// publishedKey is the provider's one published key.
func publishedKey(t *testing.T, idp *entratest.Server) (kid string, pub *rsa.PublicKey) {
	t.Helper()
	doc, set := keySet(t, idp)
	if set.Len() != 1 {
		t.Fatalf("%d keys published, want 1", set.Len())
	}
	k, _ := set.Key(0)
	pub = new(rsa.PublicKey)
	if err := k.Raw(pub); err != nil {
		t.Fatal(err)
	}
	return doc.Keys[0]["kid"].(string), pub
}

// verify checks tok's signature with the published key set, as a validator
// that trusts the set (and nothing in the token) would.
func verify(t *testing.T, idp *entratest.Server, tok string) error {
	t.Helper()
	_, set := keySet(t, idp)
	_, err := jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(true)))
	return err
}

func TestDiscoveryDocument(t *testing.T) {
	idp := entratest.NewServer(t)
	base := idp.Authority() + "/" + idp.TenantID()
	resp, err := idp.Client().Get(idp.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field string
		want  any
	}{
		{"issuer", base + "/v2.0"},
		{"jwks_uri", base + "/discovery/v2.0/keys"},
		{"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
		{"token_endpoint", base + "/oauth2/v2.0/token"},
		{"id_token_signing_alg_values_supported", []any{"RS256"}},
		{"subject_types_supported", []any{"pairwise"}},
		{"request_uri_parameter_supported", false},
	}
	for _, tt := range tests {
		t.Run(tt.field+" is Entra's", func(t *testing.T) {
			if got := fmt.Sprint(doc[tt.field]); got != fmt.Sprint(tt.want) {
				t.Fatalf("%s = %v, want %v", tt.field, got, tt.want)
			}
		})
	}
	t.Run("the URLs are the provider's", func(t *testing.T) {
		for field, want := range map[string]string{
			"issuer": idp.Issuer(), "jwks_uri": idp.JWKSURL(), "authorization_endpoint": idp.AuthorizeURL(), "token_endpoint": idp.TokenURL(),
		} {
			if doc[field] != want {
				t.Errorf("%s = %v, want %s", field, doc[field], want)
			}
		}
	})
	t.Run("every field Entra has is there", func(t *testing.T) {
		for _, field := range []string{
			"token_endpoint_auth_methods_supported", "response_types_supported", "response_modes_supported",
			"scopes_supported", "claims_supported", "tenant_region_scope", "cloud_instance_name",
		} {
			if doc[field] == nil {
				t.Errorf("%s missing", field)
			}
		}
	})
}

func TestKeySet(t *testing.T) {
	idp := entratest.NewServer(t)
	doc, _ := keySet(t, idp)
	if len(doc.Keys) != 1 {
		t.Fatalf("%d keys, want 1", len(doc.Keys))
	}
	k := doc.Keys[0]
	kid, _ := publishedKey(t, idp)
	h, _ := parts(t, idp.Issue())
	tests := []struct {
		name string
		ok   bool
	}{
		{"the key is RSA", k["kty"] == "RSA"},
		{"the key is for signatures", k["use"] == "sig"},
		{"the key has no alg member, like Entra's", k["alg"] == nil},
		{"the key names the issuer", k["issuer"] == idp.Issuer()},
		{"the key has n, e, and an x5t equal to its kid", k["n"] != nil && k["e"] == "AQAB" && k["x5t"] == kid},
		{"the kid is a base64url SHA-1 thumbprint", len(kid) == 27 && !strings.ContainsAny(kid, "+/=")},
		{"issued tokens name the published kid", h["kid"] == kid},
		{"issued tokens are RS256 JWTs", h["alg"] == "RS256" && h["typ"] == "JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Fatalf("key %v, token header %v", k, h)
			}
		})
	}
	t.Run("an issued token verifies with the fetched key set", func(t *testing.T) {
		if err := verify(t, idp, idp.Issue()); err != nil {
			t.Fatal(err)
		}
	})
}

// claimsTest is a token expectation: claims with these values, claims absent.
type claimsTest struct {
	name   string
	opts   []entratest.TokenOption
	want   map[string]any
	absent []string
}

func TestIssueClaims(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	idp := entratest.NewServer(t, entratest.WithClock(func() time.Time { return now }))
	alice, bob := idp.Users()[0], idp.Users()[1]
	admin := idp.Apps()[1]
	at := func(t time.Time) float64 { return float64(t.Unix()) }
	tests := []claimsTest{
		{"the default token is alice's with all her scopes", nil, map[string]any{
			"aud": idp.ClientID(), "iss": idp.Issuer(), "tid": idp.TenantID(), "ver": "2.0",
			"oid": alice.ObjectID, "name": alice.Name, "preferred_username": "alice",
			"scp": "Items.Read Items.Write Items.Import Items.Sync", "azp": entratest.DefaultSPAClientID, "azpacr": "0",
			"iat": at(now), "nbf": at(now), "exp": at(now.Add(time.Hour)),
		}, []string{"roles", "idtyp"}},
		{"ForUser gives that user's claims", []entratest.TokenOption{entratest.ForUser("bob")}, map[string]any{
			"oid": bob.ObjectID, "name": bob.Name, "preferred_username": "bob", "scp": "Items.Read",
		}, []string{"roles"}},
		{"Scopes narrows scp", []entratest.TokenOption{entratest.Scopes("Items.Write", "Items.Sync")}, map[string]any{
			"scp": "Items.Write Items.Sync", "preferred_username": "alice",
		}, nil},
		{"no scopes means no scp", []entratest.TokenOption{entratest.Scopes(), entratest.Roles("Items.Admin")}, map[string]any{
			"roles": []any{"Items.Admin"},
		}, []string{"scp"}},
		{"ForApp makes an app-only token", []entratest.TokenOption{entratest.ForApp("admin-daemon")}, map[string]any{
			"idtyp": "app", "azp": entratest.AdminDaemonClientID, "azpacr": "1", "oid": admin.ObjectID, "sub": admin.ObjectID,
			"roles": []any{"Items.Admin", "Items.Export"},
		}, []string{"scp", "name", "preferred_username"}},
		{"Roles replaces an app's roles", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Read")}, map[string]any{
			"roles": []any{"Items.Read"},
		}, []string{"scp"}},
		{"Audience, IssuerClaim and Tenant set aud, iss and tid", []entratest.TokenOption{
			entratest.Audience("api://other"), entratest.IssuerClaim("https://sts.windows.net/x/"), entratest.Tenant("other-tenant"),
		}, map[string]any{"aud": "api://other", "iss": "https://sts.windows.net/x/", "tid": "other-tenant"}, nil},
		{"Tenant leaves the issuer alone", []entratest.TokenOption{entratest.Tenant("other-tenant")}, map[string]any{
			"iss": idp.Issuer(), "tid": "other-tenant",
		}, nil},
		{"a negative ExpiresIn makes an expired token", []entratest.TokenOption{entratest.ExpiresIn(-time.Minute)}, map[string]any{
			"iat": at(now), "exp": at(now.Add(-time.Minute)),
		}, nil},
		{"IssuedAt moves iat, nbf and exp", []entratest.TokenOption{entratest.IssuedAt(now.Add(time.Hour)), entratest.ExpiresIn(time.Minute)}, map[string]any{
			"iat": at(now.Add(time.Hour)), "nbf": at(now.Add(time.Hour)), "exp": at(now.Add(time.Hour + time.Minute)),
		}, nil},
		{"NotBefore moves nbf alone", []entratest.TokenOption{entratest.NotBefore(now.Add(time.Hour))}, map[string]any{
			"iat": at(now), "nbf": at(now.Add(time.Hour)),
		}, nil},
		{"Claim sets any claim and overrides others", []entratest.TokenOption{entratest.Claim("acct", 1), entratest.Claim("aud", []string{"a", "b"}), entratest.Scopes("x")}, map[string]any{
			"acct": float64(1), "aud": []any{"a", "b"}, "scp": "x",
		}, nil},
		{"WithoutClaim removes a claim", []entratest.TokenOption{entratest.WithoutClaim("exp"), entratest.WithoutClaim("scp")}, nil, []string{"exp", "scp"}},
		{"Claim and WithoutClaim apply in order", []entratest.TokenOption{entratest.WithoutClaim("oid"), entratest.Claim("oid", "again")}, map[string]any{
			"oid": "again",
		}, nil},
		{"an unknown user gets a made-up identity", []entratest.TokenOption{entratest.ForUser("carol")}, map[string]any{
			"preferred_username": "carol",
		}, []string{"scp", "roles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := parts(t, idp.Issue(tt.opts...))
			checkClaims(t, c, tt.want, tt.absent)
		})
	}

	t.Run("sub is stable, pairwise, and not the oid", func(t *testing.T) {
		_, c1 := parts(t, idp.Issue(entratest.ForUser("bob")))
		_, c2 := parts(t, idp.Issue(entratest.ForUser("bob")))
		_, other := parts(t, entratest.NewServer(t, entratest.WithClientID("11111111-2222-3333-4444-555555555555")).Issue(entratest.ForUser("bob")))
		sub, _ := c1["sub"].(string)
		if sub == "" || sub == bob.ObjectID || sub != c2["sub"] || sub == other["sub"] || len(sub) != 43 {
			t.Fatalf("sub %q (again %v, other API %v), oid %s", sub, c2["sub"], other["sub"], bob.ObjectID)
		}
	})
	t.Run("uti, rh and aio are fresh random strings", func(t *testing.T) {
		_, c1 := parts(t, idp.Issue())
		_, c2 := parts(t, idp.Issue())
		for _, k := range []string{"uti", "rh", "aio"} {
			if s, _ := c1[k].(string); s == "" || c1[k] == c2[k] {
				t.Errorf("%s = %v then %v", k, c1[k], c2[k])
			}
		}
	})
	t.Run("times are JSON integers", func(t *testing.T) {
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(idp.Issue(), ".")[1])
		for _, want := range []string{
			fmt.Sprintf(`"iat":%d,`, now.Unix()),
			fmt.Sprintf(`"nbf":%d,`, now.Unix()),
			fmt.Sprintf(`"exp":%d,`, now.Add(time.Hour).Unix()),
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("payload %s lacks %s", b, want)
			}
		}
	})
}

func TestBadTokens(t *testing.T) {
	idp := entratest.NewServer(t)
	kid, pub := publishedKey(t, idp)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  []entratest.TokenOption
		check func(t *testing.T, tok string, h map[string]any)
	}{
		{"AlgNone has alg none, the published kid and no signature", opts(entratest.AlgNone()), func(t *testing.T, tok string, h map[string]any) {
			if h["alg"] != "none" || h["kid"] != kid || !strings.HasSuffix(tok, ".") {
				t.Fatalf("header %v, token %q", h, tok)
			}
		}},
		{"HS256WithPublicKey is an HMAC keyed with the public key's DER", opts(entratest.HS256WithPublicKey()), func(t *testing.T, tok string, h map[string]any) {
			i := strings.LastIndexByte(tok, '.')
			mac := hmac.New(sha256.New, der)
			mac.Write([]byte(tok[:i]))
			if h["alg"] != "HS256" || h["kid"] != kid || base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != tok[i+1:] {
				t.Fatalf("header %v: signature is not HMAC-SHA256 of the public key", h)
			}
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.HS256, der)); err != nil {
				t.Fatalf("a confused validator would reject it: %v", err)
			}
		}},
		{"SignedWithWrongKey names the published kid but does not verify", opts(entratest.SignedWithWrongKey()), func(t *testing.T, tok string, h map[string]any) {
			if h["kid"] != kid || h["alg"] != "RS256" {
				t.Fatalf("header %v", h)
			}
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, pub)); err == nil {
				t.Fatal("verifies with the published key")
			}
		}},
		{"SignedWithUnknownKey names a kid the key set lacks", opts(entratest.SignedWithUnknownKey()), func(t *testing.T, tok string, h map[string]any) {
			if s, _ := h["kid"].(string); s == "" || s == kid {
				t.Fatalf("kid %v, published %s", h["kid"], kid)
			}
			if err := verify(t, idp, tok); err == nil {
				t.Fatal("verifies with the key set")
			}
		}},
		{"Algorithm RS384 signs with the provider's key", opts(entratest.Algorithm("RS384")), func(t *testing.T, tok string, h map[string]any) {
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS384, pub)); err != nil || h["alg"] != "RS384" || h["kid"] != kid {
				t.Fatalf("header %v: %v", h, err)
			}
		}},
		{"Algorithm PS256 signs with the provider's key", opts(entratest.Algorithm("PS256")), func(t *testing.T, tok string, h map[string]any) {
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.PS256, pub)); err != nil || h["alg"] != "PS256" {
				t.Fatalf("header %v: %v", h, err)
			}
		}},
		{"WithoutKeyID leaves kid out of a good signature", opts(entratest.WithoutKeyID()), func(t *testing.T, tok string, h map[string]any) {
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, pub)); err != nil || h["kid"] != nil {
				t.Fatalf("header %v: %v", h, err)
			}
		}},
		{"Header sets jku in a validly signed token", opts(entratest.Header("jku", "https://attacker.example/keys")), func(t *testing.T, tok string, h map[string]any) {
			if err := verify(t, idp, tok); err != nil || h["jku"] != "https://attacker.example/keys" {
				t.Fatalf("header %v: %v", h, err)
			}
		}},
		{"Header sets an embedded jwk", opts(entratest.Header("jwk", map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"})), func(t *testing.T, tok string, h map[string]any) {
			if k, _ := h["jwk"].(map[string]any); k["kty"] != "RSA" || k["n"] != "AQAB" {
				t.Fatalf("header %v", h)
			}
		}},
		{"Header sets typ and crit", opts(entratest.Header("typ", "at+jwt"), entratest.Header("crit", []string{"exp"})), func(t *testing.T, tok string, h map[string]any) {
			if h["typ"] != "at+jwt" || fmt.Sprint(h["crit"]) != "[exp]" {
				t.Fatalf("header %v", h)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := idp.Issue(tt.opts...)
			h, c := parts(t, tok)
			if c["aud"] != idp.ClientID() || c["scp"] == nil {
				t.Fatalf("claims %v are not a good token's", c)
			}
			tt.check(t, tok, h)
		})
	}
}

func opts(o ...entratest.TokenOption) []entratest.TokenOption { return o }

func TestTokenEndpoint(t *testing.T) {
	idp := entratest.NewServer(t)
	api := idp.AppIDURI()
	tests := []struct {
		name   string
		form   url.Values
		basic  [2]string // client ID and secret sent with HTTP Basic
		code   int
		error  string
		claims map[string]any
	}{
		{name: "client credentials give an app-only token",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {api + "/.default"}},
			code: 200, claims: map[string]any{"idtyp": "app", "azp": entratest.AdminDaemonClientID, "roles": "[Items.Admin Items.Export]", "scp": nil}},
		{name: "client credentials accept HTTP Basic and the client ID as resource",
			form:  url.Values{"grant_type": {"client_credentials"}, "scope": {idp.ClientID() + "/.default"}},
			basic: [2]string{entratest.ReportingDaemonClientID, "dev-secret"},
			code:  200, claims: map[string]any{"azp": entratest.ReportingDaemonClientID, "roles": "[Items.Export]"}},
		{name: "a wrong client secret is invalid_client with 401",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"nope"}, "scope": {api + "/.default"}},
			code: 401, error: "invalid_client"},
		{name: "an unknown client is invalid_client with 401",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"stranger"}, "client_secret": {"dev-secret"}, "scope": {api + "/.default"}},
			code: 401, error: "invalid_client"},
		{name: "client credentials without .default are invalid_scope",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {api + "/Items.Read"}},
			code: 400, error: "invalid_scope"},
		{name: "client credentials for another API are invalid_scope",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {"https://graph.microsoft.com/.default"}},
			code: 400, error: "invalid_scope"},
		{name: "client credentials without a scope are invalid_request",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}},
			code: 400, error: "invalid_request"},
		{name: "the password grant gives the requested scopes as short names",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"alice"}, "password": {"dev"}, "scope": {"openid profile offline_access " + api + "/Items.Write " + idp.ClientID() + "/Items.Read"}},
			code: 200, claims: map[string]any{"scp": "Items.Read Items.Write", "preferred_username": "alice", "idtyp": nil}},
		{name: "the password grant with .default gives all the user's scopes",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/.default"}},
			code: 200, claims: map[string]any{"scp": "Items.Read", "preferred_username": "bob"}},
		{name: "a wrong password is invalid_grant",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"Dev"}, "scope": {api + "/.default"}},
			code: 400, error: "invalid_grant"},
		{name: "an unknown user is invalid_grant",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"mallory"}, "password": {"dev"}, "scope": {api + "/.default"}},
			code: 400, error: "invalid_grant"},
		{name: "a scope the user may not have is invalid_grant (AADSTS65001, no consent)",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/Items.Read " + api + "/Items.Write"}},
			code: 400, error: "invalid_grant"},
		{name: "a scope of another API is invalid_grant (AADSTS65001, no consent)",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {"api://other/Items.Read"}},
			code: 400, error: "invalid_grant"},
		{name: "the password grant without a client ID is invalid_request",
			form: url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/.default"}},
			code: 400, error: "invalid_request"},
		{name: "the password grant for an unknown client is unauthorized_client",
			form: url.Values{"grant_type": {"password"}, "client_id": {"stranger"}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/.default"}},
			code: 400, error: "unauthorized_client"},
		{name: "the password grant for a confidential client needs its secret",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.AdminDaemonClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {api + "/.default"}},
			code: 401, error: "invalid_client"},
		{name: "only OpenID scopes are invalid_scope",
			form: url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {"openid profile"}},
			code: 400, error: "invalid_scope"},
		{name: "an unknown grant is unsupported_grant_type",
			form: url.Values{"grant_type": {"implicit"}},
			code: 400, error: "unsupported_grant_type"},
		{name: "no grant is invalid_request",
			form: url.Values{},
			code: 400, error: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, idp.TokenURL(), strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, err := idp.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code || body["error"] != nilIfEmpty(tt.error) {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tt.code, tt.error)
			}
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); !strings.HasPrefix(ct, "application/json") || cc != "no-store" {
				t.Fatalf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			if tt.error != "" {
				if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") {
					t.Fatalf("error_description %q", d)
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["ext_expires_in"] != float64(3599) {
				t.Fatalf("answer %v", body)
			}
			tok, _ := body["access_token"].(string)
			if err := verify(t, idp, tok); err != nil {
				t.Fatal(err)
			}
			_, c := parts(t, tok)
			if c["aud"] != idp.ClientID() {
				t.Fatalf("aud %v", c["aud"])
			}
			for k, v := range tt.claims {
				if got := c[k]; (v == nil && got != nil) || (v != nil && fmt.Sprint(got) != fmt.Sprint(v)) {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
		})
	}
	t.Run("an oversized body is refused", func(t *testing.T) {
		body := "grant_type=password&username=alice&password=dev&scope=" + strings.Repeat("a", 100<<10)
		resp, err := idp.Client().Post(idp.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%d, want 400", resp.StatusCode)
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestRouting(t *testing.T) {
	idp := entratest.NewServer(t)
	tests := []struct {
		name, method, path string
		code               int
		error              string
	}{
		{"the discovery document is served", http.MethodGet, "/" + idp.TenantID() + "/v2.0/.well-known/openid-configuration", 200, ""},
		{"the key set is served", http.MethodGet, "/" + idp.TenantID() + "/discovery/v2.0/keys", 200, ""},
		{"an unknown tenant is invalid_tenant", http.MethodGet, "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", 400, "invalid_tenant"},
		{"an unknown tenant's token endpoint is invalid_tenant", http.MethodPost, "/contoso.example/oauth2/v2.0/token", 400, "invalid_tenant"},
		{"the v1 discovery document is served", http.MethodGet, "/" + idp.TenantID() + "/.well-known/openid-configuration", 200, ""},
		{"the v1 key set is served", http.MethodGet, "/" + idp.TenantID() + "/discovery/keys", 200, ""},
		{"the organizations discovery document is served", http.MethodGet, "/organizations/v2.0/.well-known/openid-configuration", 200, ""},
		{"the common key set is served", http.MethodGet, "/common/discovery/v2.0/keys", 200, ""},
		{"the consumers discovery document is served", http.MethodGet, "/consumers/v2.0/.well-known/openid-configuration", 200, ""},
		{"there is no v1 consumers discovery document", http.MethodGet, "/consumers/.well-known/openid-configuration", 400, "invalid_tenant"},
		{"an unknown tenant's v1 discovery document is invalid_tenant", http.MethodGet, "/contoso.onmicrosoft.com/.well-known/openid-configuration", 400, "invalid_tenant"},
		{"there are no B2C user flows outside B2C", http.MethodGet, "/" + idp.TenantID() + "/B2C_1_susi/v2.0/.well-known/openid-configuration", 404, ""},
		{"the organizations token endpoint answers (an empty request is invalid_request)", http.MethodPost, "/organizations/oauth2/v2.0/token", 400, ""},
		{"the consumers token endpoint is invalid_tenant", http.MethodPost, "/consumers/oauth2/v2.0/token", 400, "invalid_tenant"},
		{"an unknown path is not found", http.MethodGet, "/nowhere", 404, ""},
		{"the root is not found", http.MethodGet, "/", 404, ""},
		{"posting to the key set is not allowed", http.MethodPost, "/" + idp.TenantID() + "/discovery/v2.0/keys", 405, ""},
		{"getting the token endpoint is not allowed", http.MethodGet, "/" + idp.TenantID() + "/oauth2/v2.0/token", 405, ""},
		{"deleting the discovery document is not allowed", http.MethodDelete, "/" + idp.TenantID() + "/v2.0/.well-known/openid-configuration", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, idp.Authority()+tt.path, nil)
			resp, err := idp.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.code)
			}
			if tt.error != "" {
				var e struct{ Error, ErrorDescription string }
				_ = json.Unmarshal(b, &e)
				if e.Error != tt.error || !strings.Contains(string(b), "AADSTS90002") {
					t.Fatalf("body %s, want error %s", b, tt.error)
				}
			}
		})
	}
}

func TestSetDown(t *testing.T) {
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	tokenForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {idp.AppIDURI() + "/.default"}}
	tests := []struct {
		name string
		do   func() (*http.Response, error)
	}{
		{"the discovery document is unavailable", func() (*http.Response, error) { return idp.Client().Get(idp.DiscoveryURL()) }},
		{"the key set is unavailable", func() (*http.Response, error) { return idp.Client().Get(idp.JWKSURL()) }},
		{"the token endpoint is unavailable", func() (*http.Response, error) { return idp.Client().PostForm(idp.TokenURL(), tokenForm) }},
		{"the authorization endpoint is unavailable", func() (*http.Response, error) { return idp.Client().Get(idp.AuthorizeURL()) }},
		{"unknown paths are unavailable", func() (*http.Response, error) { return idp.Client().Get(idp.Authority() + "/nowhere") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("%d, want 503", resp.StatusCode)
			}
		})
	}
	if f := idp.Fetches(); f != (entratest.Fetches{Failed: len(tests)}) {
		t.Fatalf("requests while down were counted as served, or not as failed: %+v", f)
	}
	idp.SetDown(false)
	if code := get(t, idp.Client(), idp.DiscoveryURL(), nil); code != http.StatusOK {
		t.Fatalf("up again: %d", code)
	}
}

func TestRotateKeys(t *testing.T) {
	idp := entratest.NewServer(t)
	oldKID, _ := publishedKey(t, idp)
	old := idp.Issue()
	idp.RotateKeys()
	newKID, _ := publishedKey(t, idp)
	if newKID == oldKID {
		t.Fatal("the key set still lists the old kid")
	}
	if h, _ := parts(t, idp.Issue()); h["kid"] != newKID {
		t.Fatalf("new tokens name kid %v, want %s", h["kid"], newKID)
	}
	if err := verify(t, idp, idp.Issue()); err != nil {
		t.Fatalf("a new token does not verify: %v", err)
	}
	if err := verify(t, idp, old); err == nil {
		t.Fatal("a token signed with the old key still verifies")
	}
}

func TestFetches(t *testing.T) {
	idp := entratest.NewServer(t)
	get(t, idp.Client(), idp.DiscoveryURL(), nil)
	get(t, idp.Client(), idp.DiscoveryURL(), nil)
	get(t, idp.Client(), idp.JWKSURL(), nil)
	get(t, idp.Client(), idp.Authority()+"/wrong-tenant/discovery/v2.0/keys", nil)
	post(t, idp.Client(), idp.TokenURL(), url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"dev"}, "scope": {idp.AppIDURI() + "/.default"}})
	post(t, idp.Client(), idp.TokenURL(), url.Values{"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"bob"}, "password": {"wrong"}, "scope": {idp.AppIDURI() + "/.default"}})
	idp.Issue() // not a fetch
	if got, want := idp.Fetches(), (entratest.Fetches{Discovery: 2, JWKS: 1, Token: 1}); got != want {
		t.Fatalf("fetches %+v, want %+v", got, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	idp := entratest.NewServer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				_ = idp.Issue(entratest.ForApp("admin-daemon"))
				_ = idp.Issue(entratest.HS256WithPublicKey())
				idp.SetDown(i%2 == 0)
				resp, err := idp.Client().Get(idp.JWKSURL())
				if err == nil {
					resp.Body.Close()
				}
				_ = idp.Fetches()
			}
		})
	}
	wg.Go(idp.RotateKeys)
	wg.Wait()
}

// fakeTB records what NewServer asks of a test.
type fakeTB struct {
	cleanups []func()
	fatal    string
}

func (*fakeTB) Helper()             {}
func (tb *fakeTB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }
func (tb *fakeTB) Fatalf(format string, args ...any) {
	tb.fatal = fmt.Sprintf(format, args...)
}

func TestNewServer(t *testing.T) {
	t.Run("it listens on 127.0.0.1 and the test's cleanup closes it", func(t *testing.T) {
		tb := new(fakeTB)
		idp := entratest.NewServer(tb)
		u, err := url.Parse(idp.Authority())
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
			t.Fatalf("authority %s", idp.Authority())
		}
		if code := get(t, idp.Client(), idp.DiscoveryURL(), nil); code != http.StatusOK {
			t.Fatalf("discovery: %d", code)
		}
		if len(tb.cleanups) != 1 {
			t.Fatalf("%d cleanups registered, want 1", len(tb.cleanups))
		}
		tb.cleanups[0]()
		if resp, err := http.Get(idp.DiscoveryURL()); err == nil {
			resp.Body.Close()
			t.Fatal("the server still answers after cleanup")
		}
		idp.Close() // closing twice is fine
	})
	t.Run("an invalid option fails the test", func(t *testing.T) {
		tb := new(fakeTB)
		if idp := entratest.NewServer(tb, entratest.WithTenantID("")); idp != nil || tb.fatal == "" {
			t.Fatalf("server %v, fatal %q", idp, tb.fatal)
		}
	})
	t.Run("options apply", func(t *testing.T) {
		const tenant, client = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
		idp := entratest.NewServer(t, entratest.WithTenantID(tenant), entratest.WithClientID(client))
		if idp.TenantID() != tenant || idp.ClientID() != client || idp.AppIDURI() != "api://"+client ||
			idp.Issuer() != idp.Authority()+"/"+tenant+"/v2.0" {
			t.Fatalf("tenant %s, client %s, app ID URI %s, issuer %s", idp.TenantID(), idp.ClientID(), idp.AppIDURI(), idp.Issuer())
		}
		if _, c := parts(t, idp.Issue()); c["aud"] != client || c["tid"] != tenant {
			t.Fatalf("claims %v", c)
		}
	})
}

func TestNewProvider(t *testing.T) {
	t.Run("it serves under a path prefix", func(t *testing.T) {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		defer srv.Close()
		idp, err := entratest.NewProvider(srv.URL + "/dev-idp")
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("/dev-idp/", idp)
		if want := srv.URL + "/dev-idp/" + entratest.DefaultTenantID + "/v2.0"; idp.Issuer() != want {
			t.Fatalf("issuer %s, want %s", idp.Issuer(), want)
		}
		var doc map[string]any
		if code := get(t, srv.Client(), idp.DiscoveryURL(), &doc); code != 200 || doc["jwks_uri"] != idp.JWKSURL() {
			t.Fatalf("discovery: %d %v", code, doc)
		}
		if code := get(t, srv.Client(), idp.JWKSURL(), nil); code != 200 {
			t.Fatalf("key set: %d", code)
		}
		if code := get(t, srv.Client(), srv.URL+"/dev-idpx/"+entratest.DefaultTenantID+"/discovery/v2.0/keys", nil); code != 404 {
			t.Fatalf("a path outside the prefix: %d, want 404", code)
		}
	})
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		authority string
		opts      []entratest.Option
	}{
		{"an authority without a scheme is refused", "127.0.0.1:8000", nil},
		{"an authority with a trailing slash is refused", "http://127.0.0.1:8000/", nil},
		{"an authority that is not http is refused", "ftp://127.0.0.1", nil},
		{"an authority with a query is refused", "http://127.0.0.1?x=1", nil},
		{"an empty tenant is refused", "http://127.0.0.1", []entratest.Option{entratest.WithTenantID("")}},
		{"a tenant with a slash is refused", "http://127.0.0.1", []entratest.Option{entratest.WithTenantID("a/b")}},
		{"an empty client ID is refused", "http://127.0.0.1", []entratest.Option{entratest.WithClientID("")}},
		{"a key under 2048 bits is refused", "http://127.0.0.1", []entratest.Option{entratest.WithKey(weak)}},
		{"two users with one username are refused", "http://127.0.0.1", []entratest.Option{entratest.WithUsers(entratest.User{Username: "a"}, entratest.User{Username: "a"})}},
		{"an app without a client ID is refused", "http://127.0.0.1", []entratest.Option{entratest.WithApps(entratest.App{Name: "x"})}},
		{"a nil clock is refused", "http://127.0.0.1", []entratest.Option{entratest.WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := entratest.NewProvider(tt.authority, tt.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestWithKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := entratest.NewServer(t, entratest.WithKey(key))
	_, pub := publishedKey(t, idp)
	if !pub.Equal(&key.PublicKey) {
		t.Fatal("the key set does not publish the given key")
	}
	if _, err := jws.Verify([]byte(idp.Issue()), jws.WithKey(jwa.RS256, &key.PublicKey)); err != nil {
		t.Fatal(err)
	}
}

func TestUsersAndApps(t *testing.T) {
	t.Run("the defaults are alice, bob and two daemons", func(t *testing.T) {
		users, apps := entratest.DefaultUsers(), entratest.DefaultApps()
		got := fmt.Sprintf("%s %v %s %v %s %v %s %v", users[0].Username, users[0].Scopes, users[1].Username, users[1].Scopes, apps[0].Name, apps[0].Roles, apps[1].Name, apps[1].Roles)
		want := "alice [Items.Read Items.Write Items.Import Items.Sync] bob [Items.Read] reporting-daemon [Items.Export] admin-daemon [Items.Admin Items.Export]"
		if len(users) != 2 || len(apps) != 2 || got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("callers cannot change the provider's users and apps", func(t *testing.T) {
		given := []entratest.User{{Username: "carol", ObjectID: "c", Scopes: []string{"Items.Read"}}}
		idp := entratest.NewServer(t, entratest.WithUsers(given...))
		given[0].Scopes[0] = "Items.Admin"
		users := idp.Users()
		users[0].Scopes[0] = "Items.Admin"
		idp.Apps()[0].Roles[0] = "Items.Admin"
		if _, c := parts(t, idp.Issue(entratest.ForUser("carol"))); c["scp"] != "Items.Read" {
			t.Fatalf("scp %v", c["scp"])
		}
		if _, c := parts(t, idp.Issue(entratest.ForApp("reporting-daemon"))); fmt.Sprint(c["roles"]) != "[Items.Export]" {
			t.Fatalf("roles %v", c["roles"])
		}
	})
	t.Run("WithApps replaces the apps", func(t *testing.T) {
		idp := entratest.NewServer(t, entratest.WithApps(entratest.App{ClientID: "only", ClientSecret: "s", ObjectID: "o", Roles: []string{"R"}}))
		code, _ := post(t, idp.Client(), idp.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {entratest.AdminDaemonClientID}, "client_secret": {"dev-secret"}, "scope": {idp.AppIDURI() + "/.default"}})
		if len(idp.Apps()) != 1 || code != http.StatusUnauthorized {
			t.Fatalf("apps %v, default app's token request %d", idp.Apps(), code)
		}
	})
	t.Run("object IDs are distinct GUIDs", func(t *testing.T) {
		var ids []string
		for _, u := range entratest.DefaultUsers() {
			ids = append(ids, u.ObjectID)
		}
		for _, a := range entratest.DefaultApps() {
			ids = append(ids, a.ObjectID)
		}
		ids = append(ids, entratest.DefaultTenantID, entratest.DefaultClientID, entratest.DefaultSPAClientID)
		for _, id := range ids {
			if len(id) != 36 || strings.Count(id, "-") != 4 {
				t.Errorf("%q is not a GUID", id)
			}
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != 3+len(entratest.DefaultUsers())+len(entratest.DefaultApps()) {
			t.Errorf("IDs repeat: %v", ids)
		}
	})
}

func TestAlgorithmRefusesWhatAnRSAKeyCannotSign(t *testing.T) {
	for _, alg := range []string{"HS256", "ES256", "none", "rs256", ""} {
		t.Run(alg+" panics", func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("Algorithm(%q) did not panic", alg)
				}
			}()
			entratest.Algorithm(alg)
		})
	}
}
