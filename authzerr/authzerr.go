// Package authzerr is the error contract of a denial: the
// errdetails.ErrorInfo every status refused by package interceptor carries,
// whether the interceptor refused the call or a handler did (interceptor.Deny,
// interceptor.RequireScope, interceptor.RequireRole).
//
// Callers branch on [Reason…] constants, never on messages; package gateway
// reads the same contract to answer REST calls with RFC 6750 challenges. The
// package holds only names and a reader, so that every side of the contract
// can import it without importing the others.
package authzerr

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the Domain of the errdetails.ErrorInfo of every denial.
const Domain = "grpc-azure-auth"

// Reasons, the Reason of the errdetails.ErrorInfo of a denial, each with the
// gRPC code it comes with.
const (
	// ReasonTokenMissing: no usable bearer token (Unauthenticated; RFC 6750
	// wants no error code in the challenge).
	ReasonTokenMissing = "TOKEN_MISSING"
	// ReasonTokenInvalid: a token was sent and failed validation, or the
	// authorization value could not be read (Unauthenticated).
	ReasonTokenInvalid = "TOKEN_INVALID"
	// ReasonInvalidRequest: the request's credentials cannot be read as
	// sent: more than one authorization value, or an HTTP Authorization
	// header with bytes metadata cannot carry (Unauthenticated; RFC 6750
	// invalid_request).
	ReasonInvalidRequest = "INVALID_REQUEST"
	// ReasonTokenExpired: the token's exp has passed, at the start of a call
	// or while its stream ran (Unauthenticated).
	ReasonTokenExpired = "TOKEN_EXPIRED"
	// ReasonKeysUnavailable: the identity provider's keys could not be
	// loaded (Unavailable); the caller may retry.
	ReasonKeysUnavailable = "KEYS_UNAVAILABLE"
	// ReasonInsufficientScope: a valid caller that is not allowed
	// (PermissionDenied): its token lacks the scope or role a rule requires
	// ([MetadataScopes] and [MetadataRoles] name what would do), or a handler
	// refused it for a reason of its own, such as "only the item's owner may
	// delete it" (the status message says why).
	ReasonInsufficientScope = "INSUFFICIENT_SCOPE"
	// ReasonNoRule: the method has no access rule, so nobody may call it
	// (PermissionDenied).
	ReasonNoRule = "NO_RULE"
	// ReasonGuest: a valid token of a guest user, and guests are not allowed
	// (PermissionDenied).
	ReasonGuest = "GUEST_NOT_ALLOWED"
	// ReasonConditionFailed: the rule's condition did not hold for the
	// request, or could not be evaluated (PermissionDenied).
	ReasonConditionFailed = "CONDITION_FAILED"
	// ReasonAuthContextRequired: a user's token lacks an authentication
	// context the rule requires and its client cannot answer a claims
	// challenge, or the token is app-only ([MetadataAuthContexts] names
	// what is missing; PermissionDenied).
	ReasonAuthContextRequired = "AUTH_CONTEXT_REQUIRED"
	// ReasonInsufficientClaims: a claims challenge (Unauthenticated): the
	// user's token lacks an authentication context the rule requires and
	// its client declared it can answer a challenge (xms_cc cp1). The
	// metadata's [MetadataClaims] holds the claims to ask the identity
	// provider for; a client asks for a new token with them and calls
	// again (bearer.ClaimsChallenge reads it). Over REST it is a 401 with
	// WWW-Authenticate error="insufficient_claims" and the same claims.
	ReasonInsufficientClaims = "INSUFFICIENT_CLAIMS"
)

// Reasons returns every Reason… constant, in a new slice: the bounded set
// a denial's reason is drawn from, for metric labels and documentation.
func Reasons() []string {
	return []string{
		ReasonTokenMissing, ReasonTokenInvalid, ReasonInvalidRequest, ReasonTokenExpired,
		ReasonKeysUnavailable, ReasonInsufficientScope, ReasonNoRule, ReasonGuest,
		ReasonConditionFailed, ReasonAuthContextRequired, ReasonInsufficientClaims,
	}
}

// Metadata keys of the ErrorInfo of an [ReasonInsufficientScope] denial.
const (
	MetadataScopes = "scopes" // space-separated scopes that would satisfy the rule
	MetadataRoles  = "roles"  // space-separated roles that would satisfy the rule
)

// Metadata keys of the ErrorInfo of a step-up denial.
const (
	// MetadataAuthContexts: space-separated authentication contexts the
	// token lacks ([ReasonAuthContextRequired], [ReasonInsufficientClaims]).
	MetadataAuthContexts = "auth_contexts"
	// MetadataClaims: the claims request to send to the identity provider
	// with the next token request ([ReasonInsufficientClaims]), JSON in
	// standard base64 (padded), as in the claims parameter of a
	// WWW-Authenticate challenge, such as the encoding of
	// {"access_token":{"acrs":{"essential":true,"value":"c1"}}}.
	MetadataClaims = "claims"
)

// New returns the status error of a denial: code and msg, with an
// ErrorInfo of [Domain], reason and metadata (nil for none). Package
// interceptor and package gateway build every denial with it; handlers use
// interceptor.Deny and its siblings instead.
func New(code codes.Code, reason, msg string, metadata map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: metadata})
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// FromStatus returns the ErrorInfo of st when st is a denial (an ErrorInfo
// of [Domain] among its details), and nil otherwise.
func FromStatus(st *status.Status) *errdetails.ErrorInfo {
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok && i.GetDomain() == Domain {
			info = i
		}
	}
	return info
}

// FromError returns the ErrorInfo of err when err is (or wraps) the status
// of a denial, and nil otherwise. Its getters are nil-safe:
// FromError(err).GetReason() is "" for any other error.
func FromError(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return nil
	}
	return FromStatus(st)
}
