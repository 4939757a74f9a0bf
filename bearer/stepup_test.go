package bearer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/grpc-azure-auth/grpc-azure-auth/authzerr"
	"github.com/grpc-azure-auth/grpc-azure-auth/bearer"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// c1Claims is the claims request of a challenge for the authentication
// context c1, as Entra's web-API sample sends it.
const c1Claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`

var c1Challenge = base64.StdEncoding.EncodeToString([]byte(c1Claims))

// stepUpService is a service on loopback, over REST and gRPC, whose one
// operation needs the authentication context c1: it validates each token
// with entra against the identity provider and answers a token without
// c1 with a claims challenge when its client declared cp1 (401 /
// Unauthenticated), and refuses it otherwise (403 / PermissionDenied), as
// the interceptor will. It records the acrs of every token it saw.
type stepUpService struct {
	restURL  string
	grpcAddr string

	mu   sync.Mutex
	seen [][]string // acrs of each token, in order
}

// stepUpClaims is what the service reads of a token.
type stepUpClaims struct {
	ACRs  []string `json:"acrs"`
	XmsCC []string `json:"xms_cc"`
}

// check validates the Authorization value auth: nil when the token has c1,
// else the error to answer with.
func (s *stepUpService) check(ctx context.Context, v *entra.Validator, auth string) (stepUpClaims, error) {
	var c stepUpClaims
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return c, authzerr.New(codes.Unauthenticated, authzerr.ReasonTokenMissing, "no token", nil)
	}
	claims, err := v.Validate(ctx, raw)
	if err != nil {
		return c, authzerr.New(codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token", nil)
	}
	if err := claims.Decode(&c); err != nil {
		return c, authzerr.New(codes.Unauthenticated, authzerr.ReasonTokenInvalid, "invalid token", nil)
	}
	s.mu.Lock()
	s.seen = append(s.seen, c.ACRs)
	s.mu.Unlock()
	switch {
	case slices.Contains(c.ACRs, "c1") && !claims.IsAppOnly():
		return c, nil
	case slices.Contains(c.XmsCC, "cp1"):
		return c, authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "authentication context c1 required",
			map[string]string{authzerr.MetadataClaims: c1Challenge})
	}
	return c, authzerr.New(codes.PermissionDenied, authzerr.ReasonInsufficientScope, "authentication context c1 required", nil)
}

// acrsSeen returns the acrs of the tokens the service saw, in order.
func (s *stepUpService) acrsSeen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.seen {
		out = append(out, "["+strings.Join(a, " ")+"]")
	}
	return out
}

func newStepUpService(t *testing.T, idp *entratest.Server) *stepUpService {
	t.Helper()
	v, err := entra.NewValidator(entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()),
		entra.WithAudiences(idp.ClientID()), entra.WithHTTPClient(idp.Client()), entra.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	s := &stepUpService{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c, err := s.check(r.Context(), v, r.Header.Get("Authorization"))
		switch authzerr.FromError(err).GetReason() {
		case "":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"acrs": c.ACRs, "body": string(body)})
		case authzerr.ReasonInsufficientClaims:
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+idp.AuthorizeURL()+
				`", error="insufficient_claims", claims="`+c1Challenge+`"`)
			http.Error(w, "step-up required", http.StatusUnauthorized)
		case authzerr.ReasonInsufficientScope:
			http.Error(w, "forbidden", http.StatusForbidden)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(hs.Close)
	s.restURL = hs.URL + "/v1/notes/1"

	gs := grpc.NewServer()
	gs.RegisterService(unary("stepup.v1.Notes", "DeleteNote", func(ctx context.Context) (*structpb.Struct, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		auth := ""
		if a := md.Get("authorization"); len(a) == 1 {
			auth = a[0]
		}
		c, err := s.check(ctx, v, auth)
		if err != nil {
			return nil, err
		}
		return structpb.NewStruct(map[string]any{"acrs": strings.Join(c.ACRs, " ")})
	}), struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	s.grpcAddr = lis.Addr().String()
	return s
}

const deleteNote = "/stepup.v1.Notes/DeleteNote"

// stepUpEndToEnd runs the step-up over REST and gRPC with src, whose
// tokens are a user's, with cp1 declared: tokenRequests reports how many
// token requests the identity provider has answered.
func stepUpEndToEnd(t *testing.T, src *bearer.Source, svc *stepUpService, tokenRequests func() int) {
	t.Helper()
	client := &http.Client{Transport: src.Transport(nil)}

	// REST: the first request is challenged, the Transport gets a token
	// with the challenge's claims and sends the request again, body and
	// all.
	resp, err := client.Post(svc.restURL, "text/plain", strings.NewReader("delete it"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ACRs []string `json:"acrs"`
		Body string   `json:"body"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST: %s %v", resp.Status, err)
	}
	if !slices.Equal(out.ACRs, []string{"c1"}) || out.Body != "delete it" {
		t.Fatalf("REST answered %+v, want acrs [c1] and the body replayed", out)
	}
	if got := svc.acrsSeen(); !slices.Equal(got, []string{"[]", "[c1]"}) {
		t.Fatalf("the service saw tokens with acrs %v, want a plain one then the stepped-up one", got)
	}
	issued := tokenRequests()
	if issued != 2 {
		t.Fatalf("%d token requests, want 2: the plain token and the stepped-up one", issued)
	}

	// gRPC: the challenge is an error whose claims ClaimsChallenge reads;
	// the call made again with them carries the stepped-up token, from
	// the Source's cache.
	conn, err := grpc.NewClient(svc.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(src.PerRPCCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply := new(structpb.Struct)
	err = conn.Invoke(t.Context(), deleteNote, &emptypb.Empty{}, reply)
	claims, ok := bearer.ClaimsChallenge(err)
	if !ok || claims != c1Claims || status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC: %v; ClaimsChallenge = %q, %v", err, claims, ok)
	}
	if err := conn.Invoke(bearer.ContextWithClaims(t.Context(), claims), deleteNote, &emptypb.Empty{}, reply); err != nil {
		t.Fatalf("gRPC with the challenge's claims: %v", err)
	}
	if got := reply.AsMap()["acrs"]; got != "c1" {
		t.Fatalf("gRPC answered acrs %v, want c1", got)
	}
	// With the unary interceptor, the retry is automatic.
	conn2, err := grpc.NewClient(svc.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(src.PerRPCCredentials()), grpc.WithUnaryInterceptor(src.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if err := conn2.Invoke(t.Context(), deleteNote, &emptypb.Empty{}, reply); err != nil || reply.AsMap()["acrs"] != "c1" {
		t.Fatalf("gRPC through UnaryClientInterceptor: %v %v", err, reply.AsMap())
	}
	if got := svc.acrsSeen(); !slices.Equal(got, []string{"[]", "[c1]", "[]", "[c1]", "[]", "[c1]"}) {
		t.Fatalf("the service saw tokens with acrs %v", got)
	}
	if n := tokenRequests(); n != issued {
		t.Fatalf("%d more token requests: the plain and stepped-up tokens are not cached apart", n-issued)
	}
}

func TestAzureDeviceCodeCredentialCompletesAStepUp(t *testing.T) {
	idp := newTLSProvider(t)
	svc := newStepUpService(t, idp)
	bob := idp.Users()[1]
	prompts := 0
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: azOptions(idp), TenantID: idp.TenantID(), ClientID: entratest.DefaultSPAClientID,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			prompts++
			return idp.ApproveDeviceCode(m.UserCode, bob.Username)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := bearer.FromAzure(cred, []string{idp.AppIDURI() + "/Items.Read"}, bearer.WithCP1())
	if err != nil {
		t.Fatal(err)
	}
	// MSAL asks for the stepped-up token with the refresh token when the
	// provider issued one, and signs the user in again otherwise: either
	// way, one token request.
	stepUpEndToEnd(t, src, svc, func() int { return idp.Fetches().Token })
	if prompts < 1 || prompts > 2 {
		t.Errorf("the user signed in %d times, want once, and maybe again for the step-up", prompts)
	}
}

func TestOAuth2AuthorizationCodeCompletesAStepUp(t *testing.T) {
	const spa, redirect = "stepup-spa", "http://localhost:8400/callback"
	idp := entratest.NewServerAt(t, usGov, entratest.WithSPA(spa, redirect))
	svc := newStepUpService(t, idp)
	cfg := &oauth2.Config{
		ClientID: spa, RedirectURL: redirect, Scopes: []string{idp.AppIDURI() + "/Items.Read"},
		Endpoint: oauth2.Endpoint{AuthURL: idp.AuthorizeURL(), TokenURL: idp.TokenURL(), AuthStyle: oauth2.AuthStyleInParams},
	}
	var mu sync.Mutex
	var requested []string
	// getToken signs alice in as a browser would (the sign-in page's
	// form), then redeems the code with the claims.
	getToken := func(ctx context.Context, claims string) (*oauth2.Token, error) {
		mu.Lock()
		requested = append(requested, claims)
		mu.Unlock()
		verifier := oauth2.GenerateVerifier()
		u, err := url.Parse(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			return nil, err
		}
		form := u.Query()
		form.Set("username", "alice")
		browser := &http.Client{Transport: idp.Client().Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.PostForm(idp.AuthorizeURL(), form)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			return nil, errors.New("sign-in gave no code: " + resp.Header.Get("Location"))
		}
		ctx = context.WithValue(ctx, oauth2.HTTPClient, idp.Client())
		return cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("claims", claims))
	}
	src, err := bearer.FromOAuth2Func(getToken, bearer.WithCP1())
	if err != nil {
		t.Fatal(err)
	}
	stepUpEndToEnd(t, src, svc, func() int { return idp.Fetches().Token })
	want := []string{
		`{"access_token":{"xms_cc":{"values":["cp1"]}}}`,
		`{"access_token":{"acrs":{"essential":true,"value":"c1"},"xms_cc":{"values":["cp1"]}}}`,
	}
	if !slices.Equal(requested, want) {
		t.Fatalf("token requests carried claims %q, want %q", requested, want)
	}
}

// countingFunc is a TokenFunc of made-up tokens, each naming the claims
// it was asked with, that counts its calls.
type countingFunc struct {
	mu    sync.Mutex
	calls []string
}

func (f *countingFunc) token(_ context.Context, claims string) (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, claims)
	sum := sha256.Sum256([]byte(claims))
	return &oauth2.Token{AccessToken: "tok-" + base64.RawURLEncoding.EncodeToString(sum[:8]), TokenType: "Bearer"}, nil
}

func (f *countingFunc) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// challenger answers 401 with a claims challenge to requests without
// want as their token, and 200 to the others; it counts the requests and
// records the tokens it saw.
type challenger struct {
	mu     sync.Mutex
	tokens []string
}

func (c *challenger) handler(want func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		auth := r.Header.Get("Authorization")
		c.mu.Lock()
		c.tokens = append(c.tokens, auth)
		c.mu.Unlock()
		if auth == "Bearer "+want() {
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="insufficient_claims", claims="`+c1Challenge+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
}

func (c *challenger) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tokens...)
}

func TestTransportAnswersAChallengeOnceAndOnlyWhenItCan(t *testing.T) {
	f := &countingFunc{}
	stepped, _ := f.token(t.Context(), c1Claims)
	plain, _ := f.token(t.Context(), "")
	f.calls = nil
	tests := []struct {
		name string
		// want is the token the server accepts.
		want     string
		body     func() io.Reader // nil: no body
		oauth2   bool             // a Source of FromOAuth2, which cannot send claims
		status   int
		requests int
	}{
		{"a challenged GET is sent again with the stepped-up token", stepped.AccessToken, nil, false, 200, 2},
		{"a challenged POST of an in-memory body is sent again", stepped.AccessToken, func() io.Reader { return strings.NewReader("x") }, false, 200, 2},
		{"a body that cannot be replayed leaves the challenge to the caller", stepped.AccessToken,
			func() io.Reader { return io.NopCloser(bytes.NewReader([]byte("x"))) }, false, 401, 1},
		{"a second challenge is the answer: no loop", "nothing will do", nil, false, 401, 2},
		{"a Source that cannot send claims leaves the challenge to the caller", stepped.AccessToken, nil, true, 401, 1},
		{"no challenge, no retry", plain.AccessToken, nil, false, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &challenger{}
			srv := httptest.NewServer(c.handler(func() string { return tt.want }))
			t.Cleanup(srv.Close)
			var src *bearer.Source
			var err error
			if tt.oauth2 {
				src, err = bearer.FromOAuth2(oauth2.StaticTokenSource(plain))
			} else {
				src, err = bearer.FromOAuth2Func((&countingFunc{}).token)
			}
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: src.Transport(nil)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || len(c.seen()) != tt.requests {
				t.Fatalf("%d after %d requests, want %d after %d", resp.StatusCode, len(c.seen()), tt.status, tt.requests)
			}
			if tt.status == http.StatusUnauthorized {
				if claims, ok := bearer.ResponseClaimsChallenge(resp); !ok || claims != c1Claims {
					t.Fatalf("ResponseClaimsChallenge = %q, %v", claims, ok)
				}
			}
		})
	}
}

func TestSteppedUpTokensStayWithTheirOrigin(t *testing.T) {
	f := &countingFunc{}
	stepped, _ := f.token(t.Context(), c1Claims)
	other := &challenger{}
	elsewhere := httptest.NewServer(other.handler(func() string { return stepped.AccessToken }))
	t.Cleanup(elsewhere.Close)
	// The first origin challenges, then, to the stepped-up token,
	// redirects to another origin (127.0.0.1 and localhost differ), which
	// challenges too.
	first := &challenger{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+stepped.AccessToken {
			first.mu.Lock()
			first.tokens = append(first.tokens, r.Header.Get("Authorization"))
			first.mu.Unlock()
			http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
			return
		}
		first.handler(func() string { return stepped.AccessToken }).ServeHTTP(w, r)
	}))
	t.Cleanup(origin.Close)
	src, err := bearer.FromOAuth2Func(f.token)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: src.Transport(nil)}).Get(origin.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s, want the other origin's 401 as the answer", resp.Status)
	}
	if got := first.seen(); len(got) != 2 || got[1] != "Bearer "+stepped.AccessToken {
		t.Fatalf("the first origin saw %q, want the plain then the stepped-up token", got)
	}
	if got := other.seen(); !slices.Equal(got, []string{""}) {
		t.Fatalf("the other origin saw %q, want one request without a token", got)
	}
}

func TestSteppedUpTokensAreCachedByTheirClaims(t *testing.T) {
	f := &countingFunc{}
	src, err := bearer.FromOAuth2Func(f.token)
	if err != nil {
		t.Fatal(err)
	}
	claimsN := func(i int) string {
		return `{"access_token":{"acrs":{"essential":true,"value":"c` + string(rune('1'+i/10)) + string(rune('0'+i%10)) + `"}}}`
	}
	get := func(claims string) string {
		tok, err := src.Token(bearer.ContextWithClaims(t.Context(), claims))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	plain, first := get(""), get(claimsN(0))
	if plain == first {
		t.Fatal("the stepped-up token is the plain one")
	}
	if get("") != plain || get(claimsN(0)) != first || f.count() != 2 {
		t.Fatalf("%d fetches for two tokens asked twice, want 2", f.count())
	}
	for i := 1; i <= bearer.MaxStepUps; i++ {
		get(claimsN(i))
	}
	n := f.count()
	get(claimsN(0)) // the least recently used was dropped
	get("")         // the plain token never is
	if f.count() != n+1 {
		t.Fatalf("%d fetches after the cache filled, want 1", f.count()-n)
	}
}

func TestStepUpOptionsAndClaimsAreChecked(t *testing.T) {
	if _, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}), bearer.WithCP1()); err == nil {
		t.Error("FromOAuth2 with WithCP1: no error")
	}
	src, err := bearer.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(bearer.ContextWithClaims(t.Context(), c1Claims)); !errors.Is(err, bearer.ErrClaimsUnsupported) {
		t.Errorf("claims asked of FromOAuth2: %v, want ErrClaimsUnsupported", err)
	}
	f := &countingFunc{}
	src, err = bearer.FromOAuth2Func(f.token, bearer.WithCP1())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`[]`, `{"a":1,"a":2}`, `{"a":`, "{\"\xff\":1}", `{"a":"` + strings.Repeat("x", 5000) + `"}`} {
		if _, err := src.Token(bearer.ContextWithClaims(t.Context(), bad)); !errors.Is(err, bearer.ErrBadClaims) {
			t.Errorf("claims %.20q: %v, want ErrBadClaims", bad, err)
		}
	}
	if f.count() != 0 {
		t.Fatalf("bad claims reached the token source %d times", f.count())
	}
	if _, err := src.Token(bearer.ContextWithClaims(t.Context(), `{"id_token":{"auth_time":null},"access_token":{"xms_cc":{"values":["x"]},"nbf":{"value":"1"}}}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":{"nbf":{"value":"1"},"xms_cc":{"values":["cp1"]}},"id_token":{"auth_time":null}}`
	if f.calls[0] != want {
		t.Fatalf("cp1 merged into %s, want %s", f.calls[0], want)
	}
}

func TestClaimsChallengeReadsOnlyChallenges(t *testing.T) {
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"a challenge", authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "m", map[string]string{authzerr.MetadataClaims: c1Challenge}), true},
		{"unpadded base64", authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "m",
			map[string]string{authzerr.MetadataClaims: base64.RawStdEncoding.EncodeToString([]byte(c1Claims))}), true},
		{"another code", authzerr.New(codes.PermissionDenied, authzerr.ReasonInsufficientClaims, "m", map[string]string{authzerr.MetadataClaims: c1Challenge}), false},
		{"another reason", authzerr.New(codes.Unauthenticated, authzerr.ReasonTokenInvalid, "m", map[string]string{authzerr.MetadataClaims: c1Challenge}), false},
		{"no claims", authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "m", nil), false},
		{"URL-safe base64", authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "m",
			map[string]string{authzerr.MetadataClaims: base64.URLEncoding.EncodeToString([]byte(`{"a":"??>"}`))}), false},
		{"claims not a JSON object", authzerr.New(codes.Unauthenticated, authzerr.ReasonInsufficientClaims, "m",
			map[string]string{authzerr.MetadataClaims: base64.StdEncoding.EncodeToString([]byte(`"c1"`))}), false},
		{"a status of another domain", status.Error(codes.Unauthenticated, "m"), false},
		{"not a status", errors.New("insufficient_claims"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := bearer.ClaimsChallenge(tt.err); ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestResponseClaimsChallenge(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header []string
		ok     bool
	}{
		{"Entra's challenge", 401, []string{`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + c1Challenge + `"`}, true},
		{"the scheme in lower case, spaces around =", 401, []string{`bearer error = "insufficient_claims", claims=` + strings.TrimRight(c1Challenge, "=")}, true},
		{"after another challenge", 401, []string{`Basic realm="x"`, `PoP nonce="n", Bearer claims="` + c1Challenge + `", error="insufficient_claims"`}, true},
		{"another status", 403, []string{`Bearer error="insufficient_claims", claims="` + c1Challenge + `"`}, false},
		{"another error", 401, []string{`Bearer error="invalid_token", claims="` + c1Challenge + `"`}, false},
		{"another scheme", 401, []string{`PoP error="insufficient_claims", claims="` + c1Challenge + `"`}, false},
		{"a parameter given twice", 401, []string{`Bearer error="insufficient_claims", claims="` + c1Challenge + `", claims="e30="`}, false},
		{"an unterminated quoted string", 401, []string{`Bearer error="insufficient_claims", claims="` + c1Challenge}, false},
		{"no claims", 401, []string{`Bearer error="insufficient_claims"`}, false},
		{"claims not base64", 401, []string{`Bearer error="insufficient_claims", claims="{}"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Www-Authenticate": tt.header}}
			claims, ok := bearer.ResponseClaimsChallenge(resp)
			if ok != tt.ok || ok && claims != c1Claims {
				t.Fatalf("%q, %v; want ok %v", claims, ok, tt.ok)
			}
		})
	}
}

func FuzzResponseClaimsChallenge(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="", authorization_uri="https://x/authorize", error="insufficient_claims", claims="` + c1Challenge + `"`,
		`Basic realm="x", Bearer error=insufficient_claims, claims=e30=`, `Bearer abc==`, `Bearer a="\"\\"`, `, ,=,"`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		resp := &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {h}}}
		claims, ok := bearer.ResponseClaimsChallenge(resp)
		if ok && (len(claims) > 4<<10 || !json.Valid([]byte(claims)) || claims[0] != '{') {
			t.Fatalf("accepted claims %q", claims)
		}
	})
}
