package interceptor

import (
	"errors"
	"strings"
)

// maxAuthorizationBytes bounds the authorization value scanned here; the
// validator applies its own, smaller, token limit.
const maxAuthorizationBytes = 64 << 10

var (
	errNoToken        = errors.New("missing bearer token")
	errManyTokens     = errors.New("more than one authorization value")
	errScheme         = errors.New("authorization scheme must be Bearer")
	errEmptyToken     = errors.New("empty bearer token")
	errTokenSyntax    = errors.New("bearer token has characters outside the RFC 6750 token syntax")
	errHeaderTooLarge = errors.New("authorization value too large")
)

// bearerToken extracts the token from the values of the authorization
// metadata: exactly one value, "Bearer" (any case), one or more spaces, and
// a token in RFC 6750 b64token syntax.
func bearerToken(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errManyTokens
	}
	v := values[0]
	if len(v) > maxAuthorizationBytes {
		return "", errHeaderTooLarge
	}
	scheme, token, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if strings.TrimSpace(v) == "" {
			return "", errNoToken
		}
		return "", errScheme
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return "", errEmptyToken
	}
	if !isB64Token(token) {
		return "", errTokenSyntax
	}
	return token, nil
}

// isB64Token reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
// / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s) && b64TokenChar[s[i]]; i++ {
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64TokenChar holds the bytes of b64token before its "=" padding: one
// lookup per byte of a token of a few KB, on every call.
var b64TokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()
