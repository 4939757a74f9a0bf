package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tlsTestPair is a self-signed certificate for localhost and its key, PEM.
type tlsTestPair struct {
	serial   int64
	cert     *x509.Certificate
	certPEM  []byte
	keyPEM   []byte
	rootPool *x509.CertPool
}

func newTLSTestPair(t testing.TB, serial int64) tlsTestPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tlsTestPair{
		serial:   serial,
		cert:     cert,
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		rootPool: pool,
	}
}

// writeFiles writes the pair the way cert-manager and the kubelet update a
// secret volume: into a new directory, then an atomic rename of the
// ..data symlink that tls.crt and tls.key point through.
func (p tlsTestPair) writeFiles(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	version := filepath.Join(dir, "..v"+big.NewInt(p.serial).String())
	if err := os.Mkdir(version, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, "tls.crt"), p.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, "tls.key"), p.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for _, name := range []string{"tls.crt", "tls.key"} {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tlsTestServer serves TLS handshakes on loopback with r's configuration
// and returns the address.
func tlsTestServer(t *testing.T, r *certReloader) string {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", r.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return lis.Addr().String()
}

// presented handshakes with addr, trusting any of pairs, and returns the
// serial number of the certificate the server presented.
func presented(t *testing.T, addr string, pairs ...tlsTestPair) int64 {
	t.Helper()
	roots := x509.NewCertPool()
	for _, p := range pairs {
		roots.AddCert(p.cert)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertReloader(t *testing.T) {
	first, second := newTLSTestPair(t, 1), newTLSTestPair(t, 2)
	mismatched := tlsTestPair{serial: 3, certPEM: second.certPEM, keyPEM: first.keyPEM}

	setup := func(t *testing.T) (dir string, r *certReloader, clock *fakeClock, logs *bytes.Buffer) {
		dir = t.TempDir()
		certFile, keyFile := first.writeFiles(t, dir)
		logs = &bytes.Buffer{}
		var err error
		r, err = newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		clock = &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		r.now = clock.Now
		r.checked = clock.Now()
		return dir, r, clock, logs
	}

	t.Run("a replaced pair is presented at the first handshake after the check interval", func(t *testing.T) {
		dir, r, clock, _ := setup(t)
		addr := tlsTestServer(t, r)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("before the swap the server presented serial %d, want 1", got)
		}
		second.writeFiles(t, dir)
		clock.Advance(certCheckInterval - time.Nanosecond)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("within the check interval the server presented serial %d, want the cached 1", got)
		}
		clock.Advance(time.Nanosecond)
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after the check interval the server presented serial %d, want the new 2", got)
		}
	})

	t.Run("a pair that does not load is logged and the last good pair stays", func(t *testing.T) {
		dir, r, clock, logs := setup(t)
		addr := tlsTestServer(t, r)
		mismatched.writeFiles(t, dir)
		clock.Advance(certCheckInterval)
		if got := presented(t, addr, first, second); got != 1 {
			t.Fatalf("with a broken new pair the server presented serial %d, want the previous 1", got)
		}
		if !strings.Contains(logs.String(), "do not load") {
			t.Fatalf("the failed reload was not logged: %q", logs.String())
		}
		second.writeFiles(t, dir)
		clock.Advance(certCheckInterval)
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after a good pair replaced the broken one the server presented serial %d, want 2", got)
		}
	})

	t.Run("files rewritten in place are picked up", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		for f, b := range map[string][]byte{certFile: first.certPEM, keyFile: first.keyPEM} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		addr := tlsTestServer(t, r)
		later := time.Now().Add(time.Minute) // a coarse file system clock still sees a change
		for f, b := range map[string][]byte{certFile: second.certPEM, keyFile: second.keyPEM} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f, later, later); err != nil {
				t.Fatal(err)
			}
		}
		r.reload()
		if got := presented(t, addr, first, second); got != 2 {
			t.Fatalf("after an explicit reload the server presented serial %d, want 2", got)
		}
	})

	t.Run("a missing or broken pair is an error at startup", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := mismatched.writeFiles(t, dir)
		for _, files := range [][2]string{{certFile, keyFile}, {certFile, ""}, {filepath.Join(dir, "nope"), keyFile}} {
			if _, err := newCertReloader(files[0], files[1], slog.New(slog.DiscardHandler)); err == nil {
				t.Errorf("newCertReloader(%q, %q) succeeded", files[0], files[1])
			}
		}
	})
}
