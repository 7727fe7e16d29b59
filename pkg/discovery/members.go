package discovery

import (
	"encoding/json"
	"strings"
)

// hasMember reports whether body, a JSON object the decoder accepted, has
// a top-level member whose name matches key the way the decoder matches
// field names (ignoring case). It reads no further than that member.
func hasMember(body []byte, key string) bool {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return false
		}
		end := stringEnd(body, i)
		if end < 0 {
			return false
		}
		if memberNameIs(body[i:end], key) {
			return true
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		if i = skipValue(body, i+1); i < 0 {
			return false
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return false
		}
		i++
	}
}

// memberNameIs reports whether the JSON string q (quotes included) is key,
// ignoring case.
func memberNameIs(q []byte, key string) bool {
	name := q[1 : len(q)-1]
	for _, c := range name {
		if c == '\\' {
			var s string
			return json.Unmarshal(q, &s) == nil && strings.EqualFold(s, key)
		}
	}
	return strings.EqualFold(string(name), key)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i], or
// -1 when it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at or after
// b[i], or -1 when it does not end.
func skipValue(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}
