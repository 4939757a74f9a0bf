package entratest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

const partner = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"

// doc fetches a JSON document from the provider.
func doc(t *testing.T, idp *entratest.Server, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if code := get(t, idp.Client(), idp.Authority()+path, &m); code != http.StatusOK {
		t.Fatalf("%s: %d", path, code)
	}
	return m
}

// keys fetches a key set and returns its entries' issuers by kid.
func keys(t *testing.T, idp *entratest.Server, path string) map[string]any {
	t.Helper()
	var set jwksDoc
	if code := get(t, idp.Client(), idp.Authority()+path, &set); code != http.StatusOK {
		t.Fatalf("%s: %d", path, code)
	}
	out := map[string]any{}
	for _, k := range set.Keys {
		out[k["kid"].(string)] = k["issuer"]
	}
	return out
}

// verifiesWith reports whether tok verifies with the key set at path.
func verifiesWith(t *testing.T, idp *entratest.Server, path, tok string) bool {
	t.Helper()
	var set jwksDoc
	get(t, idp.Client(), idp.Authority()+path, &set)
	b, _ := json.Marshal(set)
	parsed, err := jwk.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jws.Verify([]byte(tok), jws.WithKeySet(parsed, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(true)))
	return err == nil
}

func kidOf(t *testing.T, tok string) string {
	h, _ := parts(t, tok)
	return h["kid"].(string)
}

func TestMetadataOfEachTenant(t *testing.T) {
	idp := entratest.NewServer(t)
	a, tid := idp.Authority(), idp.TenantID()
	tests := []struct {
		path, issuer, jwks string
	}{
		{"/" + tid + "/v2.0/.well-known/openid-configuration", a + "/" + tid + "/v2.0", a + "/" + tid + "/discovery/v2.0/keys"},
		{"/" + tid + "/.well-known/openid-configuration", a + "/sts/" + tid + "/", a + "/" + tid + "/discovery/keys"},
		{"/organizations/v2.0/.well-known/openid-configuration", a + "/{tenantid}/v2.0", a + "/organizations/discovery/v2.0/keys"},
		{"/organizations/.well-known/openid-configuration", a + "/sts/{tenantid}/", a + "/organizations/discovery/keys"},
		{"/common/v2.0/.well-known/openid-configuration", a + "/{tenantid}/v2.0", a + "/common/discovery/v2.0/keys"},
		{"/common/.well-known/openid-configuration", a + "/sts/{tenantid}/", a + "/common/discovery/keys"},
		{"/consumers/v2.0/.well-known/openid-configuration", a + "/" + entratest.ConsumersTenantID + "/v2.0", a + "/consumers/discovery/v2.0/keys"},
		{"/" + tid + "/v2.0/.well-known/openid-configuration?appid=x", a + "/" + tid + "/v2.0", a + "/" + tid + "/discovery/v2.0/keys?appid=x"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" names its issuer and key set", func(t *testing.T) {
			d := doc(t, idp, tt.path)
			if d["issuer"] != tt.issuer || d["jwks_uri"] != tt.jwks {
				t.Fatalf("issuer %v, jwks_uri %v; want %s, %s", d["issuer"], d["jwks_uri"], tt.issuer, tt.jwks)
			}
			// The provider's own tenant and the multi-tenant authorities
			// (which sign its users in) list v2 sign-in endpoints under
			// the tenant asked for.
			tenant := strings.Split(tt.path, "/")[1]
			signsIn := strings.Contains(tt.path, "/v2.0/") && tenant != "consumers"
			if want := a + "/" + tenant + "/oauth2/v2.0/token"; signsIn && d["token_endpoint"] != want || !signsIn && d["token_endpoint"] != nil {
				t.Fatalf("token_endpoint %v", d["token_endpoint"])
			}
		})
	}

	tenantKID, msaKID := kidOf(t, idp.Issue()), kidOf(t, idp.Issue(entratest.SignedWithPersonalAccountKey()))
	if tenantKID == msaKID {
		t.Fatal("the personal-account key is the tenant's")
	}
	sets := []struct {
		name, path string
		want       map[string]any // issuer by kid; nil for an entry without one
	}{
		{"the tenant's v2 key set names the tenant's issuer", "/" + tid + "/discovery/v2.0/keys", map[string]any{tenantKID: a + "/" + tid + "/v2.0"}},
		{"the tenant's v1 key set names no issuer", "/" + tid + "/discovery/keys", map[string]any{tenantKID: nil}},
		{"organizations' key set names the template", "/organizations/discovery/v2.0/keys", map[string]any{tenantKID: a + "/{tenantid}/v2.0"}},
		{"common's key set adds the personal-account key with its own issuer", "/common/discovery/v2.0/keys", map[string]any{
			tenantKID: a + "/{tenantid}/v2.0", msaKID: a + "/" + entratest.ConsumersTenantID + "/v2.0"}},
		{"common's v1 key set has the tenant key only, without issuer", "/common/discovery/keys", map[string]any{tenantKID: nil}},
		{"consumers' key set has the personal-account key only", "/consumers/discovery/v2.0/keys", map[string]any{msaKID: a + "/" + entratest.ConsumersTenantID + "/v2.0"}},
	}
	for _, tt := range sets {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(t, idp, tt.path); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("issuers by kid %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("a personal account's token verifies with common's key set, not the tenant's", func(t *testing.T) {
		tok := idp.Issue(entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey())
		if !verifiesWith(t, idp, "/common/discovery/v2.0/keys", tok) || verifiesWith(t, idp, "/"+tid+"/discovery/v2.0/keys", tok) {
			t.Fatal("wrong key sets")
		}
	})
}

func TestTenancyTokenOptions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	idp := entratest.NewServer(t, entratest.WithClock(func() time.Time { return now }))
	a, tid := idp.Authority(), idp.TenantID()
	tests := []claimsTest{
		{"FromTenant sets tid and the issuer together", opts(entratest.FromTenant(partner)), map[string]any{
			"tid": partner, "iss": a + "/" + partner + "/v2.0",
		}, nil},
		{"Tenant after FromTenant makes tid and iss disagree", opts(entratest.FromTenant(partner), entratest.Tenant(tid)), map[string]any{
			"tid": tid, "iss": a + "/" + partner + "/v2.0",
		}, nil},
		{"IssuerClaim wins over FromTenant", opts(entratest.IssuerClaim("x"), entratest.FromTenant(partner)), map[string]any{
			"tid": partner, "iss": "x",
		}, nil},
		{"V1Token makes a v1 user token", opts(entratest.V1Token(), entratest.ForUser("bob")), map[string]any{
			"ver": "1.0", "iss": idp.V1Issuer(), "aud": idp.AppIDURI(), "tid": tid,
			"upn": "bob", "unique_name": "bob", "name": "Bob Reader", "appid": entratest.DefaultSPAClientID, "appidacr": "0", "scp": "Items.Read",
		}, []string{"azp", "azpacr", "preferred_username"}},
		{"V1Token makes a v1 app token", opts(entratest.V1Token(), entratest.ForApp("admin-daemon")), map[string]any{
			"ver": "1.0", "appid": entratest.AdminDaemonClientID, "appidacr": "1", "idtyp": "app", "roles": []any{"Items.Admin", "Items.Export"},
		}, []string{"azp", "upn", "unique_name", "scp"}},
		{"V1Token with FromTenant names the other tenant's v1 issuer", opts(entratest.V1Token(), entratest.FromTenant(partner)), map[string]any{
			"iss": a + "/sts/" + partner + "/", "tid": partner,
		}, nil},
		{"Audience wins over V1Token's default", opts(entratest.Audience(idp.ClientID()), entratest.V1Token()), map[string]any{
			"aud": idp.ClientID(),
		}, nil},
		{"Guest makes a B2B guest", opts(entratest.Guest()), map[string]any{
			"acct": float64(1), "iss": idp.Issuer(),
		}, nil},
		{"Guest then WithoutClaim leaves the idp alone", opts(entratest.Guest(), entratest.WithoutClaim("acct")), nil, []string{"acct"}},
		{"Policy adds tfp", opts(entratest.Policy("B2C_1_x")), map[string]any{"tfp": "B2C_1_x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := parts(t, idp.Issue(tt.opts...))
			checkClaims(t, c, tt.want, tt.absent)
		})
	}
	t.Run("a guest's idp is another tenant's issuer", func(t *testing.T) {
		_, c := parts(t, idp.Issue(entratest.Guest()))
		if idpClaim, _ := c["idp"].(string); !strings.HasPrefix(idpClaim, "https://sts.windows.net/") || strings.Contains(idpClaim, tid) {
			t.Fatalf("idp %v", c["idp"])
		}
	})
}

func TestB2CProvider(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithB2C("contoso", "B2C_1_susi", "B2C_1_edit"))
	a, tid := idp.Authority(), idp.TenantID()
	if want := a + "/" + tid + "/v2.0/"; idp.Issuer() != want {
		t.Fatalf("issuer %s, want %s", idp.Issuer(), want)
	}
	for _, tenant := range []string{"contoso.onmicrosoft.com", tid} {
		for _, policy := range []string{"B2C_1_susi", "B2C_1_edit", "b2c_1_edit"} {
			t.Run("the user flow "+policy+" of "+tenant+" has its documents", func(t *testing.T) {
				d := doc(t, idp, "/"+tenant+"/"+policy+"/v2.0/.well-known/openid-configuration")
				if d["issuer"] != idp.Issuer() || !strings.EqualFold(d["jwks_uri"].(string), a+"/"+tenant+"/"+policy+"/discovery/v2.0/keys") {
					t.Fatalf("discovery %v", d)
				}
				ks := keys(t, idp, "/"+tenant+"/"+policy+"/discovery/v2.0/keys")
				if len(ks) != 1 || ks[kidOf(t, idp.Issue())] != nil {
					t.Fatalf("key set: issuers by kid %v, want the provider's key without issuer", ks)
				}
			})
		}
	}
	for _, path := range []string{
		"/contoso.onmicrosoft.com/B2C_1_other/v2.0/.well-known/openid-configuration",
		"/contoso.onmicrosoft.com/B2C_1_susi/.well-known/openid-configuration",
		"/" + tid + "/v2.0/.well-known/openid-configuration",
		"/fabrikam.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration",
	} {
		t.Run(path+" is not served", func(t *testing.T) {
			if code := get(t, idp.Client(), a+path, nil); code == http.StatusOK {
				t.Fatalf("%d", code)
			}
		})
	}
	if idp.DiscoveryURL() != a+"/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration" {
		t.Fatalf("DiscoveryURL %s", idp.DiscoveryURL())
	}
	tokens := []claimsTest{
		{"a B2C token names the first user flow, ver 1.0 and no tid", nil, map[string]any{
			"tfp": "B2C_1_susi", "ver": "1.0", "iss": idp.Issuer(), "aud": idp.ClientID(), "sub": idp.Users()[0].ObjectID,
		}, []string{"tid", "preferred_username", "uti", "rh", "aio"}},
		{"Policy names another user flow", opts(entratest.Policy("B2C_1_edit")), map[string]any{"tfp": "B2C_1_edit"}, nil},
		{"FromTenant changes the issuer only", opts(entratest.FromTenant(partner)), map[string]any{"iss": a + "/" + partner + "/v2.0/"}, []string{"tid"}},
		{"V1Token does not apply to B2C", opts(entratest.V1Token()), map[string]any{"iss": idp.Issuer(), "ver": "1.0", "aud": idp.ClientID()}, []string{"upn"}},
	}
	for _, tt := range tokens {
		t.Run(tt.name, func(t *testing.T) {
			tok := idp.Issue(tt.opts...)
			_, c := parts(t, tok)
			checkClaims(t, c, tt.want, tt.absent)
			if !verifiesWith(t, idp, "/contoso.onmicrosoft.com/B2C_1_susi/discovery/v2.0/keys", tok) {
				t.Error("does not verify with the user flow's key set")
			}
		})
	}
}

func TestIssuerBases(t *testing.T) {
	const ciam = "https://" + entratest.DefaultTenantID + ".ciamlogin.com"
	idp := entratest.NewServer(t, entratest.WithIssuerBase(ciam), entratest.WithV1IssuerBase("https://sts.windows.net"))
	tid := idp.TenantID()
	if idp.Issuer() != ciam+"/"+tid+"/v2.0" || idp.V1Issuer() != "https://sts.windows.net/"+tid+"/" {
		t.Fatalf("issuers %s, %s", idp.Issuer(), idp.V1Issuer())
	}
	if d := doc(t, idp, "/"+tid+"/v2.0/.well-known/openid-configuration"); d["issuer"] != idp.Issuer() || !strings.HasPrefix(d["jwks_uri"].(string), idp.Authority()) {
		t.Fatalf("discovery %v: the issuer moves, the key set stays under the authority", d)
	}
	if d := doc(t, idp, "/organizations/.well-known/openid-configuration"); d["issuer"] != "https://sts.windows.net/{tenantid}/" {
		t.Fatalf("v1 multi-tenant issuer %v", d["issuer"])
	}
	if _, c := parts(t, idp.Issue(entratest.V1Token())); c["iss"] != idp.V1Issuer() {
		t.Fatalf("v1 token iss %v", c["iss"])
	}
	for _, bad := range []string{"sts.windows.net", "https://sts.windows.net/", "ftp://x", "https://x?y=1"} {
		t.Run(fmt.Sprintf("the issuer base %q is refused", bad), func(t *testing.T) {
			if _, err := entratest.NewProvider("http://127.0.0.1", entratest.WithIssuerBase(bad)); err == nil {
				t.Fatal("accepted")
			}
			if _, err := entratest.NewProvider("http://127.0.0.1", entratest.WithV1IssuerBase(bad)); err == nil {
				t.Fatal("accepted as v1 base")
			}
		})
	}
	for _, tt := range []struct {
		name   string
		option entratest.Option
	}{
		{"a B2C tenant without user flow", entratest.WithB2C("contoso")},
		{"a B2C tenant name with a dot", entratest.WithB2C("contoso.onmicrosoft.com", "B2C_1_susi")},
		{"a B2C user flow with a slash", entratest.WithB2C("contoso", "B2C_1/susi")},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := entratest.NewProvider("http://127.0.0.1", tt.option); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCustomSigningKey(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithCustomSigningKey())
	tid, client := idp.TenantID(), idp.ClientID()
	tok := idp.Issue()
	d := doc(t, idp, "/"+tid+"/v2.0/.well-known/openid-configuration?appid="+client)
	if d["jwks_uri"] != idp.JWKSURL()+"?appid="+client {
		t.Fatalf("jwks_uri %v", d["jwks_uri"])
	}
	tests := []struct {
		name, path string
		verifies   bool
	}{
		{"the API's key set verifies its tokens", "/" + tid + "/discovery/v2.0/keys?appid=" + client, true},
		{"the tenant's key set does not", "/" + tid + "/discovery/v2.0/keys", false},
		{"another app's key set does not", "/" + tid + "/discovery/v2.0/keys?appid=other", false},
		{"the API's v1 key set verifies its tokens", "/" + tid + "/discovery/keys?appid=" + client, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifiesWith(t, idp, tt.path, tok); got != tt.verifies {
				t.Fatalf("verifies %v, want %v", got, tt.verifies)
			}
		})
	}
	if ks := keys(t, idp, "/"+tid+"/discovery/v2.0/keys?appid="+client); len(ks) != 2 {
		t.Fatalf("the API's key set lists %v, want the tenant's key and the API's", ks)
	}
}

func TestFaults(t *testing.T) {
	idp := entratest.NewServer(t)
	body := func(path string) (int, []byte) {
		resp, err := idp.Client().Get(idp.Authority() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	discovery, keySet := "/"+idp.TenantID()+"/v2.0/.well-known/openid-configuration", "/"+idp.TenantID()+"/discovery/v2.0/keys"
	tests := []struct {
		fault       entratest.Fault
		name        string
		discoveryOK bool
		check       func([]byte) bool // on the key set's answer
	}{
		{entratest.GarbageDiscovery, "GarbageDiscovery answers discovery with HTML", false, func(b []byte) bool { return json.Valid(b) }},
		{entratest.GarbageKeySet, "GarbageKeySet answers the key set with HTML", true, func(b []byte) bool { return !json.Valid(b) }},
		{entratest.HugeKeySet, "HugeKeySet pads the key set past 2 MiB", true, func(b []byte) bool { return len(b) > 2<<20 && json.Valid(b) }},
		{entratest.TooManyKeys, "TooManyKeys lists 500 keys", true, func(b []byte) bool {
			var set jwksDoc
			_ = json.Unmarshal(b, &set)
			parsed, err := jwk.Parse(b)
			return len(set.Keys) == 500 && err == nil && parsed.Len() == 500
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.SetFault(tt.fault)
			defer idp.SetFault(entratest.NoFault)
			before := idp.Fetches()
			code, d := body(discovery)
			if code != http.StatusOK || json.Valid(d) != tt.discoveryOK {
				t.Fatalf("discovery %d %.80s", code, d)
			}
			code, k := body(keySet)
			if code != http.StatusOK || !tt.check(k) {
				t.Fatalf("key set %d %.80s", code, k)
			}
			after := idp.Fetches()
			if after.Failed != before.Failed+1 || after.JWKS+after.Discovery != before.JWKS+before.Discovery+1 {
				t.Fatalf("fetches %+v then %+v: want one failed and one served", before, after)
			}
		})
	}
	t.Run("NoFault serves metadata again", func(t *testing.T) {
		if _, k := body(keySet); !json.Valid(k) || len(k) > 10<<10 {
			t.Fatalf("%.80s", k)
		}
	})
	t.Run("SetDelay holds answers back until the client gives up", func(t *testing.T) {
		idp.SetDelay(time.Minute)
		defer idp.SetDelay(0)
		client := &http.Client{Transport: idp.Client().Transport, Timeout: 100 * time.Millisecond}
		start := time.Now()
		if resp, err := client.Get(idp.DiscoveryURL()); err == nil {
			resp.Body.Close()
			t.Fatal("answered at once")
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the client did not give up")
		}
	})
	t.Run("SetDelay delays, then answers", func(t *testing.T) {
		idp.SetDelay(50 * time.Millisecond)
		defer idp.SetDelay(0)
		start := time.Now()
		if code := get(t, idp.Client(), idp.JWKSURL(), nil); code != http.StatusOK || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("%d after %v", code, time.Since(start))
		}
	})
	t.Run("Close ends the waits of SetDelay", func(t *testing.T) {
		slow := entratest.NewServer(t)
		slow.SetDelay(time.Hour)
		// The request goes to the provider through a server of the test's
		// own, which says when the provider has it: Close must end the wait
		// of an answer the provider holds.
		inHandler := make(chan struct{})
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(inHandler)
			slow.ServeHTTP(w, r)
		}))
		defer front.Close()
		u, err := url.Parse(slow.DiscoveryURL())
		if err != nil {
			t.Fatal(err)
		}
		answered := make(chan string)
		go func() {
			resp, err := front.Client().Get(front.URL + u.Path)
			if err != nil {
				answered <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answered <- string(b)
		}()
		<-inHandler
		closed := make(chan struct{})
		go func() { slow.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close waited for the delayed answer")
		}
		select {
		case body := <-answered:
			if json.Valid([]byte(body)) {
				t.Fatalf("the held answer was served instead of ended: %.80s", body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the held answer still waits after Close")
		}
	})
}

func TestNewServerAt(t *testing.T) {
	for _, authority := range []string{"https://login.microsoftonline.us", "https://contoso.b2clogin.com", "https://login.contoso.com:8443/prefix"} {
		t.Run(authority+" is served on loopback with TLS", func(t *testing.T) {
			idp := entratest.NewServerAt(t, authority)
			if idp.Authority() != authority || !strings.HasPrefix(idp.Issuer(), authority+"/") {
				t.Fatalf("authority %s, issuer %s", idp.Authority(), idp.Issuer())
			}
			resp, err := idp.Client().Get(idp.DiscoveryURL())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.PeerCertificates[0].DNSNames[0] != strings.Split(strings.TrimPrefix(authority, "https://"), ":")[0] {
				t.Fatalf("%s, TLS %v", resp.Status, resp.TLS != nil)
			}
		})
	}
	t.Run("its client reaches no other host", func(t *testing.T) {
		idp := entratest.NewServerAt(t, "https://login.microsoftonline.us")
		for _, u := range []string{"https://login.microsoftonline.com/x", "https://login.microsoftonline.us:444/x", "http://login.microsoftonline.us/x"} {
			if resp, err := idp.Client().Get(u); err == nil {
				resp.Body.Close()
				t.Errorf("%s answered %s", u, resp.Status)
			}
		}
	})
	for _, bad := range []string{"http://login.microsoftonline.us", "login.microsoftonline.us", "https://"} {
		t.Run(fmt.Sprintf("the authority %q fails the test", bad), func(t *testing.T) {
			tb := new(fakeTB)
			if idp := entratest.NewServerAt(tb, bad); idp != nil || tb.fatal == "" {
				t.Fatalf("server %v, fatal %q", idp, tb.fatal)
			}
		})
	}
	t.Run("an invalid option fails the test", func(t *testing.T) {
		tb := new(fakeTB)
		if idp := entratest.NewServerAt(tb, "https://login.microsoftonline.us", entratest.WithB2C("")); idp != nil || tb.fatal == "" {
			t.Fatalf("server %v, fatal %q", idp, tb.fatal)
		}
	})
}
