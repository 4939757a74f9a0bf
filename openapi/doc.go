// Package openapi serves the API's OpenAPI document and Swagger UI.
//
// The document is generated from the services' protos by
// protoc-gen-openapiv2 (Swagger 2.0, the user's, typically embedded) and
// completed at serve time by [Document] from the runtime configuration and
// the access rules: an OAuth2 authorization-code security scheme pointing at
// the tenant (or the development identity provider), the scopes the rules
// name, and on every operation the security requirement its rule implies
// and the 401 and 403 answers the server gives. The proto rules remain the
// single source of truth; no scope is written twice. [Document] then
// converts the result to OpenAPI 3.1 (with kin-openapi's openapi2conv and
// openapi3conv), the version FastAPI serves; the 2.0 form stays available
// for older tools.
//
// How each rule reads in the document:
//
//   - anonymous: security [{}, {entra: []}], the token optional (Swagger UI
//     sends a signed-in user's token, so the method sees its caller); 401
//     for a token that was sent and is invalid.
//   - authenticated: [{entra: []}], any token of the API; 401 and 403.
//   - scopes: one requirement with all of them, or one requirement each
//     when any will do; 401 and 403.
//   - roles (alone, or as the alternative to scopes): [{entra: []}], since
//     an OAuth2 requirement can name scopes only; the roles are in
//     x-azureauth-roles and the description.
//   - no rule: [{entra: []}], x-azureauth-denied, 403 only.
//
// What a rule adds to who may call is stated beside it:
//
//   - a condition: in x-azureauth-condition (its CEL source) and a sentence
//     of the description; a 403 when it does not hold (an anonymous rule
//     with a condition answers 403 too).
//   - authentication contexts: in x-azureauth-auth-contexts and the
//     description; the 401 is also the claims challenge (WWW-Authenticate
//     error="insufficient_claims" with the claims to ask for, base64), and
//     the 403 also the refusal of a client without cp1 or an app-only token.
//   - shadow rules are left out: they never decide, so an operation reads
//     exactly as its enforced rule. Their decisions are in the metrics.
//
// Every rule is also in x-azureauth-rule, which Swagger UI shows. The
// documents state no scheme or host: Swagger UI calls the API over the
// scheme and host it was loaded from (https on an https site).
//
// [Handler] serves the OpenAPI 3.1 document at /openapi.json, the Swagger
// 2.0 one at /swagger.json and Swagger UI at /docs/, from embedded assets
// (no CDN), signing in with authorization code + PKCE. The OAuth2 redirect
// page is /docs/oauth2-redirect.html: register
// http(s)://<host>/docs/oauth2-redirect.html as a single-page-application
// redirect URI of the Swagger UI app registration.
package openapi
