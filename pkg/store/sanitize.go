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
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", ""), true
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
