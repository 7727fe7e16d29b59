package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ArtifactKind is the kind of a dbt artifact, taken from the path of its
// metadata.dbt_schema_version URL.
type ArtifactKind string

// The artifact kinds the decoders understand.
const (
	KindManifest   ArtifactKind = "manifest"
	KindCatalog    ArtifactKind = "catalog"
	KindRunResults ArtifactKind = "run_results"
	KindSources    ArtifactKind = "sources"
)

// fileName is the conventional file name of an artifact kind, used in errors
// when the caller names no file.
func (k ArtifactKind) fileName() string {
	return string(k) + ".json"
}

// supported reports whether schema version v of kind k is understood:
// manifest v1 to v12 and dbt Fusion's v20, catalog v1, run-results v1 to v6,
// sources v1 to v3.
func (k ArtifactKind) supported(v int) bool {
	switch k {
	case KindManifest:
		return (v >= 1 && v <= 12) || v == 20
	case KindCatalog:
		return v == 1
	case KindRunResults:
		return v >= 1 && v <= 6
	case KindSources:
		return v >= 1 && v <= 3
	}
	return false
}

// Sentinel errors wrapped by ArtifactError. Callers branch on them with
// errors.Is.
var (
	// ErrTruncated: the document ends before its top-level object closes.
	ErrTruncated = errors.New("artifact is truncated")
	// ErrInvalidJSON: the document is not valid JSON.
	ErrInvalidJSON = errors.New("artifact is not valid JSON")
	// ErrWrongKind: the document is another kind of artifact than expected.
	ErrWrongKind = errors.New("wrong artifact kind")
	// ErrUnsupportedVersion: the artifact's schema version is not supported.
	ErrUnsupportedVersion = errors.New("unsupported artifact schema version")
	// ErrNoMetadata: the document has no metadata.dbt_schema_version.
	ErrNoMetadata = errors.New("artifact has no metadata.dbt_schema_version")
	// ErrTooDeep: the document nests deeper than DecodeOptions.MaxDepth.
	ErrTooDeep = errors.New("artifact nests too deeply")
	// ErrTooLarge: the document is larger than DecodeOptions.MaxBytes.
	ErrTooLarge = errors.New("artifact is too large")
)

// ArtifactError reports an artifact the decoders refused: which file, its
// dbt_schema_version when known, and the byte offset where decoding stopped.
type ArtifactError struct {
	File          string
	SchemaVersion string
	Offset        int64
	Err           error
}

// Error implements error.
func (e *ArtifactError) Error() string {
	var b strings.Builder
	b.WriteString("decode ")
	b.WriteString(e.File)
	if e.SchemaVersion != "" {
		b.WriteString(" (")
		b.WriteString(e.SchemaVersion)
		b.WriteString(")")
	}
	b.WriteString(" at byte ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error, which wraps one of the Err* sentinels
// when the cause is known.
func (e *ArtifactError) Unwrap() error { return e.Err }

// Default decoding limits.
const (
	// DefaultMaxDepth is the default maximum JSON nesting depth, counted from
	// the document's top-level object (depth 1).
	DefaultMaxDepth = 128
	// DefaultMaxBytes is the default maximum artifact size: 4 GiB.
	DefaultMaxBytes int64 = 4 << 30
)

// DecodeOptions bounds and names one artifact decode. The zero value uses
// the defaults.
type DecodeOptions struct {
	// File names the artifact in errors; default "<kind>.json".
	File string
	// MaxDepth is the maximum nesting depth; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxBytes is the maximum number of bytes read; 0 means
	// DefaultMaxBytes, a negative value means no limit.
	MaxBytes int64
}

// ArtifactMeta is an artifact's metadata plus what the decoder learned while
// reading it.
type ArtifactMeta struct {
	Kind ArtifactKind
	// SchemaVersion is the dbt_schema_version URL; Version its number.
	SchemaVersion string
	Version       int
	DBTVersion    string
	GeneratedAt   time.Time
	InvocationID  string
	// AdapterType, ProjectName, ProjectID and Quoting are set by manifests
	// only (Quoting since dbt 1.10).
	AdapterType string
	ProjectName string
	ProjectID   string
	Quoting     Quoting
	// Command is args.which of run_results.json ("run", "build", "test",
	// "generate", "compile", ...); "" when absent.
	Command string
	// ElapsedSeconds is run_results/sources elapsed_time.
	ElapsedSeconds float64
	// CatalogErrors is catalog.json's errors list.
	CatalogErrors []string
	// Entries is the number of entries passed to the callback.
	Entries int
	// InvalidUTF8 counts entries whose bytes were not valid UTF-8; the
	// decoder replaced the invalid bytes with U+FFFD.
	InvalidUTF8 int
	// Bytes is the number of bytes read.
	Bytes int64
}

// Quoting is a dbt quoting config; nil means "adapter default".
type Quoting struct {
	Database   *bool `json:"database"`
	Schema     *bool `json:"schema"`
	Identifier *bool `json:"identifier"`
}

// ParseSchemaVersion splits a dbt_schema_version URL such as
// "https://schemas.getdbt.com/dbt/run-results/v6.json" into its kind and
// version number. ok is false when the URL has another shape.
func ParseSchemaVersion(url string) (kind ArtifactKind, version int, ok bool) {
	i := strings.LastIndex(url, "/dbt/")
	if i < 0 {
		return "", 0, false
	}
	rest := url[i+len("/dbt/"):]
	name, ver, found := strings.Cut(rest, "/")
	if !found {
		return "", 0, false
	}
	ver = strings.TrimSuffix(ver, ".json")
	if !strings.HasPrefix(ver, "v") {
		return "", 0, false
	}
	n, err := strconv.Atoi(ver[1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return ArtifactKind(strings.ReplaceAll(name, "-", "_")), n, true
}

// limitReader counts bytes read and fails with ErrTooLarge once more than
// limit bytes arrive.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64 // < 0: none
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.limit >= 0 {
		left := l.limit + 1 - l.n // allow one byte past the limit to detect it
		if left <= 0 {
			return 0, fmt.Errorf("%w: more than %d bytes; raise the artifact size limit", ErrTooLarge, l.limit)
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.limit >= 0 && l.n > l.limit {
		return n, fmt.Errorf("%w: more than %d bytes; raise the artifact size limit", ErrTooLarge, l.limit)
	}
	return n, err
}

// walker streams one artifact: it walks the top-level object key by key,
// hands the values of interesting keys to handlers one entry at a time and
// skips the rest, never holding more than one entry in memory.
type walker struct {
	kind     ArtifactKind
	file     string
	maxDepth int
	lr       *limitReader
	s        *scanner
	meta     ArtifactMeta
	haveMeta bool
	// streams maps top-level keys to handlers that consume each entry
	// straight from the scanner (see streamEntries); they take precedence
	// over the handlers given to run.
	streams map[string]streamFunc
}

func newWalker(r io.Reader, kind ArtifactKind, opts DecodeOptions) *walker {
	return newWalkerBuf(r, kind, opts, nil)
}

// newWalkerBuf is newWalker reading through buf, a buffer no longer used,
// when it is at least scanBufSize bytes long.
func newWalkerBuf(r io.Reader, kind ArtifactKind, opts DecodeOptions, buf []byte) *walker {
	if len(buf) < scanBufSize {
		buf = make([]byte, scanBufSize)
	}
	w := &walker{kind: kind, file: opts.File, maxDepth: opts.MaxDepth}
	if w.file == "" {
		w.file = kind.fileName()
	}
	if w.maxDepth <= 0 {
		w.maxDepth = DefaultMaxDepth
	}
	limit := opts.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	w.lr = &limitReader{r: r, limit: limit}
	w.s = &scanner{r: w.lr, buf: buf, mark: -1, maxDepth: w.maxDepth}
	w.meta.Kind = kind
	return w
}

// fail wraps err into an *ArtifactError at the current offset.
func (w *walker) fail(err error) error {
	var ae *ArtifactError
	if errors.As(err, &ae) {
		return err
	}
	off := w.s.offset()
	var se *syntaxError
	switch {
	case errors.Is(err, ErrTooLarge):
		off = w.lr.n
	case errors.As(err, &se):
		off = se.off
		err = fmt.Errorf("%w: %s", ErrInvalidJSON, se.msg)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off = w.lr.n
		err = fmt.Errorf("%w: input ended before the document was complete; re-download the artifact", ErrTruncated)
	}
	return &ArtifactError{File: w.file, SchemaVersion: w.meta.SchemaVersion, Offset: off, Err: err}
}

// entryFunc receives one entry of a top-level map (key is the map key) or
// array (key is ""). raw is only valid during the call.
type entryFunc func(key string, raw []byte) error

// run walks the document. handlers maps top-level keys to entry handlers;
// foreign maps top-level keys that betray another artifact kind to that
// kind's name; scalar handles top-level scalar values by key.
func (w *walker) run(handlers map[string]entryFunc, foreign map[string]string, scalar func(key string, raw []byte)) (ArtifactMeta, error) {
	meta, err := w.walk(handlers, foreign, scalar)
	meta.Bytes = w.lr.n
	if err != nil {
		return meta, w.fail(err)
	}
	return meta, nil
}

func (w *walker) walk(handlers map[string]entryFunc, foreign map[string]string, scalar func(key string, raw []byte)) (ArtifactMeta, error) {
	s := w.s
	c, err := s.peek()
	if err != nil {
		if err == io.EOF {
			return w.meta, fmt.Errorf("%w: the file is empty", ErrTruncated)
		}
		return w.meta, err
	}
	if c != '{' {
		return w.meta, fmt.Errorf("%w: the document is not a JSON object", ErrInvalidJSON)
	}
	s.pos++
	if c, err = s.peek(); err != nil {
		return w.meta, err
	}
	for c != '}' {
		key, err := s.memberKey(c)
		if err != nil {
			return w.meta, err
		}
		if err := w.topValue(key, handlers, foreign, scalar); err != nil {
			return w.meta, err
		}
		if c, err = s.after('}'); err != nil {
			return w.meta, err
		}
	}
	s.pos++ // closing '}'
	if _, err := s.peek(); err != io.EOF {
		if err == nil {
			err = s.syntax("data after the top-level object")
		}
		return w.meta, err
	}
	if !w.haveMeta {
		return w.meta, fmt.Errorf("%w: cannot tell which artifact this is; pass a dbt %s", ErrNoMetadata, w.kind.fileName())
	}
	return w.meta, nil
}

// topValue consumes the value of the top-level key.
func (w *walker) topValue(key string, handlers map[string]entryFunc, foreign map[string]string, scalar func(key string, raw []byte)) error {
	if key == "metadata" {
		return w.readMeta()
	}
	if other, ok := foreign[key]; ok && !w.haveMeta {
		return fmt.Errorf("%w: expected a %s but the document has the top-level key %q of a %s; pass the right file",
			ErrWrongKind, w.kind.fileName(), key, other)
	}
	if h, ok := w.streams[key]; ok {
		return w.streamEntries(key, h)
	}
	if h, ok := handlers[key]; ok {
		return w.entries(key, h)
	}
	c, err := w.s.peek()
	if err != nil {
		return err
	}
	if scalar != nil && c != '{' && c != '[' && c != 'n' {
		raw, err := w.s.capture(1)
		if err != nil {
			return err
		}
		scalar(key, raw)
		return nil
	}
	return w.depthErr(key, w.s.value(1))
}

// depthErr names key in a depth error.
func (w *walker) depthErr(key string, err error) error {
	if err == errDepth {
		return fmt.Errorf("%w: an entry under %q nests deeper than %d levels; raise the depth limit if the file is genuine", ErrTooDeep, key, w.maxDepth)
	}
	return err
}

// entries consumes one top-level value as streamEntries does, handing
// each entry to h as its captured bytes.
func (w *walker) entries(section string, h entryFunc) error {
	var herr error
	err := w.streamEntries(section, func(key string, _ byte) error {
		s := w.s
		if err := s.value(2); err != nil {
			return err
		}
		raw := s.buf[s.mark:s.pos]
		if herr = h(key, raw); herr != nil {
			if s.high&highs8 != 0 && !utf8.Valid(raw) {
				w.meta.InvalidUTF8++ // streamEntries counts only entries h accepts
			}
			return errStopEntries
		}
		return nil
	})
	if herr != nil {
		return herr
	}
	return err
}

// errStopEntries ends streamEntries early when an entry handler failed;
// entries returns the handler's error instead.
var errStopEntries = errors.New("entry handler failed")

type metaJSON struct {
	SchemaVersion string   `json:"dbt_schema_version"`
	DBTVersion    string   `json:"dbt_version"`
	GeneratedAt   flexTime `json:"generated_at"`
	InvocationID  string   `json:"invocation_id"`
	AdapterType   string   `json:"adapter_type"`
	ProjectName   string   `json:"project_name"`
	ProjectID     string   `json:"project_id"`
	Quoting       *Quoting `json:"quoting"`
}

// readMeta decodes and validates the metadata object.
func (w *walker) readMeta() error {
	raw, err := w.s.capture(1)
	if err == errDepth {
		return fmt.Errorf("%w: metadata nests deeper than %d levels", ErrTooDeep, w.maxDepth)
	}
	if err != nil {
		return err
	}
	var m metaJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return fmt.Errorf("%w: metadata is not an object", ErrInvalidJSON)
		}
	}
	w.meta.SchemaVersion = m.SchemaVersion
	if m.SchemaVersion == "" {
		return fmt.Errorf("%w: pass a dbt %s", ErrNoMetadata, w.kind.fileName())
	}
	kind, v, ok := ParseSchemaVersion(m.SchemaVersion)
	if !ok {
		return fmt.Errorf("%w: dbt_schema_version %q is not a dbt schema URL; pass a dbt %s", ErrWrongKind, m.SchemaVersion, w.kind.fileName())
	}
	if kind != w.kind {
		return fmt.Errorf("%w: expected a %s but got a %s; pass the right file", ErrWrongKind, w.kind.fileName(), kind.fileName())
	}
	if !w.kind.supported(v) {
		return fmt.Errorf("%w: %s v%d is not supported; use artifacts written by dbt 0.19 to 1.12 or dbt Fusion", ErrUnsupportedVersion, w.kind, v)
	}
	w.haveMeta = true
	w.meta.Version = v
	w.meta.DBTVersion = clean(m.DBTVersion)
	w.meta.GeneratedAt = m.GeneratedAt.Time
	w.meta.InvocationID = clean(m.InvocationID)
	w.meta.AdapterType = strings.ToLower(clean(m.AdapterType))
	w.meta.ProjectName = clean(m.ProjectName)
	w.meta.ProjectID = clean(m.ProjectID)
	if m.Quoting != nil {
		w.meta.Quoting = *m.Quoting
	}
	return nil
}

// scanBufSize is the scanner's initial buffer size; the buffer grows to
// hold the largest entry captured.
const scanBufSize = 64 << 10

// errDepth is returned by the scanner when a value nests deeper than its
// limit; the walker turns it into an ErrTooDeep naming the entry.
var errDepth = errors.New("nesting limit exceeded")

// syntaxError is invalid JSON at byte off.
type syntaxError struct {
	msg string
	off int64
}

func (e *syntaxError) Error() string {
	return e.msg + " at byte " + strconv.FormatInt(e.off, 10)
}

// scanner reads JSON from a stream through its own buffer, validating what
// it reads and tracking absolute byte offsets. While a value is captured
// the buffer keeps it whole; otherwise consumed input is discarded.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos      int   // next unread byte
	end      int   // end of buffered input
	base     int64 // stream offset of buf[0]
	mark     int   // start of the captured value, or -1
	err      error // sticky read error
	maxDepth int
	// high has the high bit of some byte set when stringBody may have
	// read a byte above 0x7f since it was last cleared; valid JSON holds
	// such bytes only inside strings. It may be set spuriously, never
	// missed.
	high uint64
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

func (s *scanner) syntax(msg string) error {
	return &syntaxError{msg: msg, off: s.offset()}
}

// fill reads more input into the buffer. It returns false when no more
// input is available; s.err then says why.
func (s *scanner) fill() bool {
	if s.err != nil {
		return false
	}
	keep := s.pos
	if s.mark >= 0 {
		keep = s.mark
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.base += int64(keep)
		s.pos -= keep
		s.end = n
		if s.mark >= 0 {
			s.mark = 0
		}
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	s.err = io.ErrNoProgress
	return false
}

// eof is the error for input ending inside a value.
func (s *scanner) eof() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// peek skips whitespace and returns the next byte without consuming it;
// io.EOF when the input ends.
func (s *scanner) peek() (byte, error) {
	if s.pos < s.end {
		if c := s.buf[s.pos]; c > ' ' {
			return c, nil
		}
	}
	return s.peekSpace()
}

// peekSpace is peek past whitespace or at the end of the buffer.
func (s *scanner) peekSpace() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				return c, nil
			}
			s.pos++
		}
		if !s.fill() {
			return 0, s.err
		}
	}
}

// peekIn is peek inside a value, where the end of input is a truncation.
func (s *scanner) peekIn() (byte, error) {
	if s.pos < s.end {
		if c := s.buf[s.pos]; c > ' ' {
			return c, nil
		}
	}
	return s.peekInSpace()
}

// peekInSpace is peekIn past whitespace or at the end of the buffer.
func (s *scanner) peekInSpace() (byte, error) {
	c, err := s.peekSpace()
	if err != nil {
		return 0, s.eof()
	}
	return c, nil
}

// ensure makes n bytes available from s.pos.
func (s *scanner) ensure(n int) error {
	for s.end-s.pos < n {
		if !s.fill() {
			return s.eof()
		}
	}
	return nil
}

// after consumes the separator following a member or element: it returns
// the first byte of the next member, or closer (not consumed).
func (s *scanner) after(closer byte) (byte, error) {
	// Fast path: compact JSON, a comma then the next member's first byte.
	if pos := s.pos; pos+1 < s.end && pos+1 < len(s.buf) {
		switch c := s.buf[pos]; c {
		case closer:
			return c, nil
		case ',':
			if c := s.buf[pos+1]; c > ' ' && c != closer {
				s.pos++
				return c, nil
			}
		}
	}
	c, err := s.peekIn()
	if err != nil {
		return 0, err
	}
	switch c {
	case closer:
		return c, nil
	case ',':
		s.pos++
		c, err := s.peekIn()
		if err == nil && c == closer {
			return 0, s.syntax("invalid character '" + string(rune(c)) + "' after a comma")
		}
		return c, err
	}
	return 0, s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " after a value; expected ',' or '" + string(rune(closer)) + "'")
}

// memberKey reads an object member's key (c is its first byte) and the
// colon after it.
func (s *scanner) memberKey(c byte) (string, error) {
	if c != '"' {
		return "", s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " looking for an object key")
	}
	s.mark = s.pos
	s.pos++
	err := s.stringBody()
	raw := s.buf[s.mark:s.pos]
	s.mark = -1
	if err != nil {
		return "", err
	}
	key := unquote(raw)
	if c, err = s.peekIn(); err != nil {
		return "", err
	}
	if c != ':' {
		return "", s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " after an object key")
	}
	s.pos++
	return key, nil
}

// capture reads one value and returns its bytes, valid until the scanner
// is used again. depth is the number of containers open around it.
func (s *scanner) capture(depth int) ([]byte, error) {
	if _, err := s.peekIn(); err != nil {
		return nil, err
	}
	s.mark = s.pos
	err := s.value(depth)
	raw := s.buf[s.mark:s.pos]
	s.mark = -1
	return raw, err
}

// colon consumes the colon after an object key.
func (s *scanner) colon() error {
	if s.pos < s.end && s.buf[s.pos] == ':' {
		s.pos++
		return nil
	}
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	if c != ':' {
		return s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " after an object key")
	}
	s.pos++
	return nil
}

// value consumes and validates one value; depth is the number of
// containers open around it.
func (s *scanner) value(depth int) error {
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	return s.valueAt(depth, c)
}

// valueAt is value once its first byte c has been peeked.
func (s *scanner) valueAt(depth int, c byte) error {
	switch c {
	case '{', '[':
		return s.container(depth+1, c)
	case '"':
		s.pos++
		return s.stringBody()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	if c == '-' || (c >= '0' && c <= '9') {
		return s.number()
	}
	return s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " looking for the beginning of a value")
}

func (s *scanner) container(depth int, open byte) error {
	if depth > s.maxDepth {
		return errDepth
	}
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	s.pos++
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	for c != closer {
		if open == '{' {
			if c != '"' {
				return s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " looking for an object key")
			}
			s.pos++
			if err := s.stringBody(); err != nil {
				return err
			}
			if err := s.colon(); err != nil {
				return err
			}
		}
		if err := s.value(depth); err != nil {
			return err
		}
		if c, err = s.after(closer); err != nil {
			return err
		}
	}
	s.pos++
	return nil
}

// plainString marks the bytes that may appear unescaped in a JSON string
// and need no further attention: not '"', '\\' or a control character.
var plainString = func() (t [256]bool) {
	for i := 0x20; i < 256; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// Bytes repeated across a word, for special8.
const (
	ones8  = 0x0101010101010101
	highs8 = 0x8080808080808080
)

// special8 returns a word whose lowest set bit is the high bit of the
// first byte of x that is '"', '\\' or a control character, or 0 when x
// has none. Bits above the lowest may be spurious (borrows propagate
// upwards only), so only the lowest one is meaningful.
//
// Flipping bit 1 of every byte turns '"' (0x22) into ' ' (0x20) and keeps
// control characters below ' ', so one "byte below 0x21" test finds both;
// a "zero byte" test after XOR with '\\' finds backslashes.
func special8(x uint64) uint64 {
	q := x ^ (ones8 * 0x02)
	e := x ^ (ones8 * '\\')
	return ((q-ones8*0x21)&^q | (e-ones8)&^e) & highs8
}

// shortEscape marks the bytes that complete a two-byte escape.
var shortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// stringBody consumes a string after its opening quote. Plain bytes are
// skipped sixteen at a time and the common escapes in place; an escape cut
// by the end of the buffer is left to escape, which reads more input.
func (s *scanner) stringBody() error {
	for {
		b := s.buf[s.pos:s.end]
		i := 0
		high := s.high
	scan:
		for {
			for ; i+16 <= len(b); i += 16 {
				x, y := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
				high |= x | y
				t, u := special8(x), special8(y)
				if t|u != 0 {
					n := bits.TrailingZeros64(t) >> 3 // 8 when t is 0
					if t == 0 {
						n += bits.TrailingZeros64(u) >> 3
					}
					i += n
					goto special
				}
			}
			if i+8 <= len(b) {
				x := binary.LittleEndian.Uint64(b[i:])
				high |= x
				if t := special8(x); t != 0 {
					i += bits.TrailingZeros64(t) >> 3
					goto special
				}
				i += 8
			}
			for i < len(b) && plainString[b[i]] {
				high |= uint64(b[i])
				i++
			}
			if i >= len(b) {
				break
			}
		special:
			switch c := b[i]; {
			case c == '"':
				s.pos += i + 1
				s.high = high
				return nil
			case c == '\\':
				if i+1 >= len(b) {
					break scan
				}
				if e := b[i+1]; shortEscape[e] {
					i += 2
					continue
				} else if e != 'u' {
					s.pos += i
					return s.syntax("invalid escape in a string")
				}
				if i+6 > len(b) {
					break scan
				}
				if hex4(b[i+2:i+6]) < 0 {
					s.pos += i
					return s.syntax("invalid \\u escape in a string")
				}
				i += 6
			default:
				s.pos += i
				return s.syntax("invalid control character in a string")
			}
		}
		s.pos += i
		s.high = high
		if i < len(b) { // an escape cut by the end of the buffer
			if err := s.escape(); err != nil {
				return err
			}
			continue
		}
		if !s.fill() {
			return s.eof()
		}
	}
}

// escape consumes one escape sequence inside a string.
func (s *scanner) escape() error {
	if err := s.ensure(2); err != nil {
		return err
	}
	switch s.buf[s.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos += 2
		return nil
	case 'u':
		if err := s.ensure(6); err != nil {
			return err
		}
		if hex4(s.buf[s.pos+2:s.pos+6]) < 0 {
			return s.syntax("invalid \\u escape in a string")
		}
		s.pos += 6
		return nil
	}
	return s.syntax("invalid escape in a string")
}

func (s *scanner) literal(word string) error {
	if err := s.ensure(len(word)); err != nil {
		return err
	}
	if string(s.buf[s.pos:s.pos+len(word)]) != word {
		return s.syntax("invalid literal; expected " + word)
	}
	s.pos += len(word)
	return nil
}

// number consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	c, _ := s.rawByte() // the caller peeked a '-' or a digit here
	var ok bool
	if c == '-' {
		s.pos++
		if c, ok = s.rawByte(); !ok {
			return s.eof()
		}
	}
	switch {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		if ok = s.digits(); !ok {
			return nil
		}
	default:
		return s.syntax("invalid character in a number")
	}
	if c, ok = s.rawByte(); ok && c == '.' {
		s.pos++
		if err := s.requireDigits(); err != nil {
			return err
		}
		c, ok = s.rawByte()
	}
	if ok && (c == 'e' || c == 'E') {
		s.pos++
		if c, ok = s.rawByte(); ok && (c == '+' || c == '-') {
			s.pos++
		}
		return s.requireDigits()
	}
	return nil
}

// rawByte returns the next byte without skipping whitespace.
func (s *scanner) rawByte() (byte, bool) {
	if s.pos == s.end && !s.fill() {
		return 0, false
	}
	return s.buf[s.pos], true
}

// digits consumes [0-9]*; false when the input ended.
func (s *scanner) digits() bool {
	for {
		c, ok := s.rawByte()
		if !ok {
			return false
		}
		if c < '0' || c > '9' {
			return true
		}
		s.pos++
	}
}

// requireDigits consumes [0-9]+.
func (s *scanner) requireDigits() error {
	c, ok := s.rawByte()
	if !ok {
		return s.eof()
	}
	if c < '0' || c > '9' {
		return s.syntax("invalid character in a number")
	}
	s.digits()
	return nil
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// The functions below read JSON the scanner has already validated, so
// they only navigate it; on malformed input they stop early and never
// panic.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote
// is at b[i-1].
func skipString(b []byte, i int) int {
	start := i
	for {
		// Most strings are short: look at a few bytes before paying for
		// an IndexByte call.
		j, lim := i, min(len(b), i+16)
		for j < lim && b[j] != '"' {
			j++
		}
		if j == lim {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return len(b)
			}
			j += k
		}
		i = j
		k := i
		for k > start && b[k-1] == '\\' {
			k--
		}
		i++
		if (i-1-k)%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i+1)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i+1)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return i
		}
		i++
	}
	return i
}

// eachMember calls fn with the raw key (without quotes, still escaped)
// and the value of every member of the object b, in order.
func eachMember(b []byte, fn func(key, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		if i >= len(b) || b[i] != '"' {
			return nil
		}
		ks := i + 1
		i = skipString(b, ks)
		if i-1 < ks {
			return nil
		}
		key := b[ks : i-1]
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		vs := skipSpace(b, i+1)
		i = skipValue(b, vs)
		if i <= vs {
			return nil
		}
		if err := fn(key, b[vs:i]); err != nil {
			return err
		}
	}
}

// eachElement calls fn with every element of the array b, in order.
func eachElement(b []byte, fn func(val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil
	}
	i++
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		if i >= len(b) || b[i] == ']' {
			return nil
		}
		vs := i
		i = skipValue(b, vs)
		if i <= vs {
			return nil
		}
		if err := fn(b[vs:i]); err != nil {
			return err
		}
	}
}

// memberKey decodes a raw key from eachMember.
func memberKey(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	return unquote(q)
}

// unquote decodes the string literal q (quotes included) the way
// encoding/json does: escapes are resolved, invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func unquote(q []byte) string {
	if len(q) < 2 {
		return ""
	}
	s := q[1 : len(q)-1]
	i := 0
	for i < len(s) && s[i] != '\\' && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) || (bytes.IndexByte(s[i:], '\\') < 0 && utf8.Valid(s[i:])) {
		return string(s)
	}
	return string(appendUnquote(make([]byte, 0, len(s)), q))
}

// isNull reports whether the value raw is the literal null.
func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// fieldKind says how decodeStruct fills a struct field.
type fieldKind uint8

const (
	fieldString         fieldKind = iota // string
	fieldUnmarshaler                     // T where *T is a json.Unmarshaler
	fieldPtrUnmarshaler                  // *T where *T is a json.Unmarshaler
	fieldPtrBool                         // *bool
	fieldStruct                          // struct
	fieldPtrStruct                       // *struct
	fieldSliceStruct                     // []struct
	fieldMapPtrStruct                    // map[string]*struct
	fieldOther                           // anything else: encoding/json
)

type fieldSpec struct {
	index int
	kind  fieldKind
	sub   *structSpec
}

// structSpec maps the JSON names of a struct's fields to how they decode.
type structSpec struct {
	fields map[string]fieldSpec
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// newStructSpec describes struct type t, following encoding/json's naming
// (json tag, else the field name).
func newStructSpec(t reflect.Type) *structSpec {
	spec := &structSpec{fields: make(map[string]fieldSpec, t.NumField())}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := fieldSpec{index: i, kind: fieldOther}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Pointer && ft.Implements(unmarshalerType):
			fs.kind = fieldPtrUnmarshaler
		case reflect.PointerTo(ft).Implements(unmarshalerType):
			fs.kind = fieldUnmarshaler
		case ft.Kind() == reflect.String:
			fs.kind = fieldString
		case ft.Kind() == reflect.Struct:
			fs.kind, fs.sub = fieldStruct, newStructSpec(ft)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			fs.kind = fieldPtrBool
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			fs.kind, fs.sub = fieldPtrStruct, newStructSpec(ft.Elem())
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			fs.kind, fs.sub = fieldSliceStruct, newStructSpec(ft.Elem())
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String &&
			ft.Elem().Kind() == reflect.Pointer && ft.Elem().Elem().Kind() == reflect.Struct:
			fs.kind, fs.sub = fieldMapPtrStruct, newStructSpec(ft.Elem().Elem())
		}
		spec.fields[name] = fs
	}
	return spec
}

// lookup finds the field for a raw member key: exact match first, then
// case-insensitively as encoding/json does.
func (spec *structSpec) lookup(raw []byte) (fieldSpec, bool) {
	if f, ok := spec.fields[string(raw)]; ok {
		return f, true
	}
	folds := false
	for _, c := range raw {
		if (c >= 'A' && c <= 'Z') || c == '\\' || c >= utf8.RuneSelf {
			folds = true
			break
		}
	}
	if !folds {
		return fieldSpec{}, false
	}
	f, ok := spec.fields[strings.ToLower(memberKey(raw))]
	return f, ok
}

// decodeEntry decodes the JSON object raw into the struct *v leniently,
// like encoding/json with type mismatches ignored: a wrongly typed field
// is left as it was, unknown members are skipped without being decoded.
func decodeEntry(spec *structSpec, v any, raw []byte) error {
	return decodeStruct(spec, reflect.ValueOf(v).Elem(), raw)
}

func decodeStruct(spec *structSpec, v reflect.Value, raw []byte) error {
	return eachMember(raw, func(key, val []byte) error {
		f, ok := spec.lookup(key)
		if !ok || len(val) == 0 {
			return nil
		}
		return decodeField(f, v.Field(f.index), val)
	})
}

func decodeField(f fieldSpec, fv reflect.Value, val []byte) error {
	switch f.kind {
	case fieldString:
		if val[0] == '"' {
			fv.SetString(unquote(val))
		}
	case fieldUnmarshaler:
		return fv.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(val)
	case fieldPtrUnmarshaler:
		if isNull(val) {
			fv.SetZero()
			return nil
		}
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		return fv.Interface().(json.Unmarshaler).UnmarshalJSON(val)
	case fieldPtrBool:
		switch {
		case isNull(val):
			fv.SetZero()
		case val[0] == 't' || val[0] == 'f':
			b := val[0] == 't'
			fv.Set(reflect.ValueOf(&b))
		case fv.IsNil(): // encoding/json allocates before the type mismatch
			fv.Set(reflect.New(fv.Type().Elem()))
		}
	case fieldStruct:
		if val[0] == '{' {
			return decodeStruct(f.sub, fv, val)
		}
	case fieldPtrStruct:
		if isNull(val) {
			fv.SetZero()
			return nil
		}
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		if val[0] == '{' {
			return decodeStruct(f.sub, fv.Elem(), val)
		}
	case fieldSliceStruct:
		if isNull(val) {
			fv.SetZero()
			return nil
		}
		if val[0] != '[' {
			return nil
		}
		out := reflect.MakeSlice(fv.Type(), 0, 2)
		elem := reflect.New(fv.Type().Elem()).Elem()
		err := eachElement(val, func(e []byte) error {
			elem.SetZero()
			if e[0] == '{' {
				if err := decodeStruct(f.sub, elem, e); err != nil {
					return err
				}
			}
			out = reflect.Append(out, elem)
			return nil
		})
		fv.Set(out)
		return err
	case fieldMapPtrStruct:
		if isNull(val) {
			fv.SetZero()
			return nil
		}
		if val[0] != '{' {
			return nil
		}
		if fv.IsNil() {
			fv.Set(reflect.MakeMap(fv.Type()))
		}
		et := fv.Type().Elem()
		return eachMember(val, func(key, e []byte) error {
			p := reflect.Zero(et)
			if !isNull(e) {
				p = reflect.New(et.Elem())
				if e[0] == '{' {
					if err := decodeStruct(f.sub, p.Elem(), e); err != nil {
						return err
					}
				}
			}
			fv.SetMapIndex(reflect.ValueOf(memberKey(key)), p)
			return nil
		})
	default:
		err := json.Unmarshal(val, fv.Addr().Interface())
		var te *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &te) {
			return err
		}
	}
	return nil
}

// unmarshalEntry decodes one small value with encoding/json leniently:
// type mismatches in single fields leave those fields empty instead of
// failing the artifact.
func unmarshalEntry(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		return nil
	}
	return err
}

// isEmptyObject reports whether raw is a JSON object without members.
func isEmptyObject(raw []byte) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	return i < len(raw) && raw[i] == '}' && skipSpace(raw, i+1) == len(raw)
}

// isObject reports whether raw holds a JSON object.
func isObject(raw []byte) bool {
	i := skipSpace(raw, 0)
	return i < len(raw) && raw[i] == '{'
}

// flexString decodes a JSON string, number or boolean as a string; null and
// containers leave it empty.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		*s = flexString(unquote(b))
	case 'n', '{', '[':
		*s = ""
	default:
		*s = flexString(b)
	}
	return nil
}

// stringList decodes a list of strings, a single string or null.
type stringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *stringList) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		*l = stringList{unquote(b)}
	case '[':
		out := stringList{}
		_ = eachElement(b, func(e []byte) error {
			var v flexString
			_ = v.UnmarshalJSON(e)
			if v != "" {
				out = append(out, string(v))
			}
			return nil
		})
		*l = out
	default:
		*l = nil
	}
	return nil
}

// flexFloat decodes a number, a numeric string, or anything else as 0.
type flexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		v = 0
	}
	*f = flexFloat(v)
	return nil
}

// flexInt decodes an integer, an integral float or a numeric string; other
// values decode as nil.
type flexInt struct {
	V   int64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	*n = flexInt{}
	if v, ok := parseInt64(b); ok {
		*n = flexInt{V: v, Set: true}
	}
	return nil
}

// parseInt64 reads a JSON number (or numeric string) as int64.
func parseInt64(b []byte) (int64, bool) {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil || s == "" || s == "true" || s == "false" {
		return 0, false
	}
	if v, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || f != f || f > 9.2e18 || f < -9.2e18 {
		return 0, false
	}
	return int64(f), true
}

// flexBool decodes true, false, numbers (non-zero is true), "true"/"false"
// strings; null is false.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case "", "false", "0", "0.0", "no":
		*v = false
	default:
		*v = true
	}
	return nil
}

// flexTime decodes the timestamp spellings dbt has written: RFC 3339 with
// "Z" or an offset, with or without the "T", with or without a zone (UTC).
type flexTime struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 MST",
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *flexTime) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil || s == "" {
		return nil
	}
	t.Time = parseTime(string(s))
	return nil
}

// parseTime parses a dbt timestamp, returning the zero time when it cannot.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC()
		}
	}
	return time.Time{}
}

// canonicalJSON re-encodes raw with sorted keys and NUL-free strings; it
// returns nil for null, empty objects, and undecodable input.
func canonicalJSON(raw []byte) json.RawMessage {
	if len(raw) == 0 || isNull(raw) || isEmptyObject(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	out, err := json.Marshal(stripNULValue(v))
	if err != nil {
		return nil
	}
	return out
}

func stripNULValue(v any) any {
	switch x := v.(type) {
	case string:
		return clean(x)
	case []any:
		for i := range x {
			x[i] = stripNULValue(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[clean(k)] = stripNULValue(e)
		}
		return out
	}
	return v
}

// clean strips NUL bytes and replaces invalid UTF-8 with U+FFFD.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
