package entra

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grpc-azure-auth/grpc-azure-auth/entra/internal/jwt"
)

// verified is a token whose signature a published key verified.
type verified struct {
	// payload is the decoded claims, a buffer no one else holds and no one
	// writes: the claims are read from it in place, as a string.
	payload []byte
	key     *publicKey
	state   *keyState
	kid     string
}

// verify checks the token's form and signature: a compact JWS that
// jwt.Parse reads, an allowed alg, a kid, the published key of that kid,
// and its signature over the first two segments. FuzzVerifyMatchesJWX
// checks that jwx, with the same strict rules in front of it, decides
// every token alike.
//
// in, when computed, is the SHA-256 of the signing input, used instead of
// hashing it again.
func (v *Validator) verify(ctx context.Context, raw string, in signingInput) (verified, error) {
	t, err := jwt.Parse(raw)
	if err != nil {
		return verified{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	alg := jwa.SignatureAlgorithm(t.Alg)
	scheme, ok := rsaSchemes[alg]
	if !ok {
		return verified{}, fmt.Errorf("%w: %s", ErrAlgorithm, jwt.QuoteShort(t.Alg))
	}
	if len(t.Signature) == 0 {
		return verified{}, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	vt := verified{kid: t.Kid}
	if vt.key, vt.state, err = v.keyFor(ctx, alg, t.Kid); err != nil {
		return verified{}, err
	}
	if in.n != len(t.SigningInput) || in.n == 0 {
		in = signingInput{}
	}
	if scheme.verify(vt.key.key, t.SigningInput, in, t.Signature) != nil {
		return verified{}, ErrSignature
	}
	vt.payload = t.Payload
	return vt, nil
}

// keyFor picks the key that may verify a signature by alg under kid: alg on
// the allow-list, a kid, a published key of that kid, and no contradicting
// alg on the key. Both verify paths use it.
func (v *Validator) keyFor(ctx context.Context, alg jwa.SignatureAlgorithm, kid string) (*publicKey, *keyState, error) {
	if !slices.Contains(v.algorithms, alg) {
		return nil, nil, fmt.Errorf("%w: %s", ErrAlgorithm, jwt.QuoteShort(string(alg)))
	}
	if kid == "" {
		return nil, nil, ErrMissingKeyID
	}
	k, st, err := v.key(ctx, kid)
	if err != nil {
		return nil, nil, err
	}
	if k.alg != "" && k.alg != alg.String() {
		return nil, nil, fmt.Errorf("%w: key %q is for %s", ErrAlgorithm, kid, k.alg)
	}
	return k, st, nil
}

// rsaScheme is how an RSA JWS algorithm signs (RFC 7518 §3.3, §3.5).
type rsaScheme struct {
	hash crypto.Hash
	pss  bool
}

var rsaSchemes = map[jwa.SignatureAlgorithm]rsaScheme{
	jwa.RS256: {crypto.SHA256, false}, jwa.RS384: {crypto.SHA384, false}, jwa.RS512: {crypto.SHA512, false},
	jwa.PS256: {crypto.SHA256, true}, jwa.PS384: {crypto.SHA384, true}, jwa.PS512: {crypto.SHA512, true},
}

// verify checks sig over the signing input with pub, as jwx's RSA verifier
// does (PSS with the salt length read from the signature), but hashing the
// input in place instead of a copy of it, or not at all when in holds its
// SHA-256.
func (s rsaScheme) verify(pub *rsa.PublicKey, input string, in signingInput, sig []byte) error {
	var sum []byte
	switch s.hash {
	case crypto.SHA256:
		if in.n == 0 {
			in.sum = sha256.Sum256(jwt.BytesOf(input))
		}
		if !s.pss {
			// RS256, Entra's: VerifyPKCS1v15 keeps no reference to the
			// digest, so it stays on the stack; VerifyPSS keeps one, and
			// gets a copy on the heap.
			return rsa.VerifyPKCS1v15(pub, s.hash, in.sum[:], sig)
		}
		sum = slices.Clone(in.sum[:])
	case crypto.SHA384:
		d := sha512.Sum384(jwt.BytesOf(input))
		sum = d[:]
	default:
		d := sha512.Sum512(jwt.BytesOf(input))
		sum = d[:]
	}
	if s.pss {
		return rsa.VerifyPSS(pub, s.hash, sum, sig, nil)
	}
	return rsa.VerifyPKCS1v15(pub, s.hash, sum, sig)
}
