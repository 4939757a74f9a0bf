package devidp_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// serve mounts p on a loopback server of the test.
func serve(t *testing.T, opts ...devidp.Option) (*devidp.Provider, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := devidp.NewProvider("http://"+srv.Listener.Addr().String(), opts...)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return p, srv
}

// publishedKey returns the key with that kid in the key set at u, or nil.
func publishedKey(t *testing.T, c *http.Client, u, kid string) *rsa.PublicKey {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	var set struct{ Keys []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, raw := range set.Keys {
		k, err := jwk.ParseKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if k.KeyID() != kid {
			continue
		}
		var pub rsa.PublicKey
		if err := k.Raw(&pub); err != nil {
			t.Fatal(err)
		}
		return &pub
	}
	return nil
}

func headerKID(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var header struct{ Kid, Alg string }
	if err := json.Unmarshal(b, &header); err != nil {
		t.Fatal(err)
	}
	if header.Alg != "RS256" {
		t.Fatalf("alg %q, want RS256", header.Alg)
	}
	return header.Kid
}

func TestUnsignedIsWhatIssueSigns(t *testing.T) {
	tests := []struct {
		name     string
		provider []devidp.Option
		token    []devidp.TokenOption
		// keySet is the path, after the authority, of the key set that
		// publishes the signing key.
		keySet string
	}{
		{"a user's token is signed with the tenant's key", nil, nil, "/" + devidp.DefaultTenantID + "/discovery/v2.0/keys"},
		{"an app's token is signed with the tenant's key", nil, []devidp.TokenOption{devidp.ForApp("admin-daemon")}, "/organizations/discovery/v2.0/keys"},
		{"a personal account's token is signed with the consumers key", nil,
			[]devidp.TokenOption{devidp.FromTenant(devidp.ConsumersTenantID), devidp.SignedWithPersonalAccountKey()}, "/consumers/discovery/v2.0/keys"},
		{"an API with a signing key of its own signs with it", []devidp.Option{devidp.WithCustomSigningKey()}, nil,
			"/" + devidp.DefaultTenantID + "/discovery/v2.0/keys?appid=" + devidp.DefaultClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := serve(t, tt.provider...)
			u := p.Unsigned(tt.token...)
			tok := p.Issue(tt.token...)
			if kid := headerKID(t, tok); kid != u.KeyID {
				t.Fatalf("Issue signs under kid %q, Unsigned names %q", kid, u.KeyID)
			}
			pub := publishedKey(t, srv.Client(), p.Authority()+tt.keySet, u.KeyID)
			if pub == nil {
				t.Fatalf("%s does not publish kid %s", tt.keySet, u.KeyID)
			}
			if !pub.Equal(u.Key.Public()) {
				t.Fatal("the published key is not Unsigned's key")
			}
			payload, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, pub))
			if err != nil {
				t.Fatalf("the issued token does not verify with the published key: %v", err)
			}
			var issued map[string]any
			if err := json.Unmarshal(payload, &issued); err != nil {
				t.Fatal(err)
			}
			// uti, rh and aio are random in each token; the rest agrees.
			for _, name := range []string{"iss", "aud", "tid", "oid", "sub", "scp", "roles", "azp", "idtyp", "ver"} {
				a, _ := json.Marshal(issued[name])
				b, _ := json.Marshal(u.Claims[name])
				if string(a) != string(b) {
					t.Errorf("claim %s: Issue %s, Unsigned %s", name, a, b)
				}
			}
		})
	}
}

func TestUnsignedFollowsKeyRotation(t *testing.T) {
	p, err := devidp.NewProvider("http://127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	before := p.Unsigned().KeyID
	p.RotateKeys()
	after := p.Unsigned().KeyID
	if after == before {
		t.Fatal("Unsigned names the same key after RotateKeys")
	}
	if kid := headerKID(t, p.Issue()); kid != after {
		t.Fatalf("Issue signs under %q after rotation, Unsigned names %q", kid, after)
	}
}

func TestWriteErrorAnswersInEntrasShape(t *testing.T) {
	const corr = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	tests := []struct {
		name      string
		requestID string
		wantCorr  string // "" means any GUID but the request's
	}{
		{"the client's request ID is echoed as the correlation ID", corr, corr},
		{"a request ID that is not a GUID is not echoed", "<script>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("client-request-id", tt.requestID)
			w := httptest.NewRecorder()
			devidp.WriteError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "AADSTS90033: A transient error has occurred.")
			if w.Code != http.StatusServiceUnavailable || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("%d %q, want 503 JSON", w.Code, w.Header().Get("Content-Type"))
			}
			var body struct {
				Error         string `json:"error"`
				Description   string `json:"error_description"`
				ErrorCodes    []int  `json:"error_codes"`
				CorrelationID string `json:"correlation_id"`
				TraceID       string `json:"trace_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error != "temporarily_unavailable" || len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != 90033 ||
				!strings.HasPrefix(body.Description, "AADSTS90033: ") || len(body.TraceID) != 36 {
				t.Fatalf("body %s", w.Body)
			}
			switch {
			case tt.wantCorr != "" && body.CorrelationID != tt.wantCorr:
				t.Fatalf("correlation ID %q, want %q", body.CorrelationID, tt.wantCorr)
			case tt.wantCorr == "" && (body.CorrelationID == tt.requestID || len(body.CorrelationID) != 36):
				t.Fatalf("correlation ID %q, want a fresh GUID", body.CorrelationID)
			}
		})
	}
}

// A single-page application's redirect URIs are where the authorization
// endpoint sends its answers: one that is not an absolute http(s) URL
// without a fragment is refused when the provider is made, never met when
// an answer is redirected to it.
func TestSPARedirectURIsAreAbsoluteURLs(t *testing.T) {
	for _, uri := range []string{"", "http://[::1", "/relative", "localhost:3000/cb", "javascript:alert(1)", "https:///cb", "https://app.example/cb#frag"} {
		if _, err := devidp.NewProvider("http://127.0.0.1", devidp.WithSPA("spa", uri)); err == nil {
			t.Errorf("redirect URI %q was accepted", uri)
		}
	}
	if _, err := devidp.NewProvider("http://127.0.0.1", devidp.WithSPA("spa", "http://localhost:3000/cb", "https://app.example/cb?x=1")); err != nil {
		t.Fatal(err)
	}
}
