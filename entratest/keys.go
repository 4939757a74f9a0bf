package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"sync"
)

// keyPool holds the process's test keys. Generating a 2048-bit RSA key takes
// up to seconds under the race detector and tests start many providers, so
// keys are generated once per process, on first use, and shared: every
// provider starts with pool key 1 (unless WithKey), its n-th rotation moves
// it to pool key n+1, and pool key 0 is the stranger that no provider
// publishes. These are test keys: they sign nothing anyone should trust.
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

// strangerKey is a key no provider publishes: SignedWithUnknownKey and
// SignedWithWrongKey sign with it.
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
// Entra's kid and x5t values (which hash the key's certificate).
func thumbprint(pub *rsa.PublicKey) string {
	sum := sha1.Sum(publicKeyDER(pub))
	return b64(sum[:])
}
