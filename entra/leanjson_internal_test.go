package entra

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// entraPayloads are the claims of tokens of every shape the test identity
// provider issues: what the lean reader must decide by itself.
func entraPayloads(tb testing.TB) map[string]string {
	idp := entratest.NewServer(tb)
	b2c := entratest.NewServer(tb, entratest.WithB2C("contoso", "B2C_1_signin"))
	tokens := map[string]string{
		"v2 user":        idp.Issue(),
		"v2 app":         idp.Issue(entratest.ForApp(idp.ClientID())),
		"v1 user":        idp.Issue(entratest.V1Token()),
		"v1 app":         idp.Issue(entratest.V1Token(), entratest.ForApp(idp.ClientID())),
		"guest":          idp.Issue(entratest.Guest()),
		"B2C":            b2c.Issue(entratest.Policy("B2C_1_signin")),
		"array audience": idp.Issue(entratest.Claim("aud", []string{"a", "api://b"})),
		"non-ASCII name": idp.Issue(entratest.Claim("name", "Zoë Ångström 山田")),
		"nested claims":  idp.Issue(entratest.Claim("xms_cc", map[string]any{"a": []any{1.5, true, nil, "x"}})),
	}
	payloads := make(map[string]string, len(tokens))
	for name, tok := range tokens {
		p, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			tb.Fatal(err)
		}
		payloads[name] = string(p)
	}
	return payloads
}

// decodeBoth decodes s with the lean reader and with encoding/json.
func decodeBoth(s string) (lean, ref tokenClaims, leanOK bool, refErr error) {
	leanOK = lean.decodeLean(s)
	refErr = json.Unmarshal([]byte(s), &ref)
	return lean, ref, leanOK, refErr
}

func TestLeanClaimsDecideEntraTokens(t *testing.T) {
	for name, payload := range entraPayloads(t) {
		t.Run(name, func(t *testing.T) {
			lean, ref, ok, err := decodeBoth(payload)
			if !ok || err != nil {
				t.Fatalf("lean decided = %v, encoding/json error = %v, for %s", ok, err, payload)
			}
			if !reflect.DeepEqual(lean, ref) {
				t.Fatalf("lean %+v\njson %+v", lean, ref)
			}
		})
	}
}

// TestLeanClaimsGiveUp lists inputs encoding/json reads differently from a
// plain reading (or refuses): the lean reader must leave them to it.
func TestLeanClaimsGiveUp(t *testing.T) {
	for _, s := range []string{
		`{"iss":"a","iss":"b"}`,      // duplicate: the last wins in encoding/json
		`{"ISS":"a"}`,                // case-insensitive match in encoding/json
		`{"Preferred_Username":"a"}`, // the same
		`{"ſub":"a"}`,                // U+017F folds to s
		`{"iss":"a\u0062"}`,          // an escape in a value read
		`{"i\u0073s":"a"}`,           // an escape in a key
		`{"name":"\xff"}`,            // invalid UTF-8, replaced by encoding/json
		`{"iss":null}`,               // null leaves a string alone
		`{"aud":null}`,               // and gives aud [""] through its unmarshaler
		`{"roles":["a",null]}`,       // a null element
		`{"exp":"1"}`,                // wrong type
		`{"exp":1e400}`,              // out of range
		`{"aud":["a",1]}`,            // wrong element type
		`{"x":` + strings.Repeat("[", maxLeanDepth) + strings.Repeat("]", maxLeanDepth) + `}`,
		`[]`, `null`, `"x"`, ``, ` `,
		`{"iss":"a"}x`, `{"iss":"a",}`, `{"iss" "a"}`, `{,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`, `{"a":[1,]}`,
		`{"a":{"b"}}`, `{"a":{"b":1,}}`, "\ufeff{}",
		"{\"x\":\"\\u\x10\x11\x12\x13\",\"iss\":\"a\"}", // control bytes are not hex digits
		"{\"x\":[\"\\u\x19\x19\x19\x19\"]}", `{"x":"\u00g0"}`, `{"x":"\u00G0"}`,
	} {
		var tc tokenClaims
		if tc.decodeLean(s) {
			t.Errorf("lean reader decided %q", s)
		}
	}
}

func TestLeanClaimsCoverTokenClaims(t *testing.T) {
	typ := reflect.TypeFor[tokenClaims]()
	var bits uint32
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("json")
		if name == "" {
			continue
		}
		var tc tokenClaims
		bit, _ := tc.setLean(name, `""`)
		if bit == 0 || bits&bit != 0 {
			t.Errorf("claim %q has bit %#x, taken %#x", name, bit, bits)
		}
		bits |= bit
	}
}

// FuzzLeanClaimsMatchJSON is the differential test of the lean claims
// reader: whatever it decides, encoding/json must accept too, with the same
// claims.
func FuzzLeanClaimsMatchJSON(f *testing.F) {
	for _, p := range entraPayloads(f) {
		f.Add(p)
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"aud":[]}`, `{"roles":[]}`, `{"aud":"a","roles":["r"],"exp":1.5e9,"nbf":-0,"acct":1}`,
		`{"x":{"y":[1,-2.5e-3,true,false,null,"\u00e9\n"]},"iss":"i"}`, `{"ISS":"a"}`, `{"iss":"a","iss":"b"}`,
		`{"exp":1e400}`, `{"name":"\xff"}`, "{\"x\":\"\\u\x10\x11\x12\x13\"}", `{"x":"\uABCD\uabcd"}`, "{\"a\":\"\x7f\"}", `{"k":"ſ"}`, `{"aud" : [ "a" , "b" ] }`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lean, ref, ok, err := decodeBoth(s)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("lean reader accepted %q, encoding/json refused it: %v", s, err)
		}
		if !reflect.DeepEqual(lean, ref) {
			t.Fatalf("for %q\nlean %+v\njson %+v", s, lean, ref)
		}
	})
}

// BenchmarkDecodeClaims compares the lean reader with encoding/json on the
// claims of an Entra v2 user token.
func BenchmarkDecodeClaims(b *testing.B) {
	payload := entraPayloads(b)["v2 user"]
	b.Run("reader=lean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tc tokenClaims
			if !tc.decodeLean(payload) {
				b.Fatal("not decided")
			}
		}
	})
	b.Run("reader=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tc tokenClaims
			if err := json.Unmarshal([]byte(payload), &tc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
