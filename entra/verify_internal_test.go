package entra

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt/jwtref"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// outcome is what a verify path decided, in comparable form.
type outcome struct {
	sentinel error
	payload  string
	kid      string
}

var allSentinels = []error{
	ErrMalformed, ErrTooLarge, ErrAlgorithm, ErrMissingKeyID, ErrUnknownKey, ErrSignature,
	ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrTenant, ErrPolicy, ErrGuest,
	ErrNotAccessToken, ErrKeysUnavailable,
}

func outcomeOf(vt verified, err error) outcome {
	if err != nil {
		for _, s := range allSentinels {
			if errors.Is(err, s) {
				return outcome{sentinel: s}
			}
		}
		return outcome{sentinel: err}
	}
	return outcome{payload: string(vt.payload), kid: vt.kid}
}

// refVerify is the reference of verify, written apart from it: the strict
// rules stated plainly (canonical segments: a segment is canonical when
// decoding and encoding it again gives it back; a header that jwtref.StrictJSON
// accepts, with exact names and crit and b64 refused), then jwx's RSA
// verifier for the signature.
func (v *Validator) refVerify(ctx context.Context, raw string) (verified, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return verified{}, ErrMalformed
	}
	var dec [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
			return verified{}, ErrMalformed
		}
		dec[i] = b
	}
	algName, kid, err := jwtref.Header(string(dec[0]))
	if err != nil {
		return verified{}, ErrMalformed
	}
	alg := jwa.SignatureAlgorithm(algName)
	if !slices.Contains([]jwa.SignatureAlgorithm{jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512}, alg) {
		return verified{}, ErrAlgorithm
	}
	if len(dec[2]) == 0 {
		return verified{}, ErrMalformed
	}
	key, st, err := v.keyFor(ctx, alg, kid)
	if err != nil {
		return verified{}, err
	}
	verifier, err := jws.NewVerifier(alg)
	if err != nil {
		return verified{}, err
	}
	if verifier.Verify([]byte(parts[0]+"."+parts[1]), dec[2], key.key) != nil {
		return verified{}, ErrSignature
	}
	return verified{payload: dec[1], key: key, state: st, kid: kid}, nil
}

// lastCharSpellings are the 16 ways to write the last character of a
// base64url segment whose unused low bits are 4 (a segment of 4n+2
// characters, one byte in the last group): one canonical, 15 with stray
// bits that lenient decoders read alike.
func lastCharSpellings(segment string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, segment[len(segment)-1])
	var out []string
	for low := range 16 {
		out = append(out, segment[:len(segment)-1]+string(alphabet[last&^15|low]))
	}
	return out
}

func newFuzzValidator(tb testing.TB, idp *entratest.Server) *Validator {
	v, err := NewValidator(WithAuthorityHost(idp.Authority()), WithTenant(idp.TenantID()), WithAudiences(idp.ClientID()),
		WithAlgorithms("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), WithMinRefreshInterval(time.Hour), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		tb.Fatal(err)
	}
	if err := v.Preload(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return v
}

// verifySeeds are tokens of every shape the verify path must decide,
// including each way a token has been written twice or read two ways.
func verifySeeds(idp *entratest.Server) []string {
	good := idp.Issue()
	p := strings.Split(good, ".")
	header := func(edit func(string) string) string { return idp.Issue(entratest.HeaderJSON(edit)) }
	seeds := []string{
		good,
		idp.Issue(entratest.Algorithm("PS256")),
		idp.Issue(entratest.Algorithm("RS384")),
		idp.Issue(entratest.Algorithm("RS512")),
		idp.Issue(entratest.Algorithm("PS384")),
		idp.Issue(entratest.Algorithm("PS512")),
		idp.Issue(entratest.Algorithm("PS512"), entratest.SignedWithWrongKey()),
		idp.Issue(entratest.Header("x5t", "abc")),
		idp.Issue(entratest.Header("nonce", "abc")),
		idp.Issue(entratest.Header("x", map[string]any{"a": []any{nil, 1.5}})),
		idp.Issue(entratest.Header("jku", "http://127.0.0.1:1/k")),
		idp.Issue(entratest.Header("crit", []string{"exp"})),
		idp.Issue(entratest.WithoutKeyID()),
		idp.Issue(entratest.SignedWithWrongKey()),
		idp.Issue(entratest.SignedWithUnknownKey()),
		idp.Issue(entratest.AlgNone()),
		idp.Issue(entratest.HS256WithPublicKey()),
		header(func(h string) string { return strings.Replace(h, `"alg"`, `"ALG":"none","alg"`, 1) }),
		header(func(h string) string { return strings.Replace(h, `"kid"`, `"Kid":"x","kid"`, 1) }),
		header(func(h string) string { return strings.Replace(h, `"kid"`, `"\u212Aid":"x","kid"`, 1) }), // Kelvin sign
		header(func(h string) string { return strings.Replace(h, `"alg"`, `"alg":"none","alg"`, 1) }),
		header(func(h string) string { return strings.Replace(h, `"kid"`, `"\u006bid"`, 1) }),
		header(func(h string) string { return strings.Replace(h, `"kid"`, `"kid":"x","\u006bid"`, 1) }),
		header(func(h string) string { return strings.Replace(h, `{`, `{"b64":false,`, 1) }),
		header(func(h string) string { return strings.Replace(h, `{`, `{"x":1,"x":2,`, 1) }),
		header(func(h string) string { return strings.Replace(h, `{`, "{\"x\":\"\xff\",", 1) }),
		p[0] + "=." + p[1] + "." + p[2],                              // padded header
		p[0] + "." + p[1] + "." + p[2] + "==",                        // padded signature
		strings.ReplaceAll(p[0], "-", "+") + "." + p[1] + "." + p[2], // standard alphabet
		p[0] + "." + p[1] + "." + p[2][:10] + "\r\n" + p[2][10:],     // a line break
		p[0] + "." + p[1] + "." + p[2] + "\n",                        // a trailing line break
		p[0] + "." + p[1] + ".",                                      // no signature
		"eyJhbGciOiJSUzI1NiIsImtpZCI6bnVsbH0." + p[1] + "." + p[2],   // kid null
		"eyJhbGciOiJSUzI1NiIsIkFMRyI6Im5vbmUifQ." + p[1] + "." + p[2],
		"..", "a.b.c", "e30.e30.", "{}", "",
	}
	for _, sig := range lastCharSpellings(p[2]) {
		seeds = append(seeds, p[0]+"."+p[1]+"."+sig)
	}
	return seeds
}

// FuzzVerifyMatchesJWX is the differential test of the verify path: it
// must decide every input exactly as refVerify (the strict rules stated
// plainly, and jwx's verifier) does — accept the same tokens with the same
// payload and key, and refuse the rest with the same error.
func FuzzVerifyMatchesJWX(f *testing.F) {
	idp := entratest.NewServer(f)
	v := newFuzzValidator(f, idp)
	for _, seed := range verifySeeds(idp) {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		want, refErr := v.refVerify(ctx, raw)
		// Once hashing the signing input itself, once given the hash the
		// cache computed.
		in, _ := signed(raw)
		for _, in := range []signingInput{{}, in} {
			got, err := v.verify(ctx, raw, in)
			if g, w := outcomeOf(got, err), outcomeOf(want, refErr); !reflect.DeepEqual(g, w) {
				t.Fatalf("verify %+v (%v), reference %+v (%v) for %q (hash given: %v)", g, err, w, refErr, raw, in.n > 0)
			}
		}
	})
}

func TestATokenHasOneSpelling(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newFuzzValidator(t, idp)
	good := idp.Issue()
	p := strings.Split(good, ".")
	accepted := 0
	spellings := lastCharSpellings(p[2])
	if len(spellings) != 16 {
		t.Fatalf("%d spellings", len(spellings))
	}
	for _, sig := range spellings {
		tok := p[0] + "." + p[1] + "." + sig
		_, err := v.verify(context.Background(), tok, signingInput{})
		switch {
		case tok == good && err != nil:
			t.Fatalf("the token as issued: %v", err)
		case tok != good && !errors.Is(err, ErrMalformed):
			t.Errorf("signature spelled %q: err = %v, want ErrMalformed", sig[len(sig)-3:], err)
		case err == nil:
			accepted++
		}
		// jwx reads every spelling alike: the reference must not.
		if _, refErr := v.refVerify(context.Background(), tok); (refErr == nil) != (tok == good) {
			t.Errorf("reference: %v for a spelling ending %q", refErr, sig[len(sig)-3:])
		}
	}
	if accepted != 1 {
		t.Fatalf("%d spellings accepted, want 1", accepted)
	}
}

func TestVerifyReadsTheHeaderStrictly(t *testing.T) {
	idp := entratest.NewServer(t)
	v := newFuzzValidator(t, idp)
	header := func(edit func(string) string) string { return idp.Issue(entratest.HeaderJSON(edit)) }
	for _, tt := range []struct {
		name  string
		token string
		want  error
	}{
		{"a header with a nonce member is read", idp.Issue(entratest.Header("nonce", "n")), nil},
		{"a header with an unknown object member is read", idp.Issue(entratest.Header("x", map[string]any{"a": nil})), nil},
		{"a kid written with an escape is the kid", header(func(h string) string { return strings.Replace(h, `"kid"`, `"\u006bid"`, 1) }), nil},
		{"a second alg is refused", header(func(h string) string { return strings.Replace(h, `"alg"`, `"alg":"none","alg"`, 1) }), ErrMalformed},
		{"a second kid, escaped, is refused", header(func(h string) string { return strings.Replace(h, `"kid"`, `"kid":"x","\u006bid"`, 1) }), ErrMalformed},
		{"ALG in capitals is refused", header(func(h string) string { return strings.Replace(h, `"alg"`, `"ALG":"RS256","alg"`, 1) }), ErrMalformed},
		{"KID with a Kelvin sign is refused", header(func(h string) string { return strings.Replace(h, `"kid"`, `"\u212Aid":"x","kid"`, 1) }), ErrMalformed},
		{"CRIT in capitals is refused", header(func(h string) string { return strings.Replace(h, `{`, `{"CRIT":["exp"],`, 1) }), ErrMalformed},
		{"an unknown member given twice is refused", header(func(h string) string { return strings.Replace(h, `{`, `{"x":1,"x":1,`, 1) }), ErrMalformed},
		{"invalid UTF-8 is refused", header(func(h string) string { return strings.Replace(h, `{`, "{\"x\":\"\xff\",", 1) }), ErrMalformed},
		{"alg none is refused", idp.Issue(entratest.AlgNone()), ErrAlgorithm},
		{"HS256 is refused", idp.Issue(entratest.HS256WithPublicKey()), ErrAlgorithm},
		{"crit is refused", idp.Issue(entratest.Header("crit", []string{"exp"})), ErrMalformed},
		{"jku is never fetched: the published key verifies", idp.Issue(entratest.Header("jku", "http://127.0.0.1:1/k")), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.verify(context.Background(), tt.token, signingInput{})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAChosenAlgIsCutInErrors(t *testing.T) {
	idp := entratest.NewServer(t)
	v, err := NewValidator(WithAuthorityHost(idp.Authority()), WithTenant(idp.TenantID()), WithAudiences(idp.ClientID()),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(idp.Issue(), ".")
	header := `{"alg":"` + strings.Repeat("A", 4000) + `","kid":"k"}`
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(header))
	_, err = v.Validate(context.Background(), strings.Join(parts, "."))
	if !errors.Is(err, ErrAlgorithm) || len(err.Error()) > 100 {
		t.Fatalf("error %.200q (%d bytes), want ErrAlgorithm in under 100 bytes", err, len(err.Error()))
	}
}
