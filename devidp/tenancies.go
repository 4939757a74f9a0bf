package devidp

import "regexp"

// ConsumersTenantID is the tenant of personal Microsoft accounts (MSA):
// the tid of their tokens, and the tenant in the issuer of the key that
// signs them.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// tenantTemplate is what multi-tenant metadata puts where the tenant goes.
const tenantTemplate = "{tenantid}"

// guestHomeTenantID is the home tenant of the guest users [Guest] makes.
const guestHomeTenantID = "5c3a6e1d-2b4f-4e8a-9c7d-0f1e2d3c4b5a"

var (
	b2cNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	b2cPolicyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
)

// WithIssuerBase sets what v2 issuers start with (scheme://host[/path]):
// tokens and discovery documents name {base}/{tenant}/v2.0. It is the
// authority by default, as in the public cloud, the national clouds and
// B2C. Microsoft Entra External ID is the exception: its metadata is served
// on https://{subdomain}.ciamlogin.com but its issuer is
// https://{tenant-id}.ciamlogin.com/{tenant-id}/v2.0, so an External ID
// look-alike uses WithIssuerBase("https://" + tenantID + ".ciamlogin.com").
func WithIssuerBase(base string) Option { return func(c *config) { c.issuerBase = base } }

// WithV1IssuerBase sets what v1 issuers start with: v1 tokens and the v1
// discovery document name {base}/{tenant}/. Entra's is
// https://sts.windows.net; the default, {authority}/sts, keeps the v1
// issuers of two providers apart. No request is ever made to it.
func WithV1IssuerBase(base string) Option { return func(c *config) { c.v1IssuerBase = base } }

// WithB2C makes the provider an Azure AD B2C tenant: tenantName is the
// part before .onmicrosoft.com, policies the user flows (at least one),
// such as "B2C_1_signupsignin". Each user flow has its discovery document
// and key set at {authority}/{tenantName}.onmicrosoft.com/{policy}/v2.0/…
// (and under the tenant ID), with the issuer {issuer base}/{tenant ID}/v2.0/
// and its trailing slash. Its tokens are B2C's: tfp names the user flow
// (the first unless [Policy]), ver is "1.0", and there is no tid. For the
// b2clogin.com host or a custom domain, serve it there (in tests,
// entratest.NewServerAt does).
func WithB2C(tenantName string, policies ...string) Option {
	return func(c *config) {
		c.b2cName = tenantName
		c.b2cPolicies = append([]string{}, policies...)
	}
}

// WithCustomSigningKey gives the protected API a signing key of its own, as
// Entra does for applications that use claims mapping: the API's tokens are
// signed with it, and only the key set named by the discovery document
// fetched with ?appid={client ID} publishes it (with the tenant's keys).
// Validators that do not ask for app-specific keys find no key for those
// tokens.
func WithCustomSigningKey() Option { return func(c *config) { c.customKey = true } }

// FromTenant issues the token as another tenant's token service would: tid
// is tenantID and iss that tenant's issuer (v2, v1 with [V1Token], or B2C's,
// whose tokens carry no tid). Multi-tenant APIs see such tokens from every
// tenant whose users sign in. [Tenant] changes tid alone.
func FromTenant(tenantID string) TokenOption { return func(t *tokenConfig) { t.fromTenant = tenantID } }

// V1Token makes a v1.0 access token, as Entra issues to APIs whose app
// registration leaves requestedAccessTokenVersion at null or 1: ver "1.0",
// iss the v1 issuer ([Provider.V1Issuer]), aud the Application ID URI
// unless [Audience], appid and appidacr instead of azp and azpacr, and upn
// and unique_name instead of preferred_username.
func V1Token() TokenOption { return func(t *tokenConfig) { t.v1 = true } }

// Policy sets the B2C user flow the token names in tfp; a B2C provider's
// first user flow by default. Older B2C policies name it in acr instead:
// Policy(p), WithoutClaim("tfp"), Claim("acr", p).
func Policy(name string) TokenOption { return func(t *tokenConfig) { t.policy = name } }

// Guest makes the user a guest of the tenant (B2B collaboration): acct is 1
// and idp the issuer of the user's home tenant, another tenant than the
// token's. Like [Claim], it applies in order with Claim and [WithoutClaim]:
// Guest(), WithoutClaim("acct") makes a guest recognised by idp alone.
func Guest() TokenOption {
	return func(t *tokenConfig) {
		t.claimEdits = append(t.claimEdits, func(c map[string]any) {
			c["acct"], c["idp"] = 1, "https://sts.windows.net/"+guestHomeTenantID+"/"
		})
	}
}

// SignedWithPersonalAccountKey signs with the key of personal Microsoft
// accounts, which the common and consumers key sets publish with the
// issuer of [ConsumersTenantID]. With FromTenant(ConsumersTenantID) it
// makes a personal account's token; on an organization's token it is the
// mix-up that signing-key issuer validation refuses.
func SignedWithPersonalAccountKey() TokenOption {
	return func(t *tokenConfig) { t.personal = true }
}
