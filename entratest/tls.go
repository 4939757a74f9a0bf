package entratest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"
)

// NewServerAt starts a provider that answers as authority, an https URL
// with a real-looking host (entra.USGovernment, entra.China,
// https://contoso.b2clogin.com, https://contoso.ciamlogin.com, a B2C custom
// domain…), while listening on loopback only. It serves TLS with a
// certificate for that host, made for the test, and its [Server.Client]
// trusts that certificate and connects to the loopback listener for that
// host and refuses every other: give it to the validator with
// entra.WithHTTPClient, as a deployment behind a proxy or a private CA
// would. Nothing reaches the real host. It closes when the test ends and
// calls tb.Fatalf if authority or an option is invalid.
func NewServerAt(tb TB, authority string, opts ...Option) *Server {
	tb.Helper()
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		tb.Fatalf("entratest: NewServerAt(%q): want an https authority", authority)
		return nil
	}
	p, err := NewProvider(authority, opts...)
	if err != nil {
		tb.Fatalf("entratest: %v", err)
		return nil
	}
	cert, pool, err := certificateFor(u.Hostname())
	if err != nil {
		tb.Fatalf("entratest: %v", err)
		return nil
	}
	srv := httptest.NewUnstartedServer(p)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	hostPort := u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), "443")
	}
	listener := srv.Listener.Addr().String()
	var dialer net.Dialer
	// A Transport of its own, without the environment's proxy: test traffic
	// stays on loopback.
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != hostPort {
				return nil, fmt.Errorf("entratest: the client of the provider at %s connects to it only, not to %s", authority, addr)
			}
			return dialer.DialContext(ctx, network, listener)
		},
	}}
	s := &Server{Provider: p, srv: srv, client: client}
	tb.Cleanup(s.Close)
	return s
}

// certificateFor makes a self-signed certificate for host, and a pool that
// trusts it.
func certificateFor(host string) (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"entratest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("making a certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
