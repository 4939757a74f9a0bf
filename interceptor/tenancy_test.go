package interceptor_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// Each tenancy below is one configuration change: the validator options a
// user would write (or the environment variables of make run, see
// server.TestTenancyVariables). Each accepts its own valid tokens through
// the real interceptor on a real gRPC server, and rejects the near misses.

// Tenants other than the provider's.
const (
	partnerTenant  = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
	strangerTenant = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
)

// delegated calls Get, whose rule is the scope Items.Read.
func delegated(ctx context.Context, e *env) error {
	_, err := e.c.Get(ctx, "item-1")
	return err
}

// roleOnly calls Delete, whose rule is the app role Items.Admin, for an
// item that does not exist, so that every case can call it: NotFound says
// the interceptor let the call through.
func roleOnly(ctx context.Context, e *env) error {
	return ignoreNotFound(e.c.Unary(ctx, authztest.Delete, "no-such-item"))
}

// tenancyCase is a token and what the server must answer to it.
type tenancyCase struct {
	name   string
	opts   []entratest.TokenOption
	call   func(context.Context, *env) error // delegated when nil
	code   codes.Code                        // OK, or the code of the denial
	msg    string                            // the status message of a denial
	reason string                            // the ErrorInfo reason of a denial
}

// accepts is a token the server must let in.
func accepts(name string, opts ...entratest.TokenOption) tenancyCase {
	return tenancyCase{name: name + " is accepted", opts: opts, code: codes.OK}
}

// rejects is a token the server must refuse with 401 because validation
// fails with why (an entra.Err… text).
func rejects(name string, why error, opts ...entratest.TokenOption) tenancyCase {
	return tenancyCase{name: name + " is rejected with 401 (" + why.Error() + ")", opts: opts,
		code: codes.Unauthenticated, msg: "invalid token: " + why.Error(), reason: authzerr.ReasonTokenInvalid}
}

// forbids is a valid token the server must refuse with 403 for reason.
func forbids(name, reason string, opts ...entratest.TokenOption) tenancyCase {
	return tenancyCase{name: name + " is denied with 403 (" + reason + ")", opts: opts,
		code: codes.PermissionDenied, reason: reason}
}

// on sets the call a case makes.
func (c tenancyCase) on(call func(context.Context, *env) error) tenancyCase { c.call = call; return c }

// appOnlyCases are the cases about app-only tokens every tenancy shares:
// an app role opens the role method, and nothing opens a delegated one,
// not even the method's scope in the app's token.
func appOnlyCases(opts ...entratest.TokenOption) []tenancyCase {
	app := append([]entratest.TokenOption{entratest.ForApp("admin-daemon")}, opts...)
	return []tenancyCase{
		accepts("an app-only token on a method whose rule names its role", app...).on(roleOnly),
		forbids("an app-only token on a delegated method", authzerr.ReasonInsufficientScope, app...),
		forbids("an app-only token carrying the delegated method's scope", authzerr.ReasonInsufficientScope, append(slices.Clone(app), entratest.Scopes("Items.Read"))...),
	}
}

// runCases issues each case's token and checks the answer.
func runCases(t *testing.T, e *env, cases []tenancyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := tc.call
			if call == nil {
				call = delegated
			}
			err := call(withToken(e.idp.Issue(tc.opts...)), e)
			st := status.Convert(err)
			if st.Code() != tc.code || (tc.msg != "" && st.Message() != tc.msg) {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
			if tc.reason != "" && reason(err) != tc.reason {
				t.Fatalf("reason %q, want %q", reason(err), tc.reason)
			}
		})
	}
}

// template is the provider's v2 issuer with the multi-tenant placeholder
// where its tenant is.
func template(idp *entratest.Server) string {
	return strings.Replace(idp.Issuer(), idp.TenantID(), "{tenantid}", 1)
}

func TestSingleTenantV2Tokens(t *testing.T) {
	idp := entratest.NewServerAt(t, entra.PublicCloud)
	e := newTenancyEnv(t, idp,
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()))
	tid := idp.TenantID()
	runCases(t, e, append([]tenancyCase{
		accepts("its own user's token"),
		rejects("another tenant's token", entra.ErrIssuer, entratest.FromTenant(partnerTenant)),
		rejects("the multi-tenant issuer template as issuer", entra.ErrIssuer, entratest.IssuerClaim(template(idp))),
		rejects("the issuer with a trailing slash", entra.ErrIssuer, entratest.IssuerClaim(idp.Issuer()+"/")),
		rejects("the issuer in upper case", entra.ErrIssuer, entratest.IssuerClaim(strings.ToUpper(idp.Issuer()))),
		rejects("a look-alike host (a longer domain)", entra.ErrIssuer, entratest.IssuerClaim("https://login.microsoftonline.com.evil.example/"+tid+"/v2.0")),
		rejects("a look-alike host (a hyphen for a dot)", entra.ErrIssuer, entratest.IssuerClaim("https://login-microsoftonline.com/"+tid+"/v2.0")),
		rejects("the issuer with more path", entra.ErrIssuer, entratest.IssuerClaim(idp.Issuer()+"/extra")),
		rejects("a v1 token (only v2 is configured)", entra.ErrIssuer, entratest.V1Token(), entratest.Audience(idp.ClientID())),
		rejects("the v2 issuer claiming ver 1.0", entra.ErrIssuer, entratest.Claim("ver", "1.0")),
		rejects("a token signed with the personal-account key", entra.ErrUnknownKey, entratest.SignedWithPersonalAccountKey()),
		rejects("a token for the Application ID URI (only the client ID is configured)", entra.ErrAudience, entratest.Audience(idp.AppIDURI())),
		forbids("a guest's token", authzerr.ReasonGuest, entratest.Guest()),
	}, appOnlyCases()...))
}

func TestSingleTenantV1Tokens(t *testing.T) {
	idp := entratest.NewServer(t)
	e := newTenancyEnv(t, idp,
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithTokenVersions(entra.V1),
		entra.WithAudiences(idp.AppIDURI()))
	v1 := entratest.V1Token()
	runCases(t, e, append([]tenancyCase{
		accepts("its own user's v1 token", v1),
		rejects("a v2 token (only v1 is configured)", entra.ErrIssuer, entratest.Audience(idp.AppIDURI())),
		rejects("another tenant's v1 token", entra.ErrIssuer, v1, entratest.FromTenant(partnerTenant)),
		rejects("the v1 issuer without its trailing slash", entra.ErrIssuer, v1, entratest.IssuerClaim(strings.TrimSuffix(idp.V1Issuer(), "/"))),
		rejects("the v1 issuer claiming ver 2.0", entra.ErrIssuer, v1, entratest.Claim("ver", "2.0")),
		rejects("a v1 token for the client ID (only the Application ID URI is configured)", entra.ErrAudience, v1, entratest.Audience(idp.ClientID())),
		forbids("a v1 guest's token", authzerr.ReasonGuest, v1, entratest.Guest()),
	}, appOnlyCases(v1)...))
}

func TestBothTokenVersions(t *testing.T) {
	idp := entratest.NewServer(t)
	e := newTenancyEnv(t, idp,
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithTokenVersions(entra.V1, entra.V2),
		entra.WithAudiences(idp.ClientID(), idp.AppIDURI()))
	v1 := entratest.V1Token()
	runCases(t, e, append(append([]tenancyCase{
		accepts("a v2 token"),
		accepts("a v1 token", v1),
		accepts("a v1 token for the client ID", v1, entratest.Audience(idp.ClientID())),
		rejects("the v2 issuer claiming ver 1.0", entra.ErrIssuer, entratest.Claim("ver", "1.0")),
		rejects("the v1 issuer claiming ver 2.0", entra.ErrIssuer, v1, entratest.Claim("ver", "2.0")),
		rejects("another tenant's v1 token", entra.ErrIssuer, v1, entratest.FromTenant(partnerTenant)),
	}, appOnlyCases()...), appOnlyCases(v1)...))
}

func TestMultiTenant(t *testing.T) {
	idp := entratest.NewServerAt(t, entra.PublicCloud)
	tid := idp.TenantID()
	base := []entra.Option{entra.WithTenant("organizations"), entra.WithAudiences(idp.ClientID())}
	// Issuers every multi-tenant configuration refuses, whichever tenants
	// it accepts.
	issuerMisses := []tenancyCase{
		rejects("the issuer template itself as issuer", entra.ErrIssuer, entratest.IssuerClaim(template(idp))),
		rejects("the template as issuer and as tid", entra.ErrIssuer, entratest.IssuerClaim(template(idp)), entratest.Tenant("{tenantid}")),
		rejects("a tid that does not match the issuer", entra.ErrIssuer, entratest.FromTenant(partnerTenant), entratest.Tenant(tid)),
		rejects("a token without tid", entra.ErrIssuer, entratest.WithoutClaim("tid")),
		rejects("a tid that is not a GUID", entra.ErrIssuer, entratest.FromTenant("contoso.onmicrosoft.com")),
		rejects("a tid in upper case", entra.ErrIssuer, entratest.FromTenant(strings.ToUpper(partnerTenant))),
		rejects("a look-alike host", entra.ErrIssuer, entratest.IssuerClaim("https://login.microsoftonline.com.evil.example/"+partnerTenant+"/v2.0"), entratest.Tenant(partnerTenant)),
		rejects("the issuer with a trailing slash", entra.ErrIssuer, entratest.FromTenant(partnerTenant), entratest.IssuerClaim(entra.PublicCloud+"/"+partnerTenant+"/v2.0/")),
		rejects("the issuer with more path", entra.ErrIssuer, entratest.FromTenant(partnerTenant), entratest.IssuerClaim(entra.PublicCloud+"/"+partnerTenant+"/v2.0/x")),
		rejects("a v1 token (only v2 is configured)", entra.ErrIssuer, entratest.V1Token(), entratest.Audience(idp.ClientID())),
	}
	// Near misses of organizations, for which the partner tenant is allowed.
	nearMisses := append(issuerMisses,
		rejects("a personal account's token (organizations publishes no personal-account key)", entra.ErrUnknownKey,
			entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()),
		forbids("an allowed tenant's guest", authzerr.ReasonGuest, entratest.FromTenant(partnerTenant), entratest.Guest()),
	)
	t.Run("organizations with a list of tenants", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.WithAllowedTenants(tid, partnerTenant))...)
		runCases(t, e, append(append([]tenancyCase{
			accepts("its own tenant's token"),
			accepts("a listed partner tenant's token", entratest.FromTenant(partnerTenant)),
			rejects("a tenant not on the list", entra.ErrTenant, entratest.FromTenant(strangerTenant)),
		}, nearMisses...), appOnlyCases(entratest.FromTenant(partnerTenant))...))
	})
	t.Run("organizations with a tenant filter", func(t *testing.T) {
		var asked atomic.Value
		e := newTenancyEnv(t, idp, append(base, entra.WithTenantFilter(func(tenantID string) bool {
			asked.Store(tenantID)
			return tenantID == partnerTenant
		}))...)
		runCases(t, e, append([]tenancyCase{
			accepts("a tenant the filter allows", entratest.FromTenant(partnerTenant)),
			rejects("a tenant the filter refuses", entra.ErrTenant, entratest.FromTenant(tid)),
		}, nearMisses...))
		if asked.Load() == nil {
			t.Fatal("the filter was never asked")
		}
	})
	t.Run("organizations with any tenant, opted in", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.InsecureAllowAnyTenant())...)
		runCases(t, e, append([]tenancyCase{
			accepts("any tenant's token", entratest.FromTenant(strangerTenant)),
		}, nearMisses...))
	})
	t.Run("organizations with v1 tokens", func(t *testing.T) {
		e := newTenancyEnv(t, idp, entra.WithTenant("organizations"), entra.WithTokenVersions(entra.V1),
			entra.WithAllowedTenants(partnerTenant), entra.WithAudiences(idp.AppIDURI()))
		v1 := entratest.V1Token()
		v1Template := strings.Replace(idp.V1Issuer(), tid, "{tenantid}", 1)
		runCases(t, e, append([]tenancyCase{
			accepts("a listed tenant's v1 token", v1, entratest.FromTenant(partnerTenant)),
			rejects("a tenant not on the list", entra.ErrTenant, v1, entratest.FromTenant(strangerTenant)),
			rejects("the v1 issuer template itself as issuer", entra.ErrIssuer, v1, entratest.IssuerClaim(v1Template), entratest.Tenant(partnerTenant)),
			rejects("a v1 tid that does not match the issuer", entra.ErrIssuer, v1, entratest.FromTenant(strangerTenant), entratest.Tenant(partnerTenant)),
			rejects("a listed tenant's v2 token", entra.ErrIssuer, entratest.FromTenant(partnerTenant), entratest.Audience(idp.AppIDURI())),
		}, appOnlyCases(v1, entratest.FromTenant(partnerTenant))...))
	})
	t.Run("common with personal accounts", func(t *testing.T) {
		e := newTenancyEnv(t, idp, entra.WithTenant("common"), entra.WithAudiences(idp.ClientID()),
			entra.WithAllowedTenants(tid, entratest.ConsumersTenantID))
		personal := []entratest.TokenOption{entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()}
		runCases(t, e, append([]tenancyCase{
			accepts("its own tenant's token"),
			accepts("a personal account's token", personal...),
			rejects("an organization's token signed with the personal-account key", entra.ErrIssuer, entratest.SignedWithPersonalAccountKey()),
			rejects("a tenant not on the list", entra.ErrTenant, entratest.FromTenant(strangerTenant)),
		}, issuerMisses...))
	})
	t.Run("common without personal accounts", func(t *testing.T) {
		e := newTenancyEnv(t, idp, entra.WithTenant("common"), entra.WithAudiences(idp.ClientID()), entra.WithAllowedTenants(tid))
		runCases(t, e, []tenancyCase{
			accepts("its own tenant's token"),
			rejects("a personal account's token", entra.ErrTenant, entratest.FromTenant(entratest.ConsumersTenantID), entratest.SignedWithPersonalAccountKey()),
		})
	})
}

func TestB2C(t *testing.T) {
	idp := entratest.NewServerAt(t, "https://contoso.b2clogin.com", entratest.WithB2C("contoso", "B2C_1_signupsignin", "B2C_1_profileedit"))
	tid, host := idp.TenantID(), "https://contoso.b2clogin.com"
	cases := append([]tenancyCase{
		accepts("a token of the configured user flow (tfp)"),
		accepts("a token naming the user flow in acr, in another case",
			entratest.WithoutClaim("tfp"), entratest.Claim("acr", "b2c_1_signupsignin")),
		accepts("a social account's token (an idp is no guest in B2C)", entratest.Claim("idp", "google.com")),
		rejects("another user flow's token", entra.ErrPolicy, entratest.Policy("B2C_1_profileedit")),
		rejects("a token naming no user flow", entra.ErrPolicy, entratest.WithoutClaim("tfp")),
		rejects("the issuer without its trailing slash", entra.ErrIssuer, entratest.IssuerClaim(host+"/"+tid+"/v2.0")),
		rejects("the tfp-style issuer", entra.ErrIssuer, entratest.IssuerClaim(host+"/tfp/"+tid+"/B2C_1_signupsignin/v2.0/")),
		rejects("the issuer naming the tenant by name", entra.ErrIssuer, entratest.IssuerClaim(host+"/contoso.onmicrosoft.com/v2.0/")),
		rejects("another B2C tenant's token", entra.ErrIssuer, entratest.FromTenant(partnerTenant)),
		rejects("a look-alike host", entra.ErrIssuer, entratest.IssuerClaim("https://contoso.b2clogin.com.evil.example/"+tid+"/v2.0/")),
		rejects("another tenant's b2clogin host", entra.ErrIssuer, entratest.IssuerClaim("https://fabrikam.b2clogin.com/"+tid+"/v2.0/")),
	}, appOnlyCases()...)
	t.Run("b2clogin.com with the tenant name", func(t *testing.T) {
		e := newTenancyEnv(t, idp,
			entra.WithAuthorityHost(host),
			entra.WithTenant("contoso.onmicrosoft.com"),
			entra.WithB2CPolicy("B2C_1_signupsignin"),
			entra.WithAudiences(idp.ClientID()))
		runCases(t, e, cases)
	})
	t.Run("b2clogin.com with the tenant ID", func(t *testing.T) {
		e := newTenancyEnv(t, idp,
			entra.WithAuthorityHost(host),
			entra.WithTenant(tid),
			entra.WithB2CPolicy("B2C_1_signupsignin"),
			entra.WithAudiences(idp.ClientID()))
		runCases(t, e, []tenancyCase{
			accepts("a token of the configured user flow"),
			rejects("another user flow's token", entra.ErrPolicy, entratest.Policy("B2C_1_profileedit")),
		})
	})
	t.Run("a custom domain", func(t *testing.T) {
		idp := entratest.NewServerAt(t, "https://login.contoso.com", entratest.WithB2C("contoso", "B2C_1_signupsignin"))
		e := newTenancyEnv(t, idp,
			entra.WithAuthorityHost("https://login.contoso.com"),
			entra.WithTenant("contoso.onmicrosoft.com"),
			entra.WithB2CPolicy("B2C_1_signupsignin"),
			entra.WithAudiences(idp.ClientID()))
		runCases(t, e, []tenancyCase{
			accepts("a token of the configured user flow"),
			rejects("the b2clogin.com issuer of the same tenant", entra.ErrIssuer, entratest.IssuerClaim(host+"/"+tid+"/v2.0/")),
		})
	})
}

func TestExternalID(t *testing.T) {
	const tid = entratest.DefaultTenantID
	idp := entratest.NewServerAt(t, "https://contoso.ciamlogin.com", entratest.WithIssuerBase("https://"+tid+".ciamlogin.com"))
	e := newTenancyEnv(t, idp,
		entra.WithAuthorityHost("https://contoso.ciamlogin.com"),
		entra.WithTenant(tid),
		entra.WithAudiences(idp.ClientID()))
	runCases(t, e, append([]tenancyCase{
		accepts("its own user's token"),
		rejects("the issuer on the sign-in host instead of the tenant's", entra.ErrIssuer, entratest.IssuerClaim("https://contoso.ciamlogin.com/"+tid+"/v2.0")),
		rejects("the public cloud's issuer of the tenant", entra.ErrIssuer, entratest.IssuerClaim(entra.PublicCloud+"/"+tid+"/v2.0")),
		rejects("another External ID tenant's token", entra.ErrIssuer,
			entratest.IssuerClaim("https://"+partnerTenant+".ciamlogin.com/"+partnerTenant+"/v2.0"), entratest.Tenant(partnerTenant)),
	}, appOnlyCases()...))
}

func TestNationalClouds(t *testing.T) {
	for _, cloud := range []string{entra.USGovernment, entra.China} {
		t.Run(cloud, func(t *testing.T) {
			idp := entratest.NewServerAt(t, cloud)
			tid := idp.TenantID()
			e := newTenancyEnv(t, idp,
				entra.WithAuthorityHost(cloud),
				entra.WithTenant(tid),
				entra.WithAudiences(idp.ClientID()))
			runCases(t, e, append([]tenancyCase{
				accepts("its own user's token"),
				rejects("the public cloud's issuer of the same tenant", entra.ErrIssuer, entratest.IssuerClaim(entra.PublicCloud+"/"+tid+"/v2.0")),
				rejects("a look-alike host", entra.ErrIssuer, entratest.IssuerClaim(cloud+".evil.example/"+tid+"/v2.0")),
				rejects("the issuer with a trailing slash", entra.ErrIssuer, entratest.IssuerClaim(idp.Issuer()+"/")),
				rejects("another tenant's token", entra.ErrIssuer, entratest.FromTenant(partnerTenant)),
			}, appOnlyCases()...))
		})
	}
}

func TestGuests(t *testing.T) {
	idp := entratest.NewServer(t)
	base := []entra.Option{entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID())}
	t.Run("denied by default", func(t *testing.T) {
		e := newTenancyEnv(t, idp, base...)
		runCases(t, e, []tenancyCase{
			forbids("a guest's token (acct 1, idp of their home tenant)", authzerr.ReasonGuest, entratest.Guest()),
			forbids("a guest recognised by idp alone", authzerr.ReasonGuest, entratest.Guest(), entratest.WithoutClaim("acct")),
			forbids("a guest recognised by acct alone", authzerr.ReasonGuest, entratest.Guest(), entratest.WithoutClaim("idp")),
			forbids("a personal account invited as a guest (idp live.com)", authzerr.ReasonGuest, entratest.Claim("idp", "live.com")),
			accepts("a member whose idp is the issuer", entratest.Claim("idp", idp.Issuer())),
			accepts("a member with acct 0", entratest.Claim("acct", 0)),
		})
		_, err := e.c.Get(withToken(idp.Issue(entratest.Guest())), "item-1")
		if msg := status.Convert(err).Message(); msg != entra.ErrGuest.Error() {
			t.Fatalf("message %q, want %q", msg, entra.ErrGuest.Error())
		}
	})
	t.Run("allowed with the option", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.WithAllowGuests())...)
		runCases(t, e, []tenancyCase{
			accepts("a guest's token", entratest.Guest()),
			forbids("a guest's token without the method's scope", authzerr.ReasonInsufficientScope, entratest.Guest(), entratest.Scopes("Items.Write")),
		})
	})
}

func TestAudiences(t *testing.T) {
	idp := entratest.NewServer(t)
	base := []entra.Option{entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID())}
	uri := idp.AppIDURI()
	t.Run("the client ID and the Application ID URI", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.WithAudiences(idp.ClientID(), uri))...)
		runCases(t, e, []tenancyCase{
			accepts("a token for the client ID"),
			accepts("a token for the Application ID URI", entratest.Audience(uri)),
			accepts("a token whose aud array lists the API", entratest.Claim("aud", []string{"00000003-0000-0000-c000-000000000000", uri})),
			rejects("the Application ID URI with a trailing slash", entra.ErrAudience, entratest.Audience(uri+"/")),
			rejects("the client ID in upper case", entra.ErrAudience, entratest.Audience(strings.ToUpper(idp.ClientID()))),
			rejects("a Microsoft Graph token", entra.ErrAudience, entratest.Audience("00000003-0000-0000-c000-000000000000")),
			rejects("an aud array without the API", entra.ErrAudience, entratest.Claim("aud", []string{"a", "b"})),
		})
	})
	t.Run("the Application ID URI with a trailing slash", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.WithAudiences(uri+"/"))...)
		runCases(t, e, []tenancyCase{
			accepts("a token for the URI with the slash", entratest.Audience(uri+"/")),
			rejects("a token for the URI without the slash", entra.ErrAudience, entratest.Audience(uri)),
			rejects("a token for the client ID", entra.ErrAudience),
		})
	})
}

func TestAppSpecificKeys(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithCustomSigningKey())
	base := []entra.Option{entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID())}
	t.Run("with app-specific keys", func(t *testing.T) {
		e := newTenancyEnv(t, idp, append(base, entra.WithAppSpecificKeys(idp.ClientID()))...)
		runCases(t, e, append([]tenancyCase{
			accepts("a token signed with the API's own key"),
			rejects("a token signed with a key nobody publishes", entra.ErrUnknownKey, entratest.SignedWithUnknownKey()),
			rejects("another tenant's token", entra.ErrIssuer, entratest.FromTenant(partnerTenant)),
		}, appOnlyCases()...))
	})
	t.Run("without app-specific keys", func(t *testing.T) {
		e := newTenancyEnv(t, idp, base...)
		runCases(t, e, []tenancyCase{
			rejects("a token signed with the API's own key", entra.ErrUnknownKey),
		})
	})
}

// fakeClock is a settable time source for the validator.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }

func TestUnavailableUntilKeysLoad(t *testing.T) {
	clk := newFakeClock(time.Now())
	idp := entratest.NewServer(t)
	idp.SetDown(true)
	e := newTenancyEnv(t, idp,
		entra.WithAuthorityHost(idp.Authority()),
		entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()),
		entra.WithClock(clk.now))
	tok := idp.Issue()
	get := func() error { return delegated(withToken(tok), e) }
	err := get()
	if status.Code(err) != codes.Unavailable || reason(err) != authzerr.ReasonKeysUnavailable {
		t.Fatalf("while the provider is down: %v, want Unavailable %s", err, authzerr.ReasonKeysUnavailable)
	}
	if _, err := e.c.GetInfo(context.Background()); err != nil {
		t.Fatalf("an anonymous method without a token needs no keys: %v", err)
	}
	idp.SetDown(false)
	clk.add(entra.DefaultRetryInterval)
	if err := get(); err != nil {
		t.Fatalf("after the provider came back: %v", err)
	}
	if f := idp.Fetches(); f.Discovery != 1 || f.JWKS != 1 || f.Failed != 1 {
		t.Fatalf("fetches %+v, want one failed attempt, then one discovery and one key set", f)
	}
}
