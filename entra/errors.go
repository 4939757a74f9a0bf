package entra

import "net/http"

// Error is the type of the Err… values. [Validator.Validate] wraps exactly
// one of them, so callers can branch with errors.Is, show the caller its
// text (each says what failed without revealing anything about keys or
// configuration), and answer with its [Error.HTTPStatus].
type Error struct {
	msg    string
	status int
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus is the answer the failure calls for: 401 Unauthorized when
// the token is not valid, 403 Forbidden when it is but its caller is
// refused ([ErrGuest]), 503 Service Unavailable when the signing keys
// could not be loaded ([ErrKeysUnavailable]: the token was not judged; the
// caller may retry).
func (e *Error) HTTPStatus() int { return e.status }

func invalid(msg string) *Error { return &Error{msg: msg, status: http.StatusUnauthorized} }

// Validation errors.
var (
	ErrMalformed       = invalid("malformed token")
	ErrTooLarge        = invalid("token too large")
	ErrAlgorithm       = invalid("signing algorithm not allowed")
	ErrMissingKeyID    = invalid("token has no key ID")
	ErrUnknownKey      = invalid("signing key not found")
	ErrSignature       = invalid("invalid signature")
	ErrExpired         = invalid("token expired")
	ErrNotYetValid     = invalid("token not yet valid")
	ErrIssuer          = invalid("wrong issuer")
	ErrAudience        = invalid("wrong audience")
	ErrNotAccessToken  = invalid("not an access token for this API")
	ErrTenant          = invalid("tenant not allowed")
	ErrPolicy          = invalid("wrong user flow")
	ErrGuest           = &Error{msg: "guest users are not allowed", status: http.StatusForbidden}
	ErrKeysUnavailable = &Error{msg: "signing keys unavailable", status: http.StatusServiceUnavailable}
)
