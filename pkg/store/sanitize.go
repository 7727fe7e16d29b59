package store

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// clean makes s storable in a PostgreSQL text column: NUL bytes are removed
// and invalid UTF-8 is replaced with U+FFFD. It reports whether s changed.
func clean(s string) (string, bool) {
	if isClean(s) {
		return s, false
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", ""), true
}

// isClean reports whether s is valid UTF-8 without NUL bytes. Most values
// are short ASCII (names, types, statuses): it tests them eight bytes at a
// time for a high bit or a zero byte in one pass, and hands the rest of s
// from the first byte that is not plain ASCII to utf8.ValidString and
// strings.IndexByte. Long values (code) go to those two straight away:
// past a few dozen bytes their vector loops beat one scalar pass.
func isClean(s string) bool {
	if len(s) >= cleanOnePassMax {
		return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
	}
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// A word of ASCII bytes has a zero byte exactly when subtracting one
	// from each byte borrows into a high bit; a high bit in w itself is
	// a byte that is not ASCII. Either sends the word to the slow path.
	dirty := func(w uint64) uint64 { return (w | (w - ones)) & highs }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if dirty(load64(s[i:i+8])) != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			rest := s[i:]
			return utf8.ValidString(rest) && strings.IndexByte(rest, 0) < 0
		}
	}
	return true
}

// cleanOnePassMax is the length from which isClean uses the standard
// library's two vectorised passes.
const cleanOnePassMax = 64

// load64 reads the first eight bytes of s as a little-endian word.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func cleanAll(in []string) ([]string, bool) {
	changed := false
	var out []string
	for i, s := range in {
		c, ch := clean(s)
		if ch && out == nil {
			out = append([]string(nil), in...)
		}
		if out != nil {
			out[i] = c
		}
		changed = changed || ch
	}
	if out == nil {
		if in == nil {
			return []string{}, false
		}
		return in, false
	}
	return out, changed
}

// cleanJSON returns a jsonb-safe document: "{}" for empty input, invalid
// JSON wrapped as a string, and NUL characters (which jsonb rejects) removed
// from every string. It reports whether the input changed.
func cleanJSON(raw json.RawMessage, empty string) (string, bool) {
	// Most documents are empty or small, flat and plain: those are known
	// valid and unchanged without encoding/json's scanner.
	switch string(raw) {
	case "", "null":
		return empty, false
	case "{}":
		return "{}", false
	case "[]":
		return "[]", false
	}
	if plainJSON(raw) {
		return string(raw), false
	}
	return cleanJSONChecked(raw, empty)
}

// cleanJSONChecked is cleanJSON for any document: encoding/json validates
// it, and strings holding NUL are rewritten.
func cleanJSONChecked(raw json.RawMessage, empty string) (string, bool) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return empty, false
	}
	if !json.Valid(raw) {
		s, _ := clean(string(raw))
		b, _ := json.Marshal(map[string]string{"invalid_json": s})
		return string(b), true
	}
	if !bytes.Contains(raw, []byte(`\u0000`)) && utf8.Valid(raw) && bytes.IndexByte(raw, 0) < 0 {
		return string(raw), false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return empty, true
	}
	v = stripNUL(v)
	b, err := json.Marshal(v)
	if err != nil {
		return empty, true
	}
	return string(b), true
}

// plainJSONDepth is how deeply plainJSON follows nested objects and
// arrays; deeper documents take the general path.
const plainJSONDepth = 32

// plainJSON reports whether raw is a JSON object or array that cleanJSON
// stores as it is: valid JSON, starting with its bracket, whose strings
// hold no escapes, no control characters and only valid UTF-8. A false
// result says nothing: the document may still be valid.
func plainJSON(raw []byte) bool {
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return false
	}
	p := plainScanner{b: raw}
	if !p.value(0) {
		return false
	}
	p.space()
	return p.i == len(p.b)
}

// plainScanner reads the part of JSON that plainJSON accepts.
type plainScanner struct {
	b []byte
	i int
}

func (p *plainScanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips space and consumes c when it comes next.
func (p *plainScanner) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *plainScanner) value(depth int) bool {
	p.space()
	if p.i == len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		if depth == plainJSONDepth {
			return false
		}
		p.i++
		if p.next('}') {
			return true
		}
		for {
			p.space()
			if !p.str() || !p.next(':') || !p.value(depth+1) {
				return false
			}
			if p.next('}') {
				return true
			}
			if !p.next(',') {
				return false
			}
		}
	case c == '[':
		if depth == plainJSONDepth {
			return false
		}
		p.i++
		if p.next(']') {
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			if p.next(']') {
				return true
			}
			if !p.next(',') {
				return false
			}
		}
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return false
}

// str consumes a string without escapes or control characters, of valid
// UTF-8.
func (p *plainScanner) str() bool {
	if p.i == len(p.b) || p.b[p.i] != '"' {
		return false
	}
	p.i++
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c == '\\' || c < 0x20:
			return false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
			p.i += n
		}
	}
	return false
}

func (p *plainScanner) literal(lit string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		return false
	}
	p.i += len(lit)
	return true
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *plainScanner) number() bool {
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i == len(p.b):
		return false
	case p.b[p.i] == '0':
		p.i++
	case p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

// digits consumes decimal digits and returns how many.
func (p *plainScanner) digits() int {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func stripNUL(v any) any {
	switch x := v.(type) {
	case string:
		s, _ := clean(x)
		return s
	case []any:
		for i := range x {
			x[i] = stripNUL(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			ck, _ := clean(k)
			out[ck] = stripNUL(val)
		}
		return out
	}
	return v
}

var dsnPassword = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@|(password=)\S+`)

// redactDSN hides passwords in connection strings inside s.
func redactDSN(s string) string {
	return dsnPassword.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(strings.ToLower(m), "password=") {
			return "password=REDACTED"
		}
		i := strings.LastIndex(m, ":")
		return m[:i+1] + "REDACTED@"
	})
}
