package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at again: a handshake that comes later than this after the last
// look stats both files and reloads them when either changed.
const certCheckInterval = 5 * time.Second

// certReloader serves the certificate and key of two PEM files to TLS
// handshakes, and picks up new files without a restart. cert-manager and
// Key Vault CSI mounts replace the files (or the symlinks to them)
// atomically, so a change shows as another file identity, size or
// modification time. A new pair that fails to load is logged and the last
// good pair is kept: a half-written or mismatched pair never stops the
// server from answering.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time // injectable for tests

	cert atomic.Pointer[tls.Certificate]

	mu       sync.Mutex // guards the fields below, held while checking the files
	checked  time.Time  // when the files were last looked at
	certInfo os.FileInfo
	keyInfo  os.FileInfo
}

// newCertReloader loads the pair once; a pair that does not load is an
// error at startup.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate file and a key file")
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now}
	if err := r.load(); err != nil {
		return nil, err
	}
	r.checked = r.now()
	return r, nil
}

// load reads both files and, when they make a valid pair, serves them from
// now on. The files it read are remembered either way, so a pair that
// failed is tried again only once either file changes again.
func (r *certReloader) load() error {
	// Stat before reading: should the files change in between, the next
	// check sees a difference and reads them again.
	certInfo, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	keyInfo, err := os.Stat(r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS key: %w", err)
	}
	r.certInfo, r.keyInfo = certInfo, keyInfo
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate and key %s, %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&cert)
	return nil
}

// changed reports whether either file is not the one last loaded.
func (r *certReloader) changed() bool {
	for _, f := range []struct {
		name string
		last os.FileInfo
	}{{r.certFile, r.certInfo}, {r.keyFile, r.keyInfo}} {
		fi, err := os.Stat(f.name)
		if err != nil {
			// Missing for a moment while being replaced: keep serving.
			return false
		}
		if !os.SameFile(fi, f.last) || !fi.ModTime().Equal(f.last.ModTime()) || fi.Size() != f.last.Size() {
			return true
		}
	}
	return false
}

// check reloads the pair when the files changed, at most once every
// certCheckInterval; handshakes meanwhile use the pair they find.
func (r *certReloader) check() {
	if !r.mu.TryLock() {
		return // another handshake is checking
	}
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < certCheckInterval {
		return
	}
	r.checked = now
	r.reloadLocked()
}

func (r *certReloader) reloadLocked() {
	if !r.changed() {
		return
	}
	if err := r.load(); err != nil {
		r.logger.Error("TLS certificate files changed but do not load; still serving the previous certificate", "error", err)
		return
	}
	r.logger.Info("TLS certificate reloaded", "cert_file", r.certFile, "not_after", r.cert.Load().Leaf.NotAfter)
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.check()
	return r.cert.Load(), nil
}

// tlsConfig is the TLS configuration of a listener speaking protos (ALPN):
// TLS 1.2 or later, Go's default cipher suites, the reloaded certificate.
func (r *certReloader) tlsConfig(protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.getCertificate,
		NextProtos:     protos,
	}
}

// setupTransport puts TLS on both listeners when configured, and says
// loudly when a server with a tenant runs without it.
func (s *Server) setupTransport() error {
	if s.cfg.TLSCertFile == "" {
		if !s.cfg.DevMode {
			s.logger.Warn(fmt.Sprintf("NO TLS: both listeners speak plaintext; bearer tokens must travel over TLS, so TLS must be terminated in front of this server (ingress, Envoy, service mesh), or set %s and %s", envTLSCertFile, envTLSKeyFile),
				"grpc", s.GRPCAddr(), "http", s.httpLis.Addr().String(), "insecure_plaintext", s.cfg.InsecurePlaintext)
		}
		return nil
	}
	certs, err := newCertReloader(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.logger)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.certs = certs
	leaf := certs.cert.Load().Leaf
	s.logger.Info("TLS on both listeners", "cert_file", s.cfg.TLSCertFile, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames, "not_after", leaf.NotAfter)
	// gRPC clients require h2 by ALPN; the HTTP listener serves both.
	s.grpcLis = tls.NewListener(s.grpcLis, certs.tlsConfig("h2"))
	s.httpLis = tls.NewListener(s.httpLis, certs.tlsConfig("h2", "http/1.1"))
	return nil
}

// scheme is the HTTP listener's URL scheme.
func (s *Server) scheme() string {
	if s.certs != nil {
		return "https"
	}
	return "http"
}
