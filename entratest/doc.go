// Package entratest is a Microsoft Entra ID look-alike identity provider for
// tests and development, in the spirit of net/http/httptest.
//
// It serves, under an authority URL, the endpoints a resource server talks
// to, shaped like Entra's v2 endpoints: the OpenID discovery document
// ({authority}/{tenant}/v2.0/.well-known/openid-configuration), the key set
// (RSA keys with use "sig" and a kid, no alg, as Entra publishes them) and a
// token endpoint (client credentials and resource-owner password grants). It
// issues real RS256 access tokens with Entra's claim set, for users
// (delegated scopes in scp) and applications (app roles in roles), and, for
// negative tests, tokens that are wrong in one precise way: expired, signed
// by the wrong key, alg "none", HS256 keyed with the public key, …
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
