package store

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestBinaryCopyMatchesTextCopy writes the same values through both COPY
// formats and requires PostgreSQL to store the same rows.
func TestBinaryCopyMatchesTextCopy(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `CREATE TEMP TABLE bin (n bigint, i integer, f double precision, ts timestamptz,
		s text, a text[], j jsonb, h bytea)`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `CREATE TEMP TABLE txt (LIKE bin)`)
	require.NoError(t, err)
	w := &writer{tx: tx}
	cols := []string{"n", "i", "f", "ts", "s", "a", "j", "h"}

	type row struct {
		n    *int64
		i    int32
		f    float64
		ts   time.Time
		s    string
		a    []string
		j    string
		h    []byte
		null bool // ts NULL
	}
	one, neg := int64(1), int64(-42)
	rows := []row{
		{n: &one, i: 7, f: 0.1, ts: time.Date(2026, 3, 1, 10, 0, 5, 123456789, time.UTC), s: "plain", a: []string{"a", "b"}, j: `{"k": 1}`, h: []byte{1, 2, 3}},
		{n: &neg, i: -1, f: math.Inf(1), ts: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), s: "tab\there\nnewline \\ backslash", a: []string{}, j: `{}`, h: []byte{}},
		{n: nil, i: 0, f: math.NaN(), null: true, s: "ünïcödé ✓", a: []string{`q"uote`, "with,comma", "{brace}", "", "NULL"}, j: `{"a": [1, "x\u00e9"], "b": null}`, h: nil},
		{n: &one, i: math.MaxInt32, f: math.Copysign(0, -1), ts: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), s: "", a: []string{" spaced "}, j: `[1, 2]`, h: []byte("x")},
	}
	k := 0
	_, err = w.copyRowsBinary(ctx, pgx.Identifier{"bin"}, cols, func(b []byte) ([]byte, bool, error) {
		if k == len(rows) {
			return b, false, nil
		}
		r := rows[k]
		k++
		b = binTuple(b, len(cols))
		if r.n == nil {
			b = binNull(b)
		} else {
			b = binInt8(b, *r.n)
		}
		b = binInt4(b, r.i)
		b = binFloat8(b, r.f)
		if r.null {
			b = binNull(b)
		} else {
			b = binTime(b, r.ts)
		}
		b = binText(b, r.s)
		b = binTextArray(b, r.a)
		b = binJSONB(b, r.j)
		return binBytes(b, r.h), true, nil
	})
	require.NoError(t, err)
	for _, r := range rows {
		var ts any
		if !r.null {
			ts = r.ts
		}
		var n any
		if r.n != nil {
			n = *r.n
		}
		var h any
		if r.h != nil {
			h = r.h
		}
		vals := []any{n, int64(r.i), r.f, ts, r.s, r.a, r.j, h}
		k := 0
		_, err := w.copyRows(ctx, pgx.Identifier{"txt"}, cols, func(b []byte) ([]byte, bool, error) {
			if k > 0 {
				return b, false, nil
			}
			k++
			b, err := appendCopyRow(b, vals)
			return b, err == nil, err
		})
		require.NoError(t, err)
	}
	dump := func(table string) []string {
		rs, err := tx.Query(ctx, `SELECT row_to_json(t)::text FROM `+table+` t ORDER BY i`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rs, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	want := dump("txt")
	require.Len(t, want, len(rows))
	require.Equal(t, want, dump("bin"))
}
