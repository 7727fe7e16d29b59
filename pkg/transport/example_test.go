package transport_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// A client whose transport stays under the Admin API budget and retries a
// 503 once the server's Retry-After has passed.
func ExampleNew() {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"status":{"code":200,"is_success":true}}`)
	}))
	defer srv.Close()

	tr := transport.New(srv.Client().Transport, transport.Options{
		Name:   "admin",
		Budget: transport.AdminBudget(),
	})
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	resp, err := client.Get(srv.URL + "/api/v2/accounts/1/")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	st := tr.Stats()
	fmt.Println(resp.StatusCode, st.Requests, st.Retries)
	// Output: 200 2 1
}
