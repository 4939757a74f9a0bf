package devidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Files the development state directory holds.
const (
	// SigningKeyFile holds the development signing key (PKCS #8 PEM, mode
	// 0600), so that tokens issued before a restart still verify after it.
	SigningKeyFile = "dev-signing-key.pem"
	// TLSCertFile holds the development server's certificate (PEM): the
	// file to trust (SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
	// NODE_EXTRA_CA_CERTS).
	TLSCertFile = "dev-tls-cert.pem"
	// TLSKeyFile holds the certificate's private key (mode 0600).
	TLSKeyFile = "dev-tls-key.pem"
)

// DefaultStateDir is where development mode keeps its signing key and TLS
// certificate: grpc-azure-auth in the user's cache directory
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux,
// ~/Library/Caches on macOS, %LocalAppData% on Windows).
func DefaultStateDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("devidp: no user cache directory: %w", err)
	}
	return filepath.Join(dir, "grpc-azure-auth"), nil
}

// LoadOrCreateSigningKey returns the signing key kept in dir
// ([SigningKeyFile]), creating dir (mode 0700) and the key (a new 2048-bit
// RSA key, mode 0600) when there is none. A key file that others may read
// or write, or that holds no RSA key of at least 2048 bits, is an error:
// it is not replaced, so that nothing is lost, and the caller decides
// (development mode then signs with a key of the process).
func LoadOrCreateSigningKey(dir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dir, SigningKeyFile)
	load := func() (*rsa.PrivateKey, error) {
		block, err := readPrivatePEM(path)
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok || rk.N.BitLen() < 2048 {
			return nil, fmt.Errorf("devidp: %s holds no RSA key of at least 2048 bits", path)
		}
		return rk, nil
	}
	k, err := load()
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	nk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generating the signing key: %w", err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(nk)
	if err := writeNew(dir, path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), false); err != nil {
		return nil, err
	}
	// Another process may have kept its key first: use the one on disk.
	return load()
}

// tlsRenewBefore is how long before its end a certificate is replaced.
const tlsRenewBefore = 30 * 24 * time.Hour

// LoadOrCreateTLSCertificate returns the paths of the development
// server's certificate and key kept in dir ([TLSCertFile], [TLSKeyFile]),
// making them when there are none, when the certificate ends within 30
// days, or when they do not load. The certificate is self-signed for
// localhost, 127.0.0.1 and ::1, valid for a year, and a CA whose name
// constraints permit those names alone: trusting it (SSL_CERT_FILE,
// NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE) trusts nothing but this
// machine's loopback, even if its key leaked.
func LoadOrCreateTLSCertificate(dir string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, TLSCertFile), filepath.Join(dir, TLSKeyFile)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && pair.Leaf != nil &&
		time.Until(pair.Leaf.NotAfter) > tlsRenewBefore && checkPrivate(keyFile) == nil {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := newLoopbackCertificate(time.Now())
	if err != nil {
		return "", "", err
	}
	// The key first: a certificate whose key is not there yet fails to
	// load, and the next start makes both again.
	if err := writeNew(dir, keyFile, keyPEM, true); err != nil {
		return "", "", err
	}
	if err := writeNew(dir, certFile, certPEM, true); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// loopbackNames are the names the development certificate is for.
var (
	loopbackDNS = []string{"localhost"}
	loopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
)

// newLoopbackCertificate makes the self-signed, name-constrained
// certificate of [LoadOrCreateTLSCertificate] and its ECDSA P-256 key.
func newLoopbackCertificate(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devidp: generating the TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:                serial,
		Subject:                     pkix.Name{CommonName: "grpc-azure-auth development (localhost)", Organization: []string{"grpc-azure-auth development"}},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(365 * 24 * time.Hour),
		KeyUsage:                    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:                 []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		DNSNames:                    loopbackDNS,
		IPAddresses:                 loopbackIPs,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         loopbackDNS,
		PermittedIPRanges: []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("devidp: making the TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// readPrivatePEM reads the first PEM block of a private file.
func readPrivatePEM(path string) (*pem.Block, error) {
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("devidp: %s holds no PEM block", path)
	}
	return block, nil
}

// checkPrivate returns an error unless path is a regular file that only
// its owner may read and write (on Windows, where modes say little,
// unless it is a regular file).
func checkPrivate(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("devidp: %s is not a regular file", path)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("devidp: %s may be read by others (mode %v): want 0600", path, fi.Mode().Perm())
	}
	return nil
}

// writeNew writes data to path with mode 0600, through a temporary file
// in dir (created with mode 0700 when missing), so that no one ever reads
// half a file. With replace false it never replaces an existing file (a
// hard link fails when the name exists), so two processes starting
// together end up with the same file.
func writeNew(dir, path string, data []byte, replace bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devidp: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("devidp: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("devidp: %w", err)
	}
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("devidp: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devidp: %w", err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("devidp: keeping %s: %w", path, err)
	}
	return nil
}
