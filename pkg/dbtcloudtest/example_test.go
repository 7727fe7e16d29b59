package dbtcloudtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func Example() {
	ds := dbtcloudtest.Generate(dbtcloudtest.DefaultGenConfig())
	srv := dbtcloudtest.NewServer(ds)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v3/accounts/%d/projects/", srv.URL, ds.Account.ID), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", "Token "+dbtcloudtest.DefaultToken)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range body.Data {
		fmt.Println(p.ID, p.Name)
	}
	// Output:
	// 100001 analytics
	// 100002 marketing
}
