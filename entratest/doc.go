// Package entratest is the test kit of the Microsoft Entra ID look-alike
// identity provider, in the spirit of net/http/httptest: it starts the
// development identity provider of package devidp on loopback for a test,
// and adds what only tests need.
//
// The provider serves, under an authority URL, the endpoints a resource
// server talks to, shaped like Entra's: discovery documents, key sets, a
// token endpoint with Entra's grants, sign-in pages and the Azure SDK's
// instance discovery (see [devidp.Provider]). It issues real RS256 access
// tokens with Entra's claim set, for users (delegated scopes in scp) and
// applications (app roles in roles), and, for negative tests, tokens that
// are wrong in one precise way: expired, signed by the wrong key
// ([SignedWithWrongKey], [SignedWithUnknownKey]), alg "none" ([AlgNone]),
// HS256 keyed with the public key ([HS256WithPublicKey]), with a header or
// claims no JSON map can hold ([HeaderJSON], [ClaimsJSON]), …
//
// Every tenancy of Entra ID can be played: a single tenant's v2 and v1
// tokens ([V1Token]), the multi-tenant metadata of organizations and common
// with the {tenantid} issuer template, other tenants' tokens ([FromTenant]),
// personal accounts ([ConsumersTenantID], [SignedWithPersonalAccountKey]),
// guests ([Guest]), Azure AD B2C user flows ([WithB2C], [Policy]), Entra
// External ID and other issuer hosts ([WithIssuerBase]), national clouds
// and custom domains on their real host names over TLS ([NewServerAt]),
// and APIs with a signing key of their own ([WithCustomSigningKey]). So can
// an identity provider in trouble: down ([Provider.SetDown]), slow
// ([Provider.SetDelay]) or answering garbage, huge or overfull key sets
// ([Provider.SetFault]), with every fetch counted ([Provider.Fetches]).
//
// A test starts one on loopback in one line:
//
//	idp := entratest.NewServer(t)
//	token := idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Read"))
//
// and points its validator at idp.Authority(), idp.TenantID() and
// idp.ClientID(). Its options ([Option], [User], [App]) are devidp's, so a
// test configures its provider as development mode configures the embedded
// one. The keys it signs with are generated for the process and are
// development keys: never trust this provider outside development and
// tests. Programs link devidp, never this package.
package entratest
