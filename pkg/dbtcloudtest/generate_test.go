package dbtcloudtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func allArtifacts(t *testing.T, ds *Dataset) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, r := range ds.Runs {
		for _, name := range ds.ArtifactNames(r.ID) {
			b, ok := ds.Artifact(r.ID, name)
			require.True(t, ok, "run %d %s", r.ID, name)
			out[fmt.Sprintf("%d/%s", r.ID, name)] = b
		}
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	tests := []struct {
		name string
		cfg  GenConfig
	}{
		{"default postgres", DefaultGenConfig()},
		{"snowflake", func() GenConfig { c := DefaultGenConfig(); c.Adapter = "snowflake"; c.Seed = 9; return c }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Generate(tc.cfg), Generate(tc.cfg)
			require.Equal(t, a.Runs, b.Runs)
			require.Equal(t, a.Jobs, b.Jobs)
			require.Equal(t, a.Applied, b.Applied)
			require.Equal(t, allArtifacts(t, a), allArtifacts(t, b))
		})
	}
	t.Run("different seeds differ", func(t *testing.T) {
		c := DefaultGenConfig()
		a := Generate(c)
		c.Seed++
		b := Generate(c)
		ma, _ := a.Artifact(a.Runs[0].ID, "run_results.json")
		mb, _ := b.Artifact(b.Runs[0].ID, "run_results.json")
		require.NotEqual(t, ma, mb)
	})
}

func TestGenerateShape(t *testing.T) {
	cfg := DefaultGenConfig()
	cfg.DevelopmentEnvironment = true
	ds := Generate(cfg)
	require.Len(t, ds.Projects, 2)
	require.Len(t, ds.Environments, 6)
	require.Len(t, ds.Jobs, 12)
	require.Len(t, ds.Runs, 36)
	var dev, errored int
	for _, e := range ds.Environments {
		if e.Type == "development" {
			dev++
			_, ok := ds.AppliedFor(e.ID)
			require.False(t, ok, "development environments have no applied state")
		}
	}
	require.Equal(t, 2, dev)
	for i, r := range ds.Runs {
		if i > 0 {
			require.Greater(t, r.ID, ds.Runs[i-1].ID)
		}
		if r.Status == 20 {
			errored++
		}
	}
	require.Positive(t, errored, "some runs error")
	require.Less(t, errored, len(ds.Runs), "some runs succeed")
}

func TestArtifactsSchemaVersions(t *testing.T) {
	for _, adapter := range []string{"postgres", "snowflake"} {
		t.Run(adapter, func(t *testing.T) {
			cfg := DefaultGenConfig()
			cfg.Adapter = adapter
			ds := Generate(cfg)
			want := map[string]string{
				"manifest.json": ManifestSchema, "catalog.json": CatalogSchema,
				"run_results.json": RunResultsSchema, "sources.json": SourcesSchema,
			}
			seen := map[string]bool{}
			for _, r := range ds.Runs[:3] {
				for _, name := range ds.ArtifactNames(r.ID) {
					b, ok := ds.Artifact(r.ID, name)
					require.True(t, ok)
					var doc struct {
						Metadata struct {
							Schema      string `json:"dbt_schema_version"`
							AdapterType string `json:"adapter_type"`
						} `json:"metadata"`
						Nodes map[string]struct {
							Metadata struct {
								Name string `json:"name"`
							} `json:"metadata"`
						} `json:"nodes"`
					}
					require.NoError(t, json.Unmarshal(b, &doc), name)
					require.Equal(t, want[name], doc.Metadata.Schema, name)
					seen[name] = true
					if name == "manifest.json" {
						require.Equal(t, adapter, doc.Metadata.AdapterType)
					}
					if name == "catalog.json" && adapter == "snowflake" {
						for _, n := range doc.Nodes {
							require.Equal(t, bytes.ToUpper([]byte(n.Metadata.Name)), []byte(n.Metadata.Name))
						}
					}
				}
			}
			require.Len(t, seen, 4)
			_, ok := ds.Artifact(ds.Runs[1].ID, "catalog.json")
			require.False(t, ok, "freshness runs have no catalog")
			_, ok = ds.StepArtifact(ds.Runs[0].ID, 1, "manifest.json")
			require.False(t, ok, "the clone step produces nothing")
		})
	}
}

func TestAppliedMatchesArtifacts(t *testing.T) {
	ds := Generate(DefaultGenConfig())
	env := ds.Environments[0]
	a, ok := ds.AppliedFor(env.ID)
	require.True(t, ok)
	require.True(t, a.Snapshot.Complete)
	require.Equal(t, env.ID, a.Snapshot.Scope.EnvironmentID)

	var build, fresh *Run
	for i := range ds.Runs {
		r := &ds.Runs[i]
		if r.EnvironmentID == env.ID && r.HasDocsGenerated {
			build = r
		}
		if r.EnvironmentID == env.ID && r.HasSourcesGenerated {
			fresh = r
		}
	}
	b, _ := ds.Artifact(build.ID, "manifest.json")
	var m struct {
		Nodes     map[string]json.RawMessage `json:"nodes"`
		Sources   map[string]json.RawMessage `json:"sources"`
		Exposures map[string]json.RawMessage `json:"exposures"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	require.Len(t, a.Snapshot.Assets, len(m.Nodes)+len(m.Sources)+len(m.Exposures))
	types := map[string]int{}
	for _, as := range a.Snapshot.Assets {
		types[string(as.Type)]++
		if as.Type != "test" && as.Type != "exposure" {
			require.NotEmpty(t, as.Owner, as.UniqueID)
		}
	}
	cfg := DefaultGenConfig()
	require.Equal(t, cfg.Models, types["model"])
	require.Equal(t, cfg.Models*cfg.TestsPerModel, types["test"])
	require.Len(t, a.Snapshot.TestResults, types["test"])

	sb, _ := ds.Artifact(fresh.ID, "sources.json")
	var s struct {
		Results []json.RawMessage `json:"results"`
	}
	require.NoError(t, json.Unmarshal(sb, &s))
	require.Len(t, a.Snapshot.Freshness, len(s.Results))
	for _, c := range a.Snapshot.Columns {
		if c.Ordinal > 0 {
			require.NotEmpty(t, c.DataType)
		}
	}
}

func TestMutators(t *testing.T) {
	ds := Generate(DefaultGenConfig())
	env := ds.Environments[0].ID
	before, _ := ds.AppliedFor(env)
	runs := ds.AddRuns(7, 0.5)
	require.Len(t, runs, 12, "one run per job")
	after, _ := ds.AppliedFor(env)
	require.NotSame(t, before, after)
	changed := 0
	for i, as := range after.Snapshot.Assets {
		if as.Description != before.Snapshot.Assets[i].Description {
			changed++
		}
	}
	require.Positive(t, changed)
	require.Greater(t, after.Snapshot.TestResults[0].RunID, before.Snapshot.TestResults[0].RunID)

	model := "model.analytics.stg_stripe__customers"
	ds.RemoveModel(env, model)
	removed, _ := ds.AppliedFor(env)
	for _, as := range removed.Snapshot.Assets {
		require.NotEqual(t, model, as.UniqueID)
		require.NotEqual(t, model, as.TestedUniqueID)
	}
	for _, e := range removed.Snapshot.Edges {
		require.NotEqual(t, model, e.Upstream)
	}
	next := ds.AddRuns(8, 0)
	mb, ok := ds.Artifact(next[0].ID, "manifest.json")
	require.True(t, ok)
	require.NotContains(t, string(mb), `"`+model+`"`)
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	src := Generate(DefaultGenConfig())
	for _, name := range src.ArtifactNames(src.Runs[0].ID) {
		b, _ := src.Artifact(src.Runs[0].ID, name)
		require.NoError(t, writeFile(dir+"/"+name, b))
	}
	ds, err := LoadDir(dir, LoadConfig{})
	require.NoError(t, err)
	require.Equal(t, "analytics", ds.Projects[0].Name)
	require.True(t, ds.Runs[0].HasDocsGenerated)
	require.Equal(t, []string{"catalog.json", "manifest.json", "run_results.json"}, ds.ArtifactNames(ds.Runs[0].ID))

	_, err = LoadDir(t.TempDir(), LoadConfig{})
	require.ErrorContains(t, err, "no manifest.json")
}

func TestWriteArtifactMatchesCached(t *testing.T) {
	ds := Generate(DefaultGenConfig())
	var buf bytes.Buffer
	ok, err := ds.WriteArtifact(&buf, ds.Runs[0].ID, 0, "manifest.json")
	require.NoError(t, err)
	require.True(t, ok)
	b, _ := ds.Artifact(ds.Runs[0].ID, "manifest.json")
	require.Equal(t, b, buf.Bytes())
}

func BenchmarkGenerateHuge(b *testing.B) {
	if testing.Short() {
		b.Skip("huge generation skipped in -short mode")
	}
	cfg := DefaultGenConfig()
	cfg.Projects, cfg.EnvironmentsPerProject, cfg.RunsPerJob = 1, 1, 1
	cfg.Models, cfg.TestsPerModel, cfg.CompiledCodeBytes = 11_000, 3, 6_000
	cfg.ArtifactCacheBytes = -1
	for b.Loop() {
		ds := Generate(cfg)
		n := &countWriter{}
		ok, err := ds.WriteArtifact(n, ds.Runs[0].ID, 0, "manifest.json")
		if err != nil || !ok {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n.n)/(1<<20), "manifest-MiB")
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
