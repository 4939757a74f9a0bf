package entra

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Limits on what the identity provider may send. Entra's discovery document
// is about 2 KB and its key set about 10 KB with a handful of keys.
const (
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 512 << 10
	maxKeys           = 100
	minRSABits        = 2048
)

// metadata is the part of an OpenID Connect discovery document the validator
// uses, as last fetched.
type metadata struct {
	// Issuer is the iss value tokens must carry.
	Issuer string `json:"issuer"`
	// JWKSURI is where the signing keys are published.
	JWKSURI string `json:"jwks_uri"`
	// AuthorizationEndpoint is where users sign in (authorization code flow).
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	// TokenEndpoint is where clients redeem codes and credentials for tokens.
	TokenEndpoint string `json:"token_endpoint"`
}

// publicKey is one usable signing key of the key set.
type publicKey struct {
	key    *rsa.PublicKey
	alg    string // the JWKS entry's alg, "" when absent (as Entra publishes)
	issuer string // the JWKS entry's issuer, "" when absent
}

// discovery is a discovery document to fetch, and the token version whose
// issuer it gives.
type discovery struct {
	url     string
	version string // "1.0" or "2.0"
}

// issuer is an accepted iss value: exact, or a template with the literal
// {tenantid} (multi-tenant metadata).
type issuer struct {
	value   string
	version string
}

// keyState is one successful fetch of the discovery documents and their
// key sets. It is never modified once published.
type keyState struct {
	meta    metadata // of the first discovery document
	issuers []issuer
	keys    map[string]*publicKey
	fetched time.Time
}

// keySource keeps the last good key set and refreshes it: in the background
// when it is older than refreshEvery, on demand when a token names an unknown
// key (at most once per minInterval), and every retryInterval while no fetch
// has succeeded yet. Concurrent callers share one fetch.
type keySource struct {
	discovery     []discovery
	client        *http.Client
	now           func() time.Time
	logger        *slog.Logger
	refreshEvery  time.Duration
	minInterval   time.Duration
	retryInterval time.Duration

	state atomic.Pointer[keyState]

	fetches, failures atomic.Uint64 // finished fetches, for Stats

	mu          sync.Mutex
	inflight    chan struct{} // closed when the running fetch ends; nil when none runs
	lastAttempt time.Time
	lastErr     error
}

// key returns the key named kid and the state it belongs to.
func (s *keySource) key(ctx context.Context, kid string) (*publicKey, *keyState, error) {
	if st := s.state.Load(); st != nil {
		if k, ok := st.keys[kid]; ok {
			if s.now().Sub(st.fetched) >= s.refreshEvery {
				s.refresh(false)
			}
			return k, st, nil
		}
	}
	if done := s.refresh(true); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
		}
	}
	st := s.state.Load()
	if st == nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, s.err())
	}
	if k, ok := st.keys[kid]; ok {
		return k, st, nil
	}
	return nil, nil, ErrUnknownKey
}

func (s *keySource) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		return errors.New("no key set fetched yet")
	}
	return s.lastErr
}

// refresh starts a fetch unless one is running or the last attempt was too
// recent, and returns a channel closed when the fetch (started or joined)
// ends, or nil when no fetch runs. urgent marks a fetch for an unknown key.
func (s *keySource) refresh(urgent bool) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	gap := s.retryInterval
	if urgent && s.state.Load() != nil {
		gap = s.minInterval
	}
	now := s.now()
	if !s.lastAttempt.IsZero() && now.Sub(s.lastAttempt) < gap {
		return nil
	}
	s.lastAttempt = now
	done := make(chan struct{})
	s.inflight = done
	go s.run(done)
	return done
}

// run fetches with its own deadline: one caller giving up must not cancel
// the fetch others wait on.
func (s *keySource) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultFetchTimeout)
	st, err := s.fetch(ctx)
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.state.Store(st)
		s.fetches.Add(1)
		s.logger.Info("entra: signing keys loaded", "keys", len(st.keys), "issuer", st.meta.Issuer)
	} else {
		s.failures.Add(1)
		s.logger.Warn("entra: fetching signing keys failed; keeping the last good set", "error", err)
	}
	s.lastErr = err
	s.inflight = nil
	close(done)
}

func (s *keySource) fetch(ctx context.Context) (*keyState, error) {
	st := &keyState{keys: map[string]*publicKey{}}
	fetched := map[string]bool{}
	for i, d := range s.discovery {
		body, err := fetch(ctx, s.client, d.url, maxDiscoveryBytes)
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		meta, err := parseDiscovery(body)
		if err != nil {
			return nil, fmt.Errorf("discovery %s: %w", d.url, err)
		}
		if i == 0 {
			st.meta = meta
		}
		st.issuers = append(st.issuers, issuer{value: meta.Issuer, version: d.version})
		if fetched[meta.JWKSURI] {
			continue
		}
		fetched[meta.JWKSURI] = true
		body, err = fetch(ctx, s.client, meta.JWKSURI, maxJWKSBytes)
		if err != nil {
			return nil, fmt.Errorf("key set: %w", err)
		}
		keys, err := parseJWKS(body)
		if err != nil {
			return nil, fmt.Errorf("key set %s: %w", meta.JWKSURI, err)
		}
		for kid, k := range keys {
			prev, ok := st.keys[kid]
			switch {
			case ok && !prev.key.Equal(k.key):
				return nil, fmt.Errorf("key set %s: kid %q names another key than in an earlier key set", meta.JWKSURI, kid)
			case ok && prev.issuer != "":
				// Keep the entry that says which issuer the key is for.
			default:
				st.keys[kid] = k
			}
		}
	}
	if len(st.keys) > maxKeys {
		return nil, fmt.Errorf("%d keys, more than %d", len(st.keys), maxKeys)
	}
	st.fetched = s.now()
	return st, nil
}

// parseDiscovery reads an OpenID Connect discovery document.
func parseDiscovery(body []byte) (metadata, error) {
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return metadata{}, fmt.Errorf("not a discovery document: %w", err)
	}
	if m.Issuer == "" {
		return metadata{}, errors.New("no issuer")
	}
	if _, err := checkURL(m.Issuer); err != nil {
		return metadata{}, fmt.Errorf("issuer: %w", err)
	}
	if m.JWKSURI == "" {
		return metadata{}, errors.New("no jwks_uri")
	}
	if _, err := checkURL(m.JWKSURI); err != nil {
		return metadata{}, fmt.Errorf("jwks_uri: %w", err)
	}
	return m, nil
}

// parseJWKS reads a JSON Web Key Set and keeps the keys fit to verify RSA
// signatures: RSA public keys of at least 2048 bits with a kid, and a use of
// "sig" when a use is given. A kid listed twice is dropped: ambiguity denies.
func parseJWKS(body []byte) (map[string]*publicKey, error) {
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("not a key set: %w", err)
	}
	if set.Len() > maxKeys {
		return nil, fmt.Errorf("%d keys, more than %d", set.Len(), maxKeys)
	}
	keys := make(map[string]*publicKey, set.Len())
	dup := make(map[string]bool)
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		pk, ok := k.(jwk.RSAPublicKey)
		if !ok || pk.KeyID() == "" || (pk.KeyUsage() != "" && pk.KeyUsage() != string(jwk.ForSignature)) {
			continue
		}
		var raw rsa.PublicKey
		if err := pk.Raw(&raw); err != nil || raw.N == nil || raw.N.BitLen() < minRSABits || raw.E < 3 || raw.E%2 == 0 {
			continue
		}
		kid := pk.KeyID()
		if _, seen := keys[kid]; seen {
			dup[kid] = true
		}
		iss, _ := pk.PrivateParams()["issuer"].(string)
		keys[kid] = &publicKey{key: &raw, alg: pk.Algorithm().String(), issuer: iss}
	}
	for kid := range dup {
		delete(keys, kid)
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable RSA signing key")
	}
	return keys, nil
}

// trimSlash removes one trailing slash.
func trimSlash(s string) string { return strings.TrimSuffix(s, "/") }
