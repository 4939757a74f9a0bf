// Package entratest is a Microsoft Entra ID look-alike identity provider for
// tests and development, in the spirit of net/http/httptest.
//
// It serves, under an authority URL, the endpoints a resource server talks
// to, shaped like Entra's: the OpenID discovery documents
// ({authority}/{tenant}/v2.0/.well-known/openid-configuration, and v1's
// without v2.0), the key sets (RSA keys with use "sig" and a kid, no alg,
// as Entra publishes them), a token endpoint (client credentials,
// resource-owner password, authorization code + PKCE, on-behalf-of and
// device code grants, see [Provider.ApproveDeviceCode]) and the Azure
// SDK's instance discovery. It
// issues real RS256 access tokens with Entra's claim set, for users
// (delegated scopes in scp) and applications (app roles in roles), and, for
// negative tests, tokens that are wrong in one precise way: expired, signed
// by the wrong key, alg "none", HS256 keyed with the public key, …
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
// idp.ClientID(). The keys it signs with are generated for the process and
// are test keys: never trust this provider outside development and tests.
package entratest
