package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
)

// devState is what development mode keeps between runs (see
// [WithDevStateDir]): the signing key, so that development tokens survive
// a restart, and with AZUREAD_DEV_TLS the certificate the listeners serve.
type devState struct {
	// keyKept reports that the signing key is the one kept in the state
	// directory; otherwise the process signs with a key of its own, and
	// tokens end with it.
	keyKept bool
	// certFile is the development TLS certificate, "" without DevTLS.
	certFile string
}

// setupDevState loads (or makes) what development mode keeps in its state
// directory: the signing key, given to the development provider, and with
// DevTLS the certificate both listeners then serve. A key that cannot be
// kept is a warning (development goes on with a key of the process); a
// certificate that cannot be made is an error, since TLS was asked for.
func (s *Server) setupDevState() error {
	if !s.cfg.DevMode {
		return nil
	}
	dir, keyErr := s.o.devStateDir, s.o.devStateDirErr
	if dir != "" {
		key, err := devidp.LoadOrCreateSigningKey(dir)
		if err == nil {
			s.o.devIDPOpts = append([]devidp.Option{devidp.WithKey(key)}, s.o.devIDPOpts...)
			s.dev.keyKept = true
		}
		keyErr = err
	}
	if keyErr != nil {
		s.logger.Warn("development signing key not kept: tokens issued now end when this process does", "error", keyErr)
	}
	if !s.cfg.DevTLS {
		return nil
	}
	if dir == "" {
		if keyErr == nil {
			keyErr = errors.New("no state directory: pass WithDevStateDir (Main and Run use the user's cache directory)")
		}
		return fmt.Errorf("server: AZUREAD_DEV_TLS: %w", keyErr)
	}
	certFile, keyFile, err := devidp.LoadOrCreateTLSCertificate(dir)
	if err != nil {
		return fmt.Errorf("server: AZUREAD_DEV_TLS: %w", err)
	}
	// The listeners serve it as they serve TLS_CERT_FILE (setupTransport).
	s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.dev.certFile = certFile, keyFile, certFile
	return nil
}

// DevCertFile is the development TLS certificate both listeners serve with
// AZUREAD_DEV_TLS: the file clients trust (SSL_CERT_FILE,
// REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS); "" without it.
func (s *Server) DevCertFile() string { return s.dev.certFile }

// devIDPClient is the client the validator fetches the development
// provider's keys with: one that trusts the development certificate over
// TLS, nil (the default client) over plaintext.
func (s *Server) devIDPClient() (*http.Client, error) {
	if s.dev.certFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(s.dev.certFile)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("server: %s: no certificate", s.dev.certFile)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}, nil
}
