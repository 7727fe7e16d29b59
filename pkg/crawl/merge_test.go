package crawl_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

func TestMergeColumns(t *testing.T) {
	const uid = "model.shop.orders"
	col := func(name, typ string, ordinal int, desc string) catalog.Column {
		return catalog.Column{AssetUniqueID: uid, Name: name, DataType: typ, Ordinal: ordinal, Description: desc}
	}
	for _, tc := range []struct {
		name      string
		warehouse []catalog.Column // the applied state's catalog columns
		yaml      []catalog.Column // the artifacts' columns
		want      []catalog.Column
	}{
		{
			name:      "warehouse names match YAML names whatever their case",
			warehouse: []catalog.Column{col("ID", "NUMBER", 1, ""), col("Status", "TEXT", 2, "")},
			yaml:      []catalog.Column{col("status", "", 0, "Order status"), col("id", "", 0, "Order key")},
			want:      []catalog.Column{col("ID", "NUMBER", 1, "Order key"), col("Status", "TEXT", 2, "Order status")},
		},
		{
			name:      "a warehouse description wins over YAML",
			warehouse: []catalog.Column{col("id", "NUMBER", 1, "from the warehouse")},
			yaml:      []catalog.Column{col("id", "", 0, "from YAML")},
			want:      []catalog.Column{col("id", "NUMBER", 1, "from the warehouse")},
		},
		{
			name:      "YAML columns the warehouse lacks are kept after the known ordinals",
			warehouse: []catalog.Column{col("b", "TEXT", 2, ""), col("a", "TEXT", 1, "")},
			yaml:      []catalog.Column{col("zeta", "", 0, "YAML only"), col("alpha", "", 0, "YAML only too")},
			want: []catalog.Column{col("a", "TEXT", 1, ""), col("b", "TEXT", 2, ""),
				col("alpha", "", 0, "YAML only too"), col("zeta", "", 0, "YAML only")},
		},
		{
			name:      "the last of YAML names differing only in case describes the column",
			warehouse: []catalog.Column{col("id", "NUMBER", 1, "")},
			yaml:      []catalog.Column{col("ID", "", 0, "first"), col("Id", "", 0, "second")},
			want:      []catalog.Column{col("id", "NUMBER", 1, "second"), col("ID", "", 0, "first")},
		},
		{
			name:      "non-ASCII names match in lower case",
			warehouse: []catalog.Column{col("ÉTAT", "TEXT", 1, ""), col("straße", "TEXT", 2, "")},
			yaml:      []catalog.Column{col("état", "", 0, "state"), col("STRASSE", "", 0, "not the same name")},
			want: []catalog.Column{col("ÉTAT", "TEXT", 1, "state"), col("straße", "TEXT", 2, ""),
				col("STRASSE", "", 0, "not the same name")},
		},
		{
			name:      "a warehouse type is filled from YAML when missing",
			warehouse: []catalog.Column{col("id", "", 1, "")},
			yaml:      []catalog.Column{col("id", "integer", 0, "")},
			want:      []catalog.Column{col("id", "integer", 1, "")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asset := catalog.Asset{UniqueID: uid, Type: catalog.TypeModel}
			applied := &catalog.Snapshot{Assets: []catalog.Asset{asset}, Columns: tc.warehouse}
			artifacts := &catalog.Snapshot{Assets: []catalog.Asset{asset}, Columns: tc.yaml}
			got := crawl.Merge(catalog.Scope{AccountID: 1, ProjectID: 2, EnvironmentID: 3}, applied, artifacts)
			require.Equal(t, tc.want, got.Columns)
		})
	}
	t.Run("tags and meta come from YAML when the warehouse has none", func(t *testing.T) {
		asset := catalog.Asset{UniqueID: uid, Type: catalog.TypeModel}
		w := col("id", "NUMBER", 1, "")
		w.Meta = json.RawMessage(`{}`)
		y := col("ID", "", 0, "")
		y.Tags, y.Meta = []string{"pii"}, json.RawMessage(`{"owner":"x"}`)
		got := crawl.Merge(catalog.Scope{AccountID: 1}, &catalog.Snapshot{Assets: []catalog.Asset{asset}, Columns: []catalog.Column{w}},
			&catalog.Snapshot{Assets: []catalog.Asset{asset}, Columns: []catalog.Column{y}})
		require.Len(t, got.Columns, 1)
		require.Equal(t, []string{"pii"}, got.Columns[0].Tags)
		require.JSONEq(t, `{"owner":"x"}`, string(got.Columns[0].Meta))
	})
}
