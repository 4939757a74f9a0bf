package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/gateway"
	"github.com/grpc-azure-auth/grpc-azure-auth/interceptor"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/authztest"
)

// env is the test services behind the interceptor on a gRPC server on
// loopback, and the gateway in front of them on an HTTP server on loopback.
type env struct {
	base  string // the gateway's URL
	idp   *entratest.Server
	items *authztest.Items
}

// start runs the test services and a gateway built with opts, whose
// challenge names the provider as make run's does.
func start(t *testing.T, opts ...gateway.Option) *env {
	t.Helper()
	return startWith(t, nil, nil, opts...)
}

// startWith is start serving items and info (the test services when nil).
func startWith(t *testing.T, items authztest.ItemsServer, info authztest.InfoServer, opts ...gateway.Option) *env {
	t.Helper()
	idp := entratest.NewServer(t)
	authz, _ := authztest.NewAuthorizer(t, idp, []entra.Option{
		entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID()),
	})
	store := authztest.NewItems()
	if items == nil {
		items = store
	}
	conn := authztest.Serve(t, authz, items, info)
	h, err := gateway.New(context.Background(), conn, []gateway.RegisterFunc{authztest.RegisterREST}, append([]gateway.Option{
		gateway.WithChallenge(gateway.Challenge{Realm: "grpc-azure-auth", AuthorizationURI: idp.AuthorizeURL(), ClientID: idp.ClientID(), ScopePrefix: idp.AppIDURI() + "/"}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{base: srv.URL, idp: idp, items: store}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u, token string, body io.Reader, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func text(s string) io.Reader { return strings.NewReader(s) }

func TestEveryMethodOverREST(t *testing.T) {
	e := start(t)
	user := func(scopes ...string) string {
		return e.idp.Issue(entratest.ForUser("alice"), entratest.Scopes(scopes...))
	}
	app := func(id string) string { return e.idp.Issue(entratest.ForApp(id)) }
	expired := e.idp.Issue(entratest.ExpiresIn(-time.Hour))
	tests := []struct {
		name          string
		method, path  string
		body          string
		good, under   string // a sufficient token, an insufficient one ("" when none exists)
		okStatus      int
		wantInBody    string
		missingStatus int
	}{
		{"Get (unary, service default scope)", "GET", "/v1/items/item-1", "", user("Items.Read"), user("Items.Write"), 200, `"Keyboard"`, 401},
		{"Count (unary, service default scope)", "GET", "/v1/count", "", user("Items.Read"), app("reporting-daemon"), 200, `"3"`, 401},
		{"Create (unary, scope)", "POST", "/v1/items", `{"name":"Desk"}`, user("Items.Write"), user("Items.Read"), 200, `"Desk"`, 401},
		{"Delete (unary, app role)", "DELETE", "/v1/items/item-2", "", app("admin-daemon"), user("Items.Read", "Items.Write"), 200, `{}`, 401},
		{"Export (server stream, scope or role)", "GET", "/v1/items:export", "", app("reporting-daemon"), user("Items.Write"), 200, `"result"`, 401},
		{"Watch (server stream, service default scope)", "GET", "/v1/watch/2", "", user("Items.Read"), user("Items.Write"), 200, `"tick"`, 401},
		{"Import (client stream, all of two scopes)", "POST", "/v1/items:import", `"a"` + "\n" + `"b"`, user("Items.Write", "Items.Import"), user("Items.Write"), 200, `"2"`, 401},
		{"GetInfo (anonymous)", "GET", "/v1/info", "", user("Items.Read"), "", 200, `"caller"`, 200},
		{"Debug (no rule)", "GET", "/v1/debug", "", "", user("Items.Read", "Items.Write"), 0, "", 403},
	}
	for _, tt := range tests {
		if tt.good != "" {
			t.Run(tt.name+" with a sufficient token answers "+fmt.Sprint(tt.okStatus), func(t *testing.T) {
				a := do(t, tt.method, e.base+tt.path, tt.good, text(tt.body))
				if a.status != tt.okStatus || !strings.Contains(a.body, tt.wantInBody) {
					t.Fatalf("got %d %s", a.status, a.body)
				}
			})
		}
		if tt.under != "" {
			t.Run(tt.name+" with an insufficient token answers 403 insufficient_scope", func(t *testing.T) {
				a := do(t, tt.method, e.base+tt.path, tt.under, text(tt.body))
				if a.status != 403 {
					t.Fatalf("got %d %s", a.status, a.body)
				}
				if tt.path != "/v1/debug" && !strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
					t.Fatalf("challenge %q", a.header.Get("WWW-Authenticate"))
				}
			})
		}
		t.Run(tt.name+" without a token answers "+fmt.Sprint(tt.missingStatus), func(t *testing.T) {
			a := do(t, tt.method, e.base+tt.path, "", text(tt.body))
			if a.status != tt.missingStatus {
				t.Fatalf("got %d %s", a.status, a.body)
			}
			if tt.missingStatus == 401 {
				ch := a.header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, `Bearer realm="grpc-azure-auth"`) || strings.Contains(ch, "error=") {
					t.Fatalf("RFC 6750 §3.1 wants a challenge without error code, got %q", ch)
				}
			}
		})
		if tt.missingStatus == 401 {
			t.Run(tt.name+" with an expired token answers 401 invalid_token", func(t *testing.T) {
				a := do(t, tt.method, e.base+tt.path, expired, text(tt.body))
				ch := a.header.Get("WWW-Authenticate")
				if a.status != 401 || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, `error_description="invalid token: token expired"`) {
					t.Fatalf("got %d, challenge %q", a.status, ch)
				}
			})
		}
	}
}

func TestInsufficientScopeNamesTheFullScopes(t *testing.T) {
	e := start(t)
	a := do(t, "POST", e.base+"/v1/items:import", e.idp.Issue(entratest.Scopes("Items.Write")), text(`"a"`))
	want := fmt.Sprintf(`scope="%[1]s/Items.Write %[1]s/Items.Import"`, e.idp.AppIDURI())
	if ch := a.header.Get("WWW-Authenticate"); a.status != 403 || !strings.Contains(ch, want) || !strings.Contains(ch, `client_id="`+e.idp.ClientID()+`"`) ||
		!strings.Contains(ch, `authorization_uri="`+e.idp.AuthorizeURL()+`"`) {
		t.Fatalf("got %d, challenge %q; want %s", a.status, ch, want)
	}
}

func TestHandlerDenialsAnswerAsRuleDenials(t *testing.T) {
	e := start(t)
	alice := e.idp.Issue(entratest.ForUser("alice"), entratest.Scopes("Items.Write"))
	bob := e.idp.Issue(entratest.ForUser("bob"), entratest.Scopes("Items.Write"))
	created := do(t, "POST", e.base+"/v1/items", alice, text(`{"name":"pen"}`))
	var item struct{ ID string }
	if err := json.Unmarshal([]byte(created.body), &item); err != nil || created.status != 200 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	challenge := func(desc string, scope string) string {
		ch := fmt.Sprintf(`Bearer realm="grpc-azure-auth", authorization_uri="%s", client_id="%s", error="insufficient_scope", error_description="%s"`,
			e.idp.AuthorizeURL(), e.idp.ClientID(), desc)
		if scope != "" {
			ch += fmt.Sprintf(`, scope="%s/%s"`, e.idp.AppIDURI(), scope)
		}
		return ch
	}
	tests := []struct {
		name, method, path, token string
		status                    int
		challenge                 string
	}{
		{"a rule denial (the reference)", "POST", "/v1/archive/item-1", e.idp.Issue(entratest.Scopes("Items.Read")), 403, challenge("requires scope Items.Write", "Items.Write")},
		{"RequireScope in the handler answers the same 403 challenge", "POST", "/v1/archive/item-1", bob, 403, challenge("requires scope Items.Archive", "Items.Archive")},
		{"RequireRole in the handler answers 403 insufficient_scope", "POST", "/v1/purge", bob, 403, challenge("requires role Items.Admin", "")},
		{"Deny in the handler answers 403 insufficient_scope with its reason", "DELETE", "/v1/mine/" + item.ID, bob, 403, challenge("only the item's owner may remove it", "")},
		{"the owner passes the handler's check", "DELETE", "/v1/mine/" + item.ID, alice, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, tt.method, e.base+tt.path, tt.token, nil)
			if a.status != tt.status || a.header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q %s\nwant %d %q", a.status, a.header.Get("WWW-Authenticate"), a.body, tt.status, tt.challenge)
			}
		})
	}
}

func TestServerStreamingOverREST(t *testing.T) {
	e := start(t)
	a := do(t, "GET", e.base+"/v1/items:export", e.idp.Issue(entratest.Scopes("Items.Read")), nil)
	lines := strings.Split(strings.TrimSpace(a.body), "\n")
	if a.status != 200 || len(lines) != 3 {
		t.Fatalf("got %d with %d lines: %s", a.status, len(lines), a.body)
	}
	for _, l := range lines {
		var m struct {
			Result struct{ ID string }
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Result.ID == "" {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	// A denied stream answers before the first message, with the challenge.
	a = do(t, "GET", e.base+"/v1/items:export", e.idp.Issue(entratest.Scopes("Items.Write")), nil)
	if a.status != 403 || !strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("denied stream: %d %q", a.status, a.header.Get("WWW-Authenticate"))
	}
}

func TestOnlyTheAuthorizationHeaderCarriesTheToken(t *testing.T) {
	e := start(t)
	good := e.idp.Issue(entratest.Scopes("Items.Read"))
	u := e.base + "/v1/count"
	tests := []struct {
		name    string
		token   string
		headers []string
		status  int
	}{
		{"a token in Grpc-Metadata-Authorization is not forwarded", "", []string{"Grpc-Metadata-Authorization", "Bearer " + good}, 401},
		{"Grpc-Metadata-Authorization cannot replace a bad Authorization", "x.y.z", []string{"Grpc-Metadata-Authorization", "Bearer " + good}, 401},
		{"Grpc-Metadata-Authorization cannot add a second value to a good one", good, []string{"Grpc-Metadata-Authorization", "Bearer x.y.z"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := do(t, "GET", u, tt.token, nil, tt.headers...); a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
		})
	}
}

// rawRequest sends bytes as they are, for headers net/http would refuse.
func rawRequest(t *testing.T, base, request string) (string, http.Header, string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, resp.Header, string(b)
}

func TestUnforwardableAuthorizationIsRefused(t *testing.T) {
	e := start(t)
	good := e.idp.Issue(entratest.Scopes("Items.Read"))
	invalidRequest := func(desc string) string {
		return fmt.Sprintf(`Bearer realm="grpc-azure-auth", authorization_uri="%s", client_id="%s", error="invalid_request", error_description="%s"`,
			e.idp.AuthorizeURL(), e.idp.ClientID(), desc)
	}
	many, bytes := invalidRequest("more than one Authorization header"), invalidRequest("Authorization header has bytes outside printable ASCII")
	tests := []struct {
		name   string
		auth   []string // Authorization lines, as sent
		status string
		want   string // the challenge
	}{
		{"a good token followed by a second, unforwardable value", []string{"Bearer " + good, "\xff"}, "401", many},
		{"two good tokens", []string{"Bearer " + good, "Bearer " + good}, "401", many},
		{"a value with a tab inside", []string{"Bearer\t" + good}, "401", bytes},
		{"a value with a non-ASCII byte", []string{"Bearer " + good + "\xc3\xa9"}, "401", bytes},
		{"a lone value with a byte above 0x7f", []string{"\x80"}, "401", bytes},
	}
	for _, path := range []string{"/v1/count", "/v1/info"} {
		for _, tt := range tests {
			t.Run(tt.name+" is refused with 401 invalid_request on "+path, func(t *testing.T) {
				req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n"
				for _, v := range tt.auth {
					req += "Authorization: " + v + "\r\n"
				}
				status, h, body := rawRequest(t, e.base, req+"Connection: close\r\n\r\n")
				if !strings.HasPrefix(status, tt.status) || h.Get("WWW-Authenticate") != tt.want {
					t.Fatalf("got %s %q %s\nwant %s %q", status, h.Get("WWW-Authenticate"), body, tt.status, tt.want)
				}
				if !strings.Contains(body, `"INVALID_REQUEST"`) {
					t.Fatalf("body %s lacks the reason", body)
				}
			})
		}
	}
	t.Run("one good token on an anonymous method reaches the handler as sent", func(t *testing.T) {
		a := do(t, "GET", e.base+"/v1/info", good, nil)
		if a.status != 200 || !strings.Contains(a.body, `"Bearer `+good+`"`) {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	})
}

func TestHeaderInjectionAttempts(t *testing.T) {
	e := start(t)
	// net/http itself refuses control bytes in a header value.
	status, h, _ := rawRequest(t, e.base, "GET /v1/count HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \x01\x7f\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(status, "400") || h.Get("WWW-Authenticate") != "" {
		t.Fatalf("control bytes: %s %v", status, h)
	}
	for _, auth := range []string{
		`Bearer a"b, error="none`,
		"Bearer \x80\xff",
		`Bearer abc\"; Set-Cookie: x=y`,
		"Bearer " + strings.Repeat("A", 20000),
	} {
		status, h, _ := rawRequest(t, e.base, "GET /v1/count HTTP/1.1\r\nHost: localhost\r\nAuthorization: "+auth+"\r\nConnection: close\r\n\r\n")
		ch := h.Values("WWW-Authenticate")
		if !strings.HasPrefix(status, "401") || len(ch) != 1 || h.Get("Set-Cookie") != "" {
			t.Fatalf("%q: %s %v", auth, status, h)
		}
		for i := 0; i < len(ch[0]); i++ {
			if c := ch[0][i]; c < 0x20 || c >= 0x7f {
				t.Fatalf("%q: control byte in challenge %q", auth, ch[0])
			}
		}
		if strings.Contains(ch[0], `error="none"`) || strings.Contains(ch[0], "Set-Cookie") {
			t.Fatalf("%q: the caller's text reached the challenge: %q", auth, ch[0])
		}
	}
}

func TestCORS(t *testing.T) {
	e := start(t, gateway.WithCORSOrigins("https://app.example", "http://localhost:3000"))
	u := e.base + "/v1/count"
	pre := func(origin string) answer {
		return do(t, "OPTIONS", u, "", nil, "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	}
	a := pre("https://app.example")
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Authorization") || a.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", a.status, a.header)
	}
	if a = pre("https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("denied preflight allowed: %v", a.header)
	}
	a = do(t, "GET", u, e.idp.Issue(entratest.Scopes("Items.Read")), nil, "Origin", "http://localhost:3000")
	if a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(a.header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Fatalf("allowed call: %d %v", a.status, a.header)
	}
	if a = do(t, "GET", u, "", nil, "Origin", "https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" || a.status != 401 {
		t.Fatalf("call from another origin: %d %v", a.status, a.header)
	}
}

func TestInvalidOptionsFailConstruction(t *testing.T) {
	conn := authztest.Serve(t, mustAuthorizer(t), authztest.NewItems(), nil)
	reg := []gateway.RegisterFunc{authztest.RegisterREST}
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"the CORS wildcard is refused", func() error {
			_, err := gateway.New(context.Background(), conn, reg, gateway.WithCORSOrigins("*"))
			return err
		}, "never *"},
		{"a zero body limit is refused", func() error {
			_, err := gateway.New(context.Background(), conn, reg, gateway.WithMaxBodyBytes(0))
			return err
		}, "must be positive"},
		{"a nil connection is refused", func() error {
			_, err := gateway.New(context.Background(), nil, reg)
			return err
		}, "connection"},
		{"no service is refused", func() error {
			_, err := gateway.New(context.Background(), conn, nil)
			return err
		}, "at least one service"},
		{"a nil register function is refused", func() error {
			_, err := gateway.New(context.Background(), conn, []gateway.RegisterFunc{nil})
			return err
		}, "nil RegisterFunc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func mustAuthorizer(t *testing.T) *interceptor.Authorizer {
	idp := entratest.NewServer(t)
	a, _ := authztest.NewAuthorizer(t, idp, []entra.Option{entra.WithAuthorityHost(idp.Authority()), entra.WithTenant(idp.TenantID()), entra.WithAudiences(idp.ClientID())})
	return a
}

func TestBodyLimit(t *testing.T) {
	e := start(t, gateway.WithMaxBodyBytes(1<<20))
	writer := e.idp.Issue(entratest.Scopes("Items.Write", "Items.Read"))
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name string
		body func() io.Reader
	}{
		{"a 2 MiB body with its length is refused with 413", func() io.Reader { return strings.NewReader(big) }},
		// Without a length, the body is cut while the handler reads it.
		{"a 2 MiB chunked body is refused with 413", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" and creates nothing", func(t *testing.T) {
			a := do(t, "POST", e.base+"/v1/items", writer, tt.body())
			if a.status != http.StatusRequestEntityTooLarge || !strings.Contains(a.body, "request body larger than 1048576 bytes") {
				t.Fatalf("got %d %s", a.status, a.body[:min(len(a.body), 200)])
			}
			if n := e.items.Len(); n != 3 {
				t.Fatalf("%d items, want the 3 it started with", n)
			}
		})
	}
	if a := do(t, "POST", e.base+"/v1/items", writer, text(`{"name":"small"}`)); a.status != 200 || e.items.Len() != 4 {
		t.Fatalf("a small body: %d %s", a.status, a.body)
	}
}

// optingOut is a service asking go-grpc-middleware's auth interceptors to
// skip authentication for all its methods.
type optingOut struct{ *authztest.Items }

func (optingOut) AuthFuncOverride(ctx context.Context, _ string) (context.Context, error) {
	return ctx, nil
}

type optingOutInfo struct{ authztest.Info }

func (optingOutInfo) AuthFuncOverride(ctx context.Context, _ string) (context.Context, error) {
	return ctx, nil
}

var _ auth.ServiceAuthFuncOverride = optingOut{}

func TestServicesCannotOptOutOfTheirRulesOverREST(t *testing.T) {
	e := startWith(t, optingOut{authztest.NewItems()}, optingOutInfo{})
	tests := []struct {
		name, method, path, token string
		status                    int
	}{
		{"a protected method without a token answers 401", "GET", "/v1/count", "", 401},
		{"a scope method with another scope answers 403", "POST", "/v1/items", e.idp.Issue(entratest.Scopes("Items.Read")), 403},
		{"a stream without the scope answers 403", "GET", "/v1/items:export", e.idp.Issue(entratest.Scopes("Items.Write")), 403},
		{"a method without rule answers 403 to every caller", "GET", "/v1/debug", e.idp.Issue(entratest.ForApp("admin-daemon")), 403},
		{"a sufficient token still passes", "GET", "/v1/count", e.idp.Issue(entratest.Scopes("Items.Read")), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := do(t, tt.method, e.base+tt.path, tt.token, text(`{"name":"x"}`)); a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
		})
	}
}
