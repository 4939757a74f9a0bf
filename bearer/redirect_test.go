package bearer_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// hop is one request a host received: where, and its Authorization.
type hop struct{ where, auth string }

// newRedirector starts a host on loopback that records each request in
// hops and redirects it to its next parameter, if any, with its code
// parameter (302 by default).
func newRedirector(t *testing.T, mu *sync.Mutex, hops *[]hop) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*hops = append(*hops, hop{r.Host + r.URL.Path, r.Header.Get("Authorization")})
		mu.Unlock()
		if next := r.URL.Query().Get("next"); next != "" {
			code := http.StatusFound
			if r.URL.Query().Get("code") == "307" {
				code = http.StatusTemporaryRedirect
			}
			http.Redirect(w, r, next, code)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// chain is the URL that redirects through urls in order.
func chain(code string, urls ...string) string {
	next := ""
	for i := len(urls) - 1; i >= 0; i-- {
		u, _ := url.Parse(urls[i])
		if next != "" {
			q := url.Values{"next": {next}}
			if code != "" {
				q.Set("code", code)
			}
			u.RawQuery = q.Encode()
		}
		next = u.String()
	}
	return next
}

func TestTokensStayWithTheOriginThatStartedARedirectChain(t *testing.T) {
	idp := newTLSProvider(t)
	var (
		mu   sync.Mutex
		hops []hop
	)
	a, b := newRedirector(t, &mu, &hops), newRedirector(t, &mu, &hops)
	aHost, bHost := a.Listener.Addr().String(), b.Listener.Addr().String()
	aByName := strings.Replace(a.URL, "127.0.0.1", "localhost", 1)

	src, err := bearer.FromOAuth2(tokenEndpoint(t, idp))
	if err != nil {
		t.Fatal(err)
	}
	obo, err := bearer.NewOnBehalfOf(
		bearer.OnBehalfOfSecret(idp.TenantID(), serviceA.ClientID, serviceA.ClientSecret,
			&azidentity.OnBehalfOfCredentialOptions{ClientOptions: azOptions(idp)}),
		[]string{idp.AppIDURI() + "/Items.Read"})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(time.Hour)
	bobToA := idp.Issue(entratest.ForUser("bob"), entratest.Audience(serviceA.ClientID), entratest.Scopes("Items.Read"), entratest.ExpiresIn(time.Hour))
	transports := map[string]http.RoundTripper{
		"Source.Transport":     src.Transport(nil),
		"OnBehalfOf.Transport": obo.Transport(nil, func(context.Context) (string, time.Time, error) { return bobToA, expires, nil }),
	}

	const token = "token"
	tests := []struct {
		name string
		code string
		urls []string
		want []hop // auth: token for "Bearer ey…"
	}{
		{name: "A → B → B: B never sees the token, on the second hop either",
			urls: []string{a.URL + "/start", b.URL + "/hop1", b.URL + "/hop2"},
			want: []hop{{aHost + "/start", token}, {bHost + "/hop1", ""}, {bHost + "/hop2", ""}}},
		{name: "A → B → B with 307 (the body follows): B never sees the token", code: "307",
			urls: []string{a.URL + "/start", b.URL + "/hop1", b.URL + "/hop2"},
			want: []hop{{aHost + "/start", token}, {bHost + "/hop1", ""}, {bHost + "/hop2", ""}}},
		{name: "A → B → A: the token is back on A only",
			urls: []string{a.URL + "/start", b.URL + "/hop1", a.URL + "/end"},
			want: []hop{{aHost + "/start", token}, {bHost + "/hop1", ""}, {aHost + "/end", token}}},
		{name: "A → A: a redirect within the origin keeps the token",
			urls: []string{a.URL + "/start", a.URL + "/end"},
			want: []hop{{aHost + "/start", token}, {aHost + "/end", token}}},
		{name: "A → A under another name → again: another host name is another origin",
			urls: []string{a.URL + "/start", aByName + "/hop1", aByName + "/hop2"},
			want: []hop{{aHost + "/start", token}, {strings.TrimPrefix(aByName, "http://") + "/hop1", ""}, {strings.TrimPrefix(aByName, "http://") + "/hop2", ""}}},
	}
	for tname, rt := range transports {
		for _, tt := range tests {
			t.Run(tname+": "+tt.name, func(t *testing.T) {
				mu.Lock()
				hops = nil
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodPost, chain(tt.code, tt.urls...), strings.NewReader("body"))
				// The caller's own header, which an http.Client copies onto
				// redirects to the same host name whatever the port.
				req.Header.Set("Authorization", "Bearer stale")
				resp, err := (&http.Client{Transport: rt}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				if len(hops) != len(tt.want) {
					t.Fatalf("hops %v, want %d", hops, len(tt.want))
				}
				for i, w := range tt.want {
					got := hops[i]
					ok := got.where == w.where && (w.auth == token && strings.HasPrefix(got.auth, "Bearer ey") || w.auth == "" && got.auth == "")
					if !ok {
						t.Errorf("hop %d: %s saw Authorization %.20q, want %s with %q", i, got.where, got.auth, w.where, w.auth)
					}
				}
			})
		}
	}
}

// The on-behalf-of exchange posts the middle tier's secret and the user's
// token to the token endpoint: a redirect from it (a 307 keeps the method
// and the body) must not carry them to the host it names. azcore's HTTP
// client follows redirects; OnBehalfOfSecret's credential must not.
func TestOnBehalfOfExchangesDoNotFollowARedirect(t *testing.T) {
	var (
		mu       sync.Mutex
		received []string
	)
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // what it would have: the form's names, not the secrets
		mu.Lock()
		received = append(received, r.Method+" "+r.URL.Path+" "+strings.Join(slices.Sorted(maps.Keys(r.PostForm)), ","))
		mu.Unlock()
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(elsewhere.Close)
	// The identity provider, behind a front whose token endpoint redirects.
	var idp *entratest.Provider
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		idp.ServeHTTP(w, r)
	}))
	front.StartTLS()
	t.Cleanup(front.Close)
	idp, err := entratest.NewProvider(front.URL, entratest.WithApps(append(entratest.DefaultApps(), serviceA)...))
	if err != nil {
		t.Fatal(err)
	}
	obo, err := bearer.NewOnBehalfOf(
		bearer.OnBehalfOfSecret(idp.TenantID(), serviceA.ClientID, serviceA.ClientSecret,
			&azidentity.OnBehalfOfCredentialOptions{
				ClientOptions: azcore.ClientOptions{
					Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: front.URL + "/"},
					Transport: front.Client(), // trusts elsewhere's certificate too: httptest's
					Retry:     policy.RetryOptions{MaxRetries: -1},
				},
				DisableInstanceDiscovery: true,
			}),
		[]string{idp.AppIDURI() + "/Items.Read"})
	if err != nil {
		t.Fatal(err)
	}
	userToA := idp.Issue(entratest.ForUser("bob"), entratest.Audience(serviceA.ClientID), entratest.Scopes("Items.Read"), entratest.ExpiresIn(time.Hour))
	_, err = obo.Token(t.Context(), userToA, time.Now().Add(time.Hour))
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 0 {
		t.Errorf("the redirect's target received %d requests: %q", len(received), received)
	}
	if err == nil || !strings.Contains(err.Error(), "redirected a token request; not followed") {
		t.Errorf("%v, want the redirect refused", err)
	}
}

// More redirect chains than TestTokensStayWithTheOriginThatStartedARedirectChain
// follows: a relative
// redirect on the other origin, userinfo naming the first origin in front
// of another host, and a different path on the first origin with 307.
func TestRedirectChainsOfEveryShapeKeepTheTokenWithItsOrigin(t *testing.T) {
	var (
		mu   sync.Mutex
		hops []hop
	)
	a, b := newRedirector(t, &mu, &hops), newRedirector(t, &mu, &hops)
	aHost, bHost := a.Listener.Addr().String(), b.Listener.Addr().String()
	src, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", TokenType: "Bearer"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		code string
		urls []string
		want []hop
	}{
		{name: "A → B → relative /end: still B, no token",
			urls: []string{a.URL + "/start", b.URL + "/hop1", "/end"},
			want: []hop{{aHost + "/start", "Bearer t"}, {bHost + "/hop1", ""}, {bHost + "/end", ""}}},
		{name: "A → A's host:port as userinfo @ B: B, no token",
			urls: []string{a.URL + "/start", "http://" + aHost + "@" + bHost + "/hop1"},
			want: []hop{{aHost + "/start", "Bearer t"}, {bHost + "/hop1", ""}}},
		{name: "A → B → B with userinfo: no token, no Basic either",
			urls: []string{a.URL + "/start", b.URL + "/hop1", "http://u:p@" + bHost + "/hop2"},
			want: []hop{{aHost + "/start", "Bearer t"}, {bHost + "/hop1", ""}, {bHost + "/hop2", ""}}},
		{name: "A → A/other with 307: the same origin keeps the token", code: "307",
			urls: []string{a.URL + "/start", a.URL + "/other"},
			want: []hop{{aHost + "/start", "Bearer t"}, {aHost + "/other", "Bearer t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			hops = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodPost, chain(tt.code, tt.urls...), strings.NewReader("body"))
			resp, err := (&http.Client{Transport: src.Transport(nil)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(hops) != len(tt.want) {
				t.Fatalf("hops %v, want %v", hops, tt.want)
			}
			for i, w := range tt.want {
				if hops[i] != w {
					t.Errorf("hop %d: %s saw %.20q, want %s with %q", i, hops[i].where, hops[i].auth, w.where, w.auth)
				}
			}
		})
	}
}
