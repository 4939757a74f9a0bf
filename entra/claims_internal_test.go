package entra

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
)

// FuzzClaimsHaveOneReading checks what entra makes of the claims the strict
// reader accepts (jwt's FuzzStrictClaimsMatchOracle checks the reader
// itself): scp names are what U+0020 separates, empty ones dropped, and
// Claims.Decode reads the same members as encoding/json.
func FuzzClaimsHaveOneReading(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"scp":"a b  a"}`, `{"scp":"a\tb c\u00a0d\u2028e"}`, `{"aud":["a","b"],"roles":["r"],"exp":1.5e9}`,
		`{"x":{"y":[1,-2.5e-3,true,false,null,"\u00e9\n"]},"iss":"i"}`, `{"name":"Zoë \u00c5ngstr\u00f6m"}`,
		`{"\u0073cp":"a"}`, `{"x":1e308}`, `{"scp":" "}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var tc jwt.Claims
		if jwt.ParseClaims([]byte(s), &tc) != nil {
			return
		}
		var names []string
		for _, n := range strings.Split(tc.Scp, " ") {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		set := scopeSet(tc.Scp)
		if got := set.Names(); !slices.Equal(got, names) && len(got)+len(names) > 0 {
			t.Fatalf("scopes of %q: %q, want %q", tc.Scp, got, names)
		}
		if set.empty() != (len(names) == 0) {
			t.Fatalf("scopes of %q: empty %v, names %q", tc.Scp, set.empty(), names)
		}
		// Has answers as the list does, for every name and every piece of
		// the claim (the empty name, names with spaces, prefixes).
		for _, n := range append(strings.Split(tc.Scp, " "), "", tc.Scp, " ", tc.Scp+" ") {
			if set.Has(n) != slices.Contains(names, n) {
				t.Fatalf("scopes of %q: Has(%q) = %v, names %q", tc.Scp, n, set.Has(n), names)
			}
		}
		c := Claims{payload: []byte(s)}
		var want, got map[string]any
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("encoding/json refused %q: %v", s, err)
		}
		if err := c.Decode(&got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("for %q: Decode %v (%v), encoding/json %v", s, got, err, want)
		}
	})
}
