package jwt

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Claims are the claims the validator reads, as the strict reader found
// them. Whether a claim is present is in seen: see [Claims.Has].
type Claims struct {
	Iss string
	// AudString is aud when it is one string; Aud is nil then. Aud is aud
	// when it is an array of strings. See [Claims.Audiences].
	AudString         string
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

	seen                           uint32    // the claimNames present, by bit
	ExpiresAt, NotBefore, IssuedAt time.Time // Exp, Nbf, Iat as times
}

// Audiences is the aud claim as a list, one string or the array.
func (tc *Claims) Audiences() []string {
	if tc.Aud == nil && tc.Has(Aud) {
		return []string{tc.AudString}
	}
	return tc.Aud
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

// Bits of claims that are checked for presence, for [Claims.Has].
const (
	Exp    = 1 << 16
	Nbf    = 1 << 17
	Iat    = 1 << 18
	Acct   = 1 << 19
	Aud    = 1 << 20
	Nonce  = 1 << 22
	AtHash = 1 << 23
	CHash  = 1 << 24
)

// Has reports whether the claim of bit (Exp, Nbf, …) is present.
func (tc *Claims) Has(bit uint32) bool { return tc.seen&bit != 0 }

// IsGuest reports whether acct 1 marks a guest, or an idp other than the
// issuer does.
func (tc *Claims) IsGuest() bool {
	return (tc.Has(Acct) && tc.Acct == 1) || (tc.Idp != "" && tc.Idp != tc.Iss)
}

// Policy is the B2C user flow the token came through: tfp, or else acr.
func (tc *Claims) Policy() string {
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

// ParseClaims reads a verified payload into tc with the strict reader, in
// one pass. Its strings share the payload's memory, which must never be
// written afterwards.
func ParseClaims(payload []byte, tc *Claims) error {
	if err := readObject(StringOf(payload), tc.set); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	var ok [3]bool
	tc.ExpiresAt, ok[0] = numericDate(tc.Exp, tc.Has(Exp))
	tc.NotBefore, ok[1] = numericDate(tc.Nbf, tc.Has(Nbf))
	tc.IssuedAt, ok[2] = numericDate(tc.Iat, tc.Has(Iat))
	if ok != [3]bool{true, true, true} {
		return errors.New("a time claim is out of range")
	}
	return nil
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

// The claims of claimNames by type: strings first, then numbers.
const (
	numStringClaims = 16
	numNumberClaims = 4
)

// stringClaim is the field of the string claim of index i.
func (tc *Claims) stringClaim(i int) *string {
	switch i {
	case 0:
		return &tc.Iss
	case 1:
		return &tc.Sub
	case 2:
		return &tc.Oid
	case 3:
		return &tc.Tid
	case 4:
		return &tc.Name
	case 5:
		return &tc.PreferredUsername
	case 6:
		return &tc.Upn
	case 7:
		return &tc.UniqueName
	case 8:
		return &tc.Azp
	case 9:
		return &tc.Appid
	case 10:
		return &tc.Idtyp
	case 11:
		return &tc.Ver
	case 12:
		return &tc.Scp
	case 13:
		return &tc.Idp
	case 14:
		return &tc.Tfp
	}
	return &tc.Acr
}

// numberClaim is the field of the number claim of index i.
func (tc *Claims) numberClaim(i int) *float64 {
	switch i - numStringClaims {
	case 0:
		return &tc.Exp
	case 1:
		return &tc.Nbf
	case 2:
		return &tc.Iat
	}
	return &tc.Acct
}

// set reads one member of the claims, for readObject: a claim the
// validator reads must have its type and be given once; any other member
// must not be named like one but for case or folding.
func (tc *Claims) set(name, raw string, escaped bool) (known bool, err error) {
	i := claimIndex(name)
	if i < 0 {
		if real, ok := lookalike(name, claimNames[:]); ok {
			return false, fmt.Errorf("claim %s is %q but for case or folding", QuoteShort(name), real)
		}
		return false, nil
	}
	bit := uint32(1) << i
	if tc.seen&bit != 0 {
		return true, fmt.Errorf("claim %q is given twice", name)
	}
	tc.seen |= bit
	ok := true
	switch {
	case i < numStringClaims:
		p := tc.stringClaim(i)
		if *p, ok = stringValue(raw, escaped); !ok {
			return true, fmt.Errorf("claim %q is not a string", name)
		}
	case i < numStringClaims+numNumberClaims:
		if *tc.numberClaim(i), ok = numberValue(raw); !ok {
			return true, fmt.Errorf("claim %q is not a number", name)
		}
	case name == "aud":
		if one, isString := stringValue(raw, escaped); isString {
			tc.AudString = one
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
