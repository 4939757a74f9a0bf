package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
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
	keyID   string // kid of the key that verified the token
	payload []byte // the token's decoded claims, for Raw
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
// claims this type has no field for.
func (c *Claims) Raw() map[string]any {
	m := make(map[string]any)
	_ = json.Unmarshal(c.payload, &m) // validated as a JSON object already
	return m
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

// scopeSet is the set of the space-separated names of a scp claim.
func scopeSet(scp string) Set {
	if scp == "" {
		return Set{}
	}
	s := Set{names: make([]string, 0, strings.Count(scp, " ")+1)}
	for name := range strings.FieldsSeq(scp) {
		if !slices.Contains(s.names, name) {
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

type claimsKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the validated caller that the interceptor stored in
// ctx, and whether there is one. Anonymous methods called without a token
// have none.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// tokenClaims is the JSON shape of the claims we read. Decoding fails on a
// claim of the wrong type, and the token with it.
type tokenClaims struct {
	Iss               string   `json:"iss"`
	Aud               audience `json:"aud"`
	Exp               *float64 `json:"exp"`
	Nbf               *float64 `json:"nbf"`
	Iat               *float64 `json:"iat"`
	Sub               string   `json:"sub"`
	Oid               string   `json:"oid"`
	Tid               string   `json:"tid"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Upn               string   `json:"upn"`
	UniqueName        string   `json:"unique_name"`
	Azp               string   `json:"azp"`
	Appid             string   `json:"appid"`
	Idtyp             string   `json:"idtyp"`
	Ver               string   `json:"ver"`
	Scp               string   `json:"scp"`
	Roles             []string `json:"roles"`
	Acct              *float64 `json:"acct"`
	Idp               string   `json:"idp"`
	Tfp               string   `json:"tfp"`
	Acr               string   `json:"acr"`

	exp, nbf, iat time.Time // converted Exp, Nbf, Iat
}

// isGuest: acct 1 marks a guest; so does an idp other than the issuer.
func (tc *tokenClaims) isGuest() bool {
	return (tc.Acct != nil && *tc.Acct == 1) || (tc.Idp != "" && tc.Idp != tc.Iss)
}

// policy is the B2C user flow the token came through.
func (tc *tokenClaims) policy() string {
	if tc.Tfp != "" {
		return tc.Tfp
	}
	return tc.Acr
}

// audience is aud: a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// numericDate converts a JWT NumericDate, seconds since the epoch,
// possibly fractional; ok is false when it is out of range.
func numericDate(f *float64) (t time.Time, ok bool) {
	if f == nil {
		return time.Time{}, true
	}
	if *f < 0 || *f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(*f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// parseClaims decodes a verified payload: in one pass when the lean reader
// can (Entra's tokens), else with encoding/json, which decides alike. The
// lean reader's strings share the payload's memory, which is never
// written (see verified.payload).
func parseClaims(payload []byte) (*tokenClaims, error) {
	var tc tokenClaims
	if !tc.decodeLean(stringOf(payload)) {
		tc = tokenClaims{}
		if err := json.Unmarshal(payload, &tc); err != nil {
			return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
		}
	}
	var ok [3]bool
	tc.exp, ok[0] = numericDate(tc.Exp)
	tc.nbf, ok[1] = numericDate(tc.Nbf)
	tc.iat, ok[2] = numericDate(tc.Iat)
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
	}
	return c
}

// setLean sets the claim named key from its raw JSON value and returns the
// claim's bit, for duplicates; bit 0 means tokenClaims has no such claim.
// ok is false when encoding/json must decide the value.
func (tc *tokenClaims) setLean(key, raw string) (bit uint32, ok bool) {
	var (
		str *string
		num **float64
	)
	switch key {
	case "iss":
		bit, str = 1<<0, &tc.Iss
	case "sub":
		bit, str = 1<<1, &tc.Sub
	case "oid":
		bit, str = 1<<2, &tc.Oid
	case "tid":
		bit, str = 1<<3, &tc.Tid
	case "name":
		bit, str = 1<<4, &tc.Name
	case "preferred_username":
		bit, str = 1<<5, &tc.PreferredUsername
	case "upn":
		bit, str = 1<<6, &tc.Upn
	case "unique_name":
		bit, str = 1<<7, &tc.UniqueName
	case "azp":
		bit, str = 1<<8, &tc.Azp
	case "appid":
		bit, str = 1<<9, &tc.Appid
	case "idtyp":
		bit, str = 1<<10, &tc.Idtyp
	case "ver":
		bit, str = 1<<11, &tc.Ver
	case "scp":
		bit, str = 1<<12, &tc.Scp
	case "idp":
		bit, str = 1<<13, &tc.Idp
	case "tfp":
		bit, str = 1<<14, &tc.Tfp
	case "acr":
		bit, str = 1<<15, &tc.Acr
	case "exp":
		bit, num = 1<<16, &tc.Exp
	case "nbf":
		bit, num = 1<<17, &tc.Nbf
	case "iat":
		bit, num = 1<<18, &tc.Iat
	case "acct":
		bit, num = 1<<19, &tc.Acct
	case "aud":
		if one, ok := plainString(raw); ok {
			tc.Aud = audience{one}
			return 1 << 20, true
		}
		tc.Aud, ok = plainStrings(raw)
		return 1 << 20, ok
	case "roles":
		tc.Roles, ok = plainStrings(raw)
		return 1 << 21, ok
	default:
		return 0, true
	}
	if str != nil {
		*str, ok = plainString(raw)
	} else {
		*num, ok = number(raw)
	}
	return bit, ok
}

// decodeLean decodes the claims with the lean JSON reader and reports
// whether it could; when it could not, tc is partly set and encoding/json
// must decide. It gives up on a key that encoding/json would match, case
// insensitively, to a claim we read ("ISS" sets Iss there), and on a
// claim given twice (the last wins there).
func (tc *tokenClaims) decodeLean(s string) bool {
	var seen uint32
	return members(s, func(key, raw string) bool {
		bit, ok := tc.setLean(key, raw)
		if bit == 0 {
			// Keys are ASCII: encoding/json's folding is ToLower here.
			if lower := strings.ToLower(key); lower != key {
				var scratch tokenClaims
				bit, _ = scratch.setLean(lower, "")
			}
			return bit == 0
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
}
