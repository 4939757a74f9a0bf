package gateway_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// prepend puts members at the start of a JSON object's text.
func prepend(members string) func(string) string {
	return func(obj string) string { return "{" + members + "," + obj[1:] }
}

// respell changes the unused low bits of the signature's last character:
// a second spelling of a token that a lenient base64 decoder reads alike.
func respell(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[last^1])
}

// The tokens of the outside review (issue 11), signed with the provider's
// own key, sent to the real interceptors over gRPC and through the real
// gateway over REST, each to the method whose rule its lenient reading
// would have satisfied: every one is refused as the review requires, and
// nothing is created or deleted.
func TestTheOutsideReviewsTokensAreRefusedOverGRPCAndREST(t *testing.T) {
	e := start(t)
	const other = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	bob := func(opts ...entratest.TokenOption) string {
		return e.idp.Issue(append([]entratest.TokenOption{entratest.ForUser("bob"), entratest.Scopes("Items.Read")}, opts...)...)
	}
	claims := func(members string) string { return bob(entratest.ClaimsJSON(prepend(members))) }
	// Each call is made over gRPC with call, and over REST with verb and path.
	type call struct {
		grpc       func(tok string) error
		verb, path string
		body       string
	}
	var (
		deleteItem = call{func(tok string) error { return e.grpc.Unary(authztest.WithToken(tok), authztest.Delete, "item-1") }, "DELETE", "/v1/items/item-1", ""}
		createItem = call{func(tok string) error { _, err := e.grpc.Create(authztest.WithToken(tok), "x"); return err }, "POST", "/v1/items", `{"name":"x"}`}
		whoAmI     = call{func(tok string) error { return e.grpc.Unary(authztest.WithToken(tok), authztest.WhoAmI, "") }, "GET", "/v1/whoami", ""}
	)
	tests := []struct {
		finding string
		token   string
		call    call
		code    codes.Code // over gRPC; 401 or 403 over REST
		detail  string     // in the status message and the REST challenge
	}{
		{"1: ROLES in capitals", claims(`"ROLES":["Items.Admin"]`), deleteItem, codes.Unauthenticated, "malformed"},
		{"1: Roles capitalized", claims(`"Roles":["Items.Admin"]`), deleteItem, codes.Unauthenticated, "malformed"},
		{"1: a long-s ſcp next to scp", claims(`"ſcp":"Items.Write"`), createItem, codes.Unauthenticated, "malformed"},
		{"1: SCP in capitals", claims(`"SCP":"Items.Write"`), createItem, codes.Unauthenticated, "malformed"},
		{"1: IDTYP in capitals", claims(`"IDTYP":"app"`), whoAmI, codes.Unauthenticated, "malformed"},
		{"1: ACCT in capitals", claims(`"ACCT":1`), whoAmI, codes.Unauthenticated, "malformed"},
		{"1: roles given twice", bob(entratest.Roles("Reader"), entratest.ClaimsJSON(prepend(`"roles":["Items.Admin"]`))), deleteItem, codes.Unauthenticated, "malformed"},
		{"1: exp given twice", claims(`"exp":1e12`), whoAmI, codes.Unauthenticated, "malformed"},
		{"1: scp given twice, once escaped", claims(`"\u0073cp":"Items.Write"`), createItem, codes.Unauthenticated, "malformed"},
		{"2: a signature in a second spelling", respell(bob(entratest.Scopes("Items.Write"))), createItem, codes.Unauthenticated, "malformed"},
		{"3: scopes joined by a tab", bob(entratest.Claim("scp", "Nope\tItems.Write")), createItem, codes.PermissionDenied, "requires scope Items.Write"},
		{"3: scopes joined by a no-break space", bob(entratest.Claim("scp", "Nope\u00a0Items.Write")), createItem, codes.PermissionDenied, "requires scope Items.Write"},
		{"3: scopes joined by a line separator", bob(entratest.Claim("scp", "Nope\u2028Items.Write")), createItem, codes.PermissionDenied, "requires scope Items.Write"},
		{"4: an ID token with roles", e.idp.Issue(entratest.IDToken(), entratest.Roles("Items.Admin")), deleteItem, codes.Unauthenticated, "not an access token"},
		{"5: a tid other than the issuer's tenant", bob(entratest.Tenant(other)), whoAmI, codes.Unauthenticated, "issuer"},
	}
	for _, tt := range tests {
		t.Run("finding "+tt.finding+" is refused over gRPC", func(t *testing.T) {
			err := tt.call.grpc(tt.token)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.detail) {
				t.Fatalf("got %v, want %v with %q", err, tt.code, tt.detail)
			}
			if tt.code == codes.Unauthenticated && authzerr.FromError(err).GetReason() != authzerr.ReasonTokenInvalid {
				t.Fatalf("reason %v, want %s", authzerr.FromError(err), authzerr.ReasonTokenInvalid)
			}
		})
		t.Run("finding "+tt.finding+" is refused over REST", func(t *testing.T) {
			var body = text(tt.call.body)
			a := do(t, tt.call.verb, e.base+tt.call.path, tt.token, body)
			want, challenge := 401, `error="invalid_token"`
			if tt.code == codes.PermissionDenied {
				want, challenge = 403, `error="insufficient_scope"`
			}
			if a.status != want || !strings.Contains(a.header.Get("WWW-Authenticate"), challenge) || !strings.Contains(a.header.Get("WWW-Authenticate"), tt.detail) {
				t.Fatalf("got %d %q %s, want %d %s with %q", a.status, a.header.Get("WWW-Authenticate"), a.body, want, challenge, tt.detail)
			}
		})
	}
	if n := e.items.Len(); n != 3 {
		t.Fatalf("%d items, want the 3 the store started with: a refused call changed it", n)
	}
}
