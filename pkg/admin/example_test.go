package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

// List an account's projects. The example serves a one-project account
// from a local server; against dbt Cloud, pass the account's access URL,
// e.g. https://ab123.us1.dbt.com.
func ExampleClient_Projects() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": map[string]any{"code": 200, "is_success": true},
			"data":   []map[string]any{{"id": 1, "name": "jaffle_shop", "created_at": "2021-04-14 20:23:00.395285+00:00"}},
			"extra":  map[string]any{"pagination": map[string]any{"count": 1, "total_count": 1}},
		})
	}))
	defer srv.Close()

	client, err := admin.NewClient(srv.URL, 42, "dbtc_example", admin.WithHTTPClient(srv.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	for p, err := range client.Projects(context.Background()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.ID, p.Name, p.CreatedAt.Format("2006-01-02"))
	}
	discovery, _ := admin.DiscoveryURL("https://ab123.us1.dbt.com")
	fmt.Println(discovery)
	// Output:
	// 1 jaffle_shop 2021-04-14
	// https://ab123.metadata.us1.dbt.com/graphql
}
