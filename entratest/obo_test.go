package entratest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// middleTier is the confidential client (service A) of the on-behalf-of
// tests: an API of its own that calls the provider's API for its users.
var middleTier = entratest.App{Name: "Service A", ClientID: "service-a", ClientSecret: "a-secret",
	ObjectID: "5d4e6f70-8192-4ca3-8eb5-f60718293a45"}

func oboForm(assertion, scope string) url.Values {
	return url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {middleTier.ClientID}, "client_secret": {middleTier.ClientSecret},
		"assertion": {assertion}, "scope": {scope},
	}
}

func TestOnBehalfOfGrant(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithApps(append(entratest.DefaultApps(), middleTier)...))
	api := idp.AppIDURI()
	forA := func(o ...entratest.TokenOption) string {
		return idp.Issue(append([]entratest.TokenOption{entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.Scopes("Items.Read")}, o...)...)
	}
	bob := idp.Users()[1]
	tests := []struct {
		name  string
		form  url.Values
		code  int
		error string
		aadst string
	}{
		{name: "a user's token for the middle tier is exchanged for the same user's token to the API",
			form: oboForm(forA(), api+"/Items.Read openid profile offline_access"), code: 200},
		{name: "an assertion whose audience is the middle tier's api URI is exchanged too",
			form: oboForm(forA(entratest.Audience("api://"+middleTier.ClientID)), api+"/.default"), code: 200},
		{name: "an assertion for another audience is refused",
			form: oboForm(idp.Issue(entratest.ForUser("bob")), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an expired assertion is refused",
			form: oboForm(forA(entratest.ExpiresIn(-time.Minute)), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS500133"},
		{name: "an assertion signed with another key is refused",
			form: oboForm(forA(entratest.SignedWithWrongKey()), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an unsigned assertion is refused",
			form: oboForm(forA(entratest.AlgNone()), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an assertion HMAC-signed with the public key is refused",
			form: oboForm(forA(entratest.HS256WithPublicKey()), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an assertion of another issuer is refused",
			form: oboForm(forA(entratest.IssuerClaim("https://login.microsoftonline.com/"+idp.TenantID()+"/v2.0")), api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an app-only assertion is refused: on-behalf-of needs a user",
			form: oboForm(idp.Issue(entratest.ForApp("admin-daemon"), entratest.Audience(middleTier.ClientID)), api+"/.default"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an assertion naming its user twice is malformed, as the validator reads it",
			form: oboForm(forA(entratest.ClaimsJSON(func(c string) string { return `{"oid":"` + idp.Users()[0].ObjectID + `",` + c[1:] })), api+"/Items.Read"),
			code: 400, error: "invalid_request", aadst: "AADSTS50027"},
		{name: "an assertion with its scp given twice, once escaped, is malformed",
			form: oboForm(forA(entratest.ClaimsJSON(func(c string) string { return `{"\u0073cp":"Items.Write",` + c[1:] })), api+"/Items.Read"),
			code: 400, error: "invalid_request", aadst: "AADSTS50027"},
		{name: "a garbage assertion is malformed",
			form: oboForm("not-a-token", api+"/Items.Read"), code: 400, error: "invalid_request", aadst: "AADSTS50027"},
		{name: "three parts of garbage fail signature validation",
			form: oboForm("not.a.token", api+"/Items.Read"), code: 400, error: "invalid_grant", aadst: "AADSTS50013"},
		{name: "an oversized assertion is malformed",
			form: oboForm(strings.Repeat("a", 20<<10)+"..", api+"/Items.Read"), code: 400, error: "invalid_request", aadst: "AADSTS50027"},
		{name: "a scope the user may not have is invalid_grant (no consent)",
			form: oboForm(forA(), api+"/Items.Write"), code: 400, error: "invalid_grant", aadst: "AADSTS65001"},
		{name: "a wrong client secret is invalid_client with 401",
			form: func() url.Values { f := oboForm(forA(), api+"/Items.Read"); f.Set("client_secret", "nope"); return f }(),
			code: 401, error: "invalid_client", aadst: "AADSTS7000215"},
		{name: "requested_token_use other than on_behalf_of is invalid_request",
			form: func() url.Values {
				f := oboForm(forA(), api+"/Items.Read")
				f.Set("requested_token_use", "bearer")
				return f
			}(),
			code: 400, error: "invalid_request", aadst: "AADSTS50027"},
		{name: "no assertion is invalid_request",
			form: oboForm("", api+"/Items.Read"), code: 400, error: "invalid_request", aadst: "AADSTS900144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, idp.Client(), idp.TokenURL(), tt.form)
			if code != tt.code || body["error"] != nilIfEmpty(tt.error) {
				t.Fatalf("got %d %v, want %d %s", code, body, tt.code, tt.error)
			}
			if tt.error != "" {
				checkEntraError(t, body, tt.aadst)
				return
			}
			tok, _ := body["access_token"].(string)
			if err := verify(t, idp, tok); err != nil {
				t.Fatal(err)
			}
			_, c := parts(t, tok)
			checkClaims(t, c, map[string]any{
				"aud": idp.ClientID(), "oid": bob.ObjectID, "preferred_username": "bob", "scp": "Items.Read",
				"azp": middleTier.ClientID, "iss": idp.Issuer(),
			}, []string{"idtyp", "roles"})
		})
	}
}

// checkEntraError checks that body is an error in Entra's shape whose
// description starts with the AADSTS code want.
func checkEntraError(t *testing.T, body map[string]any, want string) {
	t.Helper()
	desc, _ := body["error_description"].(string)
	if !strings.HasPrefix(desc, want+": ") {
		t.Errorf("error_description %q, want it to start with %s", desc, want)
	}
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 || "AADSTS"+fmtAny(codes[0]) != want {
		t.Errorf("error_codes %v, want [%s]", body["error_codes"], strings.TrimPrefix(want, "AADSTS"))
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if s, _ := body[k].(string); s == "" {
			t.Errorf("%s missing", k)
		}
	}
}

func TestErrorsEchoTheClientRequestID(t *testing.T) {
	idp := entratest.NewServer(t)
	const id = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	for _, tt := range []struct {
		name, sent string
		echoed     bool
	}{
		{"a GUID client-request-id is the correlation ID", id, true},
		{"anything else is replaced by a fresh correlation ID", "<script>", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, idp.TokenURL(), strings.NewReader("grant_type=implicit"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("client-request-id", tt.sent)
			resp, err := idp.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			decode(t, resp, &body)
			got, _ := body["correlation_id"].(string)
			if (got == tt.sent) != tt.echoed || len(got) != 36 {
				t.Fatalf("correlation_id %q after client-request-id %q", got, tt.sent)
			}
			if desc, _ := body["error_description"].(string); !strings.Contains(desc, "\r\nCorrelation ID: "+got) {
				t.Fatalf("error_description %q does not name the correlation ID", desc)
			}
		})
	}
}

func TestInstanceDiscovery(t *testing.T) {
	idp := entratest.NewServerAt(t, "https://login.microsoftonline.us")
	tests := []struct {
		name, endpoint string
		code           int
		want           string
	}{
		{"the provider's own host names the tenant's discovery document",
			"https://login.microsoftonline.us/" + idp.TenantID() + "/oauth2/v2.0/authorize", 200,
			"https://login.microsoftonline.us/" + idp.TenantID() + "/v2.0/.well-known/openid-configuration"},
		{"another host is invalid_instance", "https://evil.example/" + idp.TenantID() + "/oauth2/v2.0/authorize", 400, ""},
		{"no authorization endpoint is invalid_instance", "", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body map[string]any
			code := get(t, idp.Client(), "https://login.microsoftonline.us/common/discovery/instance?api-version=1.1&authorization_endpoint="+url.QueryEscape(tt.endpoint), &body)
			if code != tt.code {
				t.Fatalf("%d %v, want %d", code, body, tt.code)
			}
			if tt.code != 200 {
				checkEntraError(t, body, "AADSTS50049")
				return
			}
			if body["tenant_discovery_endpoint"] != tt.want {
				t.Fatalf("tenant_discovery_endpoint %v, want %s", body["tenant_discovery_endpoint"], tt.want)
			}
			meta, _ := body["metadata"].([]any)
			if len(meta) != 1 || !strings.Contains(fmtAny(meta[0]), "login.microsoftonline.us") {
				t.Fatalf("metadata %v", body["metadata"])
			}
		})
	}
}

// FuzzOnBehalfOfAssertion feeds the on-behalf-of grant any assertion: it
// never crashes, answers an error in Entra's shape, and issues a token
// only for an assertion the provider signed for the middle tier.
func FuzzOnBehalfOfAssertion(f *testing.F) {
	p, err := entratest.NewProvider("https://login.microsoftonline.us", entratest.WithApps(append(entratest.DefaultApps(), middleTier)...))
	if err != nil {
		f.Fatal(err)
	}
	valid := p.Issue(entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.Scopes("Items.Read"))
	for _, seed := range []string{
		valid, "not-a-token", "not.a.token", "{}", "a.b.c.d", "..", "",
		p.Issue(entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.AlgNone()),
		p.Issue(entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.HS256WithPublicKey()),
		p.Issue(entratest.ForUser("bob")),
		p.Issue(entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.Claim("exp", "soon")),
		p.Issue(entratest.ForUser("bob"), entratest.Audience(middleTier.ClientID), entratest.Claim("aud", []string{middleTier.ClientID})),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, assertion string) {
		form := oboForm(assertion, p.AppIDURI()+"/Items.Read")
		req := httptest.NewRequest(http.MethodPost, p.TokenURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%d, not JSON: %v", rec.Code, err)
		}
		switch {
		case rec.Code == http.StatusOK && assertion != valid:
			t.Fatalf("a token for assertion %q", assertion)
		case rec.Code != http.StatusOK && assertion == valid:
			t.Fatalf("the valid assertion was refused: %v", body)
		case rec.Code != http.StatusOK:
			if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") {
				t.Fatalf("error_description %q", d)
			}
		}
	})
}
