// Package jwt is the one reader of a token's bytes: the compact JWS form,
// its protected header and its claims, read strictly. Nothing else in the
// module reads a token, so what it accepts is what every part of package
// entra sees.
package jwt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The one reader of a token's JSON: the JWS header and the claims. Nothing
// else reads a token's bytes, so what it accepts is what every part of the
// library sees (entra.Claims and entra.Claims.Decode).
//
// It reads RFC 8259 JSON, with the rules of I-JSON (RFC 7493) that keep one
// text from having two readings: valid UTF-8 only, no unpaired surrogate
// escapes, no member name given twice in any object (after decoding
// escapes: "\u0073cp" is "scp"), numbers within float64's range. It refuses
// nesting deeper than MaxDepth. Names are compared exactly; the callers
// refuse a member whose name is a name they read but for case or Unicode
// folding ("ROLES", "ſcp"). Member values are handed out raw, as
// substrings of the input, so reading a token is one pass without
// reflection. FuzzStrictClaimsMatchOracle checks that it accepts exactly
// what a reference reader with these rules accepts, and reads it alike.

// MaxDepth bounds the nesting of objects and arrays; a token's claims are
// flat but for a few arrays and small objects.
const MaxDepth = 32

var (
	errNotObject = errors.New("not a JSON object")
	errSyntax    = errors.New("invalid JSON")
	errTooDeep   = fmt.Errorf("JSON nested deeper than %d levels", MaxDepth)
	errUTF8      = errors.New("JSON text is not valid UTF-8 (or has an unpaired surrogate escape)")
	errRange     = errors.New("a JSON number is out of range")
)

// readObject reads the JSON object that is the whole of s and calls member
// with the name (escapes decoded) and raw value of each of its members, in
// order, and whether the value is a string with escapes. member reports whether the name is one it reads: it tracks those
// itself; readObject refuses any other name given twice.
func readObject(s string, member func(name, raw string, escaped bool) (known bool, err error)) error {
	end, err := scanObject(s, skipSpace(s, 0), 0, member)
	if err != nil {
		return err
	}
	if skipSpace(s, end) != len(s) {
		return errSyntax
	}
	return nil
}

// nameSet finds names given twice in one object: a scan of a few names,
// a map past that.
type nameSet struct {
	small [32]string
	n     int
	more  map[string]struct{}
}

func (s *nameSet) add(name string) (fresh bool) {
	if s.more != nil {
		if _, dup := s.more[name]; dup {
			return false
		}
		s.more[name] = struct{}{}
		return true
	}
	for _, n := range s.small[:s.n] {
		if n == name {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.more = make(map[string]struct{}, 2*len(s.small))
	for _, n := range s.small {
		s.more[n] = struct{}{}
	}
	s.more[name] = struct{}{}
	return true
}

// scanObject reads the object that starts at s[i] and returns the index
// after it. member, if not nil, is called as for readObject.
func scanObject(s string, i, depth int, member func(name, raw string, escaped bool) (bool, error)) (int, error) {
	if i >= len(s) || s[i] != '{' {
		return 0, errNotObject
	}
	if depth >= MaxDepth {
		return 0, errTooDeep
	}
	var names nameSet
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, nil
	}
	for {
		if i == len(s) || s[i] != '"' {
			return 0, errSyntax
		}
		end, escaped, err := scanString(s, i)
		if err != nil {
			return 0, err
		}
		name := s[i+1 : end-1]
		if escaped {
			name = unescape(name)
		}
		if i = skipSpace(s, end); i == len(s) || s[i] != ':' {
			return 0, errSyntax
		}
		start := skipSpace(s, i+1)
		if end, escaped, err = scanValue(s, start, depth+1); err != nil {
			return 0, err
		}
		known := false
		if member != nil {
			if known, err = member(name, s[start:end], escaped); err != nil {
				return 0, err
			}
		}
		if !known && !names.add(name) {
			return 0, fmt.Errorf("member %s is given twice", QuoteShort(name))
		}
		switch i = skipSpace(s, end); {
		case i == len(s):
			return 0, errSyntax
		case s[i] == '}':
			return i + 1, nil
		case s[i] == ',':
			i = skipSpace(s, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// scanArray reads the array that starts at s[i], a '['.
func scanArray(s string, i, depth int) (int, error) {
	if depth >= MaxDepth {
		return 0, errTooDeep
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, nil
	}
	for {
		end, _, err := scanValue(s, i, depth+1)
		if err != nil {
			return 0, err
		}
		switch i = skipSpace(s, end); {
		case i == len(s):
			return 0, errSyntax
		case s[i] == ']':
			return i + 1, nil
		case s[i] == ',':
			i = skipSpace(s, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// scanValue reads the JSON value that starts at s[i] and returns the index
// after it, and whether it is a string with escapes.
func scanValue(s string, i, depth int) (int, bool, error) {
	if i >= len(s) {
		return 0, false, errSyntax
	}
	var end int
	var err error
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '-' || c >= '0' && c <= '9':
		end, err = scanNumber(s, i)
	case c == '{':
		end, err = scanObject(s, i, depth, nil)
	case c == '[':
		end, err = scanArray(s, i, depth)
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(s[i:], lit) {
				return i + len(lit), false, nil
			}
		}
		return 0, false, errSyntax
	}
	return end, false, err
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the JSON string that starts at s[i], a quote, and
// returns the index after its closing quote and whether it holds escapes.
// It refuses control characters, unknown escapes, invalid UTF-8 and
// unpaired surrogate escapes.
func scanString(s string, i int) (end int, escaped bool, err error) {
	for i++; i < len(s); {
		// Most bytes are plain ASCII text: skip them eight at a time, then
		// one at a time.
		for i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64(BytesOf(s[i:i+8]))) {
			i += 8
		}
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return 0, false, errSyntax
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return 0, false, errUTF8
			}
			i += n
		case c != '\\':
			i++
		case i+1 == len(s):
			return 0, false, errSyntax
		case strings.IndexByte(`"\/bfnrt`, s[i+1]) >= 0:
			escaped, i = true, i+2
		case s[i+1] == 'u':
			r, ok := hex4(s, i+2)
			switch {
			case !ok:
				return 0, false, errSyntax
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, false, errUTF8
			case r >= 0xD800 && r <= 0xDBFF:
				if i+8 > len(s) || s[i+6] != '\\' || s[i+7] != 'u' {
					return 0, false, errUTF8
				}
				if lo, ok := hex4(s, i+8); !ok || lo < 0xDC00 || lo > 0xDFFF {
					return 0, false, errUTF8
				}
				i += 6
			}
			escaped, i = true, i+6
		default:
			return 0, false, errSyntax
		}
	}
	return 0, false, errSyntax
}

// plainWord reports whether the eight bytes of w are all plain: none is
// a quote, a backslash, a control character or has its high bit set (the
// bit tricks of "Bit Twiddling Hacks", determine if a word has a byte less
// than n / equal to n).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	less20 := (w - 0x20*ones) &^ w & highs // a byte below 0x20 (for bytes below 0x80)
	return (w&highs | less20 | hasZero(w^'"'*ones) | hasZero(w^'\\'*ones)) == 0
}

// plain marks the bytes a JSON string holds as they are: not a quote, a
// backslash, a control character or part of a multi-byte UTF-8 sequence.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape decodes the escapes of the text of a JSON string that
// scanString read.
func unescape(text string) string {
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		c := text[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch e := text[i+1]; e {
		case 'u':
			r, _ := hex4(text, i+2)
			i += 6
			if r >= 0xD800 && r <= 0xDBFF {
				lo, _ := hex4(text, i+2)
				r = (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default: // " \ /
			c = e
		}
		b = append(b, c)
		i += 2
	}
	return string(b)
}

// scanNumber reads the JSON number that starts at s[i],
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and refuses one beyond
// float64's range.
func scanNumber(s string, i int) (int, error) {
	start := i
	digits := func() bool {
		from := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > from
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return 0, errSyntax
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return 0, errSyntax
		}
	}
	exponent := false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		exponent = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return 0, errSyntax
		}
	}
	// Without an exponent, only more than 309 digits can overflow.
	if exponent || i-start > 300 {
		if _, err := strconv.ParseFloat(s[start:i], 64); err != nil {
			return 0, errRange
		}
	}
	return i, nil
}

// stringValue returns the text of a raw JSON string value that the reader
// accepted, and that has escapes when escaped says so; ok is false for any
// other value.
func stringValue(raw string, escaped bool) (text string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	text = raw[1 : len(raw)-1]
	if escaped {
		text = unescape(text)
	}
	return text, true
}

// stringsValue returns the texts of a raw JSON array of strings that the
// reader accepted; an empty array gives an empty, non-nil slice. ok is
// false for any other value.
func stringsValue(raw string) (texts []string, ok bool) {
	if raw == "" || raw[0] != '[' {
		return nil, false
	}
	out := make([]string, 0, strings.Count(raw, ",")+1)
	i := skipSpace(raw, 1)
	if raw[i] == ']' {
		return out, true
	}
	for {
		if raw[i] != '"' {
			return nil, false
		}
		end, escaped, _ := scanString(raw, i) // read already
		text, _ := stringValue(raw[i:end], escaped)
		out = append(out, text)
		if i = skipSpace(raw, end); raw[i] == ']' {
			return out, true
		}
		i = skipSpace(raw, i+1) // a comma
	}
}

// numberValue returns a raw JSON number value that the reader accepted;
// ok is false for any other value.
func numberValue(raw string) (f float64, ok bool) {
	if raw == "" || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	// Times are integers of 10 digits: exact in a float64 up to 15 digits,
	// read without strconv.
	if len(raw) <= 15 {
		var n uint64
		for i := range len(raw) {
			c := raw[i]
			if c < '0' || c > '9' {
				n = 1 << 63 // not a plain non-negative integer
				break
			}
			n = n*10 + uint64(c-'0')
		}
		if n < 1<<63 {
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(raw, 64)
	return f, err == nil
}

// lookalike returns the name of names that name is but for case or Unicode
// folding ("ROLES", "ſcp" for "scp"), if any. name is not one of names.
func lookalike(name string, names []string) (string, bool) {
	ascii, upper := true, false
	for i := range len(name) {
		c := name[i]
		ascii = ascii && c < utf8.RuneSelf
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if ascii && !upper {
		return "", false // lowercase ASCII folds only to itself
	}
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return n, true
		}
	}
	return "", false
}

// BytesOf views s as bytes without copying it, for functions that only
// read their input (hashes): the view must never be written or kept.
func BytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// StringOf views b as a string without copying it: b must never be written
// afterwards.
func StringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// QuoteShort quotes a caller-chosen value for an error message, cut to 32
// bytes: the message is logged, and a token must not fill logs.
func QuoteShort(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "…"
	}
	return strconv.Quote(s)
}
