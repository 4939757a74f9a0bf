package interceptor

import (
	"errors"
	"strings"
	"testing"
)

var bearerCases = []struct {
	name   string
	values []string
	token  string
	err    error
}{
	{"a Bearer value gives its token", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", nil},
	{"the scheme is case-insensitive", []string{"bEaReR abc.def.ghi"}, "abc.def.ghi", nil},
	{"several spaces after the scheme are allowed", []string{"Bearer   abc"}, "abc", nil},
	{"trailing padding is allowed", []string{"Bearer abc=="}, "abc==", nil},
	{"all b64token characters are allowed", []string{"Bearer aZ09-._~+/="}, "aZ09-._~+/=", nil},
	{"no value is a missing token", nil, "", errNoToken},
	{"an empty value is a missing token", []string{""}, "", errNoToken},
	{"a blank value is a missing token", []string{"   "}, "", errNoToken},
	{"two values are refused", []string{"Bearer a", "Bearer b"}, "", errManyTokens},
	{"the Basic scheme is refused", []string{"Basic dXNlcjpwYXNz"}, "", errScheme},
	{"a bare token without scheme is refused", []string{"abc.def.ghi"}, "", errScheme},
	{"a scheme glued to the token is refused", []string{"Bearerabc"}, "", errScheme},
	{"a tab separator is refused", []string{"Bearer\tabc"}, "", errScheme},
	{"a scheme without token is refused", []string{"Bearer"}, "", errEmptyToken},
	{"a scheme with only spaces is refused", []string{"Bearer   "}, "", errEmptyToken},
	{"a token with a space inside is refused", []string{"Bearer abc def"}, "", errTokenSyntax},
	{"a token with trailing space is refused", []string{"Bearer abc "}, "", errTokenSyntax},
	{"a token with CR LF is refused", []string{"Bearer abc\r\nX-Evil: 1"}, "", errTokenSyntax},
	{"a token with a quote is refused", []string{`Bearer a"b`}, "", errTokenSyntax},
	{"padding in the middle is refused", []string{"Bearer ab=c"}, "", errTokenSyntax},
	{"padding alone is refused", []string{"Bearer =="}, "", errTokenSyntax},
	{"a huge value is refused before scanning", []string{"Bearer " + strings.Repeat("a", maxAuthorizationBytes)}, "", errHeaderTooLarge},
}

func TestBearerToken(t *testing.T) {
	for _, tt := range bearerCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bearerToken(tt.values)
			if !errors.Is(err, tt.err) || got != tt.token {
				t.Fatalf("bearerToken(%q) = %q, %v; want %q, %v", tt.values, got, err, tt.token, tt.err)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, tt := range bearerCases {
		if len(tt.values) == 1 && len(tt.values[0]) < 1024 {
			f.Add(tt.values[0])
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := bearerToken([]string{v})
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		// A token that passes is non-empty, within bounds, free of anything
		// that could break a header or a log line, and really in the value.
		if tok == "" || len(tok) > maxAuthorizationBytes || !strings.HasSuffix(v, tok) {
			t.Fatalf("bearerToken(%q) = %q", v, tok)
		}
		if strings.ContainsAny(tok, " \t\r\n\"\\,;") {
			t.Fatalf("token %q has a forbidden character", tok)
		}
		if !strings.EqualFold(v[:6], "bearer") {
			t.Fatalf("accepted scheme of %q", v)
		}
	})
}
