package entra

import (
	"fmt"
	"log/slog"
	"unsafe"
)

// Token is a caller's access token as it was received, for a handler to
// pass on: to exchange it on the caller's behalf (on-behalf-of) for a token
// of a downstream API. It never shows itself: printing, formatting, logging
// (log/slog) and encoding it as JSON or text all give [Token.Redacted], so
// a Token that ends up in a log or an error message leaks nothing. Only
// [Token.Value] gives the token.
type Token struct {
	// The token's bytes and length, held as a pointer so that fmt, which
	// prints the fields of structs it cannot call methods on, shows an
	// address and not the token; and without allocating, as it is made
	// for every request.
	data unsafe.Pointer
	n    int
}

// tokenOf is raw as a Token.
func tokenOf(raw string) Token {
	return Token{data: unsafe.Pointer(unsafe.StringData(raw)), n: len(raw)}
}

// Redacted is what a [Token] shows of itself.
const Redacted = "[REDACTED]"

// Value returns the token, the compact JWS the caller sent; "" for the
// zero Token. Pass it only to the identity provider or the API it is for;
// never log it.
func (t Token) Value() string {
	if t.data == nil {
		return ""
	}
	return unsafe.String((*byte)(t.data), t.n)
}

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.data == nil }

// String returns [Redacted].
func (t Token) String() string { return Redacted }

// GoString returns [Redacted], for %#v.
func (t Token) GoString() string { return Redacted }

// Format writes [Redacted] whatever the verb and flags (%v, %s, %q, %x, …).
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns [Redacted], for log/slog.
func (t Token) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns [Redacted] as a JSON string.
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns [Redacted].
func (t Token) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
