package entra

import "github.com/grpc-azure-auth/grpc-azure-auth/internal/caller"

// Token is a caller's access token as it was received, for a handler to
// pass on: to exchange it on the caller's behalf (on-behalf-of) for a token
// of a downstream API. It never shows itself: printing, formatting, logging
// (log/slog) and encoding it as JSON or text all give "[REDACTED]", so a
// Token that ends up in a log or an error message leaks nothing. Only its
// Value method gives the token; IsZero reports whether there is one.
//
// It is defined in a leaf package that package bearer shares, so that
// client programs do not link the validator.
type Token = caller.Token

// tokenOf is raw as a Token.
func tokenOf(raw string) Token { return caller.NewToken(raw) }
