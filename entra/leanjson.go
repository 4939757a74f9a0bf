package entra

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// A reader for the small JSON objects of tokens: the JWS header and the
// claims. It reads one object whose keys are plain ASCII text and hands out
// its member values raw, as substrings of the input, so decoding a token's
// claims is one pass with no reflection.
//
// It is a fast path, not a parser of its own: it either reads the input
// exactly as encoding/json would, or gives up (returns false), and the
// caller then asks encoding/json (the claims) or jwx (the header). It gives
// up on anything unusual: escapes in keys or in the values read, a key
// that encoding/json would match case-insensitively to another, a
// duplicate member, null, deep nesting. FuzzLeanClaimsMatchJSON checks
// that whatever it reads, encoding/json reads alike.

// maxLeanDepth bounds the nesting of skipped values; deeper input is left
// to encoding/json (which allows 10,000 levels).
const maxLeanDepth = 32

// members calls member with the key and raw value of each member of the
// JSON object that is the whole of s, in order, and reports whether s is
// such an object and every call returned true. Raw strings keep their
// quotes. Keys must be ASCII without escapes.
func members(s string, member func(key, raw string) bool) bool {
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipSpace(s, i+1) == len(s)
	}
	for {
		if i == len(s) || s[i] != '"' {
			return false
		}
		end, escaped, ok := scanString(s, i)
		key := s[i+1 : max(end-1, i+1)]
		if !ok || escaped || !isASCII(key) {
			return false
		}
		i = skipSpace(s, end)
		if i == len(s) || s[i] != ':' {
			return false
		}
		start := skipSpace(s, i+1)
		if end, ok = skipValue(s, start, 1); !ok || !member(key, s[start:end]) {
			return false
		}
		i = skipSpace(s, end)
		if i == len(s) {
			return false
		}
		switch s[i] {
		case '}':
			return skipSpace(s, i+1) == len(s)
		case ',':
			i = skipSpace(s, i+1)
		default:
			return false
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// scanString reads the JSON string that starts at s[i], a quote, and
// returns the index after its closing quote and whether it holds escapes.
func scanString(s string, i int) (end int, escaped, ok bool) {
	for i++; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		case c != '\\':
			i++
		case i+1 == len(s):
			return 0, false, false
		case strings.IndexByte(`"\/bfnrt`, s[i+1]) >= 0:
			escaped, i = true, i+2
		case s[i+1] == 'u' && i+6 <= len(s) && isHex(s[i+2:i+6]):
			escaped, i = true, i+6
		default:
			return 0, false, false
		}
	}
	return 0, false, false
}

func isHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// scanNumber reads the JSON number that starts at s[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(s string, i int) (end int, ok bool) {
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	return i, true
}

// skipValue reads the JSON value that starts at s[i] and returns the index
// after it.
func skipValue(s string, i, depth int) (end int, ok bool) {
	if i == len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		end, _, ok = scanString(s, i)
		return end, ok
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(s, i)
	case c == '{' || c == '[':
		return skipContainer(s, i, depth)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(s[i:], lit) {
			return i + len(lit), true
		}
	}
	return 0, false
}

// skipContainer reads the object or array that starts at s[i].
func skipContainer(s string, i, depth int) (end int, ok bool) {
	if depth >= maxLeanDepth {
		return 0, false
	}
	closing, object := byte(']'), s[i] == '{'
	if object {
		closing = '}'
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == closing {
		return i + 1, true
	}
	for {
		if object {
			if i == len(s) || s[i] != '"' {
				return 0, false
			}
			if i, _, ok = scanString(s, i); !ok {
				return 0, false
			}
			if i = skipSpace(s, i); i == len(s) || s[i] != ':' {
				return 0, false
			}
			i = skipSpace(s, i+1)
		}
		if i, ok = skipValue(s, i, depth+1); !ok {
			return 0, false
		}
		switch i = skipSpace(s, i); {
		case i == len(s):
			return 0, false
		case s[i] == closing:
			return i + 1, true
		case s[i] == ',':
			i = skipSpace(s, i+1)
		default:
			return 0, false
		}
	}
}

// plainString returns the text of a raw JSON string that needs no
// decoding: no escapes, valid UTF-8.
func plainString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	text := raw[1 : len(raw)-1]
	return text, strings.IndexByte(text, '\\') < 0 && utf8.ValidString(text)
}

// plainStrings returns the texts of a raw JSON array of plain strings; an
// empty array gives an empty, non-nil slice, as encoding/json does.
func plainStrings(raw string) ([]string, bool) {
	if raw == "" || raw[0] != '[' {
		return nil, false
	}
	out := make([]string, 0, strings.Count(raw, ","))
	i := skipSpace(raw, 1)
	if raw[i] == ']' {
		return out, true
	}
	for {
		if raw[i] != '"' {
			return nil, false
		}
		end, _, _ := scanString(raw, i) // the array was read already
		text, ok := plainString(raw[i:end])
		if !ok {
			return nil, false
		}
		out = append(out, text)
		if i = skipSpace(raw, end); raw[i] == ']' {
			return out, true
		}
		i = skipSpace(raw, i+1) // a comma
	}
}

// number returns a raw JSON number as encoding/json decodes it into a
// float64; false for other values and for numbers out of range.
func number(raw string) (*float64, bool) {
	if raw == "" || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return nil, false
	}
	f, err := strconv.ParseFloat(raw, 64)
	return &f, err == nil
}

// bytesOf views s as bytes without copying it, for functions that only
// read their input (hashes): the view must never be written or kept.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringOf views b as a string without copying it: b must never be written
// afterwards.
func stringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
