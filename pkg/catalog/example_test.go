package catalog_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Build a snapshot from the four artifacts of one dbt project.
func Example() {
	b := catalog.NewBuilder(catalog.CoreScope("shop", "prod"), catalog.BuildOptions{})
	add := func(name string, fn func(f *os.File) error) {
		f, err := os.Open(filepath.Join("testdata", "shop", name))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer f.Close()
		if err := fn(f); err != nil {
			fmt.Println(err) // an *catalog.ArtifactError naming file, version and offset
		}
	}
	prov := catalog.Provenance{RunID: 100, JobID: 7}
	add("manifest.json", func(f *os.File) error { return b.AddManifest(f, prov) })
	add("catalog.json", func(f *os.File) error { return b.AddCatalog(f) })
	add("run_results.json", func(f *os.File) error { return b.AddRunResults(f, prov) })
	add("sources.json", func(f *os.File) error { return b.AddSources(f, catalog.Provenance{RunID: 99, JobID: 8}) })

	snap := b.Build()
	fmt.Println("adapter:", snap.AdapterType)
	fmt.Println("assets:", len(snap.Assets), "edges:", len(snap.Edges), "test results:", len(snap.TestResults))
	for _, m := range snap.Matches {
		if m.Rule != "" {
			fmt.Printf("%s: %s by %s\n", m.UniqueID, m.Status, m.Rule)
		} else {
			fmt.Printf("%s: %s\n", m.UniqueID, m.Status)
		}
	}
	// Output:
	// adapter: snowflake
	// assets: 15 edges: 15 test results: 4
	// model.shop.legacy_orders: disabled
	// model.shop.order_math: ephemeral
	// model.shop.orders: matched by relation_name
	// model.shop.returns: not_built
	// model.shop.stg_orders: matched by relation_name
	// seed.shop.countries: matched by relation_name
	// snapshot.shop.orders_snapshot: matched by relation_name
	// source.shop.raw.orders: matched by relation_name
}
