package bearer_test

import (
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// A proxy named by an unspecified address (0.0.0.0, ::) is reached on
// loopback: a connection to it ends at the local listener, and its peer
// reads 127.0.0.1. The check must not take it for a proxy off loopback.
func TestGRPCPlaintextDoesNotGoThroughAProxyNamedByAnUnspecifiedAddress(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		mu.Lock()
		seen[strings.Join(md.Get("x-case"), "")] = strings.Join(md.Get("authorization"), ",")
		mu.Unlock()
		return status.Error(codes.Unimplemented, "nothing here")
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	proxy := startConnectProxy(t, lis.Addr().String())
	_, port, _ := net.SplitHostPort(proxy.lis.Addr().String())

	for _, host := range []string{"0.0.0.0", "[::]"} {
		t.Run(host, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			before := len(proxy.targets())
			// The client of TestGRPCPlaintextDoesNotGoThroughALoopbackProxy,
			// in a process of its own with this proxy.
			cmd := exec.Command(os.Args[0], "-test.run=^TestGRPCPlaintextDoesNotGoThroughALoopbackProxy$", "-test.count=1")
			cmd.Env = append(os.Environ(), proxyClientEnv+"="+lis.Addr().String(),
				"HTTPS_PROXY=http://"+host+":"+port, "https_proxy=", "NO_PROXY=", "no_proxy=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("client process: %v\n%s", err, out)
			}
			const name = "through the proxy, naming localhost"
			if !strings.Contains(string(out), "case "+name+": refused") {
				t.Errorf("%s: the call was not refused (client output:\n%s)", name, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if auth := seen[name]; auth != "" {
				t.Errorf("%s: the remote server saw authorization %q through the proxy", name, auth)
			}
			if got := proxy.targets(); len(got) == before {
				t.Fatal("the proxy was asked for nothing: the test does not go through it")
			}
		})
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

// More redirect chains than the finding-1 test follows: a relative
// redirect on the other origin, userinfo naming the first origin in front
// of another host, and a different path on the first origin with 307.
func TestReviewRedirectChainsKeepTheTokenWithItsOrigin(t *testing.T) {
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
