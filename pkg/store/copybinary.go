package store

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// COPY's binary format, rendered by the store for its largest tables (test
// results, columns): PostgreSQL then parses no numbers or timestamps out
// of text, and the crawler escapes nothing. Every value is its length
// (int32, -1 for NULL) and its bytes in the type's binary send format.

// copyBinaryHeader is the signature, the flags field and the header
// extension length.
var copyBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// textOID is the type of text array elements.
const textOID = 25

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's timestamp epoch, in Unix
// microseconds.
const pgEpochMicros = 946684800 * 1_000_000

// copyRowsBinary COPYs the rows next renders in binary format: each call
// appends one tuple (binTuple, then one bin* value per column) and
// reports whether it did.
func (w *writer) copyRowsBinary(ctx context.Context, table pgx.Identifier, cols []string, next func(b []byte) ([]byte, bool, error)) (int64, error) {
	started, ended := false, false
	return w.copyIn(ctx, table, cols, " (FORMAT binary)", func(b []byte) ([]byte, bool, error) {
		if !started {
			started = true
			b = append(b, copyBinaryHeader...)
		}
		if ended {
			return b, false, nil
		}
		b, more, err := next(b)
		if err == nil && !more {
			ended = true
			b = binary.BigEndian.AppendUint16(b, 0xffff) // the trailer
			return b, true, nil
		}
		return b, more, err
	})
}

// copyEach COPYs items in binary format, one tuple each, which tuple
// appends to b (starting with binTuple).
func copyEach[T any](ctx context.Context, w *writer, table pgx.Identifier, cols []string, items []T, tuple func(b []byte, item *T) []byte) (int64, error) {
	k := 0
	return w.copyRowsBinary(ctx, table, cols, func(b []byte) ([]byte, bool, error) {
		if k == len(items) {
			return b, false, nil
		}
		b = tuple(b, &items[k])
		k++
		return b, true, nil
	})
}

// binTuple starts a tuple of n values.
func binTuple(b []byte, n int) []byte { return binary.BigEndian.AppendUint16(b, uint16(n)) }

func binNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, math.MaxUint32) }

// binText appends a text value; s must be valid UTF-8 without NUL bytes
// (the writer's sanitised strings are).
func binText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// binSum appends the 16-byte hash of the fields h holds as a bytea.
func binSum(b []byte, h *hasher) []byte {
	b = binary.BigEndian.AppendUint32(b, sumLen)
	return h.appendSum(b)
}

func binBytes(b []byte, v []byte) []byte {
	if v == nil {
		return binNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func binInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func binInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func binFloat8(b []byte, f float64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// binTime appends a timestamptz at microsecond precision, truncated as
// appendCopyTime truncates.
func binTime(b []byte, t time.Time) []byte {
	return binInt8(b, t.UnixMicro()-pgEpochMicros)
}

// binOptTime appends t, or NULL for the zero time (as optTime).
func binOptTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binNull(b)
	}
	return binTime(b, t)
}

// binOptInt8 appends v, or NULL for 0 (as optID).
func binOptInt8(b []byte, v int64) []byte {
	if v == 0 {
		return binNull(b)
	}
	return binInt8(b, v)
}

// binOptFloat8 appends f, or NULL for 0 (as optFloat).
func binOptFloat8(b []byte, f float64) []byte {
	if f == 0 {
		return binNull(b)
	}
	return binFloat8(b, f)
}

// binJSONB appends a jsonb value: its format version, 1, then its text.
func binJSONB(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)+1))
	b = append(b, 1)
	return append(b, s...)
}

// binTextArray appends a one-dimensional text[] without NULLs.
func binTextArray(b []byte, ss []string) []byte {
	if len(ss) == 0 {
		b = binary.BigEndian.AppendUint32(b, 12)
		b = binary.BigEndian.AppendUint32(b, 0) // no dimensions
		b = binary.BigEndian.AppendUint32(b, 0) // no NULLs
		return binary.BigEndian.AppendUint32(b, textOID)
	}
	n := 20
	for _, s := range ss {
		n += 4 + len(s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, 1) // one dimension
	b = binary.BigEndian.AppendUint32(b, 0) // no NULLs
	b = binary.BigEndian.AppendUint32(b, textOID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ss)))
	b = binary.BigEndian.AppendUint32(b, 1) // lower bound
	for _, s := range ss {
		b = binText(b, s)
	}
	return b
}
