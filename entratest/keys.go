package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"sync"
)

// Generating a 2048-bit RSA key takes long under the race detector, and
// tests start many providers: keys are generated once per process and
// shared. They are test keys, never secrets.
var keyPool struct {
	mu   sync.Mutex
	keys []*rsa.PrivateKey
}

// poolKey returns the i-th key of the process, generating keys up to it.
func poolKey(i int) *rsa.PrivateKey {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	for len(keyPool.keys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("entratest: generating an RSA key: " + err.Error())
		}
		keyPool.keys = append(keyPool.keys, k)
	}
	return keyPool.keys[i]
}

// strangerKey is a key no provider publishes (pool index 0 is reserved for
// it; providers start at 1).
func strangerKey() *rsa.PrivateKey { return poolKey(0) }

// signingKey is a private key and its key ID.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

func newSigningKey(priv *rsa.PrivateKey) signingKey {
	return signingKey{priv: priv, kid: thumbprint(&priv.PublicKey)}
}

// thumbprint is the base64url SHA-1 of the public key's DER, the shape of
// Entra's kid and x5t values.
func thumbprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("entratest: " + err.Error())
	}
	sum := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
