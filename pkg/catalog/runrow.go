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
	// rows collects the rows of the file being read; bufs keeps a
	// scanner buffer from file to file.
	rows chunks[runRow]
	bufs scanBufs
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

// rowRaw accumulates the members of one run result as spans of the
// entry being streamed. Members the reference struct holds in a Go string
// (unique_id, node.unique_id, timing[].name) only take string values;
// the others take every value. A later duplicate member wins.
type rowRaw struct {
	uid, status, message, seconds, failures, adapter span
	// haveNode is whether the last node member was not null; nodeUID is
	// the last string unique_id of the node objects since then, which
	// merge as they would into a *struct.
	haveNode bool
	nodeUID  span
	// executed is whether the last timing member that was null or an
	// array holds an execute phase with a completion time, at execSec
	// and execNsec.
	executed bool
	execSec  int64
	execNsec int32
}

// rowDecoder reads run results straight from the scanner into runRows.
// It gives the same runRow as decoding the result with decodeEntry into a
// runResultJSON and converting it as DecodeRunResults does, in one pass
// over the result as the scanner validates it: a member is found with a
// key switch, the values a runRow uses are kept as spans and decoded once
// the result is read, every other value is only validated.
type rowDecoder struct {
	s     *scanner
	strs  *strTable
	depth int // of the result object being read
	r     rowRaw
	// msgs holds the distinct messages of the file read so far.
	msgs map[string]string
}

// read consumes the run result object whose '{' is next, a container at
// depth, and fills row from it. row must be the zero runRow.
func (d *rowDecoder) read(depth int, row *runRow) error {
	d.r = rowRaw{}
	d.depth = depth
	if err := d.s.object(depth, d.member); err != nil {
		return err
	}
	d.fill(row)
	return nil
}

// member consumes one member of the result object.
func (d *rowDecoder) member(key span) error {
	s, r, at := d.s, &d.r, d.depth
	switch resultKey(s.at(key)) {
	case keyUniqueID:
		return s.keepString(at, &r.uid)
	case keyStatus:
		return s.keep(at, &r.status)
	case keyMessage:
		return s.keep(at, &r.message)
	case keyExecutionTime:
		return s.keep(at, &r.seconds)
	case keyFailures:
		return s.keep(at, &r.failures)
	case keyAdapterResponse:
		return s.keep(at, &r.adapter)
	case keyTiming:
		return d.timing(at)
	case keyNode:
		c, err := s.structValue(at, d.resetNode, d.nodeMember)
		if c != 'n' {
			r.haveNode = true
		}
		return err
	}
	return s.value(at)
}

// resetNode is a null node member.
func (d *rowDecoder) resetNode() { d.r.haveNode, d.r.nodeUID = false, span{} }

// nodeMember consumes one member of the result's node object.
func (d *rowDecoder) nodeMember(key span) error {
	s, at := d.s, d.depth+1
	if resultKey(s.at(key)) == keyUniqueID {
		return s.keepString(at, &d.r.nodeUID)
	}
	return s.value(at)
}

// timing consumes a timing value at depth as decodeField does for a
// []timingJSON: null and arrays replace the timings, anything else
// leaves them. Only the first execute phase with a completion time is
// kept, as RunResult.ExecutedAt reads it; the elements after it are only
// validated.
func (d *rowDecoder) timing(depth int) error {
	s, r := d.s, &d.r
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	if c != '[' {
		if c == 'n' {
			r.executed = false
		}
		return s.value(depth)
	}
	r.executed = false
	return s.array(depth+1, func(c byte) error {
		if c != '{' || r.executed {
			return s.value(depth + 1)
		}
		var name, completed span
		err := s.object(depth+2, func(key span) error {
			switch resultKey(s.at(key)) {
			case keyName:
				return s.keepString(depth+2, &name)
			case keyCompletedAt:
				return s.keep(depth+2, &completed)
			}
			return s.value(depth + 2)
		})
		if err != nil {
			return err
		}
		if t := executeCompletion(s.at(name), s.at(completed)); !t.IsZero() {
			r.executed, r.execSec, r.execNsec = true, t.Unix(), int32(t.Nanosecond())
		}
		return nil
	})
}

// executeCompletion returns the completion time of a timing element whose
// name (a JSON string literal) and completed_at values are given (nil when
// absent), or the zero time when it is not an execute phase or has no
// completion time.
func executeCompletion(name, completed []byte) time.Time {
	if name == nil || completed == nil || string(name) != `"execute"` &&
		(bytes.IndexByte(name, '\\') < 0 || unquote(name) != "execute") {
		return time.Time{}
	}
	if t, ok := parseUTCStamp(completed); ok {
		return t
	}
	var t flexTime
	_ = t.UnmarshalJSON(completed)
	return t.Time
}

// parseUTCStamp parses the JSON string literal q when it has the shape
// dbt writes, "2006-01-02T15:04:05Z" with an optional fraction of one to
// nine digits, giving what flexTime gives for it. ok is false for every
// other value, which then takes flexTime's way.
func parseUTCStamp(q []byte) (t time.Time, ok bool) {
	n := len(q)
	if n < len(`"2006-01-02T15:04:05Z"`) || q[0] != '"' || q[n-1] != '"' || q[n-2] != 'Z' ||
		q[5] != '-' || q[8] != '-' || q[11] != 'T' || q[14] != ':' || q[17] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digitsOf(q[1:5])
	month, ok2 := digitsOf(q[6:8])
	day, ok3 := digitsOf(q[9:11])
	hour, ok4 := digitsOf(q[12:14])
	minute, ok5 := digitsOf(q[15:17])
	sec, ok6 := digitsOf(q[18:20])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := q[20 : n-2]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		v, ok := digitsOf(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			v *= 10
		}
		nsec = v
	}
	if day > 28 && day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// digitsOf reads b, ASCII digits only, as a decimal number.
func digitsOf(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// messageOf is the string a flexString decodes val to. Messages repeat
// within a file ("SELECT 1", "PASS"), so each distinct plain message is
// stored once per file.
func (d *rowDecoder) messageOf(val []byte) string {
	if len(val) < 2 || val[0] != '"' {
		return flexStr(val)
	}
	in := val[1 : len(val)-1]
	if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
		return unquote(val)
	}
	if m, ok := d.msgs[string(in)]; ok {
		return m
	}
	m := string(in)
	if d.msgs == nil {
		d.msgs = map[string]string{}
	}
	d.msgs[m] = m
	return m
}

// fill sets row from the members read.
func (d *rowDecoder) fill(row *runRow) {
	s, r, strs := d.s, &d.r, d.strs
	if r.status.b != 0 {
		row.status = strs.flex(s.at(r.status))
	}
	if r.message.b != 0 {
		row.message = d.messageOf(s.at(r.message))
	}
	if r.seconds.b != 0 {
		row.seconds = flexFloatOf(s.at(r.seconds))
	}
	if r.failures.b != 0 {
		if v, ok := flexInt64(s.at(r.failures)); ok {
			row.failures, row.flags = v, row.flags|rowFailures
		}
	}
	if r.uid.b != 0 {
		row.id = strs.literal(s.at(r.uid))
	}
	if row.id == 0 && r.haveNode && r.nodeUID.b != 0 {
		row.id = strs.literal(s.at(r.nodeUID))
	}
	if !emptyJSON(s.at(r.adapter)) {
		row.flags |= rowAdapter
	}
	if r.executed {
		row.execSec, row.execNsec = r.execSec, r.execNsec
		row.flags |= rowExecuted
	}
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
// reading each result straight from the scanner with a rowDecoder,
// appending one runRow per result to rows and interning its strings in
// strs. It also reports whether every result has status success and no
// adapter response. Its results and errors are DecodeRunResults'. The
// rows are collected in strs's chunks and copied out once, so the result
// is allocated at its exact size and growing it leaves no garbage.
func decodeRunRows(r io.Reader, opts DecodeOptions, strs *strTable, rows []runRow) (ArtifactMeta, []runRow, bool, error) {
	quiet := true
	success := strs.str("success")
	w := newWalkerBuf(r, KindRunResults, opts, strs.bufs.take())
	defer strs.bufs.give(w)
	s := w.s
	d := rowDecoder{s: s, strs: strs}
	w.streams = map[string]streamFunc{
		"results": func(_ string, c byte) error {
			if c != '{' {
				return s.value(2)
			}
			row := strs.rows.next()
			if err := d.read(3, row); err != nil {
				return err
			}
			w.meta.Entries++
			if row.status != success || row.flags&rowAdapter != 0 {
				quiet = false
			}
			return nil
		},
	}
	meta, err := w.runRunResults(nil)
	return meta, strs.rows.drain(rows), quiet, err
}
