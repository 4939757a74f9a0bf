package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// startServer runs the example server on loopback, REST gateway included.
func startServer(t *testing.T, env ...string) (*server.Server, *entratest.Provider) {
	t.Helper()
	cfg, err := server.LoadConfig(append([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0"}, env...), "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}), server.WithOpenAPI(items.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv, srv.DevIDP()
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u, token, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
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

func TestEveryMethodOverREST(t *testing.T) {
	srv, idp := startServer(t)
	base := srv.HTTPURL()
	user := func(scopes ...string) string {
		return idp.Issue(entratest.ForUser("alice"), entratest.Scopes(scopes...))
	}
	app := func(id string) string { return idp.Issue(entratest.ForApp(id)) }
	expired := idp.Issue(entratest.ExpiresIn(-time.Hour))
	tests := []struct {
		name          string
		method, path  string
		body          string
		good, under   string // a sufficient token, an insufficient one ("" when none exists)
		okStatus      int
		wantInBody    string
		missingStatus int
	}{
		{"GetItem", "GET", "/v1/items/item-1", "", user("Items.Read"), user("Items.Write"), 200, `"Keyboard"`, 401},
		{"ListItems", "GET", "/v1/items", "", user("Items.Read"), app("reporting-daemon"), 200, `"Cable"`, 401},
		{"CreateItem", "POST", "/v1/items", `{"name":"Desk","quantity":"2"}`, user("Items.Write"), user("Items.Read"), 200, `"Desk"`, 401},
		{"DeleteItem", "DELETE", "/v1/items/item-2", "", app("admin-daemon"), user("Items.Read", "Items.Write"), 200, `{}`, 401},
		{"ExportItems (server stream)", "GET", "/v1/items:export", "", app("reporting-daemon"), user("Items.Write"), 200, `"result"`, 401},
		{"WatchItems (server stream)", "GET", "/v1/items:watch?max_events=0", "", "", user("Items.Write"), 0, "", 401},
		{"ImportItems (client stream)", "POST", "/v1/items:import", `{"item":{"name":"a"}}` + "\n" + `{"item":{"name":"b"}}`, user("Items.Write", "Items.Import"), user("Items.Write"), 200, `"created":2`, 401},
		{"GetInfo (anonymous)", "GET", "/v1/info", "", user("Items.Read"), "", 200, `"name"`, 200},
		{"GetDebugInfo (no rule)", "GET", "/v1/debug", "", "", user("Items.Read", "Items.Write"), 0, "", 403},
	}
	for _, tt := range tests {
		if tt.good != "" {
			t.Run(tt.name+" with a sufficient token answers "+fmt.Sprint(tt.okStatus), func(t *testing.T) {
				a := do(t, tt.method, base+tt.path, tt.good, tt.body)
				if a.status != tt.okStatus || !strings.Contains(a.body, tt.wantInBody) {
					t.Fatalf("got %d %s", a.status, a.body)
				}
			})
		}
		if tt.under != "" {
			t.Run(tt.name+" with an insufficient token answers 403 insufficient_scope", func(t *testing.T) {
				a := do(t, tt.method, base+tt.path, tt.under, tt.body)
				if a.status != 403 {
					t.Fatalf("got %d %s", a.status, a.body)
				}
				if tt.path != "/v1/debug" && !strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
					t.Fatalf("challenge %q", a.header.Get("WWW-Authenticate"))
				}
			})
		}
		t.Run(tt.name+" without a token answers "+fmt.Sprint(tt.missingStatus), func(t *testing.T) {
			a := do(t, tt.method, base+tt.path, "", tt.body)
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
				a := do(t, tt.method, base+tt.path, expired, tt.body)
				ch := a.header.Get("WWW-Authenticate")
				if a.status != 401 || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, `error_description="invalid token: token expired"`) {
					t.Fatalf("got %d, challenge %q", a.status, ch)
				}
			})
		}
	}
}

func TestInsufficientScopeNamesTheFullScopes(t *testing.T) {
	srv, idp := startServer(t)
	a := do(t, "POST", srv.HTTPURL()+"/v1/items:import", idp.Issue(entratest.Scopes("Items.Write")), `{"name":"a"}`)
	want := fmt.Sprintf(`scope="%[1]s/Items.Write %[1]s/Items.Import"`, idp.AppIDURI())
	if ch := a.header.Get("WWW-Authenticate"); a.status != 403 || !strings.Contains(ch, want) || !strings.Contains(ch, `client_id="`+idp.ClientID()+`"`) ||
		!strings.Contains(ch, `authorization_uri="`+idp.AuthorizeURL()+`"`) {
		t.Fatalf("got %d, challenge %q; want %s", a.status, ch, want)
	}
}

func TestServerStreamingOverREST(t *testing.T) {
	srv, idp := startServer(t)
	a := do(t, "GET", srv.HTTPURL()+"/v1/items:export", idp.Issue(entratest.Scopes("Items.Read")), "")
	lines := strings.Split(strings.TrimSpace(a.body), "\n")
	if a.status != 200 || len(lines) != 3 {
		t.Fatalf("got %d with %d lines: %s", a.status, len(lines), a.body)
	}
	for _, l := range lines {
		var m struct {
			Result struct{ Item struct{ ID string } }
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Result.Item.ID == "" {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	// A denied stream answers before the first message, with the challenge.
	a = do(t, "GET", srv.HTTPURL()+"/v1/items:export", idp.Issue(entratest.Scopes("Items.Write")), "")
	if a.status != 403 || !strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("denied stream: %d %q", a.status, a.header.Get("WWW-Authenticate"))
	}
}

func TestOnlyTheAuthorizationHeaderCarriesTheToken(t *testing.T) {
	srv, idp := startServer(t)
	good := idp.Issue(entratest.Scopes("Items.Read"))
	u := srv.HTTPURL() + "/v1/items"
	tests := []struct {
		name    string
		token   string
		headers []string
		status  int
	}{
		{"a token in Grpc-Metadata-Authorization is not forwarded", "", []string{"Grpc-Metadata-Authorization", "Bearer " + good}, 401},
		{"Grpc-Metadata-Authorization cannot replace a bad Authorization", "x.y.z", []string{"Grpc-Metadata-Authorization", "Bearer " + good}, 401},
		{"Grpc-Metadata-Authorization cannot add a second value to a good one", good, []string{"Grpc-Metadata-Authorization", "Bearer x.y.z"}, 200},
		{"two Authorization headers are refused", good, []string{"Authorization", "Bearer " + good}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := do(t, "GET", u, tt.token, "", tt.headers...); a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
		})
	}
}

// rawRequest sends bytes as they are, for headers net/http would refuse.
func rawRequest(t *testing.T, base, request string) (string, http.Header) {
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
	return resp.Status, resp.Header
}

func TestHeaderInjectionAttempts(t *testing.T) {
	srv, _ := startServer(t)
	// net/http itself refuses control bytes in a header value.
	status, h := rawRequest(t, srv.HTTPURL(), "GET /v1/items HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \x01\x7f\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(status, "400") || h.Get("WWW-Authenticate") != "" {
		t.Fatalf("control bytes: %s %v", status, h)
	}
	for _, auth := range []string{
		`Bearer a"b, error="none`,
		"Bearer \x80\xff",
		`Bearer abc\"; Set-Cookie: x=y`,
		"Bearer " + strings.Repeat("A", 20000),
	} {
		status, h := rawRequest(t, srv.HTTPURL(), "GET /v1/items HTTP/1.1\r\nHost: localhost\r\nAuthorization: "+auth+"\r\nConnection: close\r\n\r\n")
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
	srv, idp := startServer(t, "CORS_ORIGINS=https://app.example, http://localhost:3000")
	u := srv.HTTPURL() + "/v1/items"
	pre := func(origin string) answer {
		return do(t, "OPTIONS", u, "", "", "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	}
	a := pre("https://app.example")
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Authorization") || a.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", a.status, a.header)
	}
	if a = pre("https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("denied preflight allowed: %v", a.header)
	}
	a = do(t, "GET", u, idp.Issue(entratest.Scopes("Items.Read")), "", "Origin", "http://localhost:3000")
	if a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(a.header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Fatalf("allowed call: %d %v", a.status, a.header)
	}
	if a = do(t, "GET", u, "", "", "Origin", "https://evil.example"); a.header.Get("Access-Control-Allow-Origin") != "" || a.status != 401 {
		t.Fatalf("call from another origin: %d %v", a.status, a.header)
	}
	if _, err := server.LoadConfig([]string{"CORS_ORIGINS=*"}, ""); err != nil {
		t.Fatal(err) // the wildcard is refused when the gateway is built:
	}
	cfg, _ := server.LoadConfig([]string{"GRPC_ADDR=127.0.0.1:0", "HTTP_ADDR=127.0.0.1:0", "CORS_ORIGINS=*"}, "")
	if _, err := server.New(cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}), server.WithOpenAPI(items.OpenAPI())); err == nil || !strings.Contains(err.Error(), "never *") {
		t.Fatalf("CORS_ORIGINS=* accepted: %v", err)
	}
}

func TestProbes(t *testing.T) {
	srv, _ := startServer(t)
	if a := do(t, "GET", srv.HTTPURL()+"/healthz", "", ""); a.status != 200 {
		t.Fatalf("healthz %d", a.status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for do(t, "GET", srv.HTTPURL()+"/readyz", "", "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBodyLimit(t *testing.T) {
	srv, idp := startServer(t)
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	if a := do(t, "POST", srv.HTTPURL()+"/v1/items", idp.Issue(entratest.Scopes("Items.Write")), big); a.status != 400 && a.status != 413 {
		t.Fatalf("2 MiB body: %d %s", a.status, a.body[:min(len(a.body), 200)])
	}
}
