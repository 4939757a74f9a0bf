package gateway

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
)

func denial(_ testing.TB, code codes.Code, msg, reason string, md map[string]string) *status.Status {
	return status.Convert(authzerr.New(code, reason, msg, md))
}

func TestChallengeHeader(t *testing.T) {
	c := Challenge{Realm: "api", AuthorizationURI: "https://login.example/t/oauth2/v2.0/authorize", ClientID: "cid", ScopePrefix: "api://cid/"}
	tests := []struct {
		name string
		st   *status.Status
		want string
	}{
		{"no token: a bare challenge without error code",
			denial(t, codes.Unauthenticated, "missing bearer token", authzerr.ReasonTokenMissing, nil),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid"`},
		{"an invalid token: invalid_token with the reason",
			denial(t, codes.Unauthenticated, "invalid token: token expired", authzerr.ReasonTokenExpired, nil),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid", error="invalid_token", error_description="invalid token: token expired"`},
		{"a missing scope: insufficient_scope with full scope names",
			denial(t, codes.PermissionDenied, "requires scopes A and B", authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataScopes: "A B"}),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid", error="insufficient_scope", error_description="requires scopes A and B", scope="api://cid/A api://cid/B"`},
		{"a missing role: insufficient_scope without scope",
			denial(t, codes.PermissionDenied, "requires role R", authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataRoles: "R"}),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid", error="insufficient_scope", error_description="requires role R"`},
		{"an unreadable authorization: invalid_request with the reason",
			denial(t, codes.Unauthenticated, "more than one Authorization header", authzerr.ReasonInvalidRequest, nil),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid", error="invalid_request", error_description="more than one Authorization header"`},
		{"another domain's INSUFFICIENT_SCOPE: no challenge",
			func() *status.Status {
				st, _ := status.New(codes.PermissionDenied, "x").WithDetails(&errdetails.ErrorInfo{Reason: authzerr.ReasonInsufficientScope, Domain: "other"})
				return st
			}(), ""},
		{"a claims challenge: insufficient_claims with the claims, as azcore reads it",
			denial(t, codes.Unauthenticated, "requires authentication context c1", authzerr.ReasonInsufficientClaims, map[string]string{authzerr.MetadataClaims: "eyJ4Ijox", authzerr.MetadataAuthContexts: "c1"}),
			`Bearer realm="api", authorization_uri="https://login.example/t/oauth2/v2.0/authorize", client_id="cid", error="insufficient_claims", claims="eyJ4Ijox"`},
		{"an authentication context the client cannot step up to: no challenge",
			denial(t, codes.PermissionDenied, "requires authentication context c1", authzerr.ReasonAuthContextRequired, map[string]string{authzerr.MetadataAuthContexts: "c1"}), ""},
		{"a failed condition: no challenge",
			denial(t, codes.PermissionDenied, "condition not met: x", authzerr.ReasonConditionFailed, nil), ""},
		{"a method without rule: no challenge", denial(t, codes.PermissionDenied, "method has no access rule", authzerr.ReasonNoRule, nil), ""},
		{"a not-found: no challenge", status.New(codes.NotFound, "no item"), ""},
	}
	t.Run("a claims challenge without authorization URI still sends the parameter", func(t *testing.T) {
		st := denial(t, codes.Unauthenticated, "m", authzerr.ReasonInsufficientClaims, map[string]string{authzerr.MetadataClaims: "e30="})
		want := `Bearer realm="", authorization_uri="", error="insufficient_claims", claims="e30="`
		if got := (Challenge{}).header(st); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.header(tt.st); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzChallengeCannotInjectHeaders(f *testing.F) {
	f.Add("invalid token: token expired", "A B", "api")
	f.Add("x\r\nSet-Cookie: a=b", "A\"B", "re\"alm\\")
	f.Add("\x00\x7f\xff", "\n", "")
	f.Fuzz(func(t *testing.T, msg, scopes, realm string) {
		// Protobuf strings (ErrorInfo metadata) must be UTF-8; the status
		// message and the realm may be any bytes.
		scopes = strings.ToValidUTF8(scopes, "?")
		c := Challenge{Realm: realm, ScopePrefix: "api://x/"}
		for _, st := range []*status.Status{
			denial(t, codes.Unauthenticated, msg, authzerr.ReasonTokenInvalid, nil),
			denial(t, codes.PermissionDenied, msg, authzerr.ReasonInsufficientScope, map[string]string{authzerr.MetadataScopes: scopes}),
			denial(t, codes.Unauthenticated, msg, authzerr.ReasonInsufficientClaims, map[string]string{authzerr.MetadataClaims: scopes}),
		} {
			h := c.header(st)
			for i := 0; i < len(h); i++ {
				if h[i] < 0x20 || h[i] >= 0x7f {
					t.Fatalf("byte %#x in header %q", h[i], h)
				}
			}
			// Every quote is either a delimiter or escaped: quoted strings
			// balance, so a value cannot close its quotes early.
			inQuote := false
			for i := 0; i < len(h); i++ {
				switch {
				case inQuote && h[i] == '\\':
					i++
				case h[i] == '"':
					inQuote = !inQuote
				}
			}
			if inQuote || !strings.HasPrefix(h, `Bearer realm="`) {
				t.Fatalf("malformed header %q", h)
			}
		}
	})
}

func TestCheckOrigins(t *testing.T) {
	for _, ok := range []string{"http://localhost:8000", "https://app.example.com"} {
		if err := checkOrigins([]string{ok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"*", "https://app.example.com/", "app.example.com", "https://a.example/path", "ftp://x", "https://u@x"} {
		if err := checkOrigins([]string{bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
