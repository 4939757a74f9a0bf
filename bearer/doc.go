// Package bearer attaches Microsoft Entra ID access tokens to the calls a
// program makes to protected APIs: gRPC calls (as
// credentials.PerRPCCredentials) and HTTP requests (as an
// http.RoundTripper).
//
// A [Source] gets tokens for one API from a token credential of the Azure
// SDK (azidentity: client secret or certificate, managed identity,
// workload identity, Azure CLI, device code…) with [FromAzure], or from an
// oauth2.TokenSource with [FromOAuth2]. The scope names the API:
// "api://{API client ID}/.default" for an application acting as itself
// (client credentials), the delegated scopes ("api://{API client
// ID}/Items.Read") for a signed-in user. A Source caches its token and
// gets the next one before the current one expires (5 minutes ahead by
// default, [WithRefreshMargin]); however many calls need a new token at
// once, one request goes to the identity provider.
//
// A token is sent only over an encrypted connection (TLS, or any gRPC
// transport of privacy-and-integrity security level) or in plaintext to a
// loopback peer, checked on each call's real target: the gRPC connection's
// peer and authority (and the environment's HTTPS proxy, which a loopback
// peer may be), the HTTP request's URL. Anything else fails with
// [ErrInsecureTransport] before a token is fetched, unless the dangerous
// [InsecureAllowPlaintext] says otherwise. Over HTTP the token goes only
// to the origin of the request that started a redirect chain. Tokens are
// never logged nor put in errors.
//
// Step-up: an API whose operation needs a Conditional Access
// authentication context the token lacks answers a client that declared
// the capability cp1 ([WithCP1]) with a claims challenge. A Source of
// [FromAzure] or [FromOAuth2Func] answers it: its Transport sends a
// challenged REST request once more with a token obtained with the
// challenge's claims, when the body can be replayed; a gRPC caller reads
// the challenge with [ClaimsChallenge] and calls again with
// [ContextWithClaims] (or lets [Source.UnaryClientInterceptor] do it). The
// stepped-up token is cached apart from the plain one, keyed by its
// claims, and goes only where the plain one may.
//
// A service that calls another on behalf of its caller exchanges the
// caller's token with the on-behalf-of grant: [OnBehalfOf] keeps one
// Source per incoming token (keyed by its SHA-256, never the token
// itself), in a bounded cache whose entries end with their incoming
// token's expiry.
package bearer
