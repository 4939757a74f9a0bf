package jwt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Token is a compact JWS as the strict reader found it.
type Token struct {
	Header
	// SigningInput is the first two segments and the dot between them:
	// what the signature signs.
	SigningInput string
	// Payload is the decoded claims, a buffer no one else holds and no one
	// writes: the claims are read from it in place, as a string.
	Payload []byte
	// Signature is the decoded signature, empty when the token ends with
	// its second dot.
	Signature []byte
}

// Parse reads raw, a compact JWS: three canonical base64url segments (no
// padding, no line breaks, no stray bits, so that each token has exactly
// one spelling and the signed text is the text received) and a header the
// strict reader accepts. It does not look at the alg, the kid or the
// signature. Its errors say how raw is malformed.
func Parse(raw string) (Token, error) {
	h, rest, _ := strings.Cut(raw, ".")
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 || hasLineBreak(raw) {
		return Token{}, errors.New("not a compact JWS of three base64url segments")
	}
	// One buffer for the three parts; each part is capped so that none can
	// grow into the next.
	buf := make([]byte, 0, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	decode := func(part string) ([]byte, error) {
		start := len(buf)
		n, err := b64.Decode(buf[start:cap(buf)], BytesOf(part))
		buf = buf[:start+n]
		return buf[start : start+n : start+n], err
	}
	hdrJSON, err1 := decode(h)
	payload, err2 := decode(p)
	sig, err3 := decode(s)
	if err1 != nil || err2 != nil || err3 != nil {
		return Token{}, errors.New("a segment is not canonical base64url")
	}
	hdr, err := readHeader(hdrJSON)
	if err != nil {
		return Token{}, err
	}
	return Token{Header: hdr, SigningInput: raw[:len(h)+1+len(p)], Payload: payload, Signature: sig}, nil
}

// hasLineBreak reports whether raw holds a line break, the only bytes
// outside the base64url alphabet that b64 would not refuse (it skips
// them). Padding, the standard alphabet and line breaks would let one
// token be written many ways; Entra writes each one way, and so must the
// token we accept.
func hasLineBreak(raw string) bool {
	return strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0
}

// b64 decodes base64url without padding, refusing non-zero unused bits: the
// 16 spellings of a last character that differ only in those bits are one
// spelling here. It refuses every byte outside the base64url alphabet but
// line breaks, which it would skip: hasLineBreak refuses them before it
// runs.
var b64 = base64.RawURLEncoding.Strict()

// Header is what the validator reads of a JWS protected header.
type Header struct{ Alg, Kid string }

// headerNames are the header members the validator reads: alg and kid, typ
// and x5t as Entra sends them, and crit and b64, which change how a
// signature reads and are refused. Members that point at keys (jku, x5u,
// jwk, x5c) are never read: only the identity provider's published keys
// verify. Other members (nonce, …) are read as JSON and ignored.
var headerNames = [...]string{"alg", "kid", "typ", "x5t", "crit", "b64"}

// readHeader reads the header with the strict reader: alg, kid, typ and x5t
// are strings given once, and a member named like one of headerNames but
// for case or folding makes the token malformed.
func readHeader(b []byte) (Header, error) {
	var (
		h    Header
		seen uint8
	)
	err := readObject(StringOf(b), func(name, raw string, escaped bool) (bool, error) {
		var dst *string
		switch name {
		case "alg":
			dst = &h.Alg
		case "kid":
			dst = &h.Kid
		case "typ", "x5t":
		case "crit", "b64":
			return true, fmt.Errorf("header %q is not supported", name)
		default:
			if real, ok := lookalike(name, headerNames[:]); ok {
				return false, fmt.Errorf("header %s is %q but for case or folding", QuoteShort(name), real)
			}
			return false, nil
		}
		bit := uint8(1) << slices.Index(headerNames[:], name)
		if seen&bit != 0 {
			return true, fmt.Errorf("header %q is given twice", name)
		}
		seen |= bit
		text, ok := stringValue(raw, escaped)
		if !ok {
			return true, fmt.Errorf("header %q is not a string", name)
		}
		if dst != nil {
			*dst = text
		}
		return true, nil
	})
	if err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}
