package entra

import "errors"

// Validation errors. [Validator.Validate] wraps exactly one of them, so
// callers can branch with errors.Is and show the caller its text: each says
// what failed without revealing anything about keys or configuration.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrTooLarge        = errors.New("token too large")
	ErrAlgorithm       = errors.New("signing algorithm not allowed")
	ErrMissingKeyID    = errors.New("token has no key ID")
	ErrUnknownKey      = errors.New("signing key not found")
	ErrSignature       = errors.New("invalid signature")
	ErrExpired         = errors.New("token expired")
	ErrNotYetValid     = errors.New("token not yet valid")
	ErrIssuer          = errors.New("wrong issuer")
	ErrAudience        = errors.New("wrong audience")
	ErrNotAccessToken  = errors.New("not an access token for this API")
	ErrTenant          = errors.New("tenant not allowed")
	ErrPolicy          = errors.New("wrong user flow")
	ErrGuest           = errors.New("guest users are not allowed")
	ErrKeysUnavailable = errors.New("signing keys unavailable")
)
