// Package devidp is a development identity provider shaped like Microsoft
// Entra ID: what the serving kit's development mode serves (see
// server.DevIDPPath), and what the test kit entratest builds on.
//
// A [Provider] is an http.Handler that serves, under an authority URL, the
// endpoints resource servers and client libraries talk to, shaped like
// Entra's: the OpenID discovery documents
// ({authority}/{tenant}/v2.0/.well-known/openid-configuration, and v1's
// without v2.0), the key sets (RSA keys with use "sig" and a kid, no alg,
// as Entra publishes them), a token endpoint (client credentials,
// resource-owner password, authorization code + PKCE, on-behalf-of and
// device code grants, see [Provider.ApproveDeviceCode]), the sign-in and
// device-login pages, and the Azure SDK's instance discovery. It issues
// real RS256 access tokens with Entra's claim set ([Provider.Issue]), for
// users (delegated scopes in scp) and applications (app roles in roles).
// The token endpoint honours the claims request parameter of a step-up:
// the authentication contexts it asks for appear in a user's acrs (the
// development user completes the step-up; app-only tokens never carry
// acrs), the client capabilities in xms_cc ([AuthContexts],
// [ClientCapabilities]); a malformed one is invalid_request.
//
// Entra's tenancies can be played: a single tenant's v2 and v1 tokens
// ([V1Token]), the multi-tenant metadata of organizations and common with
// the {tenantid} issuer template, other tenants' tokens ([FromTenant]),
// personal accounts ([ConsumersTenantID], [SignedWithPersonalAccountKey]),
// guests ([Guest]), Azure AD B2C user flows ([WithB2C], [Policy]), Entra
// External ID and other issuer hosts ([WithIssuerBase]), and APIs with a
// signing key of their own ([WithCustomSigningKey]).
//
// The package holds no test helpers: tests start a provider on loopback
// with entratest.NewServer, which adds outages, faults, fetch counts and
// tokens that are wrong in one precise way. The keys a provider signs with
// are development keys, generated for the process: never trust this
// provider outside development and tests.
package devidp
