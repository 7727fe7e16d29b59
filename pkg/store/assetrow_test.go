package store

import (
	"encoding/json"
	"strings"
	"testing"

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
