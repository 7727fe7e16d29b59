package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	dec      *json.Decoder
	raw      json.RawMessage
	meta     ArtifactMeta
	haveMeta bool
}

func newWalker(r io.Reader, kind ArtifactKind, opts DecodeOptions) *walker {
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
	w.dec = json.NewDecoder(w.lr)
	w.meta.Kind = kind
	return w
}

// fail wraps err into an *ArtifactError at the current offset.
func (w *walker) fail(err error) error {
	var ae *ArtifactError
	if errors.As(err, &ae) {
		return err
	}
	off := w.dec.InputOffset()
	var se *json.SyntaxError
	switch {
	case errors.Is(err, ErrTooLarge):
		off = w.lr.n
	case errors.As(err, &se):
		off = se.Offset
		err = fmt.Errorf("%w: %s", ErrInvalidJSON, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off = w.lr.n
		err = fmt.Errorf("%w: input ended before the document was complete; re-download the artifact", ErrTruncated)
	}
	return &ArtifactError{File: w.file, SchemaVersion: w.meta.SchemaVersion, Offset: off, Err: err}
}

// entryFunc receives one entry of a top-level map (key is the map key) or
// array (key is "").
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
	tok, err := w.dec.Token()
	if err != nil {
		if err == io.EOF {
			return w.meta, fmt.Errorf("%w: the file is empty", ErrTruncated)
		}
		return w.meta, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return w.meta, fmt.Errorf("%w: the document is not a JSON object", ErrInvalidJSON)
	}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.meta, err
		}
		key, _ := tok.(string)
		if key == "metadata" {
			if err := w.readMeta(); err != nil {
				return w.meta, err
			}
			continue
		}
		if other, ok := foreign[key]; ok && !w.haveMeta {
			return w.meta, fmt.Errorf("%w: expected a %s but the document has the top-level key %q of a %s; pass the right file",
				ErrWrongKind, w.kind.fileName(), key, other)
		}
		if h, ok := handlers[key]; ok {
			if err := w.entries(h); err != nil {
				return w.meta, err
			}
			continue
		}
		if err := w.entries(nil); err != nil {
			return w.meta, err
		}
		if scalar != nil && len(w.raw) > 0 {
			scalar(key, w.raw)
		}
	}
	if _, err := w.dec.Token(); err != nil { // closing '}'
		return w.meta, err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("%w: data after the top-level object", ErrInvalidJSON)
		}
		return w.meta, err
	}
	if !w.haveMeta {
		return w.meta, fmt.Errorf("%w: cannot tell which artifact this is; pass a dbt %s", ErrNoMetadata, w.kind.fileName())
	}
	return w.meta, nil
}

// entries consumes one top-level value. Objects and arrays are handed to h
// one member at a time (h nil skips them); null is skipped; any other
// scalar is left in w.raw.
func (w *walker) entries(h entryFunc) error {
	w.raw = w.raw[:0]
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if tok != nil {
			w.raw, _ = json.Marshal(tok)
		}
		return nil
	}
	isObject := d == '{'
	for w.dec.More() {
		key := ""
		if isObject {
			kt, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ = kt.(string)
		}
		if err := w.dec.Decode(&w.raw); err != nil {
			return err
		}
		if depthExceeds(w.raw, w.maxDepth-2) {
			return fmt.Errorf("%w: an entry under %q nests deeper than %d levels; raise the depth limit if the file is genuine", ErrTooDeep, key, w.maxDepth)
		}
		if h == nil {
			continue
		}
		if !utf8.Valid(w.raw) {
			w.meta.InvalidUTF8++
		}
		if err := h(key, w.raw); err != nil {
			return err
		}
	}
	_, err = w.dec.Token() // closing delimiter
	w.raw = w.raw[:0]
	return err
}

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
	if err := w.dec.Decode(&w.raw); err != nil {
		return err
	}
	if depthExceeds(w.raw, w.maxDepth-1) {
		return fmt.Errorf("%w: metadata nests deeper than %d levels", ErrTooDeep, w.maxDepth)
	}
	var m metaJSON
	if err := json.Unmarshal(w.raw, &m); err != nil {
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

// unmarshalEntry decodes one entry leniently: type mismatches in single
// fields leave those fields empty instead of failing the artifact.
func unmarshalEntry(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		return nil
	}
	return err
}

// isObject reports whether raw holds a JSON object.
func isObject(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// depthExceeds reports whether the JSON value raw nests deeper than max.
func depthExceeds(raw []byte, max int) bool {
	depth := 0
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
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
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
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
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = stringList{v}
	case '[':
		var raw []flexString
		if err := unmarshalEntry(b, &raw); err != nil {
			return err
		}
		out := make(stringList, 0, len(raw))
		for _, v := range raw {
			if v != "" {
				out = append(out, string(v))
			}
		}
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
	if len(raw) == 0 {
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
