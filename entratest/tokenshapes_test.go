package entratest_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// segmentText is the decoded text of one segment of a token.
func segmentText(t *testing.T, tok string, i int) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryTenancyIssuesAccessTokensThatNameTheirClient(t *testing.T) {
	ciam := "https://" + entratest.DefaultTenantID + ".ciamlogin.com"
	for _, tt := range []struct {
		name    string
		idpOpts []entratest.Option
		opts    []entratest.TokenOption
		client  string // azp or appid
	}{
		{"single-tenant v2, a user", nil, nil, "azp"},
		{"single-tenant v2, an app", nil, opts(entratest.ForApp("admin-daemon")), "azp"},
		{"single-tenant v1, a user", nil, opts(entratest.V1Token()), "appid"},
		{"single-tenant v1, an app", nil, opts(entratest.V1Token(), entratest.ForApp("admin-daemon")), "appid"},
		{"another tenant", nil, opts(entratest.FromTenant(partner)), "azp"},
		{"a personal account", nil, opts(entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()), "azp"},
		{"B2C", []entratest.Option{entratest.WithB2C("contoso", "B2C_1_susi")}, nil, "azp"},
		{"External ID", []entratest.Option{entratest.WithIssuerBase(ciam)}, nil, "azp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idp := entratest.NewServer(t, tt.idpOpts...)
			_, c := parts(t, idp.Issue(tt.opts...))
			if s, _ := c[tt.client].(string); s == "" {
				t.Fatalf("no %s: %v", tt.client, c)
			}
			checkClaims(t, c, nil, []string{"nonce", "at_hash", "c_hash"})
		})
	}
}

func TestIDTokenMakesAnIDToken(t *testing.T) {
	idp := entratest.NewServer(t)
	for _, tt := range []claimsTest{
		{"a v2 ID token has the client as aud, a nonce, no scp and no azp", opts(entratest.IDToken()),
			map[string]any{"aud": idp.ClientID(), "ver": "2.0", "preferred_username": "alice"},
			[]string{"scp", "azp", "azpacr", "appid", "idtyp"}},
		{"a v1 ID token has no appid", opts(entratest.IDToken(), entratest.V1Token()),
			map[string]any{"aud": idp.ClientID(), "ver": "1.0", "upn": "alice"}, []string{"scp", "appid", "appidacr"}},
		{"an ID token keeps the roles asked for", opts(entratest.IDToken(), entratest.Roles("Items.Admin")),
			map[string]any{"roles": []any{"Items.Admin"}}, []string{"scp"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := parts(t, idp.Issue(tt.opts...))
			checkClaims(t, c, tt.want, tt.absent)
			if n, _ := c["nonce"].(string); n == "" {
				t.Fatalf("no nonce: %v", c)
			}
		})
	}
}

func TestJSONEditsAreSignedAsWritten(t *testing.T) {
	idp := entratest.NewServer(t)
	for _, tt := range []struct {
		name    string
		opts    []entratest.TokenOption
		segment int
		want    string
	}{
		{"ClaimsJSON can give a claim twice", opts(entratest.ClaimsJSON(func(c string) string { return `{"roles":[],` + c[1:] })), 1, `{"roles":[],`},
		{"ClaimsJSON can write a name with an escape", opts(entratest.ClaimsJSON(func(c string) string { return strings.Replace(c, `"aud"`, `"\u0061ud"`, 1) })), 1, `"\u0061ud"`},
		{"HeaderJSON can give alg twice", opts(entratest.HeaderJSON(func(h string) string { return `{"alg":"none",` + h[1:] })), 0, `{"alg":"none",`},
		{"HeaderJSON signs PS256 too", opts(entratest.Algorithm("PS256"), entratest.HeaderJSON(func(h string) string { return `{"ALG":"x",` + h[1:] })), 0, `"alg":"PS256"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := idp.Issue(tt.opts...)
			if text := segmentText(t, tok, tt.segment); !strings.Contains(text, tt.want) {
				t.Fatalf("segment %d is %s, lacks %s", tt.segment, text, tt.want)
			}
			if !verifiesWith(t, idp, "/"+idp.TenantID()+"/discovery/v2.0/keys", tok) && tt.segment == 1 {
				t.Fatal("not signed with the provider's key")
			}
		})
	}
}
