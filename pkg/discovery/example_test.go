package discovery_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
)

func Example() {
	// An emulated Discovery API with one environment holding two models.
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ds := &dbtcloudtest.Dataset{Applied: map[int64]*dbtcloudtest.AppliedState{
		42: {AdapterType: "postgres", DbtProjectName: "shop", LastUpdatedAt: at, Snapshot: &catalog.Snapshot{
			Assets: []catalog.Asset{
				{UniqueID: "model.shop.customers", Type: catalog.TypeModel, Name: "customers", LastRunStatus: "success", LastRunAt: at},
				{UniqueID: "model.shop.orders", Type: catalog.TypeModel, Name: "orders", LastRunStatus: "error", LastRunAt: at},
			},
			Edges: []catalog.Edge{{Upstream: "model.shop.orders", Downstream: "model.shop.customers"}},
		}},
	}}
	srv := httptest.NewServer(dbtcloudtest.NewGraphQLHandler(ds, dbtcloudtest.GraphQLOptions{Tokens: []string{"secret"}}))
	defer srv.Close()

	client, err := discovery.NewClient(srv.URL+"/graphql", "secret",
		discovery.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	snap, err := client.AppliedState(context.Background(), 42)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snap.AdapterType, snap.Scope.ProjectName, snap.Complete)
	for _, a := range snap.Assets {
		fmt.Println(a.UniqueID, a.LastRunStatus)
	}
	for _, e := range snap.Edges {
		fmt.Println(e.Upstream, "->", e.Downstream)
	}
	// Output:
	// postgres shop true
	// model.shop.customers success
	// model.shop.orders error
	// model.shop.orders -> model.shop.customers
}
