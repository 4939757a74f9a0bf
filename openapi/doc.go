// Package openapi serves the API's OpenAPI document and Swagger UI.
//
// The document is generated from the services' protos by
// protoc-gen-openapiv2 (the user's, typically embedded) and completed at
// serve time by
// [Document] from the runtime configuration and the access rules: an OAuth2
// authorization-code security scheme pointing at the tenant (or the
// development identity provider), the scopes the rules name, and on every
// operation the security requirement its rule implies. The proto rules
// remain the single source of truth; no scope is written twice.
//
// [Handler] serves the document at /openapi.json and Swagger UI at /docs/,
// from embedded assets (no CDN), signing in with authorization code + PKCE.
// The OAuth2 redirect page is /docs/oauth2-redirect.html: register
// http(s)://<host>/docs/oauth2-redirect.html as a single-page-application
// redirect URI of the Swagger UI app registration.
package openapi
