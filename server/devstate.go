package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpc-azure-auth/grpc-azure-auth/devidp"
	"github.com/grpc-azure-auth/grpc-azure-auth/entra"
)

// devState is what development mode keeps between runs (see
// [WithDevStateDir]): the signing key, so that development tokens survive
// a restart, and in development TLS mode the certificate the listeners serve.
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
	if !s.dev.keyKept {
		// Run after the user's interceptors, before the server's own: they
		// see the authorization's answer.
		s.o.grpcOpts = append(s.o.grpcOpts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				resp, err := h(ctx, req)
				return resp, restartHint(err)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return restartHint(h(srv, ss))
			}))
	}
	if !s.cfg.DevTLS {
		return nil
	}
	if dir == "" {
		if keyErr == nil {
			keyErr = errors.New("no state directory: pass WithDevStateDir (Main and Run use the user's cache directory)")
		}
		return fmt.Errorf("server: %s: %w", envDevTLS, keyErr)
	}
	certFile, keyFile, err := devidp.LoadOrCreateTLSCertificate(dir)
	if err != nil {
		return fmt.Errorf("server: %s: %w", envDevTLS, err)
	}
	// The listeners serve it as they serve TLS_CERT_FILE (setupTransport).
	s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.dev.certFile = certFile, keyFile, certFile
	return nil
}

// unknownKeyMessage is the interceptor's message for a token signed by a
// key the provider does not publish.
var unknownKeyMessage = "invalid token: " + entra.ErrUnknownKey.Error()

// restartHint adds, to the 401 of a token signed by an unknown key, that
// the development server restarted without its kept key: the likely
// reason in development, where tokens come from this server. The status's
// code and details stay; REST answers carry it in error_description.
func restartHint(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unauthenticated || st.Message() != unknownKeyMessage {
		return err
	}
	p := st.Proto()
	p.Message += " (the development server restarted and could not keep its signing key, so tokens from before the restart are void: get a new token)"
	return status.ErrorProto(p)
}

// DevCertFile is the development TLS certificate both listeners serve with
// development TLS mode: the file clients trust (SSL_CERT_FILE,
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
