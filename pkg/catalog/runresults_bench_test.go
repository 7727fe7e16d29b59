package catalog_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/internal/sharedtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// generatedRunResults returns every run_results.json of every step of
// every run of a dataset generated from cfg.
func generatedRunResults(tb testing.TB, cfg dbtcloudtest.GenConfig) [][]byte {
	tb.Helper()
	ds := dbtcloudtest.Generate(cfg)
	var docs [][]byte
	for _, run := range ds.Runs {
		for step := range len(run.Steps) {
			var buf bytes.Buffer
			ok, err := ds.WriteArtifact(&buf, run.ID, step+1, "run_results.json")
			if err != nil {
				tb.Fatal(err)
			}
			if ok {
				docs = append(docs, buf.Bytes())
			}
		}
	}
	if len(docs) == 0 {
		tb.Fatal("the generated dataset has no run_results.json")
	}
	return docs
}

// BenchmarkAddRunResults adds run_results.json files to a new Builder:
// a synthetic 20 MB file with large compiled_code, the `dbt build`
// results of a generated 1,000-model project, and the largest corpus file.
func BenchmarkAddRunResults(b *testing.B) {
	add := func(b *testing.B, docs ...[]byte) {
		var n int64
		for _, doc := range docs {
			n += int64(len(doc))
		}
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
			for _, doc := range docs {
				if err := bl.AddRunResults(bytes.NewReader(doc), catalog.Provenance{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("synthetic-20MB", func(b *testing.B) {
		var buf bytes.Buffer
		if err := writeSyntheticRunResults(&buf, 20<<20); err != nil {
			b.Fatal(err)
		}
		add(b, buf.Bytes())
	})
	b.Run("generated-account", func(b *testing.B) {
		cfg := dbtcloudtest.DefaultGenConfig()
		cfg.Seed = 20240301
		cfg.Projects, cfg.EnvironmentsPerProject = 1, 1
		cfg.Models, cfg.ColumnsPerModel, cfg.TestsPerModel = 1000, 20, 3
		cfg.Seeds, cfg.Snapshots, cfg.Exposures = 20, 20, 10
		cfg.RunsPerJob = 1
		cfg.ArtifactCacheBytes = -1
		add(b, generatedRunResults(b, cfg)...)
	})
	b.Run("corpus-largest", func(b *testing.B) {
		doc, err := os.ReadFile(sharedtest.Path(b, "dbt-artifacts", "hubspot_postgres_1.7.18_v11", "run_results.json"))
		if err != nil {
			b.Skipf("largest corpus run_results unavailable: %v", err)
		}
		add(b, doc)
	})
}
