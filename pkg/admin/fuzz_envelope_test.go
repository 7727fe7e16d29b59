package admin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
)

// fuzzToken is the token the fuzzed client sends; bodies may echo it.
const fuzzToken = "dbtc_FUZZsecretTOKEN0123456789"

// FuzzAdminEnvelope feeds arbitrary status codes and bodies to
// CheckResponse and to a client listing projects. Neither may panic or
// loop; CheckResponse must accept exactly the 2xx statuses; every error
// must be an *APIError for non-2xx answers and must never contain the
// token, even when the body echoes it.
func FuzzAdminEnvelope(f *testing.F) {
	for _, s := range []struct {
		code int
		body string
	}{
		{200, `{"status":{"code":200,"is_success":true},"data":[{"id":1,"name":"a"}],"extra":{"pagination":{"count":1,"total_count":1}}}`},
		{200, `{"status":{"code":200,"is_success":true},"data":[{"id":1},{"id":2}],"extra":{"pagination":{"count":2,"total_count":400}}}`},
		{200, `{"status":{"code":404,"is_success":false,"user_message":"gone"},"data":null}`},
		{200, `{"data":{"id":1}}`},
		{200, `{"data":[{"id":"x"}]}`},
		{200, `[1,2,3]`},
		{200, `{"status": {"code": 200, "is_success": true, "user_message": "Success!"}, "data": [{"id": 1,}]`},
		{401, `{"status":{"code":401,"is_success":false,"user_message":"Invalid token ` + fuzzToken + `"}}`},
		{403, `{"status":{"code":403,"is_success":false,"developer_message":"` + fuzzToken + `"}}`},
		{429, `Too many requests`},
		{500, ``},
		{502, `<html><head><title>502 Bad Gateway</title></head><body>` + fuzzToken + `</body></html>`},
		{302, ``},
		{999, `{"status":null}`},
	} {
		f.Add(s.code, []byte(s.body))
	}

	var (
		mu   sync.Mutex
		code int
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c, b := code, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c)
		w.Write(b)
	}))
	f.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client, err := admin.NewClient(srv.URL, 1, fuzzToken, admin.WithHTTPClient(hc), admin.WithMaxPages(5))
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, status int, data []byte) {
		// net/http only writes three-digit statuses above 199.
		status = 200 + (abs(status) % 400)
		checkResponseGate(t, status, data)

		mu.Lock()
		code, body = status, data
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n := 0
		for _, err := range client.Projects(ctx) {
			if err != nil {
				if strings.Contains(err.Error(), fuzzToken) {
					t.Fatalf("list error contains the token: %v", err)
				}
				break
			}
			if n++; n > 5*100 {
				t.Fatalf("listing yielded more than the page bound allows")
			}
		}
	})
}

func checkResponseGate(t *testing.T, status int, data []byte) {
	u, _ := url.Parse("https://ab123.us1.dbt.com/api/v3/accounts/1/projects/?limit=100")
	resp := &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(data)),
		Request:    &http.Request{Method: http.MethodGet, URL: u},
	}
	err := admin.CheckResponse(resp)
	ok := status >= 200 && status < 300
	if ok != (err == nil) {
		t.Fatalf("CheckResponse(%d) = %v", status, err)
	}
	if err == nil {
		return
	}
	apiErr, isAPI := err.(*admin.APIError)
	if !isAPI || apiErr.StatusCode != status {
		t.Fatalf("CheckResponse(%d) returned %T %v, want an *APIError with the status", status, err, err)
	}
	if strings.Contains(err.Error(), fuzzToken) {
		t.Fatalf("error echoes a token-shaped value: %v", err)
	}
	if len(apiErr.Body) > 1024 || len(apiErr.UserMessage) > 1024 || len(apiErr.DeveloperMessage) > 1024 {
		t.Fatalf("error keeps an unbounded part of the body: %d/%d/%d bytes", len(apiErr.Body), len(apiErr.UserMessage), len(apiErr.DeveloperMessage))
	}
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}
