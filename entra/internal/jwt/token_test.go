package jwt

import (
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt/jwtref"
)

// FuzzStrictHeaderMatchesOracle is the differential test of the header
// reader: it accepts exactly what jwtref.Header accepts, with the same alg and
// kid.
func FuzzStrictHeaderMatchesOracle(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","kid":"k","typ":"JWT","x5t":"k"}`, `{"alg":"RS256","kid":"k","nonce":"n"}`, `{}`,
		`{"alg":"RS256","alg":"none"}`, `{"ALG":"none","alg":"RS256"}`, `{"\u212Aid":"x","kid":"k"}`, `{"\u006bid":"k"}`,
		`{"kid":"k","\u006bid":"x"}`, `{"crit":["exp"]}`, `{"b64":false}`, `{"CRIT":[]}`, `{"kid":null}`, `{"typ":1}`,
		`{"x":{"a":[1,{"b":null}]},"jku":"http://x","jwk":{"kty":"RSA"},"x5c":["a"]}`, "{\"x\":\"\xff\"}", `{"x":1,"x":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := readHeader([]byte(s))
		alg, kid, refErr := jwtref.Header(s)
		if (err == nil) != (refErr == nil) || h.Alg != alg || h.Kid != kid {
			t.Fatalf("for %q: strict %+v (%v), reference alg %q kid %q (%v)", s, h, err, alg, kid, refErr)
		}
	})
}
