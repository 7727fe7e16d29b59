package store_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
)

// Open, migrate, and write one environment's snapshot in one transaction.
// (Compiled, not run: it needs a PostgreSQL server.)
func ExampleStore_Apply() {
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres://crawler@localhost:5432/catalog", store.Options{ArchiveAfter: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	snap := &catalog.Snapshot{
		Scope:    catalog.Scope{AccountID: 1, ProjectID: 2, EnvironmentID: 3, ProjectName: "shop", EnvironmentName: "prod"},
		Complete: true,
		Assets:   []catalog.Asset{{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Name: "orders"}},
	}
	res, err := st.Apply(ctx, snap, &store.CrawlRecord{Status: "succeeded"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Inserted, "inserted,", res.Unchanged, "unchanged")
}
