package entra

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
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
	// PreferredUsername is preferred_username (v2 tokens; v1 tokens carry
	// upn and unique_name instead, which [Claims.Decode] reads).
	PreferredUsername string
	// Version is ver: "1.0" or "2.0".
	Version string
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

	guest      bool
	clientID   string          // azp (v2) or appid (v1)
	idType     string          // idtyp: "app" or "user" when the optional claim is configured
	validUntil time.Time       // exp plus skew on this process's clock; zero for Claims made by hand
	keyID      string          // kid of the key that verified the token
	payload    []byte          // the token's decoded claims, for Decode
	token      Token           // the token this caller sent
	memo       *tokenmemo.Memo // shared by the copies of one validated token's Claims
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

// ValidUntil is when the token stops being valid: exp plus the
// validator's clock skew, on this process's clock (time.Now), even when
// the validator was given another one ([WithClock]). The interceptors end
// streams then. For Claims made by hand it is ExpiresAt.
func (c *Claims) ValidUntil() time.Time {
	if c.validUntil.IsZero() {
		return c.ExpiresAt
	}
	return c.validUntil
}

// IsGuest reports whether the user is a guest of the tenant: acct is 1, or
// idp names another identity provider than the issuer (the idp claim,
// which [Claims.Decode] reads, says who authenticated the user).
func (c *Claims) IsGuest() bool { return c.guest }

// ClientID returns the ID of the client application that requested the
// token: azp for v2 tokens, appid for v1 tokens.
func (c *Claims) ClientID() string { return c.clientID }

// IsAppOnly reports whether the token was issued to an application acting as
// itself (client credentials) rather than to a signed-in user: idtyp is
// "app", or, without idtyp, the token carries no delegated scopes.
func (c *Claims) IsAppOnly() bool {
	switch c.idType {
	case "app":
		return true
	case "user":
		return false
	}
	return c.Scopes.empty()
}

// HasScope reports whether scp lists scope (exact, case-sensitive).
func (c *Claims) HasScope(scope string) bool { return c.Scopes.Has(scope) }

// HasRole reports whether roles lists role (exact, case-sensitive).
func (c *Claims) HasRole(role string) bool { return c.Roles.Has(role) }

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
type Set struct {
	names []string
	// scp, when names is nil, is a scp claim as sent: its names are read
	// from it only when asked for, so that a validation that never asks
	// splits nothing.
	scp string
}

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
func scopeSet(scp string) Set { return Set{scp: scp} }

// list is the names of the set, in the order given, without duplicates.
func (s Set) list() []string {
	if s.scp == "" {
		return s.names
	}
	names := make([]string, 0, strings.Count(s.scp, " ")+1)
	for name := range strings.SplitSeq(s.scp, " ") {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// empty reports whether the set has no names.
func (s Set) empty() bool {
	return len(s.names) == 0 && strings.Trim(s.scp, " ") == ""
}

// Has reports whether name is in the set. Sets are small: a scan beats a map.
func (s Set) Has(name string) bool {
	if s.scp == "" || name == "" {
		return slices.Contains(s.names, name)
	}
	for rest := s.scp; ; {
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			return rest == name
		}
		if rest[:i] == name {
			return true
		}
		rest = rest[i+1:]
	}
}

// Names returns the names, sorted, in a new slice.
func (s Set) Names() []string {
	out := slices.Clone(s.list())
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

// claimsOf is the caller of a token whose claims tc are, which aud and the
// key kid made valid.
func claimsOf(tc *jwt.Claims, aud, kid string, payload []byte) *Claims {
	// The Claims and its memo are made in one allocation: the memo lives
	// as long as any copy of the Claims, and so does the original.
	both := new(struct {
		c Claims
		m tokenmemo.Memo
	})
	c := &both.c
	*c = Claims{
		Issuer:            tc.Iss,
		Audience:          aud,
		Subject:           tc.Sub,
		ObjectID:          tc.Oid,
		TenantID:          tc.Tid,
		Name:              tc.Name,
		PreferredUsername: tc.PreferredUsername,
		clientID:          cmp.Or(tc.Azp, tc.Appid),
		idType:            tc.Idtyp,
		Version:           tc.Ver,
		Policy:            tc.Policy(),
		guest:             tc.IsGuest(),
		Scopes:            scopeSet(tc.Scp),
		Roles:             NewSet(tc.Roles...),
		ExpiresAt:         tc.ExpiresAt,
		NotBefore:         tc.NotBefore,
		IssuedAt:          tc.IssuedAt,
		keyID:             kid,
		payload:           payload,
		memo:              &both.m,
	}
	return c
}
