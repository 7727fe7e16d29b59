package catalog_test

import (
	"bytes"
	"cmp"
	"slices"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// generatedDocs returns the manifest.json and catalog.json of the newest
// run that generated docs in a dataset generated from cfg.
func generatedDocs(tb testing.TB, cfg dbtcloudtest.GenConfig) (manifest, catalogDoc []byte) {
	tb.Helper()
	ds := dbtcloudtest.Generate(cfg)
	runs := slices.Clone(ds.Runs)
	slices.SortFunc(runs, func(a, b dbtcloudtest.Run) int { return cmp.Compare(b.ID, a.ID) })
	for _, run := range runs {
		if !run.HasDocsGenerated {
			continue
		}
		var m, c bytes.Buffer
		okM, err := ds.WriteArtifact(&m, run.ID, 0, "manifest.json")
		if err != nil {
			tb.Fatal(err)
		}
		okC, err := ds.WriteArtifact(&c, run.ID, 0, "catalog.json")
		if err != nil {
			tb.Fatal(err)
		}
		if okM && okC {
			return m.Bytes(), c.Bytes()
		}
	}
	tb.Fatal("the generated dataset has no run with docs")
	return nil, nil
}

// accountDocs generates the artifacts of one environment shaped like the
// account benchmark's: 1,000 models with 20 columns and 3 tests each.
func accountDocs(tb testing.TB) (manifest, catalogDoc []byte) {
	cfg := dbtcloudtest.DefaultGenConfig()
	cfg.Seed = 20240301
	cfg.Projects, cfg.EnvironmentsPerProject = 1, 1
	cfg.Models, cfg.ColumnsPerModel, cfg.TestsPerModel = 1000, 20, 3
	cfg.Seeds, cfg.Snapshots, cfg.Exposures = 20, 20, 10
	cfg.RunsPerJob = 1
	cfg.ArtifactCacheBytes = -1
	return generatedDocs(tb, cfg)
}

// BenchmarkAddManifest adds a generated 1,000-model manifest.json to a
// new Builder.
func BenchmarkAddManifest(b *testing.B) {
	doc, _ := accountDocs(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
		if err := bl.AddManifest(bytes.NewReader(doc), catalog.Provenance{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCatalog adds the catalog.json of a generated 1,000-model
// project to a new Builder.
func BenchmarkAddCatalog(b *testing.B) {
	_, doc := accountDocs(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		bl := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
		if err := bl.AddCatalog(bytes.NewReader(doc)); err != nil {
			b.Fatal(err)
		}
	}
}
