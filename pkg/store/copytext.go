package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// copyFrom COPYs the rows of src into table in PostgreSQL's text format,
// encoding the values itself. pgx's binary COPY looks up an encode plan
// for every value; a first crawl writes over a million rows of ten or
// more values, and that lookup was a tenth of the crawler's CPU. The
// values are the few Go types the writer produces; any other type is an
// error naming it.
func (w *writer) copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return w.copyRows(ctx, table, cols, func(b []byte) ([]byte, bool, error) {
		if !src.Next() {
			return b, false, src.Err()
		}
		vals, err := src.Values()
		if err != nil {
			return b, false, err
		}
		if len(vals) != len(cols) {
			return b, false, fmt.Errorf("copy: row has %d values for %d columns", len(vals), len(cols))
		}
		b, err = appendCopyRow(b, vals)
		return b, err == nil, err
	})
}

// copyRows COPYs the rows next renders: each call appends one row in COPY
// text format (fields separated by tabs, ending in a newline) and reports
// whether it did. Writers of large tables render straight from the
// snapshot, without a []any per row.
func (w *writer) copyRows(ctx context.Context, table pgx.Identifier, cols []string, next func(b []byte) ([]byte, bool, error)) (int64, error) {
	return w.copyIn(ctx, table, cols, "", next)
}

// copyIn runs COPY table (cols) FROM STDIN with options (e.g. " (FORMAT
// binary)"), its data rendered by next as copyRows describes.
func (w *writer) copyIn(ctx context.Context, table pgx.Identifier, cols []string, options string, next func(b []byte) ([]byte, bool, error)) (int64, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	sql := "COPY " + table.Sanitize() + " (" + strings.Join(quoted, ", ") + ") FROM STDIN" + options
	r := &copyReader{next: next}
	tag, err := w.tx.Conn().PgConn().CopyFrom(ctx, r, sql)
	if r.err != nil {
		return 0, r.err
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// copyReader renders rows in COPY text format as they are read.
type copyReader struct {
	next func(b []byte) ([]byte, bool, error)
	buf  []byte
	off  int
	done bool
	err  error
}

// copyChunk is how much text a Read renders ahead; pgconn sends it in
// CopyData messages of about this size.
const copyChunk = 64 << 10

func (r *copyReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		for len(r.buf) < copyChunk {
			var more bool
			var err error
			r.buf, more, err = r.next(r.buf)
			if err != nil {
				r.err = err
				return 0, err
			}
			if !more {
				r.done = true
				break
			}
		}
		if len(r.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// appendCopyRow appends one row in COPY text format.
func appendCopyRow(b []byte, vals []any) ([]byte, error) {
	for i, v := range vals {
		if i > 0 {
			b = append(b, '\t')
		}
		var err error
		if b, err = appendCopyValue(b, v); err != nil {
			return b, err
		}
	}
	return append(b, '\n'), nil
}

func appendCopyValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, `\N`...), nil
	case string:
		return appendCopyText(b, x), nil
	case []string:
		return appendCopyArray(b, x), nil
	case bool:
		if x {
			return append(b, 't'), nil
		}
		return append(b, 'f'), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case *int64:
		if x == nil {
			return append(b, `\N`...), nil
		}
		return strconv.AppendInt(b, *x, 10), nil
	case float64:
		return appendCopyFloat(b, x), nil
	case *float64:
		if x == nil {
			return append(b, `\N`...), nil
		}
		return appendCopyFloat(b, *x), nil
	case time.Time:
		return appendCopyTime(b, x), nil
	case *time.Time:
		if x == nil {
			return append(b, `\N`...), nil
		}
		return appendCopyTime(b, *x), nil
	case []byte:
		if x == nil {
			return append(b, `\N`...), nil
		}
		// bytea in hex form; the backslash is escaped for COPY.
		b = append(b, `\\x`...)
		return hex.AppendEncode(b, x), nil
	default:
		return b, fmt.Errorf("copy: no text encoding for a value of type %T", v)
	}
}

// appendCopyText escapes s for a COPY text field: backslash and the
// delimiter, newline and carriage return characters. The writer has
// already removed NUL bytes and invalid UTF-8.
func appendCopyText(b []byte, s string) []byte {
	for {
		i := indexCopyEscape(s)
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		switch s[i] {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		}
		s = s[i+1:]
	}
}

// copyEscapes marks the bytes a COPY text field escapes.
var copyEscapes = [256]bool{'\\': true, '\t': true, '\n': true, '\r': true}

// indexCopyEscape returns the index of the first byte of s that COPY text
// escapes, or -1. It tests eight bytes at a time: most values have nothing
// to escape, and strings.IndexAny walks them a byte at a time after
// building its set on every call.
func indexCopyEscape(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte of w^(c*ones) is zero where w has byte c.
		a, b, c, d := w^('\\'*ones), w^('\t'*ones), w^('\n'*ones), w^('\r'*ones)
		if ((a-ones)&^a|(b-ones)&^b|(c-ones)&^c|(d-ones)&^d)&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if copyEscapes[s[i]] {
			return i
		}
	}
	return -1
}

// appendCopyArray renders a text[] literal with every element quoted,
// then escaped for COPY.
func appendCopyArray(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, `\N`...)
	}
	b = append(b, '{')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		// Inside a quoted element, " and \ are escaped with a backslash;
		// COPY then doubles that backslash again.
		b = append(b, '"')
		for {
			j := strings.IndexAny(s, "\"\\\t\n\r")
			if j < 0 {
				b = append(b, s...)
				break
			}
			b = append(b, s[:j]...)
			switch s[j] {
			case '"':
				b = append(b, `\\"`...)
			case '\\':
				b = append(b, `\\\\`...)
			case '\t':
				b = append(b, `\t`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			}
			s = s[j+1:]
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

func appendCopyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendCopyTime renders t in UTC at microsecond precision, PostgreSQL's
// own, with years before 1 AD in its BC notation.
func appendCopyTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	bc := t.Year() <= 0
	if bc {
		// Year 0 is 1 BC: shift into positive years and mark it.
		t = t.AddDate(1-2*t.Year(), 0, 0)
	}
	b = t.AppendFormat(b, "2006-01-02 15:04:05.999999")
	b = append(b, "+00"...)
	if bc {
		b = append(b, " BC"...)
	}
	return b
}
