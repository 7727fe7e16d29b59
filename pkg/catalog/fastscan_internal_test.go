package catalog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// stringEnd is what stringBody must do with body, the bytes after an
// opening quote, read byte by byte: the offset just past the closing
// quote, or the offset and message of the syntax error, or truncated
// when the input ends inside the string.
func stringEnd(body []byte) (end int, msg string, truncated bool) {
	for i := 0; ; {
		if i >= len(body) {
			return 0, "", true
		}
		switch c := body[i]; {
		case c == '"':
			return i + 1, "", false
		case c == '\\':
			if i+1 >= len(body) {
				return 0, "", true
			}
			switch body[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(body) {
					return 0, "", true
				}
				if hex4(body[i+2:i+6]) < 0 {
					return i, "invalid \\u escape in a string", false
				}
				i += 6
			default:
				return i, "invalid escape in a string", false
			}
		case c < 0x20:
			return i, "invalid control character in a string", false
		default:
			i++
		}
	}
}

// requireStringBody checks stringBody on body, read whole and byte by
// byte, through a buffer of bufSize bytes, against stringEnd.
func requireStringBody(t *testing.T, body []byte, bufSize int) {
	t.Helper()
	end, msg, truncated := stringEnd(body)
	for _, name := range []string{"whole", "byte by byte"} {
		var r io.Reader = bytes.NewReader(body)
		if name == "byte by byte" {
			r = iotest.OneByteReader(r)
		}
		s := &scanner{r: r, buf: make([]byte, bufSize), mark: -1, maxDepth: DefaultMaxDepth}
		err := s.stringBody()
		var se *syntaxError
		switch {
		case truncated:
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%s: %q", name, body)
		case msg != "":
			require.True(t, errors.As(err, &se), "%s: %q: got %v", name, body, err)
			require.Equal(t, msg, se.msg, "%s: %q", name, body)
			require.Equal(t, int64(end), se.off, "%s: %q", name, body)
		default:
			require.NoError(t, err, "%s: %q", name, body)
			require.Equal(t, int64(end), s.offset(), "%s: %q", name, body)
			if !utf8.Valid(body[:end]) {
				require.NotZero(t, s.high&highs8, "%s: %q: a byte above 0x7f goes unnoticed", name, body)
			}
		}
	}
}

var stringBodies = []string{
	`"`, `abc"`, `abcdefgh"`, `abcdefghijklmnopqrstuvwxyz0123456789"`,
	`a\"b\\c\/d\b\f\n\r\t"`, `\u00e9\ud83d\ude00"`, `\u00g0"`, `\x"`, `\`, `\u12`, `abc`,
	"tab\there\"", "0123456\x01\"", "01234567\x1f\"", "\xff\xfe\x80\"",
	`select o.order_id\nfrom \"db\".\"analytics\".\"orders\" o\ngroup by 1, 2\n"`,
	"caf\xc3\xa9\"", "0123456789abcdef\xe2\x82\xac\"", "0123456789abcde\xff\"", "01234567\xff\"", "\\n\xff\"",
	`01234567\`, `0123456\u`, `0123456789abcde\u0041"`, `\\\\\\\\\\\\\\\\"`,
}

func TestStringBodyMatchesByteByByte(t *testing.T) {
	for _, body := range stringBodies {
		t.Run(body, func(t *testing.T) {
			for _, size := range []int{1, 7, 8, 9, 64 << 10} {
				requireStringBody(t, []byte(body), size)
			}
		})
	}
}

func FuzzStringBody(f *testing.F) {
	for _, body := range stringBodies {
		f.Add([]byte(body), uint8(8))
	}
	f.Fuzz(func(t *testing.T, body []byte, size uint8) {
		requireStringBody(t, body, int(size)%40+1)
	})
}

// BenchmarkScanValue validates generated artifacts with the scanner alone.
func BenchmarkScanValue(b *testing.B) {
	var buf bytes.Buffer
	if err := writeSyntheticRunResultsInternal(&buf, 8<<20); err != nil {
		b.Fatal(err)
	}
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		s := &scanner{r: bytes.NewReader(doc), buf: make([]byte, scanBufSize), mark: -1, maxDepth: DefaultMaxDepth}
		if err := s.value(0); err != nil {
			b.Fatal(err)
		}
	}
}

// writeSyntheticRunResultsInternal writes a run_results.json of about
// size bytes whose results carry long compiled code.
func writeSyntheticRunResultsInternal(w *bytes.Buffer, size int) error {
	code := bytes.Repeat([]byte(`select o.order_id, o.customer_id, sum(p.amount) as amount\nfrom \"db\".\"analytics\".\"orders\" o\njoin payments p using (order_id)\ngroup by 1, 2\n`), 40)
	w.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[`)
	for i := 0; w.Len() < size; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`{"status":"success","timing":[],"thread_id":"Thread-1","execution_time":2.41,"message":"SELECT 120","unique_id":"model.bench.m","compiled_code":"`)
		w.Write(code)
		w.WriteString(`","description":"A model that holds one row per order, with the customer and the amount paid."}`)
	}
	w.WriteString(`]}`)
	return nil
}

// requireUnquoteAgrees checks appendUnquote and textOf against unquote on
// the string literal q.
func requireUnquoteAgrees(t *testing.T, q []byte) {
	t.Helper()
	want := unquote(q)
	require.Equal(t, want, string(appendUnquote([]byte("prefix"), q))[len("prefix"):], "appendUnquote(%q)", q)
	scratch := []byte("left over")
	got := textOf(q, &scratch)
	require.Equal(t, NewText(want), got, "textOf(%q)", q)
	require.Equal(t, want, got.String())
}

func TestAppendUnquoteMatchesUnquote(t *testing.T) {
	long := strings.Repeat(`select \"a\" from b\n`, 80)
	for _, q := range []string{
		`""`, `"plain"`, `"caf\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\udc00\ud83d\ude00"`,
		`"a\\\"b"`, "\"\xff\xfe\"", "\"ok \xe2\x82\"", `"\u0041\/\b\f\r\t"`, `"\u00zz"`, `"x\`,
		`"` + long + `"`, `"` + strings.Repeat("plain text ", 200) + `"`, "\"" + long + "\xff\"",
		`"` + strings.Repeat(`\u00e9`, 300) + `"`, `"` + strings.Repeat(`\n`, 600) + `"`,
	} {
		t.Run(q[:min(len(q), 30)], func(t *testing.T) {
			requireUnquoteAgrees(t, []byte(q))
		})
	}
}

func FuzzAppendUnquote(f *testing.F) {
	f.Add([]byte(`a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00`), uint16(0))
	f.Add([]byte("bad \xff utf8 \xed\xa0\x80"), uint16(1100))
	f.Fuzz(func(t *testing.T, body []byte, pad uint16) {
		q := append([]byte{'"'}, body...)
		q = append(q, bytes.Repeat([]byte("x"), int(pad)%2048)...)
		requireUnquoteAgrees(t, append(q, '"'))
	})
}

func TestInvalidUTF8CountsEntries(t *testing.T) {
	long := strings.Repeat(`select 1\n`, 30)
	entries := []struct {
		doc     string
		invalid bool
	}{
		{`{"unique_id":"model.p.a","status":"success"}`, false},
		{`{"unique_id":"model.p.b","status":"caf` + "\xc3\xa9" + `"}`, false},
		{`{"unique_id":"model.p.c","status":"s` + "\xff" + `"}`, true},
		{`{"unique_id":"model.p.d","message":"` + long + "\xfe" + long + `"}`, true},
		{`{"unique_id":"model.p.e","x` + "\xff" + `":1}`, true},
		{`{"unique_id":"model.p.f","node":{"a":["` + "\xe2\x82" + `"]}}`, true},
		{`{"unique_id":"model.p.g","message":"` + long + "\xe2\x82\xac" + `"}`, false},
	}
	var doc strings.Builder
	doc.WriteString(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[`)
	want := 0
	for i, e := range entries {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.WriteString(e.doc)
		if e.invalid {
			want++
		}
	}
	doc.WriteString(`]}`)
	for _, name := range []string{"whole", "byte by byte"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(doc.String())
			if name == "byte by byte" {
				r = iotest.OneByteReader(r)
			}
			meta, err := DecodeRunResults(r, DecodeOptions{}, func(RunResult) error { return nil })
			require.NoError(t, err)
			require.Equal(t, want, meta.InvalidUTF8)
		})
	}
}
