package entra

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/caller"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/tokenmemo"
)

// Claims is a validated access token's caller. Handlers read it with
// [FromContext]; they never parse tokens. A *Claims may be shared between
// requests: treat it as read-only.
type Claims struct {
	// Issuer is iss, the token service that issued the token.
	Issuer string
	// Audience is the aud value that matched the validator's audiences.
	Audience string
	// Subject is sub: a pairwise caller ID, unique per application.
	Subject string
	// ObjectID is oid: the caller's immutable ID across applications of the
	// tenant — the ID to key data on.
	ObjectID string
	// TenantID is tid: the tenant the caller signed in to.
	TenantID string
	// Name is name: the user's display name.
	Name string
	// PreferredUsername is preferred_username (v2 tokens).
	PreferredUsername string
	// UPN is upn (v1 tokens).
	UPN string
	// UniqueName is unique_name (v1 tokens).
	UniqueName string
	// AuthorizedParty is azp (v2 tokens): the client application's ID.
	AuthorizedParty string
	// AppID is appid (v1 tokens): the client application's ID.
	AppID string
	// IDType is idtyp: "app" or "user" when the optional claim is configured.
	IDType string
	// Version is ver: "1.0" or "2.0".
	Version string
	// IdentityProvider is idp: who authenticated the user when it was not
	// the issuing tenant (guests, personal accounts, B2C social logins).
	IdentityProvider string
	// Policy is the B2C user flow (tfp or acr claim), "" outside B2C.
	Policy string
	// Scopes is scp: the delegated permissions of a signed-in user.
	Scopes Set
	// Roles is roles: app roles, the application permissions of an app-only
	// token or the roles assigned to a user.
	Roles Set
	// ExpiresAt is exp.
	ExpiresAt time.Time
	// NotBefore is nbf, or the zero time when absent.
	NotBefore time.Time
	// IssuedAt is iat, or the zero time when absent.
	IssuedAt time.Time

	guest   bool
	keyID   string          // kid of the key that verified the token
	payload []byte          // the token's decoded claims, for Raw and Decode
	token   Token           // the token this caller sent
	memo    *tokenmemo.Memo // shared by the copies of one validated token's Claims
}

// Token returns the access token the caller sent, to call a downstream API
// on the caller's behalf. It is the caller's own: a token served from the
// validator's cache is still the one this request carried. The [Token]
// never shows itself in logs or output; [Token.Value] gives the string.
// Claims made by hand have none: the Token is zero.
func (c *Claims) Token() Token {
	if c == nil {
		return Token{}
	}
	return caller.WithExpiry(c.token, c.ExpiresAt)
}

// IsGuest reports whether the user is a guest of the tenant: acct is 1, or
// idp names another identity provider than the issuer.
func (c *Claims) IsGuest() bool { return c.guest }

// ClientID returns the ID of the client application that requested the
// token: azp for v2 tokens, appid for v1 tokens.
func (c *Claims) ClientID() string {
	if c.AuthorizedParty != "" {
		return c.AuthorizedParty
	}
	return c.AppID
}

// IsAppOnly reports whether the token was issued to an application acting as
// itself (client credentials) rather than to a signed-in user: idtyp is
// "app", or, without idtyp, the token carries no delegated scopes.
func (c *Claims) IsAppOnly() bool {
	switch c.IDType {
	case "app":
		return true
	case "user":
		return false
	}
	return c.Scopes.Len() == 0
}

// HasScope reports whether scp lists scope (exact, case-sensitive).
func (c *Claims) HasScope(scope string) bool { return c.Scopes.Has(scope) }

// HasRole reports whether roles lists role (exact, case-sensitive).
func (c *Claims) HasRole(role string) bool { return c.Roles.Has(role) }

// Raw returns every claim of the token, decoded afresh on each call, for
// claims this type has no field for: strings, float64 numbers, bools, nil,
// []any and map[string]any. Its names are the token's, exactly; it never
// disagrees with the fields of Claims, nor with [Claims.Decode].
func (c *Claims) Raw() map[string]any {
	m := make(map[string]any)
	_ = c.Decode(&m) // read by the strict reader already: cannot fail
	return m
}

// Decode decodes the token's claims into v, a pointer (to a struct, a map,
// …), for claims this type has no field for, and reports what does not
// fit. Names match exactly, case-sensitively: a field tagged
// `json:"xms_tdbr"` is filled from the claim "xms_tdbr" only, never from
// "XMS_TDBR" (unlike encoding/json, which folds case). A claim of the
// wrong type for its field is an error. Claims without a field are
// ignored. The rules are those of encoding/json/v2 (its struct tags,
// including `json:",case:ignore"` for a field that asks to fold).
func (c *Claims) Decode(v any) error {
	payload := c.payload
	if payload == nil {
		payload = []byte("{}") // Claims made by hand
	}
	if err := jsonv2.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("entra: decoding claims: %w", err)
	}
	return nil
}

// Set is an immutable set of names (scopes or roles).
type Set struct{ names []string }

// NewSet returns a set of the given names; duplicates and empty names are
// dropped.
func NewSet(names ...string) Set {
	var s Set
	for _, n := range names {
		if n != "" && !slices.Contains(s.names, n) {
			s.names = append(s.names, n)
		}
	}
	return s
}

// scopeSet is the set of the names of a scp claim. Entra separates them
// with U+0020 SPACE, and only with it: any other character, white space or
// not, is part of a name ("Nope\tItems.Write" is one name, granting
// nothing). Empty names (from doubled spaces) are dropped.
func scopeSet(scp string) Set {
	if scp == "" {
		return Set{}
	}
	s := Set{names: make([]string, 0, strings.Count(scp, " ")+1)}
	for name := range strings.SplitSeq(scp, " ") {
		if name != "" && !slices.Contains(s.names, name) {
			s.names = append(s.names, name)
		}
	}
	return s
}

// Has reports whether name is in the set. Sets are small: a scan beats a map.
func (s Set) Has(name string) bool { return slices.Contains(s.names, name) }

// Len is the number of names.
func (s Set) Len() int { return len(s.names) }

// Names returns the names, sorted, in a new slice.
func (s Set) Names() []string {
	out := slices.Clone(s.names)
	slices.Sort(out)
	return out
}

// String joins the sorted names with spaces, as in the scp claim.
func (s Set) String() string { return strings.Join(s.Names(), " ") }

// MarshalJSON encodes the sorted names as a JSON array.
func (s Set) MarshalJSON() ([]byte, error) {
	names := s.Names()
	if names == nil {
		names = []string{}
	}
	return jsonv2.Marshal(names)
}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return caller.NewContext(ctx, c)
}

// FromContext returns the validated caller that the interceptor stored in
// ctx, and whether there is one. Anonymous methods called without a token
// have none.
func FromContext(ctx context.Context) (*Claims, bool) {
	v, _ := caller.FromContext(ctx)
	c, ok := v.(*Claims)
	return c, ok && c != nil
}

// tokenClaims are the claims the validator reads, as the strict reader
// found them. Whether a claim is present is in seen.
type tokenClaims struct {
	Iss               string
	Aud               []string
	Exp               float64
	Nbf               float64
	Iat               float64
	Sub               string
	Oid               string
	Tid               string
	Name              string
	PreferredUsername string
	Upn               string
	UniqueName        string
	Azp               string
	Appid             string
	Idtyp             string
	Ver               string
	Scp               string
	Roles             []string
	Acct              float64
	Idp               string
	Tfp               string
	Acr               string

	seen          uint32    // the claimNames present, by bit
	exp, nbf, iat time.Time // converted Exp, Nbf, Iat
}

// claimNames are the claims the validator reads, each known by its index
// (bit) in seen. A member named like one of them but for case or folding
// makes the token malformed.
var claimNames = [...]string{
	"iss", "sub", "oid", "tid", "name", "preferred_username", "upn", "unique_name",
	"azp", "appid", "idtyp", "ver", "scp", "idp", "tfp", "acr",
	"exp", "nbf", "iat", "acct", "aud", "roles",
	// Claims of ID tokens, read only to refuse them.
	"nonce", "at_hash", "c_hash",
}

// Bits of claims that are checked for presence.
const (
	bitExp    = 1 << 16
	bitNbf    = 1 << 17
	bitIat    = 1 << 18
	bitAcct   = 1 << 19
	bitNonce  = 1 << 22
	bitAtHash = 1 << 23
	bitCHash  = 1 << 24
)

func (tc *tokenClaims) has(bit uint32) bool { return tc.seen&bit != 0 }

// isGuest: acct 1 marks a guest; so does an idp other than the issuer.
func (tc *tokenClaims) isGuest() bool {
	return (tc.has(bitAcct) && tc.Acct == 1) || (tc.Idp != "" && tc.Idp != tc.Iss)
}

// policy is the B2C user flow the token came through.
func (tc *tokenClaims) policy() string {
	if tc.Tfp != "" {
		return tc.Tfp
	}
	return tc.Acr
}

// numericDate converts a JWT NumericDate, seconds since the epoch,
// possibly fractional; ok is false when it is out of range.
func numericDate(f float64, present bool) (t time.Time, ok bool) {
	if !present {
		return time.Time{}, true
	}
	if f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// parseClaims reads a verified payload with the strict reader, in one
// pass. Its strings share the payload's memory, which is never written
// (see verified.payload).
func parseClaims(payload []byte) (*tokenClaims, error) {
	var tc tokenClaims
	if err := readObject(stringOf(payload), tc.set); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	var ok [3]bool
	tc.exp, ok[0] = numericDate(tc.Exp, tc.has(bitExp))
	tc.nbf, ok[1] = numericDate(tc.Nbf, tc.has(bitNbf))
	tc.iat, ok[2] = numericDate(tc.Iat, tc.has(bitIat))
	if ok != [3]bool{true, true, true} {
		return nil, fmt.Errorf("%w: a time claim is out of range", ErrMalformed)
	}
	return &tc, nil
}

func (tc *tokenClaims) claims(aud, kid string, payload []byte) *Claims {
	c := &Claims{
		Issuer:            tc.Iss,
		Audience:          aud,
		Subject:           tc.Sub,
		ObjectID:          tc.Oid,
		TenantID:          tc.Tid,
		Name:              tc.Name,
		PreferredUsername: tc.PreferredUsername,
		UPN:               tc.Upn,
		UniqueName:        tc.UniqueName,
		AuthorizedParty:   tc.Azp,
		AppID:             tc.Appid,
		IDType:            tc.Idtyp,
		Version:           tc.Ver,
		IdentityProvider:  tc.Idp,
		Policy:            tc.policy(),
		guest:             tc.isGuest(),
		Scopes:            scopeSet(tc.Scp),
		Roles:             NewSet(tc.Roles...),
		ExpiresAt:         tc.exp,
		NotBefore:         tc.nbf,
		IssuedAt:          tc.iat,
		keyID:             kid,
		payload:           payload,
		memo:              new(tokenmemo.Memo),
	}
	return c
}

// claimIndex is the index of name in claimNames, or -1.
func claimIndex(name string) int {
	switch name {
	case "iss":
		return 0
	case "sub":
		return 1
	case "oid":
		return 2
	case "tid":
		return 3
	case "name":
		return 4
	case "preferred_username":
		return 5
	case "upn":
		return 6
	case "unique_name":
		return 7
	case "azp":
		return 8
	case "appid":
		return 9
	case "idtyp":
		return 10
	case "ver":
		return 11
	case "scp":
		return 12
	case "idp":
		return 13
	case "tfp":
		return 14
	case "acr":
		return 15
	case "exp":
		return 16
	case "nbf":
		return 17
	case "iat":
		return 18
	case "acct":
		return 19
	case "aud":
		return 20
	case "roles":
		return 21
	case "nonce":
		return 22
	case "at_hash":
		return 23
	case "c_hash":
		return 24
	}
	return -1
}

// set reads one member of the claims, for readObject: a claim the
// validator reads must have its type and be given once; any other member
// must not be named like one but for case or folding.
func (tc *tokenClaims) set(name, raw string) (known bool, err error) {
	i := claimIndex(name)
	if i < 0 {
		if real, ok := lookalike(name, claimNames[:]); ok {
			return false, fmt.Errorf("claim %s is %q but for case or folding", quoteShort(name), real)
		}
		return false, nil
	}
	bit := uint32(1) << i
	if tc.seen&bit != 0 {
		return true, fmt.Errorf("claim %q is given twice", name)
	}
	tc.seen |= bit
	str := [...]*string{&tc.Iss, &tc.Sub, &tc.Oid, &tc.Tid, &tc.Name, &tc.PreferredUsername, &tc.Upn, &tc.UniqueName,
		&tc.Azp, &tc.Appid, &tc.Idtyp, &tc.Ver, &tc.Scp, &tc.Idp, &tc.Tfp, &tc.Acr}
	num := [...]*float64{&tc.Exp, &tc.Nbf, &tc.Iat, &tc.Acct}
	ok := true
	switch {
	case i < len(str):
		*str[i], ok = stringValue(raw)
		if !ok {
			return true, fmt.Errorf("claim %q is not a string", name)
		}
	case i < len(str)+len(num):
		if *num[i-len(str)], ok = numberValue(raw); !ok {
			return true, fmt.Errorf("claim %q is not a number", name)
		}
	case name == "aud":
		if one, isString := stringValue(raw); isString {
			tc.Aud = []string{one}
		} else if tc.Aud, ok = stringsValue(raw); !ok {
			return true, errors.New(`claim "aud" is neither a string nor an array of strings`)
		}
	case name == "roles":
		if tc.Roles, ok = stringsValue(raw); !ok {
			return true, errors.New(`claim "roles" is not an array of strings`)
		}
	}
	// The ID token markers (nonce, at_hash, c_hash) count by presence.
	return true, nil
}
