// Package gateway serves gRPC services over HTTP/JSON with grpc-gateway,
// through the very same authorization path as gRPC callers.
//
// The gateway never calls handlers directly: it reaches the services over a
// gRPC client connection, so the server's interceptors decide every REST
// call. The HTTP Authorization header is the only request header forwarded
// as metadata, so nothing else the caller sends can impersonate it; a
// Grpc-Timeout header only sets the call's deadline. grpc-gateway adds
// x-forwarded-for, the connection's peer address, and x-forwarded-host, the
// request's Host (which the caller chooses too). The caller's own
// X-Forwarded-For and X-Forwarded-Host headers are dropped, unless
// [WithTrustedProxy] says a proxy in front of the gateway sets them.
//
// The gateway forwards the Authorization header whole or refuses the
// request: more than one Authorization header, or a value with a byte gRPC
// metadata cannot carry (tab, control, non-ASCII), which grpc-gateway would
// drop silently, is answered 401 with error="invalid_request", on every
// route, anonymous ones included. A body past the limit ([WithMaxBodyBytes])
// is answered 413 and never reaches a service.
//
// Denials become RFC 6750 answers: 401 with a Bearer challenge (with
// error="invalid_token" and a description when a token was sent and failed,
// without an error code when none was sent), 403 with
// error="insufficient_scope" and the scopes that would do, whether a rule or
// a handler (interceptor.Deny, interceptor.RequireScope) refused the call.
// A step-up is a claims challenge in the shape Microsoft documents and
// azcore's bearer-token policy (and bearer.ResponseClaimsChallenge) reads:
// 401 with Bearer realm="…", authorization_uri="…" (both always sent, as
// required, empty when not configured), error="insufficient_claims" and
// claims="<standard base64 of the claims request>". A failed condition, or
// an authentication context the client cannot be challenged for, is 403
// with the status's message (the condition, or the context it needs).
// The challenge is assembled from the status's errdetails.ErrorInfo (the
// contract of package authzerr) and only from safe characters, so neither a
// token nor a message can inject a header.
package gateway
