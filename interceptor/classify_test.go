package interceptor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// failing is a TokenValidator of the caller's that refuses every token
// with err.
type failing struct{ err error }

func (f failing) Validate(context.Context, string) (*entra.Claims, error) { return nil, f.err }

// Each validation error is answered as its class says: the interceptor
// holds no list of entra's errors, and details wrapped around one never
// reach the caller.
func TestValidationErrorsAreAnsweredByTheirClass(t *testing.T) {
	tests := []struct {
		err    error
		code   codes.Code
		reason string
		msg    string
	}{
		{entra.ErrSignature, codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token: invalid signature"},
		{entra.ErrAudience, codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token: wrong audience"},
		{entra.ErrMalformed, codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token: malformed token"},
		{entra.ErrExpired, codes.Unauthenticated, authzerr.ReasonTokenExpired, "invalid token: token expired"},
		{entra.ErrGuest, codes.PermissionDenied, authzerr.ReasonGuest, "guest users are not allowed"},
		{entra.ErrKeysUnavailable, codes.Unavailable, authzerr.ReasonKeysUnavailable, "signing keys unavailable, try again later"},
		{errors.New("secret detail"), codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v is answered %v %s", tt.err, tt.code, tt.reason), func(t *testing.T) {
			var e *entra.Error
			if errors.As(tt.err, &e) {
				want := map[codes.Code]int{codes.Unauthenticated: http.StatusUnauthorized, codes.PermissionDenied: http.StatusForbidden, codes.Unavailable: http.StatusServiceUnavailable}[tt.code]
				if e.HTTPStatus() != want {
					t.Fatalf("HTTPStatus %d, want %d", e.HTTPStatus(), want)
				}
			}
			a, err := interceptor.New(failing{fmt.Errorf("%w: secret detail", tt.err)},
				interceptor.WithPolicy(authztest.Policy()), interceptor.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Authorize(context.Background(), authztest.WhoAmI, []string{"Bearer a.b.c"})
			st := status.Convert(err)
			if st.Code() != tt.code || authzerr.FromError(err).GetReason() != tt.reason || st.Message() != tt.msg {
				t.Fatalf("got %v %q %q, want %v %q %q", st.Code(), authzerr.FromError(err).GetReason(), st.Message(), tt.code, tt.reason, tt.msg)
			}
		})
	}
}
