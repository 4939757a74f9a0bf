package entra

import (
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

// verify checks the token's form and signature: three canonical base64url
// segments (no padding, no line breaks, no stray bits, so that each token
// has exactly one spelling and the signed text is the text received), a
// header the strict reader accepts, an allowed alg, a kid, the published
// key of that kid, and its signature over the first two segments.
// FuzzVerifyMatchesJWX checks that jwx, with the same strict rules in
// front of it, decides every token alike.
func (v *Validator) verify(ctx context.Context, raw string) (verified, error) {
	h, rest, _ := strings.Cut(raw, ".")
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 || !isCompactJWS(raw) {
		return verified{}, fmt.Errorf("%w: not a compact JWS of three base64url segments", ErrMalformed)
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
		return verified{}, fmt.Errorf("%w: a segment is not canonical base64url", ErrMalformed)
	}
	hdr, err := readHeader(hdrJSON)
	if err != nil {
		return verified{}, err
	}
	alg := jwa.SignatureAlgorithm(hdr.alg)
	scheme, ok := rsaSchemes[alg]
	if !ok {
		return verified{}, fmt.Errorf("%w: %s", ErrAlgorithm, quoteShort(hdr.alg))
	}
	if len(sig) == 0 {
		return verified{}, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	vt := verified{kid: hdr.kid}
	if vt.key, vt.state, err = v.keyFor(ctx, alg, hdr.kid); err != nil {
		return verified{}, err
	}
	if scheme.verify(vt.key.key, raw[:len(h)+1+len(p)], sig) != nil {
		return verified{}, ErrSignature
	}
	vt.payload = payload
	return vt, nil
}

// isCompactJWS reports whether raw has only the bytes of a compact JWS:
// the base64url alphabet and dots. Padding, the standard alphabet and line
// breaks would let one token be written many ways; Entra writes each one
// way, and so must the token we accept.
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

// b64 decodes base64url without padding, refusing non-zero unused bits: the
// 16 spellings of a last character that differ only in those bits are one
// spelling here. It would skip line breaks, which isCompactJWS refuses
// before it runs.
var b64 = base64.RawURLEncoding.Strict()

// header is what the validator reads of a JWS protected header.
type header struct{ alg, kid string }

// headerNames are the header members the validator reads: alg and kid, typ
// and x5t as Entra sends them, and crit and b64, which change how a
// signature reads and are refused. Members that point at keys (jku, x5u,
// jwk, x5c) are never read: only the identity provider's published keys
// verify. Other members (nonce, …) are read as JSON and ignored.
var headerNames = [...]string{"alg", "kid", "typ", "x5t", "crit", "b64"}

// readHeader reads the header with the strict reader: alg, kid, typ and x5t
// are strings given once, and a member named like one of headerNames but
// for case or folding makes the token malformed.
func readHeader(b []byte) (header, error) {
	var (
		h    header
		seen uint8
	)
	err := readObject(stringOf(b), func(name, raw string) (bool, error) {
		var dst *string
		switch name {
		case "alg":
			dst = &h.alg
		case "kid":
			dst = &h.kid
		case "typ", "x5t":
		case "crit", "b64":
			return true, fmt.Errorf("header %q is not supported", name)
		default:
			if real, ok := lookalike(name, headerNames[:]); ok {
				return false, fmt.Errorf("header %s is %q but for case or folding", quoteShort(name), real)
			}
			return false, nil
		}
		bit := uint8(1) << slices.Index(headerNames[:], name)
		if seen&bit != 0 {
			return true, fmt.Errorf("header %q is given twice", name)
		}
		seen |= bit
		text, ok := stringValue(raw)
		if !ok {
			return true, fmt.Errorf("header %q is not a string", name)
		}
		if dst != nil {
			*dst = text
		}
		return true, nil
	})
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	return h, nil
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
	k, st, err := v.key(ctx, kid)
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
