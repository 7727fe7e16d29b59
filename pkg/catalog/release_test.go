package catalog_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// requireReleaseMatchesBuild checks that BuildAndRelease gives the
// snapshot Build gives and leaves the Builder empty.
func requireReleaseMatchesBuild(t *testing.T, b *catalog.Builder) {
	t.Helper()
	want := b.Build()
	got := b.BuildAndRelease()
	require.Equal(t, want, got)
	empty := catalog.NewBuilder(want.Scope, catalog.BuildOptions{}).Build()
	require.Equal(t, empty, b.Build(), "the released Builder holds nothing")
}

// sharedRelationProject is a small project built to reach the edge cases
// of building: two manifests, two models on one relation, columns only
// in YAML or only in the catalog, strings that need sanitising, results
// and freshness for unknown nodes and a compile-only run.
func sharedRelationProject(t *testing.T) *catalog.Builder {
	t.Helper()
	manifest := func(generated, nodes string) string {
		return `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","adapter_type":"postgres","generated_at":"` +
			generated + `"},"nodes":{` + nodes + `},"sources":{"source.p.raw.o":{"unique_id":"source.p.raw.o","resource_type":"source",` +
			`"name":"o","source_name":"raw","database":"db","schema":"raw","identifier":"orders"}}}`
	}
	older := manifest("2025-01-01T00:00:00Z",
		`"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"a","database":"db","schema":"s","alias":"t",`+
			`"columns":{"id":{"name":"id","description":"old"}}}`)
	newer := manifest("2025-02-01T00:00:00Z",
		`"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"a","database":"db","schema":"s","alias":"t",`+
			`"depends_on":{"nodes":["source.p.raw.o","model.p.gone"]},`+
			`"columns":{"ID":{"name":"ID","description":"the id","tags":["pii","b\u0000"]},"extra":{"name":"extra","meta":{"k":1}},`+
			`"bad\u0000name":{"name":"bad\u0000name"},"":{"name":""}}},`+
			`"model.p.b":{"unique_id":"model.p.b","resource_type":"model","name":"b","database":"db","schema":"s","alias":"t",`+
			`"columns":{"name":{"name":"name","description":"lower-case spelling"}}},`+
			`"model.p.c":{"unique_id":"model.p.c","resource_type":"model","name":"c","database":"db","schema":"s",`+
			`"config":{"materialized":"ephemeral"}},`+
			`"test.p.t1":{"unique_id":"test.p.t1","resource_type":"test","name":"t1","column_name":"ID",`+
			`"depends_on":{"nodes":["model.p.a"]},"test_metadata":{"name":"not_null"}},`+
			`"operation.p.o":{"unique_id":"operation.p.o","resource_type":"operation"}`)
	catalogDoc := `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/catalog/v1.json","generated_at":"2025-02-01T00:00:00Z"},` +
		`"nodes":{"model.p.a":{"unique_id":"model.p.a","metadata":{"type":"BASE TABLE","database":"db","schema":"s","name":"t","owner":"o\u0000wner"},` +
		`"columns":{"ID":{"type":"integer","index":0,"name":"ID"},"Name":{"type":"text","index":1,"name":"Name"},` +
		`"id":{"type":"integer","index":2,"name":"id"}},"stats":{"row_count":{"id":"row_count","value":12}}},` +
		`"test.p.t1":{"unique_id":"test.p.t1","metadata":{"type":"BASE TABLE","database":"db","schema":"audit","name":"t1"},` +
		`"columns":{"failures":{"type":"integer","index":1,"name":"failures"}}}},` +
		`"sources":{"source.p.raw.o":{"unique_id":"source.p.raw.o","metadata":{"type":"VIEW","database":"db","schema":"raw","name":"orders"},"columns":{}}}}`
	run := func(which, invocation, results string) string {
		return `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","invocation_id":"` + invocation +
			`","generated_at":"2025-02-01T01:00:00Z"},"args":{"which":"` + which + `"},"results":[` + results + `]}`
	}
	results := `{"unique_id":"model.p.a","status":"success","timing":[{"name":"execute","completed_at":"2025-02-01T00:50:00Z"}]},` +
		`{"unique_id":"test.p.t1","status":"fail","failures":3,"message":"got 3\u0000 rows","timing":[]},` +
		`{"unique_id":"model.p.unknown","status":"success","timing":[]},` +
		`{"unique_id":"operation.p.o","status":"success","timing":[]}`
	sources := `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/sources/v3.json","generated_at":"2025-02-01T02:00:00Z","invocation_id":"f"},` +
		`"results":[{"unique_id":"source.p.raw.o","status":"pass","max_loaded_at":"2025-02-01T00:00:00Z","snapshotted_at":"2025-02-01T02:00:00Z","max_loaded_at_time_ago_in_s":7200},` +
		`{"unique_id":"source.p.raw.gone","status":"warn","max_loaded_at":"2025-02-01T00:00:00Z","snapshotted_at":"2025-02-01T02:00:00Z","max_loaded_at_time_ago_in_s":7200}]}`

	b := catalog.NewBuilder(catalog.CoreScope("p", "prod"), catalog.BuildOptions{})
	require.NoError(t, b.AddManifest(strings.NewReader(older), catalog.Provenance{RunID: 1}))
	require.NoError(t, b.AddRunResults(strings.NewReader(run("build", "i2", results)), catalog.Provenance{RunID: 2, JobID: 9}))
	require.NoError(t, b.AddRunResults(strings.NewReader(run("build", "i1", results)), catalog.Provenance{RunID: 1, JobID: 9}))
	require.NoError(t, b.AddRunResults(strings.NewReader(run("compile", "i3", results)), catalog.Provenance{RunID: 3, JobID: 9}))
	require.NoError(t, b.AddCatalog(strings.NewReader(catalogDoc)))
	require.NoError(t, b.AddManifest(strings.NewReader(newer), catalog.Provenance{RunID: 2}))
	require.NoError(t, b.AddSources(strings.NewReader(sources), catalog.Provenance{RunID: 2, JobID: 9}))
	return b
}

func TestBuildAndReleaseMatchesBuild(t *testing.T) {
	tests := []struct {
		name    string
		builder func(t *testing.T) *catalog.Builder
	}{
		{name: "shop fixture", builder: shopBuilder},
		{name: "shared relations and sanitised strings", builder: sharedRelationProject},
		{
			name: "generated project",
			builder: func(t *testing.T) *catalog.Builder {
				models := 300
				if testing.Short() {
					models = 60
				}
				return addLarge(t, writeLargeProject(t, t.TempDir(), models, 1500))
			},
		},
		{
			name: "run results without a manifest",
			builder: func(t *testing.T) *catalog.Builder {
				f, err := os.Open("testdata/shop/run_results.json")
				require.NoError(t, err)
				defer f.Close()
				b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
				require.NoError(t, b.AddRunResults(f, catalog.Provenance{RunID: 1}))
				return b
			},
		},
		{
			name: "catalog without a manifest",
			builder: func(t *testing.T) *catalog.Builder {
				f, err := os.Open("testdata/shop/catalog.json")
				require.NoError(t, err)
				defer f.Close()
				b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
				require.NoError(t, b.AddCatalog(f))
				return b
			},
		},
		{
			name: "empty builder",
			builder: func(*testing.T) *catalog.Builder {
				return catalog.NewBuilder(catalog.CoreScope("p", "prod"), catalog.BuildOptions{})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireReleaseMatchesBuild(t, tc.builder(t))
		})
	}
}

func TestBuildAndReleaseMatchesBuildOnCorpus(t *testing.T) {
	sets := corpusSets(t)
	if testing.Short() && len(sets) > 4 {
		sets = sets[:4]
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			b := catalog.NewBuilder(catalog.CoreScope("corpus", set.name), catalog.BuildOptions{})
			add := func(path string, add func(f *os.File) error) {
				if path == "" {
					return
				}
				f, err := os.Open(path)
				require.NoError(t, err)
				defer f.Close()
				require.NoError(t, add(f))
			}
			add(set.manifest, func(f *os.File) error { return b.AddManifest(f, catalog.Provenance{RunID: 1, JobID: 1}) })
			add(set.catalog, func(f *os.File) error { return b.AddCatalog(f) })
			add(set.runResults, func(f *os.File) error { return b.AddRunResults(f, catalog.Provenance{RunID: 1, JobID: 1}) })
			add(set.sources, func(f *os.File) error { return b.AddSources(f, catalog.Provenance{RunID: 2, JobID: 1}) })
			requireReleaseMatchesBuild(t, b)
		})
	}
}
