package entra_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// The tenancies through the real interceptor are in
// interceptor/tenancy_test.go; here is what is best seen on the validator:
// which combinations fail at construction, which documents each tenancy
// fetches, and what the caller's Claims say.

const partnerTenant = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"

func TestInvalidTenancyCombinationsFailConstruction(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	aud := entra.WithAudiences("a")
	tests := []struct {
		name string
		opts []entra.Option
		want string
	}{
		{"organizations without a tenant list, filter or opt-in", []entra.Option{entra.WithTenant("organizations"), aud}, "accepts every tenant's tokens"},
		{"allowed tenants and a tenant filter (the list would be ignored)",
			[]entra.Option{entra.WithTenant("organizations"), aud, entra.WithAllowedTenants(tid), entra.WithTenantFilter(func(string) bool { return true })}, "contradict"},
		{"allowed tenants and any tenant (the list would be ignored)",
			[]entra.Option{entra.WithTenant("common"), aud, entra.WithAllowedTenants(tid), entra.InsecureAllowAnyTenant()}, "contradict"},
		{"any tenant on a single tenant", []entra.Option{entra.WithTenant(tid), aud, entra.InsecureAllowAnyTenant()}, "need a multi-tenant tenant"},
		{"a tenant filter on a single tenant", []entra.Option{entra.WithTenant(tid), aud, entra.WithTenantFilter(func(string) bool { return true })}, "need a multi-tenant tenant"},
		{"an allowed tenant in upper case", []entra.Option{entra.WithTenant("organizations"), aud, entra.WithAllowedTenants(strings.ToUpper(tid))}, "lowercase GUID"},
		{"a token version listed twice", []entra.Option{entra.WithTenant(tid), aud, entra.WithTokenVersions(entra.V2, entra.V2)}, "listed twice"},
		{"B2C with both token versions", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), aud, entra.WithB2CPolicy("B2C_1_susi"), entra.WithTokenVersions(entra.V1, entra.V2)}, "v2 tokens only"},
		{"B2C with app-specific keys", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), aud, entra.WithB2CPolicy("B2C_1_susi"), entra.WithAppSpecificKeys("a")}, "do not apply to B2C"},
		{"B2C with a tenant list", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), aud, entra.WithB2CPolicy("B2C_1_susi"), entra.WithAllowedTenants(tid)}, "need a multi-tenant tenant"},
		{"a B2C policy with a space", []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), aud, entra.WithB2CPolicy("B2C_1 susi")}, "user flow name"},
		{"an explicit discovery URL for both versions", []entra.Option{entra.WithTenant(tid), aud, entra.WithTokenVersions(entra.V1, entra.V2), entra.WithDiscoveryURL("https://login.microsoftonline.com/x")}, "one token version"},
		{"an http national cloud", []entra.Option{entra.WithTenant(tid), aud, entra.WithAuthorityHost("http://login.microsoftonline.us")}, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := entra.NewValidator(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("every problem is named at once", func(t *testing.T) {
		_, err := entra.NewValidator(entra.WithTenant("common"), entra.WithTokenVersions("3.0"), entra.WithB2CPolicy("a b"))
		for _, want := range []string{"token version", "accepts every tenant's tokens", "user flow name", "audience"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, lacks %q", err, want)
			}
		}
	})
}

func TestEachTenancyFetchesItsDocuments(t *testing.T) {
	tests := []struct {
		name    string
		idpOpts []entratest.Option
		opts    func(idp *entratest.Server) []entra.Option
		issuer  func(idp *entratest.Server) string // of the first discovery document
		jwks    func(idp *entratest.Server) string
	}{
		{"a single tenant's v2 documents", nil,
			func(*entratest.Server) []entra.Option { return nil },
			(*entratest.Server).Issuer,
			func(idp *entratest.Server) string {
				return idp.Authority() + "/" + idp.TenantID() + "/discovery/v2.0/keys"
			}},
		{"a single tenant's v1 documents", nil,
			func(*entratest.Server) []entra.Option { return []entra.Option{entra.WithTokenVersions(entra.V1)} },
			(*entratest.Server).V1Issuer,
			func(idp *entratest.Server) string { return idp.Authority() + "/" + idp.TenantID() + "/discovery/keys" }},
		{"organizations' documents with the issuer template", nil,
			func(*entratest.Server) []entra.Option {
				return []entra.Option{entra.WithTenant("organizations"), entra.WithAllowedTenants(partnerTenant)}
			},
			func(idp *entratest.Server) string { return idp.Authority() + "/{tenantid}/v2.0" },
			func(idp *entratest.Server) string { return idp.Authority() + "/organizations/discovery/v2.0/keys" }},
		{"a B2C user flow's documents", []entratest.Option{entratest.WithB2C("contoso", "B2C_1_susi")},
			func(*entratest.Server) []entra.Option {
				return []entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithB2CPolicy("B2C_1_susi")}
			},
			func(idp *entratest.Server) string { return idp.Authority() + "/" + idp.TenantID() + "/v2.0/" },
			func(idp *entratest.Server) string {
				return idp.Authority() + "/contoso.onmicrosoft.com/B2C_1_susi/discovery/v2.0/keys"
			}},
		{"the app-specific documents", []entratest.Option{entratest.WithCustomSigningKey()},
			func(idp *entratest.Server) []entra.Option {
				return []entra.Option{entra.WithAppSpecificKeys(idp.ClientID())}
			},
			(*entratest.Server).Issuer,
			func(idp *entratest.Server) string { return idp.JWKSURL() + "?appid=" + idp.ClientID() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := entratest.NewServer(t, tt.idpOpts...)
			v := newValidator(t, idp, tt.opts(idp)...)
			if err := v.Preload(context.Background()); err != nil {
				t.Fatal(err)
			}
			iss, jwks, _, _, ok := entra.MetadataOf(v)
			if !ok || iss != tt.issuer(idp) || jwks != tt.jwks(idp) {
				t.Fatalf("metadata: issuer %s, key set %s; want issuer %s and key set %s", iss, jwks, tt.issuer(idp), tt.jwks(idp))
			}
		})
	}
}

func TestClaimsOfEachTenancy(t *testing.T) {
	idp := entratest.NewServer(t)
	b2c := entratest.NewServer(t, entratest.WithB2C("contoso", "B2C_1_susi"))
	alice := idp.Users()[0]
	tests := []struct {
		name  string
		idp   *entratest.Server
		opts  []entra.Option
		token []entratest.TokenOption
		check func(c *entra.Claims) bool
	}{
		{"a v1 user token gives upn, unique_name and appid", idp,
			[]entra.Option{entra.WithTokenVersions(entra.V1)}, []entratest.TokenOption{entratest.V1Token()},
			func(c *entra.Claims) bool {
				return c.Version == "1.0" && c.Issuer == idp.V1Issuer() && c.Audience == idp.AppIDURI() &&
					v1Names(c) == (v1{UPN: "alice", UniqueName: "alice", AppID: entratest.DefaultSPAClientID}) && c.PreferredUsername == "" &&
					c.ClientID() == entratest.DefaultSPAClientID &&
					c.ObjectID == alice.ObjectID && !c.IsAppOnly()
			}},
		{"a v1 app token gives appid as the client", idp,
			[]entra.Option{entra.WithTokenVersions(entra.V1)}, []entratest.TokenOption{entratest.V1Token(), entratest.ForApp("admin-daemon")},
			func(c *entra.Claims) bool {
				return c.ClientID() == entratest.AdminDaemonClientID && c.IsAppOnly() && c.HasRole("Items.Admin") && v1Names(c) == (v1{AppID: entratest.AdminDaemonClientID})
			}},
		{"a partner tenant's token gives its tenant and issuer", idp,
			[]entra.Option{entra.WithTenant("organizations"), entra.WithAllowedTenants(partnerTenant)}, []entratest.TokenOption{entratest.FromTenant(partnerTenant)},
			func(c *entra.Claims) bool {
				return c.TenantID == partnerTenant && c.Issuer == idp.Authority()+"/"+partnerTenant+"/v2.0"
			}},
		{"a personal account's token gives the consumers tenant", idp,
			[]entra.Option{entra.WithTenant("common"), entra.WithAllowedTenants(entratest.ConsumersTenantID)},
			[]entratest.TokenOption{entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()},
			func(c *entra.Claims) bool { return c.TenantID == entratest.ConsumersTenantID }},
		{"an allowed guest is marked as one", idp,
			[]entra.Option{entra.WithAllowGuests()}, []entratest.TokenOption{entratest.Guest()},
			func(c *entra.Claims) bool {
				return c.IsGuest() && strings.HasPrefix(v1Names(c).Idp, "https://sts.windows.net/")
			}},
		{"a B2C token gives its user flow and no tenant", b2c,
			[]entra.Option{entra.WithTenant("contoso.onmicrosoft.com"), entra.WithB2CPolicy("b2c_1_SUSI")}, nil,
			func(c *entra.Claims) bool {
				return c.Policy == "B2C_1_susi" && c.TenantID == "" && c.Version == "1.0" && c.Subject == alice.ObjectID &&
					c.Issuer == b2c.Issuer() && strings.HasSuffix(c.Issuer, "/v2.0/")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, tt.idp, tt.opts...)
			c, err := v.Validate(context.Background(), tt.idp.Issue(tt.token...))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// A B2C token carries ver "1.0" although it comes from a v2.0 endpoint;
// the validator once refused every real B2C token as "ver 1.0 from a v2.0
// issuer".
func TestB2CTokensCarryVersion1(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithB2C("contoso", "B2C_1_susi"))
	v := newValidator(t, idp, entra.WithTenant("contoso.onmicrosoft.com"), entra.WithB2CPolicy("B2C_1_susi"))
	for _, ver := range []string{"1.0", "2.0"} {
		if _, err := v.Validate(context.Background(), idp.Issue(entratest.Claim("ver", ver))); err != nil {
			t.Errorf("ver %s: %v", ver, err)
		}
	}
	// Outside B2C, ver still has to match the issuer's version.
	single := entratest.NewServer(t)
	sv := newValidator(t, single)
	if _, err := sv.Validate(context.Background(), single.Issue(entratest.Claim("ver", "1.0"))); !errors.Is(err, entra.ErrIssuer) {
		t.Fatalf("a v2 issuer with ver 1.0: %v, want ErrIssuer", err)
	}
}

// Each tenancy problem is an *entra.OptionError naming the option at
// fault and the options that would mend it, so that package server can say
// it in its variables' names.
func TestTenancyErrorsNameTheirOption(t *testing.T) {
	_, err := entra.NewValidator(entra.WithTenant("organizations"), entra.WithAudiences("a"), entra.WithAllowedTenants("contoso.com"))
	var oe *entra.OptionError
	if !errors.As(err, &oe) || oe.Option != "WithAllowedTenants" || !strings.Contains(oe.Problem, `"contoso.com" is not a tenant ID`) {
		t.Fatalf("err = %v, want an OptionError of WithAllowedTenants", err)
	}
	_, err = entra.NewValidator(entra.WithTenant("common"), entra.WithAudiences("a"))
	if !errors.As(err, &oe) || oe.Option != "WithTenant" || strings.Join(oe.Fix, ",") != "WithAllowedTenants,WithTenantFilter,InsecureAllowAnyTenant" {
		t.Fatalf("err = %v (%+v), want an OptionError of WithTenant with its fixes", err, oe)
	}
	if strings.Contains(oe.Problem, "With") {
		t.Errorf("the problem names options: %q", oe.Problem)
	}
}

// EndpointsOf knows, without fetching it, what the provider's discovery
// document lists as its authorization and token endpoints.
func TestEndpointsOfMatchTheDiscoveryDocument(t *testing.T) {
	idp := entratest.NewServer(t)
	opts := []entra.Option{entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
		entra.WithAuthorityHost(idp.Authority()), entra.WithHTTPClient(idp.Client())}
	got, err := entra.EndpointsOf(opts...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := entra.NewValidator(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _, authz, tok, _ := entra.MetadataOf(v)
	if got.AuthorizationURL != authz || got.TokenURL != tok {
		t.Errorf("EndpointsOf = %+v, the discovery document lists %s and %s", got, authz, tok)
	}

	// B2C signs users in through the user flow (entratest's B2C discovery
	// document lists no endpoints: this is Microsoft's documented form).
	got, err = entra.EndpointsOf(entra.WithTenant("contoso.onmicrosoft.com"), entra.WithAudiences("a"),
		entra.WithAuthorityHost("https://contoso.b2clogin.com"), entra.WithB2CPolicy("B2C_1_susi"))
	want := entra.Endpoints{
		AuthorizationURL: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/authorize",
		TokenURL:         "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/token",
	}
	if err != nil || got != want {
		t.Errorf("B2C: EndpointsOf = %+v, %v; want %+v", got, err, want)
	}

	if _, err := entra.EndpointsOf(entra.WithTenant("common"), entra.WithAudiences("a")); err == nil {
		t.Error("invalid options gave endpoints")
	}
}

// v1 is what a token (v1 mostly) says of its caller that Claims has no
// field for.
type v1 struct {
	UPN        string `json:"upn"`
	UniqueName string `json:"unique_name"`
	AppID      string `json:"appid"`
	Azp        string `json:"azp"`
	Idp        string `json:"idp"`
}

func v1Names(c *entra.Claims) v1 {
	var n v1
	if err := c.Decode(&n); err != nil {
		return v1{UPN: err.Error()}
	}
	return n
}
