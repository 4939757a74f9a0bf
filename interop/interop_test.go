package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/internal/example/items"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
)

// result is what interop.mjs prints after its RESULT marker.
type result struct {
	Error   string         `json:"error"`
	Claims  map[string]any `json:"claims"`
	Allowed int            `json:"allowed"`
	Denied  int            `json:"denied"`
	Hosts   []string       `json:"hosts"`
	Account struct {
		Username, HomeAccountID, TenantID string
	} `json:"account"`
	IDToken   bool `json:"idToken"`
	Refreshed bool `json:"refreshed"`
	Cached    bool `json:"cached"`
}

// TestMicrosoftClients runs MSAL for Node and Azure Identity through each
// flow against the Items example in development TLS mode, as make run
// serves it with AZUREAD_DEV_TLS=true: each gets a token without any proxy
// or rewriting, trusting the development certificate through
// NODE_EXTRA_CA_CERTS, and calls the API over REST, allowed (200) and
// denied (403). Device codes are approved through the provider as the
// script prints them. No connection leaves loopback.
func TestMicrosoftClients(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: it is a prerequisite of make test (README, Development)")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@azure", "msal-node")); err != nil {
		t.Fatal("the Node clients are not installed: run make interop-deps (npm ci in interop/node)")
	}
	certFile, keyFile, cert := clientCertificate(t)
	// The apps of the Items example's development mode, admin-daemon with a
	// registered certificate besides its secret.
	apps := devidp.DefaultApps()
	for i := range apps {
		switch apps[i].ClientID {
		case devidp.AdminDaemonClientID:
			apps[i].Roles = []string{"Items.Admin", "Items.Export"}
			apps[i].Certificates = []*x509.Certificate{cert}
		case devidp.ReportingDaemonClientID:
			apps[i].Roles = []string{"Items.Export"}
		}
	}
	srv := start(t, server.WithDevIdentityProvider(devidp.WithApps(apps...), devidp.WithDevicePollInterval(time.Second)))
	idp := srv.DevIDP()
	env := append(withoutProxies(os.Environ()),
		"NODE_EXTRA_CA_CERTS="+srv.DevCertFile(),
		"AUTHORITY_HOST="+srv.HTTPURL()+server.DevIDPPath,
		"TENANT="+idp.TenantID(),
		"API_URL="+srv.HTTPURL(),
		"API_SCOPE_PREFIX="+idp.AppIDURI(),
		"PUBLIC_CLIENT_ID="+devidp.DefaultSPAClientID,
		"REPORTING_DAEMON="+devidp.ReportingDaemonClientID, "ADMIN_DAEMON="+devidp.AdminDaemonClientID,
		"CERT_FILE="+certFile, "KEY_FILE="+keyFile,
	)
	tests := []struct {
		flow string
		// approver signs in on the device code the flow prints.
		approver string
		check    func(t *testing.T, r result)
	}{
		{flow: "msal-secret", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"azp": devidp.ReportingDaemonClientID, "azpacr": "1", "idtyp": nil})
		}},
		{flow: "msal-instance-discovery", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"azp": devidp.ReportingDaemonClientID, "idtyp": nil})
		}},
		{flow: "msal-certificate", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"azp": devidp.AdminDaemonClientID, "azpacr": "2", "idtyp": nil})
		}},
		{flow: "msal-password", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"preferred_username": "bob", "azp": devidp.DefaultSPAClientID, "scp": "Items.Read"})
			if !r.IDToken || r.Account.Username != "bob" || r.Account.TenantID != idp.TenantID() || !strings.HasSuffix(r.Account.HomeAccountID, "."+idp.TenantID()) {
				t.Errorf("MSAL kept no account for bob: id token %v, account %+v", r.IDToken, r.Account)
			}
			if !r.Refreshed {
				t.Error("acquireTokenSilent did not renew the token from MSAL's cache (refresh token)")
			}
		}},
		{flow: "msal-device", approver: "alice", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"preferred_username": "alice", "scp": "Items.Read Items.Write"})
			if r.Account.Username != "alice" || !r.Cached {
				t.Errorf("account %+v, silent from cache %v", r.Account, r.Cached)
			}
		}},
		{flow: "identity-secret", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"azp": devidp.ReportingDaemonClientID, "idtyp": nil})
		}},
		{flow: "identity-device", approver: "bob", check: func(t *testing.T, r result) {
			wantClaims(t, r, map[string]any{"preferred_username": "bob", "scp": "Items.Read"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.flow, func(t *testing.T) {
			t.Parallel()
			r := runFlow(t, node, env, tt.flow, func(code string) error { return idp.ApproveDeviceCode(code, tt.approver) })
			if r.Error != "" {
				t.Fatalf("%s failed: %s", tt.flow, r.Error)
			}
			if r.Allowed != 200 || r.Denied != 403 {
				t.Errorf("the API answered %d to the allowed call and %d to the denied one, want 200 and 403", r.Allowed, r.Denied)
			}
			tt.check(t, r)
		})
	}
}

// runFlow runs interop.mjs flow, approving the device code it prints
// with approve, and returns its result. The script's hosts must all be
// loopback.
func runFlow(t *testing.T, node string, env []string, flow string, approve func(string) error) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "interop.mjs", flow)
	cmd.Dir = "node"
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var r result
	var got bool
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if code, ok := strings.CutPrefix(line, "USER_CODE "); ok {
			if err := approve(code); err != nil {
				t.Errorf("approving %s: %v", code, err)
			}
		}
		if js, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatalf("RESULT %s: %v", js, err)
			}
			got = true
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if !got {
		t.Fatalf("node interop.mjs %s printed no result (%v):\n%s", flow, err, stderr.String())
	}
	if r.Error != "" {
		t.Logf("node stderr:\n%s", stderr.String())
	}
	for _, h := range r.Hosts {
		if !slices.Contains([]string{"127.0.0.1", "localhost", "::1"}, h) {
			t.Errorf("%s contacted %s: only loopback is allowed", flow, h)
		}
	}
	if len(r.Hosts) == 0 {
		t.Errorf("%s reported no connection at all: the guard did not see it", flow)
	}
	return r
}

func wantClaims(t *testing.T, r result, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if r.Claims[k] != v {
			t.Errorf("claim %s = %v, want %v (claims %v)", k, r.Claims[k], v, r.Claims)
		}
	}
}

// start serves the Items example in development TLS mode on loopback,
// keeping its key and certificate in a directory of the test.
func start(t *testing.T, opts ...server.Option) *server.Server {
	t.Helper()
	cfg := server.Config{DevMode: true, DevTLS: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	srv, err := server.New(cfg, append([]server.Option{
		server.WithServices(server.Service{Register: items.Register, RegisterGateway: items.RegisterGateway}),
		server.WithDevStateDir(t.TempDir()),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	if err := srv.Validator().Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv
}

// clientCertificate makes a self-signed RSA certificate for an app's
// client assertions, and writes it and its key as PEM files.
func clientCertificate(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin-daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// withoutProxies drops the proxy settings some clients honour (Azure
// Identity's pipeline does): the clients talk to loopback directly.
func withoutProxies(environ []string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.HasSuffix(strings.ToUpper(k), "_PROXY")
	})
}
