package entratest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

const (
	spa      = "swagger-spa"
	redirect = "http://localhost:8000/docs/oauth2-redirect.html"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy"
)

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// noRedirects returns answers as they are, so tests see the 302s.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func authParams(idp *entratest.Server, mod func(url.Values)) url.Values {
	q := url.Values{
		"client_id": {spa}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {idp.AppIDURI() + "/Items.Read " + idp.AppIDURI() + "/Items.Write openid"}, "state": {"xyz"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	if mod != nil {
		mod(q)
	}
	return q
}

// signIn posts the sign-in form as the page's button does and returns the
// redirect.
func signIn(t *testing.T, idp *entratest.Server, user string, q url.Values) *url.URL {
	t.Helper()
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("username", user)
	resp, err := noRedirects.PostForm(idp.AuthorizeURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func redeem(t *testing.T, idp *entratest.Server, code, v, redirectURI string) (int, map[string]any) {
	t.Helper()
	return post(t, http.DefaultClient, idp.TokenURL(), url.Values{
		"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {v},
	})
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithSPA(spa, redirect))

	resp, err := http.Get(idp.AuthorizeURL() + "?" + authParams(idp, nil).Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="user-alice"`) || !strings.Contains(string(page), `id="user-bob"`) {
		t.Fatalf("sign-in page: %d\n%s", resp.StatusCode, page)
	}

	loc := signIn(t, idp, "bob", authParams(idp, nil))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s", loc)
	}
	code := loc.Query().Get("code")
	status, body := redeem(t, idp, code, verifier, redirect)
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, body)
	}
	_, claims := parts(t, body["access_token"].(string))
	if claims["preferred_username"] != "bob" || claims["scp"] != "Items.Read" || claims["azp"] != spa {
		t.Fatalf("claims %v: want bob with only the scope he may have", claims)
	}
	if status, body = redeem(t, idp, code, verifier, redirect); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("a reused code: %d %v", status, body)
	}
}

func TestPKCEFailures(t *testing.T) {
	clk := atomic.Int64{}
	clk.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clk.Load()) }
	idp := entratest.NewServer(t, entratest.WithSPA(spa, redirect), entratest.WithClock(now))

	t.Run("a wrong verifier is refused, and spends the code", func(t *testing.T) {
		code := signIn(t, idp, "alice", authParams(idp, nil)).Query().Get("code")
		if status, body := redeem(t, idp, code, strings.Repeat("x", 43), redirect); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
		if status, _ := redeem(t, idp, code, verifier, redirect); status != 400 {
			t.Fatal("the code survived a failed redemption")
		}
	})
	t.Run("a missing verifier is refused", func(t *testing.T) {
		code := signIn(t, idp, "alice", authParams(idp, nil)).Query().Get("code")
		if status, _ := redeem(t, idp, code, "", redirect); status != 400 {
			t.Fatal("redeemed without verifier")
		}
	})
	t.Run("another redirect URI at the token endpoint is refused", func(t *testing.T) {
		code := signIn(t, idp, "alice", authParams(idp, nil)).Query().Get("code")
		if status, body := redeem(t, idp, code, verifier, "http://localhost:8000/elsewhere"); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("an expired code is refused", func(t *testing.T) {
		code := signIn(t, idp, "alice", authParams(idp, nil)).Query().Get("code")
		clk.Add(int64(61 * time.Second))
		if status, _ := redeem(t, idp, code, verifier, redirect); status != 400 {
			t.Fatal("redeemed an expired code")
		}
	})
	redirected := []struct {
		name  string
		mod   func(url.Values)
		error string
	}{
		{"the plain method is refused", func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", verifier) }, "invalid_request"},
		{"a missing challenge is refused", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"the implicit flow is refused", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"a request for no scope of the API is refused", func(q url.Values) { q.Set("scope", "openid profile") }, "invalid_scope"},
	}
	for _, tt := range redirected {
		t.Run(tt.name, func(t *testing.T) {
			loc := signIn(t, idp, "alice", authParams(idp, tt.mod))
			if loc.Query().Get("error") != tt.error || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") != "" {
				t.Fatalf("redirect %s, want error %s", loc, tt.error)
			}
		})
	}
	paged := []struct {
		name string
		mod  func(url.Values)
	}{
		{"an unregistered redirect URI gets an error page, not a redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }},
		{"a redirect URI differing by a trailing slash is unregistered", func(q url.Values) { q.Set("redirect_uri", redirect+"/") }},
		{"an unknown client gets an error page", func(q url.Values) { q.Set("client_id", "nobody") }},
	}
	for _, tt := range paged {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirects.Get(idp.AuthorizeURL() + "?" + authParams(idp, tt.mod).Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
				t.Fatalf("%d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestTokenEndpointCORSForTheSPA(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithSPA(spa, redirect))
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, idp.TokenURL(), nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := preflight("http://localhost:8000"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8000" {
		t.Fatalf("SPA origin: %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", r.Header)
	}
}

// The authorization code flow answers an ID token for the SPA with the
// nonce the authorization request sent, as MSAL checks it, and none when
// none was sent.
func TestAuthorizationCodeIDTokenCarriesTheNonce(t *testing.T) {
	idp := entratest.NewServer(t, entratest.WithSPA(spa, redirect))
	for _, nonce := range []string{"n-0S6_WzA2Mj", ""} {
		loc := signIn(t, idp, "alice", authParams(idp, func(q url.Values) {
			if nonce != "" {
				q.Set("nonce", nonce)
			}
		}))
		status, body := redeem(t, idp, loc.Query().Get("code"), verifier, redirect)
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		idTok, _ := body["id_token"].(string)
		if idTok == "" {
			t.Fatal("no id_token for openid")
		}
		_, c := parts(t, idTok)
		if got, _ := c["nonce"].(string); got != nonce || c["aud"] != spa || c["preferred_username"] != "alice" {
			t.Fatalf("id_token nonce %q aud %v user %v, want nonce %q", got, c["aud"], c["preferred_username"], nonce)
		}
		if _, c := parts(t, body["access_token"].(string)); c["azp"] != spa {
			t.Fatalf("access token azp %v", c["azp"])
		}
	}
}
