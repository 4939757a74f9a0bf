package entra_test

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// prepend puts members at the start of a JSON object's text.
func prepend(members string) func(string) string {
	return func(obj string) string { return "{" + members + "," + obj[1:] }
}

// Each of these tokens, signed with the provider's real key, was read by a
// lenient reader (encoding/json folds names, lets the last duplicate win;
// jwx decodes base64 leniently) in a way that granted more than the token
// says. Each must be refused as malformed, before any claim is used.
func TestTokensWithTwoReadingsAreMalformed(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	bob := []entratest.TokenOption{entratest.ForUser("bob"), entratest.Scopes("Items.Read")}
	claims := func(members string) string {
		return idp.Issue(append(bob, entratest.ClaimsJSON(prepend(members)))...)
	}
	tests := []struct{ name, token string }{
		{"ROLES in capitals", claims(`"ROLES":["Items.Admin"]`)},
		{"Roles capitalized", claims(`"Roles":["Items.Admin"]`)},
		{"SCP in capitals next to scp", claims(`"SCP":"Items.Write"`)},
		{"a long-s ſcp next to scp", claims(`"ſcp":"Items.Write"`)},
		{"IDTYP in capitals", claims(`"IDTYP":"app"`)},
		{"ACCT in capitals", claims(`"ACCT":1`)},
		{"roles given twice", idp.Issue(append(bob, entratest.Roles("Reader"), entratest.ClaimsJSON(prepend(`"roles":["Items.Admin"]`)))...)},
		{"exp given twice", claims(`"exp":1e12`)},
		{"scp given twice, once escaped", claims(`"\u0073cp":"Items.Write"`)},
		{"an unknown member given twice", claims(`"xms_x":1,"xms_x":2`)},
		{"a member given twice in a nested object", claims(`"xms_x":{"a":1,"a":2}`)},
		{"invalid UTF-8 in a claim", claims("\"family_name\":\"\xff\"")},
		{"an unpaired surrogate", claims(`"family_name":"\ud800"`)},
		{"roles that are a string", idp.Issue(append(bob, entratest.Claim("roles", "Items.Admin"))...)},
		{"roles with a number", idp.Issue(append(bob, entratest.Claim("roles", []any{"Items.Admin", 1}))...)},
		{"ALG in capitals in the header", idp.Issue(append(bob, entratest.HeaderJSON(prepend(`"ALG":"none"`)))...)},
		{"kid given twice in the header", idp.Issue(append(bob, entratest.HeaderJSON(prepend(`"kid":"other"`)))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := v.Validate(context.Background(), tt.token); !errors.Is(err, entra.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNamesAreReadExactlyAndEscapesDecoded(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	ctx := context.Background()
	t.Run("an escaped name is its claim, for every reader", func(t *testing.T) {
		tok := idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read"), entratest.Roles("Reader"),
			entratest.ClaimsJSON(func(c string) string { return strings.Replace(c, `"roles"`, `"r\u006fles"`, 1) }))
		c, err := v.Validate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Roles []string `json:"roles"`
		}
		if err := c.Decode(&d); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := c.Decode(&m); err != nil {
			t.Fatal(err)
		}
		raw, _ := m["roles"].([]any)
		if !c.HasRole("Reader") || len(c.Roles.Names()) != 1 || !reflect.DeepEqual(d.Roles, []string{"Reader"}) || len(raw) != 1 || raw[0] != "Reader" {
			t.Fatalf("roles %v, Decode %v, Raw %v", c.Roles, d.Roles, raw)
		}
	})
	t.Run("a name in another case than any claim we read is just another claim", func(t *testing.T) {
		c, err := v.Validate(ctx, idp.Issue(entratest.Claim("Department", "Sales")))
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Lower string `json:"department"`
			Exact string `json:"Department"`
		}
		if err := c.Decode(&d); err != nil || d.Lower != "" || d.Exact != "Sales" {
			t.Fatalf("decoded %+v, %v: Decode must match names exactly", d, err)
		}
	})
	t.Run("unknown header members, null and nested claims are read", func(t *testing.T) {
		tok := idp.Issue(entratest.Header("nonce", "abc"), entratest.Claim("family_name", nil),
			entratest.Claim("xms_cc", map[string]any{"a": []any{1, true, nil, "x"}}))
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestATokenIsAcceptedInItsOneSpelling(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	// A 256-byte signature is 342 characters: the last stands for 4 bits
	// of signature and 2 unused bits; the header and payload can have
	// unused bits too. Changing only unused bits gives a token jwx reads
	// alike.
	tok := idp.Issue()
	p := strings.Split(tok, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i, seg := range p {
		unused := (6 * len(seg)) % 8
		if unused == 0 {
			continue
		}
		last := strings.IndexByte(alphabet, seg[len(seg)-1])
		for low := 1; low < 1<<unused; low++ {
			q := append([]string{}, p...)
			q[i] = seg[:len(seg)-1] + string(alphabet[last^low])
			respelled := strings.Join(q, ".")
			if _, err := v.Validate(context.Background(), respelled); !errors.Is(err, entra.ErrMalformed) {
				t.Errorf("segment %d with unused bits %b: err = %v, want ErrMalformed", i, low, err)
			}
		}
	}
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("the token as issued: %v", err)
	}
	if s := v.Stats(); s.CacheEntries != 1 {
		t.Fatalf("%d cache entries, want 1", s.CacheEntries)
	}
}

func TestScopesAreSplitOnSpacesOnly(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	for _, tt := range []struct {
		name, scp string
		want      []string
	}{
		{"a tab is part of a name", "Nope\tItems.Write", []string{"Nope\tItems.Write"}},
		{"a no-break space is part of a name", "Nope\u00a0Items.Write", []string{"Nope\u00a0Items.Write"}},
		{"a line separator is part of a name", "Nope\u2028Items.Write", []string{"Nope\u2028Items.Write"}},
		{"a newline is part of a name", "Nope\nItems.Write", []string{"Nope\nItems.Write"}},
		{"spaces separate names; empty ones are dropped", " Items.Read  Items.Write ", []string{"Items.Read", "Items.Write"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("bob"), entratest.Claim("scp", tt.scp)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Scopes.Names(), tt.want) || (len(tt.want) == 1 && c.HasScope("Items.Write")) {
				t.Fatalf("scopes %q, want %q", c.Scopes.Names(), tt.want)
			}
		})
	}
	t.Run("a scp of spaces only grants nothing and is no access token", func(t *testing.T) {
		_, err := v.Validate(context.Background(), idp.Issue(entratest.ForUser("bob"), entratest.Claim("scp", "   ")))
		if !errors.Is(err, entra.ErrNotAccessToken) {
			t.Fatalf("err = %v, want ErrNotAccessToken", err)
		}
	})
}

// tenancy is one way to run an API, with the validator options and the
// token options that make its tokens.
type tenancy struct {
	name    string
	idpOpts []entratest.Option
	opts    func(idp *entratest.Server) []entra.Option
	token   []entratest.TokenOption
}

var tenancies = []tenancy{
	{"single-tenant v2", nil, func(*entratest.Server) []entra.Option { return nil }, nil},
	{"single-tenant v1", nil, func(*entratest.Server) []entra.Option { return []entra.Option{entra.WithTokenVersions(entra.V1)} },
		[]entratest.TokenOption{entratest.V1Token()}},
	{"organizations", nil, func(*entratest.Server) []entra.Option {
		return []entra.Option{entra.WithTenant("organizations"), entra.WithAllowedTenants(partnerTenant)}
	}, []entratest.TokenOption{entratest.FromTenant(partnerTenant)}},
	{"organizations v1", nil, func(*entratest.Server) []entra.Option {
		return []entra.Option{entra.WithTenant("organizations"), entra.WithAllowedTenants(partnerTenant), entra.WithTokenVersions(entra.V1)}
	}, []entratest.TokenOption{entratest.FromTenant(partnerTenant), entratest.V1Token()}},
	{"consumers", nil, func(*entratest.Server) []entra.Option {
		return []entra.Option{entra.WithTenant("consumers"), entra.InsecureAllowAnyTenant()}
	}, []entratest.TokenOption{entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()}},
	{"B2C", []entratest.Option{entratest.WithB2C("contoso", "B2C_1_susi")}, func(*entratest.Server) []entra.Option {
		return []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithB2CPolicy("B2C_1_susi")}
	}, nil},
	{"External ID", []entratest.Option{entratest.WithIssuerBase("https://" + entratest.DefaultTenantID + ".ciamlogin.com")},
		func(*entratest.Server) []entra.Option { return nil }, nil},
}

func (tn tenancy) setUp(t *testing.T) (*entratest.Server, *entra.Validator) {
	idp := entratest.NewServer(t, tn.idpOpts...)
	return idp, newValidator(t, idp, tn.opts(idp)...)
}

func (tn tenancy) issue(idp *entratest.Server, opts ...entratest.TokenOption) string {
	return idp.Issue(append(append([]entratest.TokenOption{}, tn.token...), opts...)...)
}

func TestOnlyAccessTokensAreAcceptedInEveryTenancy(t *testing.T) {
	for _, tn := range tenancies {
		t.Run(tn.name, func(t *testing.T) {
			idp, v := tn.setUp(t)
			ctx := context.Background()
			for _, who := range []struct {
				name string
				opts []entratest.TokenOption
			}{{"a user's", nil}, {"an app's", []entratest.TokenOption{entratest.ForApp("admin-daemon"), entratest.Roles("Items.Admin")}}} {
				c, err := v.Validate(ctx, tn.issue(idp, who.opts...))
				if err != nil {
					t.Fatalf("%s access token: %v", who.name, err)
				}
				if c.ClientID() == "" {
					t.Fatalf("%s access token names no client application: %+v", who.name, c)
				}
			}
			refused := []struct {
				name string
				opts []entratest.TokenOption
			}{
				{"an ID token with roles", []entratest.TokenOption{entratest.IDToken(), entratest.Roles("Items.Admin")}},
				{"an ID token with scp added", []entratest.TokenOption{entratest.IDToken(), entratest.Scopes("Items.Read")}},
				{"a token without azp or appid", []entratest.TokenOption{entratest.WithoutClaim("azp"), entratest.WithoutClaim("appid")}},
				{"an access token with at_hash", []entratest.TokenOption{entratest.Claim("at_hash", "x")}},
				{"an access token with c_hash", []entratest.TokenOption{entratest.Claim("c_hash", "x")}},
				{"a token granting nothing", []entratest.TokenOption{entratest.Scopes(), entratest.Roles()}},
			}
			if tn.name != "B2C" {
				refused = append(refused, struct {
					name string
					opts []entratest.TokenOption
				}{"an access token with a nonce", []entratest.TokenOption{entratest.Claim("nonce", "n")}})
			}
			for _, r := range refused {
				_, err := v.Validate(ctx, tn.issue(idp, r.opts...))
				if !errors.Is(err, entra.ErrNotAccessToken) || !strings.Contains(err.Error(), "not an access token") {
					t.Errorf("%s: err = %v, want ErrNotAccessToken", r.name, err)
				}
			}
		})
	}
	t.Run("B2C access tokens may carry the nonce of the sign-in", func(t *testing.T) {
		tn := tenancies[5]
		idp, v := tn.setUp(t)
		if _, err := v.Validate(context.Background(), tn.issue(idp, entratest.Claim("nonce", "n"))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTenantIDAgreesWithTheIssuerInEveryTenancy(t *testing.T) {
	const other = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	for _, tn := range tenancies {
		t.Run(tn.name+": a tid other than the issuer's tenant is refused", func(t *testing.T) {
			idp, v := tn.setUp(t)
			if _, err := v.Validate(context.Background(), tn.issue(idp, entratest.Tenant(other))); !errors.Is(err, entra.ErrIssuer) {
				t.Fatalf("err = %v, want ErrIssuer", err)
			}
		})
	}
}

func TestPersonalAccountTenantsNeedAnExplicitChoice(t *testing.T) {
	for _, tenant := range []string{"consumers", "Consumers", entra.PersonalAccountsTenantID} {
		t.Run(tenant+" alone is refused", func(t *testing.T) {
			_, err := entra.NewValidator(entra.WithTenant(tenant), entra.WithAudiences("a"))
			if err == nil || !strings.Contains(err.Error(), "every personal Microsoft account") {
				t.Fatalf("err = %v", err)
			}
		})
		for _, choice := range []entra.Option{entra.InsecureAllowAnyTenant(), entra.WithAllowedTenants(entra.PersonalAccountsTenantID)} {
			if _, err := entra.NewValidator(entra.WithTenant(tenant), entra.WithAudiences("a"), choice); err != nil {
				t.Errorf("%s with an explicit choice: %v", tenant, err)
			}
		}
	}
	t.Run("a tenant list without the personal-account tenant admits nobody", func(t *testing.T) {
		idp := entratest.NewServer(t)
		v := newValidator(t, idp, entra.WithTenant("consumers"), entra.WithAllowedTenants(partnerTenant))
		tok := idp.Issue(entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey())
		if _, err := v.Validate(context.Background(), tok); !errors.Is(err, entra.ErrTenant) {
			t.Fatalf("err = %v, want ErrTenant", err)
		}
	})
}

func TestClaimsDecodeReportsErrors(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newValidator(t, idp)
	c, err := v.Validate(context.Background(), idp.Issue(entratest.Claim("xms_tdbr", "EU"), entratest.Claim("wids", []string{"a", "b"})))
	if err != nil {
		t.Fatal(err)
	}
	var good struct {
		Region string   `json:"xms_tdbr"`
		Wids   []string `json:"wids"`
		Exp    int64    `json:"exp"`
	}
	if err := c.Decode(&good); err != nil || good.Region != "EU" || len(good.Wids) != 2 || good.Exp != c.ExpiresAt.Unix() {
		t.Fatalf("decoded %+v, %v", good, err)
	}
	var bad struct {
		Region int `json:"xms_tdbr"`
	}
	if err := c.Decode(&bad); err == nil {
		t.Fatal("a string decoded into an int without an error")
	}
	if err := c.Decode(good); err == nil {
		t.Fatal("decoding into a non-pointer gave no error")
	}
	var none entra.Claims
	var m map[string]any
	if err := none.Decode(&m); err != nil || len(m) != 0 {
		t.Fatalf("claims made by hand decode to %v, %v", m, err)
	}
}

// segment decodes one segment of a token, for tests that look inside.
func segment(t *testing.T, tok string, i int) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
