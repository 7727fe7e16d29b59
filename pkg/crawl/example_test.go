package crawl_test

import (
	"fmt"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

// Merge lays the artifacts under the Discovery applied state: applied
// values win, artifacts fill what Discovery lacks.
func ExampleMerge() {
	scope := catalog.Scope{AccountID: 1, ProjectID: 2, EnvironmentID: 3}
	applied := &catalog.Snapshot{Assets: []catalog.Asset{{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Owner: "data-eng"}}}
	artifacts := &catalog.Snapshot{
		Assets: []catalog.Asset{
			{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Description: "One row per order", Owner: "someone-else"},
			{UniqueID: "metric.shop.revenue", Type: catalog.TypeMetric},
		},
		Columns: []catalog.Column{{AssetUniqueID: "model.shop.orders", Name: "id", Description: "Order key"}},
	}
	snap := crawl.Merge(scope, applied, artifacts)
	for _, a := range snap.Assets {
		fmt.Printf("%s owner=%q description=%q\n", a.UniqueID, a.Owner, a.Description)
	}
	fmt.Println(len(snap.Columns), "column")
	// Output:
	// metric.shop.revenue owner="" description=""
	// model.shop.orders owner="data-eng" description="One row per order"
	// 1 column
}
