package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/entratest"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// devServer serves the development identity provider where a running
// server has it, under server.DevIDPPath.
func devServer(t *testing.T) (string, *entratest.Provider) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := entratest.NewProvider("http://" + srv.Listener.Addr().String() + server.DevIDPPath)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, p
}

func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		t.Fatalf("stdout is not just a token: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenFromTheDevelopmentProvider(t *testing.T) {
	url, _ := devServer(t)
	tests := []struct {
		name string
		args []string
		want map[string]any
	}{
		{"a user gets the scopes asked for", []string{"-user", "bob", "-scopes", "Items.Read"},
			map[string]any{"preferred_username": "bob", "scp": "Items.Read"}},
		{"alice gets all her scopes by default", nil,
			map[string]any{"preferred_username": "alice", "scp": "Items.Import Items.Read Items.Sync Items.Write"}},
		{"an app gets an app-only token", []string{"-app", "admin-daemon"},
			map[string]any{"azp": devidp.AdminDaemonClientID, "idtyp": "app"}},
		{"-claims completes a step-up", []string{"-claims", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
			map[string]any{"preferred_username": "alice", "acrs": "[c1]", "xms_cc": "<nil>"}},
		{"-claims declares cp1", []string{"-user", "bob", "-claims", `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
			map[string]any{"preferred_username": "bob", "acrs": "<nil>", "xms_cc": "[cp1]"}},
		{"an app's -claims gives no acrs", []string{"-app", "admin-daemon", "-claims", `{"access_token":{"acrs":{"value":"c1"},"xms_cc":{"values":["cp1"]}}}`},
			map[string]any{"idtyp": "app", "acrs": "<nil>", "xms_cc": "[cp1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if err := runToken(append([]string{"-server", url}, tt.args...), &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			c := claims(t, stdout.String())
			for k, v := range tt.want {
				if fmt.Sprint(c[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

// approver approves the device code the token command prints, as the user
// would on the verification page.
type approver struct {
	p    *entratest.Provider
	mu   sync.Mutex
	text strings.Builder
	err  error
}

var userCode = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

func (a *approver) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.text.Write(b)
	if m := userCode.FindStringSubmatch(a.text.String()); m != nil && a.err == nil {
		a.err = a.p.ApproveDeviceCode(m[1], "bob")
	}
	return len(b), nil
}

func TestTokenWithADeviceCode(t *testing.T) {
	url, p := devServer(t)
	var stdout strings.Builder
	prompt := &approver{p: p}
	// One poll cycle of x/oauth2 (the provider asks for Entra's 5 s).
	if err := runToken([]string{"-server", url, "-device", "-scopes", "Items.Read", "-claims", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`}, &stdout, prompt); err != nil {
		t.Fatal(err)
	}
	if prompt.err != nil {
		t.Fatal(prompt.err)
	}
	if c := claims(t, stdout.String()); c["preferred_username"] != "bob" || c["scp"] != "Items.Read" || fmt.Sprint(c["acrs"]) != "[c1]" {
		t.Fatalf("claims %v", c)
	}
}

func TestTokenFailures(t *testing.T) {
	url, _ := devServer(t)
	tests := []struct {
		name, want string
		args       []string
	}{
		{"a wrong password names the AADSTS code", "AADSTS50126", []string{"-server", url, "-password", "nope"}},
		{"an unknown user is told the development users", "the development identity provider refused: invalid_grant: AADSTS50034: The user account 'carol' does not exist in this directory. The development users are alice, bob.",
			[]string{"-server", url, "-user", "carol"}},
		{"an unknown app is told the development apps", "the development identity provider refused: invalid_client: AADSTS700016: Application with identifier 'backup-daemon' was not found in the directory. The development apps are reporting-daemon, admin-daemon.",
			[]string{"-server", url, "-app", "backup-daemon"}},
		{"plaintext off loopback is refused", "token: -server http://dev.example.com:8000: http:// off loopback would send the development password or secret in plaintext",
			[]string{"-server", "http://dev.example.com:8000"}},
		{"plaintext to a private address is refused", "http:// off loopback", []string{"-server", "http://10.0.0.5:8000", "-app", "admin-daemon"}},
		{"a server that is no URL is refused", "want http://host:port on this machine, or https://", []string{"-server", "localhost:8000"}},
		{"no server says so", "is the server running", []string{"-server", "http://127.0.0.1:1"}},
		{"a tenant without an API", "-api", []string{"-tenant", "contoso.onmicrosoft.com", "-azcli"}},
		{"a tenant without a way to sign in", "-device, -azcli or -app", []string{"-tenant", "t", "-api", "api://x"}},
		{"a device code without a client", "-client-id", []string{"-tenant", "t", "-api", "api://x", "-device"}},
		{"an app without its secret in the environment", "AZURE_CLIENT_SECRET", []string{"-tenant", "t", "-api", "api://x", "-app", "daemon"}},
		{"a stray argument", "unexpected argument", []string{"bob"}},
		{"-claims that are not JSON", "claims", []string{"-server", url, "-claims", `{"access_token":`}},
		{"-claims the provider refuses names the AADSTS code", "AADSTS50117", []string{"-server", url, "-claims", `{"access_token":{"acrs":{"value":"c100"}}}`}},
	}
	t.Setenv("AZURE_CLIENT_SECRET", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout strings.Builder
			err := runToken(tt.args, &stdout, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want an error saying %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q", stdout.String())
			}
		})
	}
	t.Run("a redirect from the token endpoint is not followed with the secret", func(t *testing.T) {
		var elsewhere atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
		defer other.Close()
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect) // 307: the body would follow
		}))
		defer redirect.Close()
		var stdout strings.Builder
		err := runToken([]string{"-server", redirect.URL, "-app", "admin-daemon", "-secret", "s3cret"}, &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Fatalf("%v, want an error naming the redirect", err)
		}
		other.Close() // waits for any request it was handling
		if n := elsewhere.Load(); n != 0 || stdout.Len() != 0 {
			t.Fatalf("the redirect target got %d requests; stdout %q", n, stdout.String())
		}
	})
	t.Run("-h explains every mode and succeeds", func(t *testing.T) {
		var stderr strings.Builder
		if err := runToken([]string{"-h"}, io.Discard, &stderr); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"-app admin-daemon", "-device", "-claims", "-azcli", "AZURE_CLIENT_SECRET", "-cert", "-authority-host"} {
			if !strings.Contains(stderr.String(), s) {
				t.Errorf("usage does not mention %s", s)
			}
		}
	})
}

// Against a server in development TLS mode, the token command trusts the
// development certificate kept in the user's cache directory.
func TestTokenOverDevelopmentTLS(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache) // macOS: ~/Library/Caches
	dir, err := devidp.DefaultStateDir()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := devidp.LoadOrCreateTLSCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	p, err := entratest.NewProvider("https://" + srv.Listener.Addr().String() + server.DevIDPPath)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	var stdout, stderr strings.Builder
	if err := runToken([]string{"-server", srv.URL, "-user", "bob"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if c := claims(t, stdout.String()); c["preferred_username"] != "bob" {
		t.Fatalf("claims %v", c)
	}
}
