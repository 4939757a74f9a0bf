// Package entra validates Microsoft Entra ID (Azure AD) access tokens for an
// API: single-tenant (v1 and v2 tokens), multi-tenant with an allow-list,
// personal accounts, Azure AD B2C user flows and Entra External ID.
//
// A [Validator], built by [NewValidator] from functional options checked at
// construction, fetches the tenant's discovery document and signing keys
// (refreshed in the background, on an unknown key at most once per
// interval, the last good set kept on failure), or takes them from a
// [KeySet] ([WithKeySet], [NewStaticKeySet]: no HTTP, for tests and
// air-gapped deployments), and checks each token with
// [Validator.Validate]: one strict reading of every byte (canonical
// base64url, exact and unique member names), an RSA signature by a
// published key, issuer and tenant, audience, time window, and that the
// token is an access token. The caller comes back as [Claims]; handlers
// read it with [FromContext], decode extra claims with [Claims.Decode] and
// pass the caller's token on with [Claims.Token], which never shows itself
// in logs; [Claims.ValidUntil] says when the token stops being valid.
// Errors wrap one of the Err… values, each an [*Error] that knows the HTTP
// status it calls for.
//
// Development uses the Entra-shaped identity provider of package devidp,
// and tests its test kit entratest, instead of Microsoft's endpoints.
package entra
