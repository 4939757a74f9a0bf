package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/server"
	"github.com/grpc-azure-auth/grpc-azure-auth/server/servertest"
)

// runDev serves a development server keeping its state in dir until the
// test ends or stop is called, and returns it once it answers /readyz.
// httpAddr is the HTTP listener's address; a restart reuses the address
// of the first run, as make run does (the issuer names it).
func runDev(t *testing.T, dir string, devTLS bool, httpAddr string) (srv *server.Server, client *http.Client, stop func()) {
	t.Helper()
	cfg := server.Config{DevMode: true, DevTLS: devTLS, GRPCAddr: "127.0.0.1:0", HTTPAddr: httpAddr}
	srv, err := server.New(cfg, append(example(), server.WithDevStateDir(dir), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	client = http.DefaultClient
	if devTLS {
		pemBytes, err := os.ReadFile(srv.DevCertFile())
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pemBytes)
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	}
	// Preload, as Serve does, so that the first call finds the keys.
	if err := srv.Validator().Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv, client, stop
}

func getItems(t *testing.T, c *http.Client, srv *server.Server, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/v1/items", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A development token issued before a restart is accepted after it: the
// signing key is kept in the state directory, mode 0600.
func TestDevTokensSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	first, c, stop := runDev(t, dir, false, "127.0.0.1:0")
	token := first.DevIDP().Issue(devidp.ForUser("alice"))
	// Signed with the key in the directory, not a key of the process.
	kept, err := devidp.LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte(token), jws.WithKey(jwa.RS256, &kept.PublicKey)); err != nil {
		t.Fatalf("the token is not signed with the kept key: %v", err)
	}
	if got := getItems(t, c, first, token); got != http.StatusOK {
		t.Fatalf("before the restart: %d", got)
	}
	stop()
	second, c, _ := runDev(t, dir, false, first.HTTPURL()[len("http://"):])
	if got := getItems(t, c, second, token); got != http.StatusOK {
		t.Fatalf("after the restart: %d, want 200", got)
	}
	fi, err := os.Stat(filepath.Join(dir, devidp.SigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", fi, err)
	}
}

// With AZUREAD_DEV_TLS both listeners and the provider speak TLS with the
// certificate kept in the state directory, the same across a restart.
func TestDevTLSServesHTTPSWithTheKeptCertificate(t *testing.T) {
	dir := t.TempDir()
	srv, c, stop := runDev(t, dir, true, "127.0.0.1:0")
	if got := srv.HTTPURL(); got[:8] != "https://" || srv.DevIDP().Authority()[:8] != "https://" {
		t.Fatalf("HTTPURL %s, authority %s", got, srv.DevIDP().Authority())
	}
	if srv.DevCertFile() != filepath.Join(dir, devidp.TLSCertFile) {
		t.Fatalf("DevCertFile %s", srv.DevCertFile())
	}
	token := srv.DevIDP().Issue(devidp.ForUser("alice"))
	if got := getItems(t, c, srv, token); got != http.StatusOK {
		t.Fatalf("GET over TLS: %d", got)
	}
	before, _ := os.ReadFile(srv.DevCertFile())
	stop()
	again, c, _ := runDev(t, dir, true, srv.HTTPURL()[len("https://"):])
	after, _ := os.ReadFile(again.DevCertFile())
	if string(before) != string(after) {
		t.Fatal("the certificate changed across a restart: clients would have to trust a new one")
	}
	if got := getItems(t, c, again, token); got != http.StatusOK {
		t.Fatalf("after the restart: %d", got)
	}
	// A plaintext client gets Go's 400 for HTTP on an HTTPS port.
	resp, err := http.Get("http" + again.HTTPURL()[5:] + "/v1/items")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plaintext HTTP: %s", resp.Status)
		}
	}
}

// New refuses development TLS without a state directory to keep the
// certificate in, rather than one the user would have to re-trust.
func TestDevTLSNeedsAStateDirectory(t *testing.T) {
	_, err := server.New(server.Config{DevMode: true, DevTLS: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}, example()...)
	if err == nil {
		t.Fatal("New accepted DevTLS without WithDevStateDir")
	}
}

// A token signed by a key the development provider does not publish (the
// key of a run before a restart that could not keep it) gets a 401 whose
// description says so; with the key kept, the plain description.
func TestUnknownKeySaysTheServerRestarted(t *testing.T) {
	old, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		keepKey  bool
		wantHint bool
	}{
		{"without a kept key the 401 says the server restarted", false, true},
		{"with the key kept the 401 says only what failed", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := append(example(), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if tt.keepKey {
				opts = append(opts, server.WithDevStateDir(t.TempDir()))
			}
			srv := servertest.Start(t, server.Config{DevMode: true, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}, opts...)
			u := srv.DevIDP().Unsigned(devidp.ForUser("alice"))
			payload, _ := json.Marshal(u.Claims)
			h := jws.NewHeaders()
			_ = h.Set(jws.KeyIDKey, "key-of-a-previous-run")
			tok, err := jws.Sign(payload, jws.WithKey(jwa.RS256, old, jws.WithProtectedHeaders(h)))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/v1/items", nil)
			req.Header.Set("Authorization", "Bearer "+string(tok))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, "signing key not found") {
				t.Fatalf("%s, WWW-Authenticate %q", resp.Status, challenge)
			}
			if got := strings.Contains(challenge, "development server restarted"); got != tt.wantHint {
				t.Fatalf("WWW-Authenticate %q: restart hint %v, want %v", challenge, got, tt.wantHint)
			}
		})
	}
}
