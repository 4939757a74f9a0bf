package entra

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

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

// FuzzLeanMatchesJWX is the differential test of the lean verify path: on
// every input it decides, it must decide exactly as the jwx path does —
// accept the same tokens with the same payload and key, and reject the rest
// with the same error.
func FuzzLeanMatchesJWX(f *testing.F) {
	idp := entratest.NewServer(f)
	v, err := NewValidator(WithAuthorityHost(idp.Authority()), WithTenant(idp.TenantID()), WithAudiences(idp.ClientID()),
		WithAlgorithms("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), WithMinRefreshInterval(time.Hour), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		f.Fatal(err)
	}
	if err := v.Preload(context.Background()); err != nil {
		f.Fatal(err)
	}
	good := idp.Issue()
	p := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		idp.Issue(entratest.Algorithm("PS256")),
		idp.Issue(entratest.Algorithm("RS384")),
		idp.Issue(entratest.Algorithm("RS512")),
		idp.Issue(entratest.Algorithm("PS384")),
		idp.Issue(entratest.Algorithm("PS512")),
		idp.Issue(entratest.Algorithm("PS512"), entratest.SignedWithWrongKey()),
		idp.Issue(entratest.Header("x5t", "abc")),
		idp.Issue(entratest.Header("jku", "http://127.0.0.1:1/k")),
		idp.Issue(entratest.Header("crit", []string{"exp"})),
		idp.Issue(entratest.WithoutKeyID()),
		idp.Issue(entratest.SignedWithWrongKey()),
		idp.Issue(entratest.SignedWithUnknownKey()),
		idp.Issue(entratest.AlgNone()),
		idp.Issue(entratest.HS256WithPublicKey()),
		p[0] + "=." + p[1] + "." + p[2],                              // padded header
		p[0] + "." + p[1] + "." + p[2] + "==",                        // padded signature
		strings.ReplaceAll(p[0], "-", "+") + "." + p[1] + "." + p[2], // standard alphabet
		p[0] + "." + p[1] + "." + p[2][:len(p[2])-1] + "B",           // stray bits
		p[0] + "." + p[1] + "." + p[2][:10] + "\r\n" + p[2][10:],     // a line break
		p[0] + "." + p[1] + "." + p[2] + "\n",                        // a trailing line break
		"eyJhbGciOiJSUzI1NiIsImtpZCI6bnVsbH0." + p[1] + "." + p[2],   // kid null
		"eyJhbGciOiJSUzI1NiIsIkFMRyI6Im5vbmUifQ." + p[1] + "." + p[2],
		"..", "a.b.c", "e30.e30.", "{}", "",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		lean, decided, leanErr := v.verifyLean(ctx, raw)
		if !decided {
			return
		}
		ref, refErr := v.verifyJWX(ctx, raw)
		if got, want := outcomeOf(lean, leanErr), outcomeOf(ref, refErr); !reflect.DeepEqual(got, want) {
			t.Fatalf("lean path %+v (%v), jwx path %+v (%v) for %q", got, leanErr, want, refErr, raw)
		}
	})
}

func TestLeanPathDecidesEntraShapedTokens(t *testing.T) {
	idp := entratest.NewServer(t)
	v, err := NewValidator(WithAuthorityHost(idp.Authority()), WithTenant(idp.TenantID()), WithAudiences(idp.ClientID()),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		token   string
		decided bool
	}{
		{"an Entra-shaped token is decided by the lean path", idp.Issue(), true},
		{"a wrong signature is decided by the lean path", idp.Issue(entratest.SignedWithWrongKey()), true},
		{"a token with a jku header goes to jwx", idp.Issue(entratest.Header("jku", "http://127.0.0.1:1/k")), false},
		{"alg none goes to jwx", idp.Issue(entratest.AlgNone()), false},
		{"a token without kid goes to jwx", idp.Issue(entratest.WithoutKeyID()), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, decided, _ := v.verifyLean(ctx, tt.token); decided != tt.decided {
				t.Fatalf("decided = %v", decided)
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
