package store

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// The text COPY must store exactly what a parameterised INSERT (pgx's binary
// encoding) stores, for every value type the writer produces.
func TestCopyTextMatchesBinary(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	one, neg := int64(1), int64(-42)
	f, nan, inf := 1.0/3, math.NaN(), math.Inf(-1)
	ts := time.Date(2026, 2, 28, 23, 59, 58, 123456789, time.FixedZone("x", -5*3600))
	bc := time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC)
	tricky := "back\\slash\ttab\nnewline\r\"quote\" {brace} , comma é 漢字 NULL \\N"
	rows := [][]any{
		{"plain", []string{"a", "b"}, true, int64(7), &one, &f, ts, &ts, []byte{0, 1, 0xfe, 0xff}, `{"k": "v\n"}`, int32(3)},
		{tricky, []string{tricky, "", "NULL", `"`, `\`}, false, int64(math.MinInt64), &neg, &nan, bc, nil, []byte{}, `{"a": [1, "\\\\"]}`, int32(-1)},
		{"", []string{}, false, int64(0), nil, &inf, time.Unix(0, 0), nil, nil, `{}`, int32(0)},
		{strings.Repeat("x\\", 40000), nil, true, int64(math.MaxInt64), nil, nil, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), nil, []byte("h"), `[]`, int32(math.MaxInt32)},
	}
	cols := []string{"s", "a", "b", "i", "pi", "pf", "t", "pt", "by", "j", "i4"}
	_, err := s.pool.Exec(ctx, `CREATE TABLE copy_text (id serial, s text, a text[], b boolean, i bigint, pi bigint, pf double precision, t timestamptz, pt timestamptz, by bytea, j jsonb, i4 integer);
		CREATE TABLE copy_binary (LIKE copy_text)`)
	require.NoError(t, err)

	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	w := &writer{tx: tx}
	n, err := w.copyFrom(ctx, pgx.Identifier{"copy_text"}, cols, pgx.CopyFromRows(rows))
	require.NoError(t, err)
	require.Equal(t, int64(len(rows)), n)
	for i, r := range rows {
		_, err := tx.Exec(ctx, `INSERT INTO copy_binary (id, s, a, b, i, pi, pf, t, pt, by, j, i4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			append([]any{i + 1}, r...)...)
		require.NoError(t, err)
	}
	var diff int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM (
		(SELECT id, s, a, b, i, pi, pf::text, t, pt, by, j, i4 FROM copy_text EXCEPT SELECT id, s, a, b, i, pi, pf::text, t, pt, by, j, i4 FROM copy_binary)
		UNION ALL
		(SELECT id, s, a, b, i, pi, pf::text, t, pt, by, j, i4 FROM copy_binary EXCEPT SELECT id, s, a, b, i, pi, pf::text, t, pt, by, j, i4 FROM copy_text)) d`).Scan(&diff))
	require.Zero(t, diff, "rows differ between text COPY and binary INSERT")
	var got string
	require.NoError(t, tx.QueryRow(ctx, `SELECT a[1] FROM copy_text WHERE id = 2`).Scan(&got))
	require.Equal(t, tricky, got)
	var year string
	require.NoError(t, tx.QueryRow(ctx, `SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD BC') FROM copy_text WHERE id = 2`).Scan(&year))
	require.Equal(t, "0001-03-01 BC", year)

	t.Run("a value of an unknown type is an error naming it", func(t *testing.T) {
		_, err := w.copyFrom(ctx, pgx.Identifier{"copy_text"}, []string{"s"}, pgx.CopyFromRows([][]any{{struct{}{}}}))
		require.ErrorContains(t, err, "struct {}")
	})
}

// hashColumn must give the hash hashRow gives for the same values, or every
// stored column would look changed.
func TestHashColumnMatchesHashRow(t *testing.T) {
	w := newWriter(&catalog.Snapshot{}, 2)
	for _, c := range []catalog.Column{
		{AssetUniqueID: "model.shop.orders", Name: "id", DataType: "integer", Ordinal: 1},
		{AssetUniqueID: "model.shop.orders", Name: "amount", DataType: "numeric", Ordinal: 300, Description: "in cents",
			Tags: []string{"pii", ""}, Meta: json.RawMessage(`{"owner": "finance"}`), Comment: "warehouse comment"},
		{AssetUniqueID: "model.shop.orders", Name: "bad\x00name", Tags: []string{}},
	} {
		r := w.columnRow(&c)
		want := w.hashRow([]any{r.uid, r.name, r.dataType, r.ordinal, r.description, r.tags, r.meta, r.comment})
		require.Equal(t, want, w.hashColumn(&r), c.Name)
	}
}

func TestIndexCopyEscape(t *testing.T) {
	specials := []byte{'\\', '\t', '\n', '\r'}
	for n := 0; n < 40; n++ {
		for pos := -1; pos < n; pos++ {
			for _, c := range specials {
				b := []byte(strings.Repeat("aé\x80\x7f[", 8))[:n]
				if pos >= 0 {
					b[pos] = c
				}
				s := string(b)
				require.Equal(t, strings.IndexAny(s, "\\\t\n\r"), indexCopyEscape(s), "%q", s)
			}
		}
	}
}

func FuzzIndexCopyEscape(f *testing.F) {
	f.Add("plain")
	f.Add("a\\b\tc\nd\re")
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, strings.IndexAny(s, "\\\t\n\r"), indexCopyEscape(s))
	})
}
