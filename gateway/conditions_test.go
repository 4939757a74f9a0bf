package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// Conditions and authentication contexts over REST: the decisions of gRPC,
// as 403 and claims challenges.
func TestConditionsAndStepUpOverREST(t *testing.T) {
	e := start(t)
	const (
		ann = "a0a0a0a0-0000-4000-8000-000000000001"
		ben = "b0b0b0b0-0000-4000-8000-000000000002"
	)
	user := func(opts ...entratest.TokenOption) string {
		return e.idp.Issue(append([]entratest.TokenOption{entratest.Claim("oid", ann)}, opts...)...)
	}
	reader := user(entratest.Scopes("Items.Read"))
	const wantClaims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	for _, tt := range []struct {
		name, method, path, token string
		status                    int
		body                      string // in the answer's body
		challenge                 bool   // a claims challenge
	}{
		{"a user reads their own notes", "GET", "/v1/users/" + ann + "/notes", reader, 200, "", false},
		{"a user reading another's notes is refused by the condition", "GET", "/v1/users/" + ben + "/notes", reader, 403, "condition not met: request.user_id == caller.object_id", false},
		{"an app with the admin role reads anyone's", "GET", "/v1/users/" + ben + "/notes", e.idp.Issue(entratest.ForApp("offboarding-daemon"), entratest.Roles("Items.Admin")), 200, "", false},
		{"a server stream's request is checked", "GET", "/v1/users/" + ben + "/feed", reader, 403, "CONDITION_FAILED", false},
		{"a server stream's own request passes", "GET", "/v1/users/" + ann + "/feed", reader, 200, ann, false},
		{"a capable client without the context is challenged", "DELETE", "/v1/stepup", user(entratest.Scopes("Items.Write"), entratest.ClientCapabilities("cp1")), 401, "INSUFFICIENT_CLAIMS", true},
		{"an incapable client is refused, naming the context", "DELETE", "/v1/stepup", user(entratest.Scopes("Items.Write")), 403, "requires authentication context c1", false},
		{"the stepped-up token passes", "DELETE", "/v1/stepup", user(entratest.Scopes("Items.Write"), entratest.ClientCapabilities("cp1"), entratest.AuthContexts("c1")), 200, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, tt.method, e.base+tt.path, tt.token, nil)
			if a.status != tt.status || !strings.Contains(a.body, tt.body) {
				t.Fatalf("%d %s, want %d with %q", a.status, a.body, tt.status, tt.body)
			}
			www := a.header.Get("WWW-Authenticate")
			claims, ok := bearer.ResponseClaimsChallenge(&http.Response{StatusCode: a.status, Header: a.header})
			if ok != tt.challenge {
				t.Fatalf("claims challenge %v in %q", ok, www)
			}
			if !tt.challenge {
				if strings.Contains(www, "insufficient_claims") {
					t.Errorf("WWW-Authenticate %q", www)
				}
				return
			}
			if claims != wantClaims {
				t.Errorf("claims %q", claims)
			}
			for _, p := range []string{`Bearer realm="grpc-azure-auth"`, `authorization_uri="` + e.idp.AuthorizeURL() + `"`, `error="insufficient_claims"`,
				`claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`} {
				if !strings.Contains(www, p) {
					t.Errorf("WWW-Authenticate %q lacks %s", www, p)
				}
			}
		})
	}
}
