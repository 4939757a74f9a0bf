package devidp

import (
	"strings"
	"testing"
)

// FuzzParseClaims feeds the claims parameter parser any bytes: it never
// panics, and what it accepts asks only for valid context IDs and
// capability names.
func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`,
		`{"access_token":{"xms_cc":{"values":["cp1"]},"acrs":{"values":["c1","c2"]}}}`,
		`{"id_token":{"auth_time":{"essential":true}},"userinfo":{"email":null}}`,
		`{"access_token":{"acrs":{"value":"c1","values":["c2"]}}}`,
		`{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}`,
		`{"access_token":{"acrs":{"value":"c100"}}}`, `{"access_token":{"acrs":null}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := parseClaims(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), errClaims.Error()) {
				t.Fatalf("error %v does not wrap errClaims", err)
			}
			return
		}
		if len(raw) > maxClaimsBytes {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		for _, id := range req.acrs {
			if !authContextID(id) {
				t.Fatalf("accepted acrs %q", id)
			}
		}
		for _, c := range req.xmsCC {
			if !capabilityName(c) {
				t.Fatalf("accepted xms_cc %q", c)
			}
		}
	})
}
