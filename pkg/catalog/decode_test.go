package catalog_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "shop", name))
	require.NoError(t, err)
	return b
}

// decodeAs decodes doc as the artifact kind and returns the error.
func decodeAs(kind catalog.ArtifactKind, doc []byte, opts catalog.DecodeOptions) error {
	r := bytes.NewReader(doc)
	var err error
	switch kind {
	case catalog.KindManifest:
		_, err = catalog.DecodeManifest(r, opts, func(catalog.ManifestNode) error { return nil })
	case catalog.KindCatalog:
		_, err = catalog.DecodeCatalog(r, opts, func(catalog.CatalogTable) error { return nil })
	case catalog.KindRunResults:
		_, err = catalog.DecodeRunResults(r, opts, func(catalog.RunResult) error { return nil })
	case catalog.KindSources:
		_, err = catalog.DecodeSources(r, opts, func(catalog.FreshnessResult) error { return nil })
	}
	return err
}

func TestDecodeRejects(t *testing.T) {
	manifest := readFixture(t, "manifest.json")
	cat := readFixture(t, "catalog.json")
	deep := `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},"nodes":{"model.p.a":{"meta":` +
		strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}}}`
	tests := []struct {
		name    string
		kind    catalog.ArtifactKind
		doc     []byte
		opts    catalog.DecodeOptions
		want    error
		version string
	}{
		{name: "truncated manifest", kind: catalog.KindManifest, doc: manifest[:len(manifest)/2], want: catalog.ErrTruncated,
			version: "https://schemas.getdbt.com/dbt/manifest/v12.json"},
		{name: "empty file", kind: catalog.KindCatalog, doc: nil, want: catalog.ErrTruncated},
		{name: "catalog passed as manifest", kind: catalog.KindManifest, doc: cat, want: catalog.ErrWrongKind},
		{name: "manifest passed as run results", kind: catalog.KindRunResults, doc: manifest, want: catalog.ErrWrongKind},
		{name: "run results passed as sources", kind: catalog.KindSources, doc: readFixture(t, "run_results.json"), want: catalog.ErrWrongKind},
		{name: "foreign key before metadata", kind: catalog.KindManifest, doc: []byte(`{"results":[],"metadata":{}}`), want: catalog.ErrWrongKind},
		{name: "manifest v13", kind: catalog.KindManifest,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v13.json"},"nodes":{}}`), want: catalog.ErrUnsupportedVersion},
		{name: "catalog v2", kind: catalog.KindCatalog,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/catalog/v2.json"}}`), want: catalog.ErrUnsupportedVersion},
		{name: "no metadata", kind: catalog.KindManifest, doc: []byte(`{"nodes":{}}`), want: catalog.ErrNoMetadata},
		{name: "invalid JSON", kind: catalog.KindManifest, doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},,}`), want: catalog.ErrInvalidJSON},
		{name: "not an object", kind: catalog.KindSources, doc: []byte(`[1,2]`), want: catalog.ErrInvalidJSON},
		{name: "trailing garbage", kind: catalog.KindCatalog, doc: append(bytes.Clone(cat), []byte(` {}`)...), want: catalog.ErrInvalidJSON},
		{name: "raw NUL inside a string", kind: catalog.KindManifest,
			doc: []byte("{\"metadata\":{\"dbt_schema_version\":\"https://schemas.getdbt.com/dbt/manifest/v12.json\"},\"nodes\":{\"a\":{\"name\":\"x\x00\"}}}"), want: catalog.ErrInvalidJSON},
		{name: "too deep", kind: catalog.KindManifest, doc: []byte(deep), want: catalog.ErrTooDeep},
		{name: "too large", kind: catalog.KindManifest, doc: manifest, opts: catalog.DecodeOptions{MaxBytes: 1000}, want: catalog.ErrTooLarge},
		{name: "invalid JSON in a skipped section", kind: catalog.KindManifest,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},"macros":{"m":{"macro_sql":"x","a":[1,]}}}`), want: catalog.ErrInvalidJSON},
		{name: "invalid escape in a skipped field", kind: catalog.KindRunResults,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"unique_id":"a","compiled_code":"\x"}]}`), want: catalog.ErrInvalidJSON},
		{name: "bad number", kind: catalog.KindRunResults,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"execution_time":01}]}`), want: catalog.ErrInvalidJSON},
		{name: "bad literal", kind: catalog.KindCatalog,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/catalog/v1.json"},"nodes":{"a":{"x":nul}}}`), want: catalog.ErrInvalidJSON},
		{name: "missing colon", kind: catalog.KindSources, doc: []byte(`{"metadata" {}}`), want: catalog.ErrInvalidJSON},
		{name: "truncated inside a string", kind: catalog.KindRunResults,
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"compiled_code":"sel`), want: catalog.ErrTruncated},
		{name: "too deep in a skipped section", kind: catalog.KindManifest, opts: catalog.DecodeOptions{MaxDepth: 5},
			doc: []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},"docs":{"d":{"a":{"b":{"c":{"e":1}}}}}}`), want: catalog.ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeAs(tc.kind, tc.doc, tc.opts)
			require.ErrorIs(t, err, tc.want)
			var ae *catalog.ArtifactError
			require.True(t, errors.As(err, &ae))
			require.NotEmpty(t, ae.File)
			require.GreaterOrEqual(t, ae.Offset, int64(0))
			if tc.version != "" {
				require.Equal(t, tc.version, ae.SchemaVersion)
			}
			require.Contains(t, err.Error(), ae.File)
		})
	}
}

func TestDecodeErrorOffsets(t *testing.T) {
	prefix := `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"unique_id":"a","compiled_code":"`
	tests := []struct {
		name string
		doc  string
		want int64
	}{
		{name: "control character in a long string", doc: prefix + strings.Repeat("x", 200000) + "\x01\"}]}", want: int64(len(prefix)) + 200000},
		{name: "bad escape after the buffer refilled", doc: prefix + strings.Repeat("y", 150000) + `\q"}]}`, want: int64(len(prefix)) + 150000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeAs(catalog.KindRunResults, []byte(tc.doc), catalog.DecodeOptions{})
			require.ErrorIs(t, err, catalog.ErrInvalidJSON)
			var ae *catalog.ArtifactError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.want, ae.Offset)
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, nodes []catalog.ManifestNode, meta catalog.ArtifactMeta)
	}{
		{
			name: "metadata after the nodes (dbt Fusion key order)",
			doc:  `{"disabled":{},"exposures":{"exposure.p.e":{"resource_type":"exposure","owner":{"email":"a@b"}}},"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v20.json","dbt_version":"2.0.0-beta.46","generated_at":"2025-08-01T13:24:08.738968065Z"},"nodes":{"model.p.m":{"unique_id":"model.p.m","resource_type":"model","config":{"enabled":null,"meta":null,"tags":null}}}}`,
			check: func(t *testing.T, nodes []catalog.ManifestNode, meta catalog.ArtifactMeta) {
				require.Equal(t, 20, meta.Version)
				require.Equal(t, 2025, meta.GeneratedAt.Year())
				require.Len(t, nodes, 2)
				require.Equal(t, "exposure.p.e", nodes[0].UniqueID, "map key stands in for a missing unique_id")
				require.Equal(t, "a@b", nodes[0].Owner.Email)
				require.Nil(t, nodes[1].Config.Enabled)
			},
		},
		{
			name: "v1 raw_sql and disabled list",
			doc:  `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v1.json"},"nodes":{"model.p.m":{"unique_id":"model.p.m","resource_type":"model","raw_sql":"select 1","tags":"one","version":2}},"disabled":[{"unique_id":"model.p.d","resource_type":"model"}]}`,
			check: func(t *testing.T, nodes []catalog.ManifestNode, meta catalog.ArtifactMeta) {
				require.Equal(t, "select 1", nodes[0].RawCode.String())
				require.Equal(t, []string{"one"}, nodes[0].Tags)
				require.Equal(t, "2", nodes[0].Version)
				require.Equal(t, "disabled", nodes[1].Section)
				require.False(t, *nodes[1].Config.Enabled)
			},
		},
		{
			name: "wrongly typed fields are left empty",
			doc:  `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},"nodes":{"model.p.m":{"unique_id":"model.p.m","resource_type":"model","description":42,"columns":[],"depends_on":{"nodes":"model.p.x"}},"bad":"not a node"}}`,
			check: func(t *testing.T, nodes []catalog.ManifestNode, meta catalog.ArtifactMeta) {
				require.Len(t, nodes, 1)
				require.Empty(t, nodes[0].Description)
				require.Equal(t, []string{"model.p.x"}, nodes[0].DependsOn)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nodes []catalog.ManifestNode
			meta, err := catalog.DecodeManifest(strings.NewReader(tc.doc), catalog.DecodeOptions{}, func(n catalog.ManifestNode) error {
				nodes = append(nodes, n)
				return nil
			})
			require.NoError(t, err)
			tc.check(t, nodes, meta)
		})
	}
}

func TestDecodeCatalogQuirks(t *testing.T) {
	doc := `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/catalog/v1.json"},"nodes":{"model.p.m":{"metadata":{"type":"table","schema":"s","name":"m","database":"prod","comment":null,"owner":null},"columns":{"b":{"type":"int","index":1,"name":"b"},"a":{"type":"string","index":0,"name":"a"}},"stats":{"bytes":{"id":"bytes","value":1.5e3,"include":1.0},"rows":{"id":"rows","value":"12","include":true}}}},"sources":{},"errors":["query failed"]}`
	var tables []catalog.CatalogTable
	meta, err := catalog.DecodeCatalog(strings.NewReader(doc), catalog.DecodeOptions{}, func(ct catalog.CatalogTable) error {
		tables = append(tables, ct)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"query failed"}, meta.CatalogErrors)
	require.Equal(t, "model.p.m", tables[0].UniqueID)
	require.Equal(t, "a", tables[0].Columns[0].Name)
	v, ok := tables[0].Stats[0].Int64()
	require.True(t, ok)
	require.Equal(t, int64(1500), v)
	require.True(t, tables[0].Stats[0].Include)
}

func TestDecodeCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	_, err := catalog.DecodeManifest(bytes.NewReader(readFixture(t, "manifest.json")), catalog.DecodeOptions{},
		func(catalog.ManifestNode) error { return stop })
	require.ErrorIs(t, err, stop)
}

func TestParseRelationName(t *testing.T) {
	tests := []struct {
		in   string
		want []catalog.IdentPart
	}{
		{`"db"."sch"."t"`, []catalog.IdentPart{{"db", true}, {"sch", true}, {"t", true}}},
		{"`my-proj`.`ds`.`t`", []catalog.IdentPart{{"my-proj", true}, {"ds", true}, {"t", true}}},
		{`DB.schema.t`, []catalog.IdentPart{{"DB", false}, {"schema", false}, {"t", false}}},
		{`FAWDBTCORE.stg_users`, []catalog.IdentPart{{"FAWDBTCORE", false}, {"stg_users", false}}},
		{`"a.b"."c""d"`, []catalog.IdentPart{{"a.b", true}, {`c"d`, true}}},
		{``, nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, catalog.ParseRelationName(tc.in))
		})
	}
}

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct {
		adapter, in string
		quoted      bool
		want        string
	}{
		{"snowflake", "orders", false, "ORDERS"},
		{"snowflake", "Orders", true, "Orders"},
		{"postgres", "Orders", false, "orders"},
		{"postgres", "Orders", true, "Orders"},
		{"redshift", "Orders", true, "orders"},
		{"databricks", "Orders", true, "orders"},
		{"bigquery", "Orders", false, "Orders"},
		{"oracle", "stg_users", false, "STG_USERS"},
	}
	for _, tc := range tests {
		t.Run(tc.adapter+"/"+tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, catalog.NormalizeIdentifier(tc.adapter, tc.in, tc.quoted))
		})
	}
}

func TestRelationKind(t *testing.T) {
	for in, want := range map[string]string{
		"BASE TABLE": "table", "VIEW": "view", "MATERIALIZED VIEW": "materialized_view",
		"EXTERNAL TABLE": "external", "table": "table", "Dynamic Table": "dynamic_table", "": "",
	} {
		t.Run(in, func(t *testing.T) { require.Equal(t, want, catalog.RelationKind(in)) })
	}
}
