// Package jwtref is the reference of package jwt's strict reader for its
// differential tests: the same rules stated plainly, on top of
// encoding/json/v2, written apart from the reader it checks.
package jwtref

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth is the nesting the reader allows, as jwt.MaxDepth.
const MaxDepth = 32

// StrictJSON is the reference for the reader's syntax rules: JSON as
// encoding/json/v2's jsontext reads it by default (RFC 8259 with valid
// UTF-8, no unpaired surrogates and no name given twice in an object), one
// value only, nested at most MaxDepth levels, numbers within float64.
func StrictJSON(s string) error {
	dec := jsontext.NewDecoder(strings.NewReader(s))
	values := 0
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			if values != 1 {
				return errors.New("not one JSON value")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.Kind() {
		case '{', '[':
			if dec.StackDepth() > MaxDepth {
				return errors.New("too deep")
			}
		case '0':
			if _, err := strconv.ParseFloat(tok.String(), 64); err != nil {
				return err
			}
		}
		if dec.StackDepth() == 0 {
			values++
		}
	}
}

// Header is the reference reading of a JWS header: StrictJSON, an
// object, crit and b64 refused, alg, kid, typ and x5t strings, and no
// other name that is one of headerNames but for case or folding.
func Header(text string) (alg, kid string, err error) {
	if err := StrictJSON(text); err != nil {
		return "", "", err
	}
	var h map[string]any
	if err := jsonv2.Unmarshal([]byte(text), &h); err != nil || h == nil {
		return "", "", errors.New("not an object")
	}
	for name, value := range h {
		switch {
		case name == "crit" || name == "b64":
			return "", "", errors.New("refused member")
		case slices.Contains([]string{"alg", "kid", "typ", "x5t"}, name):
			if _, ok := value.(string); !ok {
				return "", "", errors.New("not a string")
			}
		default:
			for _, n := range []string{"alg", "kid", "typ", "x5t", "crit", "b64"} {
				if strings.EqualFold(name, n) {
					return "", "", errors.New("look-alike")
				}
			}
		}
	}
	alg, _ = h["alg"].(string)
	kid, _ = h["kid"].(string)
	return alg, kid, nil
}
