package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// The typed asset row must hash and render exactly what the parameterised
// values hold: stored hashes stay valid, and new and changed rows store the
// same text.
func TestAssetRowMatchesValues(t *testing.T) {
	long := strings.Repeat("select id, amount from analytics.orders where status = 'paid'\n", 40)
	assets := []catalog.Asset{
		{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Name: "orders", Enabled: true},
		{UniqueID: "model.shop.big", Type: catalog.TypeModel, Name: "big", Description: "tab\there", Tags: []string{"a", `q"uote`},
			Meta: json.RawMessage(`{"owner": "x"}`), RawCode: catalog.NewText("select 1"), CompiledCode: catalog.NewText(long),
			Owner: "x", Materialization: "table", Checksum: "abc"},
		{UniqueID: "test.shop.bad\x00id", Type: catalog.TypeTest, Name: "bad\xffname", RawCode: catalog.NewText(long + "\x00"),
			TestName: "not_null", TestedUniqueID: "model.shop.orders", Severity: "warn", Tags: []string{}},
	}
	require.True(t, assets[1].CompiledCode.Compressed())
	w := newWriter(&catalog.Snapshot{Scope: testScope,
		ArtifactHashes: map[string][]byte{"model.shop.big": []byte("0123456789abcdef")}}, 2)
	w.envID = 42
	for _, a := range assets {
		t.Run(a.Name, func(t *testing.T) {
			hash := w.hashAsset(&a)

			// The reference: hashRow over the values, compressed code by digest.
			vals := w.assetValues(&a, hash)
			ref := newHasher()
			for i, v := range vals[1 : len(vals)-2] { // not env_id and the two hashes
				col := assetCols[i+1]
				if t := codeOf(a, col); t.Compressed() {
					ref.text(t)
					continue
				}
				switch x := v.(type) {
				case string:
					ref.str(x)
				case []string:
					ref.strs(x)
				case bool:
					ref.boolean(x)
				default:
					require.Failf(t, "unexpected value type", "%s: %T", col, v)
				}
			}
			if ah := vals[len(vals)-1].([]byte); ah != nil {
				ref.str(string(ah))
			}
			require.Equal(t, ref.sum(), hash)

			want, err := appendCopyRow(nil, vals)
			require.NoError(t, err)
			require.Equal(t, string(want), string(w.appendAssetRow(nil, &a, hash)))
		})
	}
}

func codeOf(a catalog.Asset, col string) catalog.Text {
	switch col {
	case "raw_code":
		return a.RawCode
	case "compiled_code":
		return a.CompiledCode
	}
	return catalog.Text{}
}

// appendAssetRow renders asset a with its hash as one COPY text row of
// assetCols: the reference the binary tuple is checked against.
func (w *writer) appendAssetRow(b []byte, a *catalog.Asset, hash []byte) []byte {
	b = strconv.AppendInt(b, w.envID, 10)
	s := copySink{w: w, b: append(b, '\t')}
	w.assetFields(a, &s)
	b, _ = appendCopyValue(s.b, hash) // []byte always encodes
	b = append(b, '\t')
	if ah := w.artifactHash(a); ah != nil {
		b, _ = appendCopyValue(b, ah)
	} else {
		b = append(b, `\N`...)
	}
	return append(b, '\n')
}

// TestAssetTupleMatchesAssetRow requires the binary tuple of a new asset,
// hashed as it is rendered, to store what the text row with hashAsset's
// hash stores.
func TestAssetTupleMatchesAssetRow(t *testing.T) {
	long := strings.Repeat("select 1 from big_table\n", 100)
	assets := []catalog.Asset{
		{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Name: "orders", Enabled: true, Meta: json.RawMessage(`{"a": "é"}`),
			Tags: []string{"x", `q"uote`, "{b}"}, RawCode: catalog.NewText("select 1"), CompiledCode: catalog.NewText(long)},
		{UniqueID: "test.shop.bad\x00id", Type: catalog.TypeTest, Name: "bad\xffname", RawCode: catalog.NewText(long + "\x00"), Tags: []string{}},
	}
	s := newStore(t)
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	for _, table := range []string{"bin", "txt"} {
		_, err = tx.Exec(ctx, `CREATE TEMP TABLE `+table+` (LIKE crawler.assets INCLUDING DEFAULTS INCLUDING IDENTITY)`)
		require.NoError(t, err)
	}
	w := newWriter(&catalog.Snapshot{Scope: testScope,
		ArtifactHashes: map[string][]byte{"model.shop.orders": []byte("0123456789abcdef")}}, 2)
	w.tx, w.envID = tx, 42
	for _, format := range []struct {
		table string
		copy  func(context.Context, pgx.Identifier, []string, func([]byte) ([]byte, bool, error)) (int64, error)
		row   func([]byte, *catalog.Asset, []byte) []byte
	}{
		{"bin", w.copyRowsBinary, func(b []byte, a *catalog.Asset, _ []byte) []byte { return w.appendNewAssetTuple(b, a) }},
		{"txt", w.copyRows, w.appendAssetRow},
	} {
		k := 0
		_, err := format.copy(ctx, pgx.Identifier{format.table}, assetCols, func(b []byte) ([]byte, bool, error) {
			if k == len(assets) {
				return b, false, nil
			}
			a := &assets[k]
			k++
			return format.row(b, a, w.hashAsset(a)), true, nil
		})
		require.NoError(t, err)
	}
	dump := func(table string) []string {
		rs, err := tx.Query(ctx, `SELECT (to_jsonb(t) - 'asset_id' - 'first_seen_at' - 'updated_at')::text FROM `+table+` t ORDER BY unique_id`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rs, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	require.Len(t, dump("txt"), len(assets))
	require.Equal(t, dump("txt"), dump("bin"))
}
