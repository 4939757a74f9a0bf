package jwt

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt/jwtref"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// entraPayloads are the claims of tokens of every shape the test identity
// provider issues: the strict reader must read them all.
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
		"ID token":       idp.Issue(entratest.IDToken()),
		"array audience": idp.Issue(entratest.Claim("aud", []string{"a", "api://b"})),
		"non-ASCII name": idp.Issue(entratest.Claim("name", "Zoë Ångström 山田")),
		"escaped name":   idp.Issue(entratest.Claim("name", "<b>&</b>")), // encoding/json writes \u003c
		"nested claims":  idp.Issue(entratest.Claim("xms_cc", map[string]any{"a": []any{1.5, true, nil, "x"}})),
		"null claim":     idp.Issue(entratest.Claim("family_name", nil)),
		"group overage": idp.Issue(entratest.Claim("_claim_names", map[string]any{"groups": "src1"}),
			entratest.Claim("_claim_sources", map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}})),
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

// refClaims is the reference reading of a payload, written apart from the
// strict reader: strictJSON, a top-level object, names compared exactly
// with a look-alike of a claim we read refused, and each claim of its type.
func refClaims(s string) (Claims, error) {
	var tc Claims
	if err := jwtref.StrictJSON(s); err != nil {
		return tc, err
	}
	var m map[string]any
	if err := jsonv2.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return tc, errors.New("not an object")
	}
	str := map[string]*string{"iss": &tc.Iss, "sub": &tc.Sub, "oid": &tc.Oid, "tid": &tc.Tid, "name": &tc.Name,
		"preferred_username": &tc.PreferredUsername, "upn": &tc.Upn, "unique_name": &tc.UniqueName, "azp": &tc.Azp,
		"appid": &tc.Appid, "idtyp": &tc.Idtyp, "ver": &tc.Ver, "scp": &tc.Scp, "idp": &tc.Idp, "tfp": &tc.Tfp, "acr": &tc.Acr}
	num := map[string]*float64{"exp": &tc.Exp, "nbf": &tc.Nbf, "iat": &tc.Iat, "acct": &tc.Acct}
	stringsOf := func(v any) ([]string, bool) {
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := []string{}
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	for name, v := range m {
		i := slices.Index(claimNames[:], name)
		if i < 0 {
			for _, n := range claimNames {
				if strings.EqualFold(name, n) {
					return tc, errors.New("look-alike " + name)
				}
			}
			continue
		}
		tc.seen |= 1 << i
		ok := true
		switch {
		case str[name] != nil:
			*str[name], ok = v.(string)
		case num[name] != nil:
			*num[name], ok = v.(float64)
		case name == "aud":
			if one, isString := v.(string); isString {
				tc.AudString = one
			} else {
				tc.Aud, ok = stringsOf(v)
			}
		case name == "roles":
			tc.Roles, ok = stringsOf(v)
		}
		if !ok {
			return tc, errors.New("wrong type for " + name)
		}
	}
	return tc, nil
}

// readBoth reads s with the strict reader and with the reference.
func readBoth(s string) (got, want Claims, err, refErr error) {
	err = readObject(s, got.set)
	want, refErr = refClaims(s)
	return got, want, err, refErr
}

func TestStrictReaderReadsEntraTokens(t *testing.T) {
	for name, payload := range entraPayloads(t) {
		t.Run(name, func(t *testing.T) {
			got, want, err, refErr := readBoth(payload)
			if err != nil || refErr != nil {
				t.Fatalf("strict reader: %v, reference: %v, for %s", err, refErr, payload)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("strict %+v\nreference %+v", got, want)
			}
		})
	}
}

// claimRefusals are payloads the strict reader refuses: each was read by
// some other reader (encoding/json's case folding, last-wins duplicates,
// replacement of invalid UTF-8) in another way than a plain reading.
var claimRefusals = []struct{ name, payload string }{
	{"a claim given twice", `{"iss":"a","iss":"b"}`},
	{"roles given twice, the second granting", `{"roles":[],"roles":["Items.Admin"]}`},
	{"exp given twice", `{"exp":1,"exp":1e12}`},
	{"an unknown member given twice", `{"x":1,"x":2}`},
	{"a name given twice in a nested object", `{"x":{"a":1,"a":2}}`},
	{"a name given twice, once escaped", `{"scp":"a","\u0073cp":"b"}`},
	{"an unknown name given twice, once escaped", `{"xy":1,"x\u0079":2}`},
	{"ROLES in capitals", `{"ROLES":["Items.Admin"]}`},
	{"Roles capitalized", `{"Roles":["Items.Admin"]}`},
	{"SCP in capitals", `{"SCP":"Items.Write"}`},
	{"IDTYP in capitals", `{"IDTYP":"app"}`},
	{"ACCT in capitals", `{"ACCT":1}`},
	{"Preferred_Username", `{"Preferred_Username":"a"}`},
	{"scp with a long s (U+017F) next to scp", `{"scp":"Items.Read","ſcp":"Items.Write"}`},
	{"sub with a long s", `{"ſub":"x"}`},
	{"nonce with a capital", `{"Nonce":"n"}`},
	{"SCP escaped", `{"\u0053CP":"Items.Write"}`},
	{"invalid UTF-8 in a value", "{\"name\":\"\xff\"}"},
	{"invalid UTF-8 in a skipped value", "{\"x\":[\"\xc3\"]}"},
	{"invalid UTF-8 in a name", "{\"\xff\":1}"},
	{"an unpaired high surrogate", `{"x":"\ud800"}`},
	{"an unpaired low surrogate", `{"x":"\udc00"}`},
	{"a high surrogate before a non-surrogate", `{"x":"\ud800\u0041"}`},
	{"a string claim that is null", `{"iss":null}`},
	{"aud null", `{"aud":null}`},
	{"roles a string", `{"roles":"Items.Admin"}`},
	{"roles with a null", `{"roles":["a",null]}`},
	{"roles with a number", `{"roles":["a",1]}`},
	{"exp a string", `{"exp":"1"}`},
	{"exp out of range", `{"exp":1e400}`},
	{"a skipped number out of range", `{"x":[1e400]}`},
	{"aud with a number", `{"aud":["a",1]}`},
	{"too deep", `{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`},
	{"an array", `[]`}, {"null", `null`}, {"a string", `"x"`}, {"nothing", ``}, {"a space", ` `},
	{"data after", `{"iss":"a"}x`}, {"two objects", `{} {}`}, {"a trailing comma", `{"iss":"a",}`},
	{"no colon", `{"iss" "a"}`}, {"a lone comma", `{,}`}, {"a leading zero", `{"a":01}`}, {"a bare dot", `{"a":1.}`},
	{"a leading dot", `{"a":.5}`}, {"a bare minus", `{"a":-}`}, {"a bare exponent", `{"a":1e}`}, {"a cut literal", `{"a":tru}`},
	{"a control byte", "{\"a\":\"\x01\"}"}, {"an unknown escape", `{"a":"\q"}`}, {"a short \\u", `{"a":"\u12"}`},
	{"a trailing comma in an array", `{"a":[1,]}`}, {"a member without value", `{"a":{"b"}}`},
	{"a byte order mark", "\ufeff{}"}, {"control bytes for hex digits", "{\"x\":\"\\u\x10\x11\x12\x13\"}"},
	{"a g for a hex digit", `{"x":"\u00g0"}`},
}

func TestStrictReaderRefuses(t *testing.T) {
	for _, tt := range claimRefusals {
		t.Run(tt.name, func(t *testing.T) {
			var tc Claims
			if err := readObject(tt.payload, tc.set); err == nil {
				t.Errorf("strict reader read %q", tt.payload)
			}
			if _, err := refClaims(tt.payload); err == nil {
				t.Errorf("the reference read %q: the oracle does not model this rule", tt.payload)
			}
		})
	}
}

func TestStrictReaderReadsEscapedNamesAsTheirClaims(t *testing.T) {
	var tc Claims
	if err := readObject(`{"\u0073cp":"Items.Read","ro\u006ces":["r\u00e9"],"x\u0041":{"\ud83d\ude00":1}}`, tc.set); err != nil {
		t.Fatal(err)
	}
	if tc.Scp != "Items.Read" || !slices.Equal(tc.Roles, []string{"ré"}) {
		t.Fatalf("claims %+v", tc)
	}
}

func TestClaimNamesCoverTokenClaims(t *testing.T) {
	for i, name := range claimNames {
		if claimIndex(name) != i {
			t.Errorf("claim %q has index %d, want %d", name, claimIndex(name), i)
		}
	}
	// Every exported field of Claims but the times is a claim of claimNames
	// (AudString is aud given as one string).
	typ := reflect.TypeFor[Claims]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() && f.Type != reflect.TypeFor[time.Time]() && claimIndex(strings.ToLower(f.Name)) < 0 && f.Name != "PreferredUsername" && f.Name != "UniqueName" && f.Name != "AudString" {
			t.Errorf("field %s is no claim of claimNames", f.Name)
		}
	}
}

// FuzzStrictClaimsMatchOracle is the differential test of the strict
// reader: it must accept exactly what the reference (refClaims) accepts,
// and read it alike.
func FuzzStrictClaimsMatchOracle(f *testing.F) {
	for _, p := range entraPayloads(f) {
		f.Add(p)
	}
	for _, r := range claimRefusals {
		f.Add(r.payload)
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"aud":[]}`, `{"roles":[]}`, `{"aud":"a","roles":["r"],"exp":1.5e9,"nbf":-0,"acct":1}`,
		`{"x":{"y":[1,-2.5e-3,true,false,null,"\u00e9\n"]},"iss":"i"}`, `{"x":"\uABCD\uabcd"}`, "{\"a\":\"\x7f\"}",
		`{"k":"ſ"}`, `{"aud" : [ "a" , "b" ] }`, `{"\u0073cp":"a"}`, `{"\u212Aid":1}`, `{"ſcp":"a"}`, `{"x":"\ud83d\ude00"}`,
		`{"nonce":"n","at_hash":"h","c_hash":"c"}`, `{"scp":"a\tb c\u00a0d\u2028e"}`, `{"x":1e308,"y":-1e-400}`,
		`{"x":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want, err, refErr := readBoth(s)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("for %q: strict reader: %v, reference: %v", s, err, refErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("for %q\nstrict %+v\nreference %+v", s, got, want)
		}
	})
}

// BenchmarkReadClaims measures the strict reader on the claims of an Entra
// v2 user token, next to encoding/json/v2 (case-sensitive, refusing
// duplicates) into a map.
func BenchmarkReadClaims(b *testing.B) {
	payload := entraPayloads(b)["v2 user"]
	b.Run("reader=strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tc Claims
			if err := readObject(payload, tc.set); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reader=json-v2-map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := jsonv2.Unmarshal([]byte(payload), &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// plainWord says a word is plain exactly when each of its bytes is: every
// byte value at every position, among plain bytes and among others.
func TestPlainWordAgreesWithPlain(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '~', 0x7f, '"', 0x80, 0x1f, 0xff} {
		for pos := range 8 {
			for c := range 256 {
				w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[pos] = byte(c)
				want := true
				for _, b := range w {
					want = want && plain[b]
				}
				if got := plainWord(binary.LittleEndian.Uint64(w[:])); got != want {
					t.Fatalf("plainWord(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}
