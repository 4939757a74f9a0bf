package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
)

// endpoint is one HTTP request the server answers, and a piece of its
// answer.
type endpoint struct {
	name, method, url, body, wantInBody string
}

// doWithHost sends e to its URL's address with Host: host, or with the
// URL's host when host is empty.
func doWithHost(t *testing.T, e endpoint, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(e.method, e.url, strings.NewReader(e.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if e.body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDevServerAnswersLoopbackHostsOnly(t *testing.T) {
	srv, _, _ := startDev(t)
	idp, base := srv.DevIDP(), srv.HTTPURL()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	signIn := url.Values{
		"grant_type": {"password"}, "client_id": {entratest.DefaultSPAClientID}, "username": {"alice"}, "password": {"dev"},
		"scope": {idp.AppIDURI() + "/Items.Read"},
	}.Encode()
	endpoints := []endpoint{
		{"the dev identity provider's token endpoint", "POST", idp.TokenURL(), signIn, `"access_token"`},
		{"the dev identity provider's discovery document", "GET", idp.DiscoveryURL(), "", `"token_endpoint"`},
		{"the REST API", "GET", base + "/v1/info", "", `"name"`},
		{"Swagger UI", "GET", base + "/docs/", "", "swagger-ui"},
		{"the OpenAPI document", "GET", base + "/openapi.json", "", `"paths"`},
	}
	hosts := []struct {
		host     string
		answered bool
	}{
		{"localhost:" + port, true},
		{"127.0.0.1:" + port, true},
		{"[::1]:" + port, true},
		{"LocalHost:" + port, true},
		{"localhost", true},
		{"attacker.example", false},
		{"attacker.example:" + port, false},
		{"localhost.attacker.example:" + port, false},
		{"127.0.0.1.attacker.example:" + port, false},
		{"localhost:" + port + ".attacker.example", false},
		{"0.0.0.0:" + port, false},
		{"127.0.0.2:" + port, false},
	}
	for _, e := range endpoints {
		for _, h := range hosts {
			verdict := "is refused with 421"
			if h.answered {
				verdict = "is answered"
			}
			t.Run(e.name+" with Host "+h.host+" "+verdict, func(t *testing.T) {
				resp, body := doWithHost(t, e, h.host)
				switch {
				case h.answered && (resp.StatusCode != 200 || !strings.Contains(body, e.wantInBody)):
					t.Fatalf("got %s %.200s", resp.Status, body)
				case !h.answered && (resp.StatusCode != http.StatusMisdirectedRequest ||
					!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.Contains(body, e.wantInBody)):
					t.Fatalf("got %s %q %.200s", resp.Status, resp.Header.Get("Content-Type"), body)
				}
			})
		}
	}

	t.Run("a request without Host is refused with 421", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET /v1/info HTTP/1.0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("got %s", resp.Status)
		}
	})
}

func TestServerWithATenantAnswersAnyHost(t *testing.T) {
	idp := entratest.NewServer(t)
	srv, _, _ := start(t, "AZUREAD_TENANT_ID="+idp.TenantID(), "AZUREAD_CLIENT_ID="+idp.ClientID(), "AZUREAD_AUTHORITY_HOST="+idp.Authority())
	if srv.DevIDP() != nil {
		t.Fatal("the development identity provider runs with a tenant")
	}
	for _, e := range []endpoint{
		{"the REST API", "GET", srv.HTTPURL() + "/v1/info", "", `"name"`},
		{"the OpenAPI document", "GET", srv.HTTPURL() + "/openapi.json", "", `"paths"`},
	} {
		t.Run(e.name+" with Host api.example.com is answered", func(t *testing.T) {
			if resp, body := doWithHost(t, e, "api.example.com"); resp.StatusCode != 200 || !strings.Contains(body, e.wantInBody) {
				t.Fatalf("got %s %.200s", resp.Status, body)
			}
		})
	}
}

func TestDevServerOnAnotherLoopbackAddressAnswersItsOwnAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 is not a loopback address here: %v", err)
	}
	l.Close()
	// The server fetches the provider's keys from its own address, so it
	// turns SERVING, which start waits for, only if that address is answered.
	srv, _, _ := start(t, "HTTP_ADDR=127.0.0.2:0")
	if resp, body := doWithHost(t, endpoint{method: "GET", url: srv.HTTPURL() + "/readyz"}, ""); resp.StatusCode != 200 {
		t.Fatalf("/readyz once SERVING: %s %s", resp.Status, body)
	}
	e := endpoint{method: "GET", url: srv.HTTPURL() + "/v1/info"}
	if resp, body := doWithHost(t, e, "attacker.example"); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("Host attacker.example: %s %s", resp.Status, body)
	}
}
