package catalog

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// strTable interns strings: each distinct string is stored once and named
// by its position. Position 0 is always "".
type strTable struct {
	index map[string]int32
	list  []string
}

// bytes returns the position of s, adding it when new. s is copied only
// when new.
func (t *strTable) bytes(s []byte) int32 {
	if len(s) == 0 {
		return 0
	}
	if i, ok := t.index[string(s)]; ok {
		return i
	}
	return t.add(string(s))
}

// str returns the position of s, adding it when new.
func (t *strTable) str(s string) int32 {
	if s == "" {
		return 0
	}
	if i, ok := t.index[s]; ok {
		return i
	}
	return t.add(s)
}

func (t *strTable) add(s string) int32 {
	if t.index == nil {
		t.index = map[string]int32{}
		t.list = append(t.list[:0], "")
	}
	i := int32(len(t.list))
	t.index[s] = i
	t.list = append(t.list, s)
	return i
}

// get returns the string at position i.
func (t *strTable) get(i int32) string {
	if i == 0 {
		return ""
	}
	return t.list[i]
}

// literal returns the position of the string the JSON string literal q
// (quotes included) decodes to, as unquote decodes it.
func (t *strTable) literal(q []byte) int32 {
	if len(q) >= 2 {
		if in := q[1 : len(q)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			return t.bytes(in)
		}
	}
	return t.str(unquote(q))
}

// flex returns the position of the string a flexString decodes val to.
func (t *strTable) flex(val []byte) int32 {
	switch val[0] {
	case '"':
		return t.literal(val)
	case 'n', '{', '[':
		return 0
	}
	return t.bytes(val)
}

// Flags of a runRow.
const (
	rowFailures uint8 = 1 << iota // failures holds a value
	rowAdapter                    // adapter_response is neither null nor {}
	rowExecuted                   // the result has an execute timing
)

// runRow is what Build needs of one run result, decoded straight from the
// JSON: the unique_id and status as strTable positions and the execute
// timing's completion as Unix seconds and nanoseconds.
type runRow struct {
	id, status int32
	execNsec   int32
	flags      uint8
	message    string
	execSec    int64
	seconds    float64
	failures   int64
}

// executedAt is RunResult.ExecutedAt for the row.
func (r *runRow) executedAt() time.Time {
	if r.flags&rowExecuted == 0 {
		return time.Time{}
	}
	return time.Unix(r.execSec, int64(r.execNsec)).UTC()
}

// Member names of a run result, its node and its timings.
const (
	keyNone = iota
	keyUniqueID
	keyStatus
	keyMessage
	keyExecutionTime
	keyFailures
	keyTiming
	keyAdapterResponse
	keyNode
	keyName
	keyCompletedAt
)

// resultKey names the member raw of a run result (or of its node or
// timing) the way structSpec.lookup matches it: exactly, else lower-cased
// after unescaping. Members Build does not use are keyNone.
func resultKey(raw []byte) int {
	if k := resultKeyExact(raw); k != keyNone {
		return k
	}
	for _, c := range raw {
		if (c >= 'A' && c <= 'Z') || c == '\\' || c >= utf8.RuneSelf {
			return resultKeyExact([]byte(strings.ToLower(memberKey(raw))))
		}
	}
	return keyNone
}

func resultKeyExact(raw []byte) int {
	switch string(raw) {
	case "unique_id":
		return keyUniqueID
	case "status":
		return keyStatus
	case "message":
		return keyMessage
	case "execution_time":
		return keyExecutionTime
	case "failures":
		return keyFailures
	case "timing":
		return keyTiming
	case "adapter_response":
		return keyAdapterResponse
	case "node":
		return keyNode
	case "name":
		return keyName
	case "completed_at":
		return keyCompletedAt
	}
	return keyNone
}

// decodeRunRow decodes the run result object raw into row with the
// semantics of decodeEntry into runResultJSON followed by DecodeRunResults'
// conversion: later duplicate members win as they would there.
func decodeRunRow(raw []byte, strs *strTable, row *runRow) {
	var uid, nodeUID, timing, adapter []byte
	haveNode := false
	_ = eachMember(raw, func(key, val []byte) error {
		if len(val) == 0 {
			return nil
		}
		switch resultKey(key) {
		case keyUniqueID:
			if val[0] == '"' {
				uid = val
			}
		case keyStatus:
			row.status = strs.flex(val)
		case keyMessage:
			row.message = flexStr(val)
		case keyExecutionTime:
			row.seconds = flexFloatOf(val)
		case keyFailures:
			row.flags &^= rowFailures
			row.failures = 0
			if v, ok := flexInt64(val); ok {
				row.failures, row.flags = v, row.flags|rowFailures
			}
		case keyTiming:
			if isNull(val) || val[0] == '[' {
				timing = val
			}
		case keyAdapterResponse:
			adapter = val
		case keyNode:
			switch {
			case isNull(val):
				haveNode, nodeUID = false, nil
			case val[0] == '{':
				haveNode = true
				_ = eachMember(val, func(k, v []byte) error {
					if len(v) > 0 && v[0] == '"' && resultKey(k) == keyUniqueID {
						nodeUID = v
					}
					return nil
				})
			default:
				haveNode = true
			}
		}
		return nil
	})
	row.id = 0
	if uid != nil {
		row.id = strs.literal(uid)
	}
	if row.id == 0 && haveNode && nodeUID != nil {
		row.id = strs.literal(nodeUID)
	}
	if !emptyJSON(adapter) {
		row.flags |= rowAdapter
	}
	if t := executeCompletion(timing); !t.IsZero() {
		row.execSec, row.execNsec = t.Unix(), int32(t.Nanosecond())
		row.flags |= rowExecuted
	}
}

// executeCompletion returns the completed_at of the first timing named
// "execute" that has one, as RunResult.ExecutedAt does.
func executeCompletion(timing []byte) time.Time {
	var out time.Time
	_ = eachElement(timing, func(e []byte) error {
		if e[0] != '{' {
			return nil
		}
		var name, completed []byte
		_ = eachMember(e, func(k, v []byte) error {
			if len(v) == 0 {
				return nil
			}
			switch resultKey(k) {
			case keyName:
				if v[0] == '"' {
					name = v
				}
			case keyCompletedAt:
				completed = v
			}
			return nil
		})
		if name == nil || (string(name) != `"execute"` && unquote(name) != "execute") || completed == nil {
			return nil
		}
		var t flexTime
		_ = t.UnmarshalJSON(completed)
		if t.IsZero() {
			return nil
		}
		out = t.Time
		return io.EOF // stop: the first execute timing wins
	})
	return out
}

// flexStr is the string a flexString decodes val to.
func flexStr(val []byte) string {
	var s flexString
	_ = s.UnmarshalJSON(val)
	return string(s)
}

// flexFloatOf is the number a flexFloat decodes val to.
func flexFloatOf(val []byte) float64 {
	if c := val[0]; c == '-' || (c >= '0' && c <= '9') {
		v, err := strconv.ParseFloat(string(val), 64)
		if err != nil {
			return 0
		}
		return v
	}
	var f flexFloat
	_ = f.UnmarshalJSON(val)
	return float64(f)
}

// flexInt64 is the integer a flexInt decodes val to.
func flexInt64(val []byte) (int64, bool) {
	if c := val[0]; c == '-' || (c >= '0' && c <= '9') {
		if v, err := strconv.ParseInt(string(val), 10, 64); err == nil {
			return v, true
		}
	}
	return parseInt64(val)
}

// decodeRunRows streams run_results.json from r like DecodeRunResults,
// appending one runRow per result to rows and interning its strings in
// strs. It also reports whether every result has status success and no
// adapter response.
func decodeRunRows(r io.Reader, opts DecodeOptions, strs *strTable, rows []runRow) (ArtifactMeta, []runRow, bool, error) {
	quiet := true
	success := strs.str("success")
	meta, err := walkRunResults(r, opts, func(raw []byte) error {
		rows = append(rows, runRow{})
		row := &rows[len(rows)-1]
		decodeRunRow(raw, strs, row)
		if row.status != success || row.flags&rowAdapter != 0 {
			quiet = false
		}
		return nil
	})
	return meta, rows, quiet, err
}
