package caller_test

import (
	"context"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/internal/caller"
)

type holder struct{ t caller.Token }

func (h *holder) Token() caller.Token {
	if h == nil {
		return caller.Token{}
	}
	return h.t
}

func TestTheCallersTokenTravelsInTheContext(t *testing.T) {
	exp := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	tok := caller.WithExpiry(caller.NewToken("header.payload.signature"), exp)
	got, ok := caller.FromContext(caller.NewContext(context.Background(), &holder{tok}))
	if !ok || got.Token().Value() != "header.payload.signature" || !caller.Expiry(got.Token()).Equal(exp) {
		t.Fatalf("got %v, %t", got, ok)
	}
	if _, ok := caller.FromContext(context.Background()); ok {
		t.Fatal("a context without a caller has one")
	}
	nilHolder, ok := caller.FromContext(caller.NewContext(context.Background(), (*holder)(nil)))
	if !ok || !nilHolder.Token().IsZero() {
		t.Fatal("a nil caller has a token")
	}
	if z := (caller.Token{}); z.Value() != "" || !z.IsZero() || !caller.Expiry(z).IsZero() {
		t.Fatal("the zero Token is not empty")
	}
}
