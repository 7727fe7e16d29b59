package dbtcloudtest

import (
	"bufio"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonWriter writes JSON tokens in the order the caller emits them, so
// artifacts come out with a deterministic key order and without building
// the whole document as Go maps first. It inserts commas itself: callers
// only open and close containers, name keys and write values.
type jsonWriter struct {
	w *bufio.Writer
	// first[i] is true while container i has no member yet.
	first []bool
	// afterKey is true between a key and its value.
	afterKey bool
	scratch  []byte
}

func newJSONWriter(w *bufio.Writer) *jsonWriter {
	return &jsonWriter{w: w, first: make([]bool, 0, 16), scratch: make([]byte, 0, 64)}
}

func (j *jsonWriter) sep() {
	if j.afterKey {
		j.afterKey = false
		return
	}
	if n := len(j.first); n > 0 {
		if j.first[n-1] {
			j.first[n-1] = false
		} else {
			j.w.WriteByte(',')
		}
	}
}

func (j *jsonWriter) beginObject() { j.sep(); j.w.WriteByte('{'); j.first = append(j.first, true) }
func (j *jsonWriter) endObject()   { j.first = j.first[:len(j.first)-1]; j.w.WriteByte('}') }
func (j *jsonWriter) beginArray()  { j.sep(); j.w.WriteByte('['); j.first = append(j.first, true) }
func (j *jsonWriter) endArray()    { j.first = j.first[:len(j.first)-1]; j.w.WriteByte(']') }

func (j *jsonWriter) key(k string) {
	j.sep()
	j.writeString(k)
	j.w.WriteByte(':')
	j.afterKey = true
}

func (j *jsonWriter) str(s string)  { j.sep(); j.writeString(s) }
func (j *jsonWriter) null()         { j.sep(); j.w.WriteString("null") }
func (j *jsonWriter) int(n int64)   { j.sep(); j.w.Write(strconv.AppendInt(j.scratch[:0], n, 10)) }
func (j *jsonWriter) raw(b []byte)  { j.sep(); j.w.Write(b) }
func (j *jsonWriter) rawS(s string) { j.sep(); j.w.WriteString(s) }

func (j *jsonWriter) bool(b bool) {
	j.sep()
	if b {
		j.w.WriteString("true")
	} else {
		j.w.WriteString("false")
	}
}

// float writes f exactly as encoding/json would.
func (j *jsonWriter) float(f float64) {
	j.sep()
	b, err := json.Marshal(f)
	if err != nil { // NaN or Inf: never produced by the generator
		j.w.WriteString("null")
		return
	}
	j.w.Write(b)
}

// strOrNull writes s, or null when s is empty.
func (j *jsonWriter) strOrNull(s string) {
	if s == "" {
		j.null()
		return
	}
	j.str(s)
}

// time writes t in the artifact layout 2024-01-02T03:04:05.123456Z.
func (j *jsonWriter) time(t time.Time) { j.str(artifactTime(t)) }

// strings writes a JSON array of strings.
func (j *jsonWriter) strings(ss []string) {
	j.beginArray()
	for _, s := range ss {
		j.str(s)
	}
	j.endArray()
}

// kv helpers keep the emitting code short.
func (j *jsonWriter) kStr(k, v string)           { j.key(k); j.str(v) }
func (j *jsonWriter) kStrOrNull(k, v string)     { j.key(k); j.strOrNull(v) }
func (j *jsonWriter) kInt(k string, v int64)     { j.key(k); j.int(v) }
func (j *jsonWriter) kBool(k string, v bool)     { j.key(k); j.bool(v) }
func (j *jsonWriter) kNull(k string)             { j.key(k); j.null() }
func (j *jsonWriter) kFloat(k string, v float64) { j.key(k); j.float(v) }
func (j *jsonWriter) kStrings(k string, v []string) {
	j.key(k)
	j.strings(v)
}
func (j *jsonWriter) kEmptyObject(k string) { j.key(k); j.rawS("{}") }
func (j *jsonWriter) kEmptyArray(k string)  { j.key(k); j.rawS("[]") }

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string with the escaping encoding/json uses
// when HTML escaping is off.
func (j *jsonWriter) writeString(s string) {
	w := j.w
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			w.WriteString(s[start:i])
			switch c {
			case '"':
				w.WriteString(`\"`)
			case '\\':
				w.WriteString(`\\`)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hexDigits[c>>4])
				w.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.WriteString(s[start:i])
			w.WriteString(`\u202`)
			w.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}

// artifactTime formats t the way dbt writes generated_at and timings.
func artifactTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// apiTime formats t the way the Admin API writes run and project timestamps
// ("2021-12-07 10:32:24.326116+00:00").
func apiTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000+00:00")
}

// apiTimeT formats t the way the Admin API writes job and environment
// timestamps ("2021-11-18T15:19:03.185668+00:00").
func apiTimeT(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
