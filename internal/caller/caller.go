// Package caller carries the validated caller's token from the server side
// (entra, which validates it and puts the caller in the context) to the
// calling side (bearer, which exchanges it on the caller's behalf). It is
// a leaf, so a client binary that links bearer links neither the validator
// nor its JOSE library. entra re-exports [Token] as entra.Token.
package caller

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	"unsafe"
)

// Token is a caller's access token as it was received, for a handler to
// pass on: to exchange it on the caller's behalf (on-behalf-of) for a token
// of a downstream API. It never shows itself: printing, formatting, logging
// (log/slog) and encoding it as JSON or text all give [Redacted], so a
// Token that ends up in a log or an error message leaks nothing. Only
// [Token.Value] gives the token.
type Token struct {
	// The token's bytes and length, held as a pointer so that fmt, which
	// prints the fields of structs it cannot call methods on, shows an
	// address and not the token; and without allocating, as it is made
	// for every request.
	data unsafe.Pointer
	n    int
	exp  time.Time // the validated exp claim, when known
}

// NewToken is raw as a Token.
func NewToken(raw string) Token {
	return Token{data: unsafe.Pointer(unsafe.StringData(raw)), n: len(raw)}
}

// WithExpiry returns t knowing that it expires at exp (its validated exp
// claim). A function, not a method, so that entra.Token does not show it.
func WithExpiry(t Token, exp time.Time) Token {
	t.exp = exp
	return t
}

// Expiry returns the expiry WithExpiry gave t, or the zero time.
func Expiry(t Token) time.Time { return t.exp }

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

// Caller is what a context carries about its validated caller: entra's
// *Claims.
type Caller interface {
	// Token returns the caller's token, with its expiry; the zero Token
	// when there is none (and for a nil Caller of a pointer type).
	Token() Token
}

type key struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// FromContext returns the Caller NewContext put in ctx, if any.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(key{}).(Caller)
	return c, ok
}
