package entra

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
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

// verify checks the token's form and signature. The lean path decides
// tokens of the exact shape Entra issues; every other token goes through
// jwx, the reference. FuzzLeanMatchesJWX checks that both decide alike.
func (v *Validator) verify(ctx context.Context, raw string) (verified, error) {
	if vt, decided, err := v.verifyLean(ctx, raw); decided {
		return vt, err
	}
	return v.verifyJWX(ctx, raw)
}

// isCompactJWS reports whether raw has only the bytes of a compact JWS:
// the base64url alphabet and dots. jwx also reads padding, the standard
// alphabet and line breaks, which would let one token be written many
// ways; Entra writes each one way, and so must the token we accept.
func isCompactJWS(raw string) bool {
	for i := range len(raw) {
		switch c := raw[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// keyFor picks the key that may verify a signature by alg under kid: alg on
// the allow-list, a kid, a published key of that kid, and no contradicting
// alg on the key. Both verify paths use it.
func (v *Validator) keyFor(ctx context.Context, alg jwa.SignatureAlgorithm, kid string) (*publicKey, *keyState, error) {
	if !slices.Contains(v.algorithms, alg) {
		return nil, nil, fmt.Errorf("%w: %s", ErrAlgorithm, quoteShort(string(alg)))
	}
	if kid == "" {
		return nil, nil, ErrMissingKeyID
	}
	k, st, err := v.keys.key(ctx, kid)
	if err != nil {
		return nil, nil, err
	}
	if k.alg != "" && k.alg != alg.String() {
		return nil, nil, fmt.Errorf("%w: key %q is for %s", ErrAlgorithm, kid, k.alg)
	}
	return k, st, nil
}

// quoteShort quotes a caller-chosen header value for an error message,
// cut to 32 bytes: the message is logged, and a token must not fill logs.
func quoteShort(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "…"
	}
	return strconv.Quote(s)
}

// verifyJWX is the reference path: jwx parses the compact JWS and verifies
// it with the key keyFor picks. Headers that change how the signature reads
// (crit, b64) are refused; headers that point at keys (jku, x5u, jwk, x5c)
// are never looked at.
func (v *Validator) verifyJWX(ctx context.Context, raw string) (verified, error) {
	if strings.Count(raw, ".") != 2 || !isCompactJWS(raw) {
		return verified{}, fmt.Errorf("%w: not a compact JWS of base64url segments", ErrMalformed)
	}
	var (
		vt      verified
		keyErr  error
		checked bool
	)
	provider := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		checked = true
		h := sig.ProtectedHeaders()
		for _, name := range [...]string{"crit", "b64"} {
			if _, ok := h.Get(name); ok {
				keyErr = fmt.Errorf("%w: header %q is not supported", ErrMalformed, name)
				return keyErr
			}
		}
		vt.kid = h.KeyID()
		vt.key, vt.state, keyErr = v.keyFor(ctx, h.Algorithm(), vt.kid)
		if keyErr != nil {
			return keyErr
		}
		sink.Key(h.Algorithm(), vt.key.key)
		return nil
	})
	payload, err := jws.Verify([]byte(raw), jws.WithCompact(), jws.WithKeyProvider(provider), jws.WithContext(ctx))
	switch {
	case keyErr != nil:
		return verified{}, keyErr
	case err != nil && !checked:
		return verified{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	case err != nil:
		return verified{}, ErrSignature
	}
	vt.payload = bytes.Clone(payload) // ours alone: see verified.payload
	return vt, nil
}

// leanHeaders are the only header members the lean path accepts: what
// Entra puts in access tokens. A token with any other member goes to jwx.
var leanHeaders = [...]string{"alg", "kid", "typ", "x5t"}

var b64 = base64.RawURLEncoding.Strict()

// verifyLean decides tokens of Entra's shape without jwx's general parser:
// three canonical base64url segments (strict: no padding, no stray bits, so
// the signed text is exactly the text received), a header of plain string
// members among leanHeaders, each once, an allowed alg and a kid. Then the
// key comes from keyFor and crypto/rsa checks the signature, as jwx's
// verifier for the alg does. For any other token it returns decided ==
// false and leaves the decision to verifyJWX.
func (v *Validator) verifyLean(ctx context.Context, raw string) (vt verified, decided bool, err error) {
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return verified{}, false, nil
	}
	// Strict decoding refuses padding, the standard alphabet and stray
	// bits, but skips line breaks.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return verified{}, false, nil
	}
	// One buffer for the three parts; each part is capped so that none can
	// grow into the next.
	buf := make([]byte, 0, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	decode := func(part string) ([]byte, error) {
		start := len(buf)
		n, err := b64.Decode(buf[start:cap(buf)], bytesOf(part))
		buf = buf[:start+n]
		return buf[start : start+n : start+n], err
	}
	hdrJSON, err1 := decode(h)
	payload, err2 := decode(p)
	sig, err3 := decode(s)
	if err1 != nil || err2 != nil || err3 != nil {
		return verified{}, false, nil
	}
	var (
		hdr  [len(leanHeaders)]string
		seen [len(leanHeaders)]bool
	)
	if !members(stringOf(hdrJSON), func(name, raw string) (ok bool) {
		i := slices.Index(leanHeaders[:], name)
		if i < 0 || seen[i] {
			return false
		}
		seen[i] = true
		hdr[i], ok = plainString(raw)
		return ok
	}) {
		return verified{}, false, nil
	}
	alg, kid := jwa.SignatureAlgorithm(hdr[0]), hdr[1]
	scheme, ok := rsaSchemes[alg]
	if !ok || !slices.Contains(v.algorithms, alg) || kid == "" {
		return verified{}, false, nil
	}
	vt.kid = kid
	vt.key, vt.state, err = v.keyFor(ctx, alg, kid)
	if err != nil {
		return verified{}, true, err
	}
	if scheme.verify(vt.key.key, raw[:len(h)+1+len(p)], sig) != nil {
		return verified{}, true, ErrSignature
	}
	vt.payload = payload
	return vt, true, nil
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
// input in place instead of a copy of it.
func (s rsaScheme) verify(pub *rsa.PublicKey, input string, sig []byte) error {
	var sum []byte
	switch s.hash {
	case crypto.SHA256:
		d := sha256.Sum256(bytesOf(input))
		sum = d[:]
	case crypto.SHA384:
		d := sha512.Sum384(bytesOf(input))
		sum = d[:]
	default:
		d := sha512.Sum512(bytesOf(input))
		sum = d[:]
	}
	if s.pss {
		return rsa.VerifyPSS(pub, s.hash, sum, sig, nil)
	}
	return rsa.VerifyPKCS1v15(pub, s.hash, sum, sig)
}
