package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testAccount = 4242
	testToken   = "dbtc_TestTokenValue1234567890"
)

// fakeSleep records waits and returns at once (or with ctx's error).
type fakeSleep struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	return nil
}

func (f *fakeSleep) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// api is a test server plus a client pointed at it. Retries go through a
// transport whose waits are recorded, not slept.
type api struct {
	srv      *httptest.Server
	client   *admin.Client
	tr       *transport.Transport
	sleep    *fakeSleep
	requests atomic.Int64
	mu       sync.Mutex
	queries  []string
	paths    []string
}

func newAPI(t testing.TB, h http.HandlerFunc, opts ...admin.Option) *api {
	t.Helper()
	a := &api{sleep: &fakeSleep{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		a.mu.Lock()
		a.queries = append(a.queries, r.URL.RawQuery)
		a.paths = append(a.paths, r.URL.Path)
		a.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Token "+testToken {
			writeEnvelope(w, 401, nil, `"Invalid token."`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(a.srv.Close)
	a.tr = transport.New(a.srv.Client().Transport, transport.Options{
		Name:  "admin",
		Sleep: a.sleep.Sleep,
		Rand:  rand.New(rand.NewPCG(7, 7)),
	})
	t.Cleanup(a.tr.CloseIdleConnections)
	all := append([]admin.Option{
		admin.WithHTTPClient(&http.Client{Transport: a.tr, Timeout: time.Minute}),
		admin.WithLogger(zaptest.NewLogger(t)),
	}, opts...)
	c, err := admin.NewClient(a.srv.URL, testAccount, testToken, all...)
	require.NoError(t, err)
	a.client = c
	return a
}

func (a *api) Queries() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.queries...)
}

func (a *api) Paths() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.paths...)
}

// writeEnvelope writes a dbt Cloud envelope; userMessage is raw JSON.
func writeEnvelope(w http.ResponseWriter, code int, data any, userMessage string, extra ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	env := map[string]any{
		"status": map[string]any{
			"code": code, "is_success": code < 300,
			"user_message": json.RawMessage(userMessage), "developer_message": "",
		},
		"data": data,
	}
	if len(extra) > 0 {
		env["extra"] = extra[0]
	}
	_ = json.NewEncoder(w).Encode(env)
}

// pager serves items with limit/offset like the Admin API. withTotal adds
// extra.pagination.
func pager(items []map[string]any, withTotal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 || limit > 100 {
			limit = 100
		}
		end := min(offset+limit, len(items))
		page := []map[string]any{}
		if offset < len(items) {
			page = items[offset:end]
		}
		var extra []any
		if withTotal {
			extra = append(extra, map[string]any{
				"filters":    map[string]any{"limit": limit, "offset": offset},
				"order_by":   "id",
				"pagination": map[string]any{"count": len(page), "total_count": len(items)},
			})
		}
		writeEnvelope(w, 200, page, `"Success!"`, extra...)
	}
}

func items(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{
			"id": int64(1000 + i), "account_id": testAccount, "project_id": 7, "environment_id": 9,
			"name": fmt.Sprintf("item %d", i), "status": 10, "created_at": "2021-12-07 10:32:24.326116+00:00",
		}
	}
	return out
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, error) {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func TestPagination(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		withTotal bool
		requests  int64
	}{
		{name: "no items", n: 0, withTotal: true, requests: 1},
		{name: "one item", n: 1, withTotal: true, requests: 1},
		{name: "exactly one page", n: 100, withTotal: true, requests: 1},
		{name: "one past a page", n: 101, withTotal: true, requests: 2},
		{name: "two and a half pages", n: 250, withTotal: true, requests: 3},
		{name: "full page without total needs an empty page", n: 100, withTotal: false, requests: 2},
		{name: "short page without total stops", n: 250, withTotal: false, requests: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, pager(items(tt.n), tt.withTotal))
			runs, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{}))
			require.NoError(t, err)
			require.Len(t, runs, tt.n)
			for i, r := range runs {
				require.Equal(t, int64(1000+i), r.ID)
				require.Equal(t, admin.RunStatusSuccess, r.Status)
			}
			require.Equal(t, tt.requests, a.requests.Load())
			for i, q := range a.Queries() {
				require.Contains(t, q, "limit=100")
				require.Contains(t, q, "offset="+strconv.Itoa(i*100))
				require.Contains(t, q, "order_by=id")
			}
		})
	}
}

func TestPaginationEveryList(t *testing.T) {
	a := newAPI(t, pager(items(130), true))
	projects, err := collect(t, a.client.Projects(t.Context()))
	require.NoError(t, err)
	require.Len(t, projects, 130)
	envs, err := collect(t, a.client.Environments(t.Context(), 7))
	require.NoError(t, err)
	require.Len(t, envs, 130)
	jobs, err := collect(t, a.client.Jobs(t.Context(), admin.JobFilter{ProjectID: 7, EnvironmentID: 9}))
	require.NoError(t, err)
	require.Len(t, jobs, 130)
	require.EqualValues(t, 6, a.requests.Load())
	paths := a.Paths()
	require.Equal(t, "/api/v3/accounts/4242/projects/", paths[0])
	require.Equal(t, "/api/v3/accounts/4242/projects/7/environments/", paths[2])
	require.Equal(t, "/api/v2/accounts/4242/jobs/", paths[4])
	require.Contains(t, a.Queries()[4], "project_id=7")
	require.Contains(t, a.Queries()[4], "environment_id=9")
}

func TestPaginationEarlyBreakStopsRequests(t *testing.T) {
	a := newAPI(t, pager(items(1000), true))
	n := 0
	for _, err := range a.client.Runs(t.Context(), admin.RunFilter{}) {
		require.NoError(t, err)
		n++
		if n == 150 {
			break
		}
	}
	require.Equal(t, 150, n)
	require.EqualValues(t, 2, a.requests.Load())
}

func TestRunsLimitShrinksPage(t *testing.T) {
	a := newAPI(t, pager(items(50), true))
	runs, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{JobID: 3, Status: admin.RunStatusSuccess, OrderBy: "-id", Limit: 1}))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.EqualValues(t, 1, a.requests.Load())
	q := a.Queries()[0]
	for _, want := range []string{"limit=1", "job_definition_id=3", "status=10", "order_by=-id"} {
		require.Contains(t, q, want)
	}
}

func TestRunsFilterParameters(t *testing.T) {
	a := newAPI(t, pager(nil, true))
	yes, no := true, false
	_, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{
		JobID: 1, EnvironmentID: 2, ProjectID: 3, HasDocsGenerated: &yes, HasSourcesGenerated: &no,
		IDGreaterThan: 99, IncludeRelated: []string{"trigger", "job"},
	}))
	require.NoError(t, err)
	got := a.Queries()[0]
	for _, want := range []string{
		"job_definition_id=1", "environment_id=2", "project_id=3", "has_docs_generated=true",
		"has_sources_generated=false", "id__gt=99", "order_by=id",
		"include_related=%5B%22trigger%22%2C%22job%22%5D",
	} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, "status=")
}

func TestPaginationGuards(t *testing.T) {
	t.Run("server ignoring offset is stopped", func(t *testing.T) {
		all := items(300)
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeEnvelope(w, 200, all[:100], `"Success!"`, map[string]any{"pagination": map[string]any{"count": 100, "total_count": 300}})
		})
		got, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{}))
		require.ErrorContains(t, err, "repeats the previous page")
		require.Len(t, got, 100)
		require.EqualValues(t, 2, a.requests.Load())
	})
	t.Run("a total that keeps growing hits the page cap", func(t *testing.T) {
		var served atomic.Int64
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			page := items(offset + 100)[offset:]
			served.Add(1)
			writeEnvelope(w, 200, page, `"Success!"`, map[string]any{"pagination": map[string]any{"count": 100, "total_count": offset + 1000}})
		}, admin.WithMaxPages(5))
		got, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{}))
		require.ErrorContains(t, err, "still more results after 5 pages")
		require.Len(t, got, 500)
		require.EqualValues(t, 5, served.Load())
	})
	t.Run("a shrinking total ends the listing", func(t *testing.T) {
		all := items(250)
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			total := 250
			if offset > 0 {
				total = 150 // items were deleted after the first page
			}
			end := min(offset+100, total)
			writeEnvelope(w, 200, all[offset:end], `"Success!"`, map[string]any{"pagination": map[string]any{"count": end - offset, "total_count": total}})
		})
		got, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{}))
		require.NoError(t, err)
		require.Len(t, got, 150)
		require.EqualValues(t, 2, a.requests.Load())
	})
	t.Run("items shifted by inserts are not yielded twice", func(t *testing.T) {
		all := items(150)
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			if offset == 100 {
				// A new run arrived at the front: page two starts one item early.
				writeEnvelope(w, 200, all[99:150], `"Success!"`, map[string]any{"pagination": map[string]any{"count": 51, "total_count": 151}})
				return
			}
			writeEnvelope(w, 200, all[:100], `"Success!"`, map[string]any{"pagination": map[string]any{"count": 100, "total_count": 150}})
		})
		got, err := collect(t, a.client.Runs(t.Context(), admin.RunFilter{}))
		require.NoError(t, err)
		require.Len(t, got, 150)
		seen := map[int64]bool{}
		for _, r := range got {
			require.False(t, seen[r.ID], "run %d yielded twice", r.ID)
			seen[r.ID] = true
		}
	})
	t.Run("null data is an empty page", func(t *testing.T) {
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeEnvelope(w, 200, nil, `"Success!"`)
		})
		got, err := collect(t, a.client.Projects(t.Context()))
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("error on a later page is yielded once and ends the listing", func(t *testing.T) {
		all := items(250)
		a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("offset") == "100" {
				writeEnvelope(w, 404, nil, `"Not found"`)
				return
			}
			pager(all, true)(w, r)
		})
		var errs []error
		n := 0
		for _, err := range a.client.Runs(t.Context(), admin.RunFilter{}) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		require.Equal(t, 100, n)
		require.Len(t, errs, 1)
		require.True(t, admin.IsNotFound(errs[0]))
		require.ErrorContains(t, errs[0], "list runs (offset 100)")
	})
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		contentTyp string
		kind       admin.ErrorKind
		sentinel   error
		contains   []string
	}{
		{
			name: "401 invalid token names the access URL", status: 401,
			body: `{"status": {"code": 401, "is_success": false, "user_message": "Invalid token.", "developer_message": null}, "data": null}`,
			kind: admin.KindUnauthorized, sentinel: admin.ErrUnauthorized,
			contains: []string{"token rejected", "https://ab123.us1.dbt.com", "DBT_CLOUD_ACCESS_URL", `"Invalid token."`},
		},
		{
			name: "401 without is_success or data", status: 401,
			body: `{"status": {"code": 401, "user_message": "Invalid token."}}`,
			kind: admin.KindUnauthorized, sentinel: admin.ErrUnauthorized,
			contains: []string{"token rejected"},
		},
		{
			name: "403 IP allow-list carries the user message", status: 403,
			body: `{"status": {"code": 403, "is_success": false, "user_message": "Forbidden: Access denied", "developer_message": null}, "data": {"account_id": 1, "user_id": 2, "is_service_token": true, "account_access_denied": true}}`,
			kind: admin.KindForbidden, sentinel: admin.ErrForbidden,
			contains: []string{"allow-list", "permission", "Forbidden: Access denied"},
		},
		{
			name: "404 may mean no permission", status: 404,
			body: `{"status": {"code": 404, "is_success": false, "user_message": "The requested resource was not found. Please check that you have the proper permissions."}}`,
			kind: admin.KindNotFound, sentinel: admin.ErrNotFound,
			contains: []string{"not found, or the token has no permission"},
		},
		{
			name: "429 rate limited", status: 429, body: ``,
			kind: admin.KindRateLimited, sentinel: admin.ErrRateLimited,
			contains: []string{"rate limited", "5,000"},
		},
		{
			name: "500 server error", status: 500,
			body: `{"status": {"code": 500, "is_success": false, "user_message": "Something went wrong", "developer_message": "trace id abc"}}`,
			kind: admin.KindServer, sentinel: admin.ErrServer,
			contains: []string{"server error", "Something went wrong", "trace id abc"},
		},
		{
			name: "502 HTML page is reduced to its title", status: 502, contentTyp: "text/html",
			body: "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx</p>", 500) + "</body></html>",
			kind: admin.KindServer, sentinel: admin.ErrServer,
			contains: []string{`(body: "502 Bad Gateway")`},
		},
		{
			name: "HTML without a title is stripped and truncated", status: 503, contentTyp: "text/html",
			body: "<html><body><h1>Down   for maintenance</h1>" + strings.Repeat("x", 1000) + "</body></html>",
			kind: admin.KindServer, sentinel: admin.ErrServer,
			contains: []string{`(body: "Down for maintenance xxx`, `…")`},
		},
		{
			name: "400 bad request", status: 400,
			body:     `{"status": {"code": 400, "is_success": false, "user_message": "Invalid filter"}, "data": null}`,
			kind:     admin.KindBadRequest,
			contains: []string{"request rejected", "Invalid filter"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentTyp != "" {
					w.Header().Set("Content-Type", tt.contentTyp)
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := a.client.Account(t.Context())
			require.Error(t, err)
			var apiErr *admin.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tt.status, apiErr.StatusCode)
			require.Equal(t, tt.kind, apiErr.Kind)
			require.Equal(t, "GET /api/v2/accounts/{id}/", apiErr.Endpoint)
			if tt.sentinel != nil {
				require.ErrorIs(t, err, tt.sentinel)
			}
			require.Equal(t, tt.kind == admin.KindNotFound, admin.IsNotFound(err))
			require.Equal(t, tt.kind == admin.KindUnauthorized, admin.IsUnauthorized(err))
			require.Equal(t, tt.kind == admin.KindForbidden, admin.IsForbidden(err))
			require.Equal(t, tt.kind == admin.KindRateLimited, admin.IsRateLimited(err))
			for _, want := range tt.contains {
				require.Contains(t, err.Error(), want)
			}
			require.LessOrEqual(t, len(apiErr.Body), 210)
		})
	}
}

func TestCheckResponseAcceptsSuccess(t *testing.T) {
	for _, code := range []int{200, 201, 204} {
		require.NoError(t, admin.CheckResponse(&http.Response{StatusCode: code, Body: http.NoBody}))
	}
	err := admin.CheckResponse(&http.Response{StatusCode: 418, Body: io.NopCloser(strings.NewReader("short and stout"))})
	var apiErr *admin.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, admin.KindBadRequest, apiErr.Kind)
	require.Equal(t, "short and stout", apiErr.Body)
}

func TestFailedEnvelopeOnSuccessStatus(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status": {"code": 404, "is_success": false, "user_message": "Account not found"}, "data": null}`)
	})
	_, err := a.client.Account(t.Context())
	require.True(t, admin.IsNotFound(err))
	require.ErrorContains(t, err, "Account not found")
}

func TestNonJSONSuccessBody(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><title>Sign in</title></html>")
	})
	_, err := a.client.Account(t.Context())
	require.ErrorContains(t, err, "response is text/html, not a JSON envelope")
}

func TestRetryAfterThroughTransport(t *testing.T) {
	var calls atomic.Int64
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "3")
			writeEnvelope(w, 429, nil, `"Too many requests"`)
			return
		}
		writeEnvelope(w, 200, map[string]any{"id": testAccount, "name": "Acme"}, `"Success!"`)
	})
	acct, err := a.client.Account(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Acme", acct.Name)
	require.Equal(t, []time.Duration{3 * time.Second}, a.sleep.Sleeps())
	st := a.client.Transport().Stats()
	require.EqualValues(t, 1, st.RateLimited)
	require.EqualValues(t, 1, st.Retries)
	require.EqualValues(t, 1, st.Responses[transport.EndpointStatus{Endpoint: "GET /api/v2/accounts/{id}/", Status: 429}])
}

func TestServerErrorsRetriedThenReported(t *testing.T) {
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 503, nil, `"Service unavailable"`)
	})
	_, err := a.client.Account(t.Context())
	require.ErrorIs(t, err, admin.ErrServer)
	require.EqualValues(t, transport.DefaultMaxRetries+1, a.requests.Load())
}

func TestTokenNeverInErrors(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch r.URL.Query().Get("offset") {
		case "":
			writeEnvelope(w, 400, nil, strconv.Quote("bad header "+auth))
		default:
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "<html><body>header was "+auth+"</body></html>")
		}
	}
	a := newAPI(t, echo)
	_, err := a.client.Account(t.Context())
	require.Error(t, err)
	require.NotContains(t, err.Error(), testToken)
	require.Contains(t, err.Error(), "[REDACTED]")
	var apiErr *admin.APIError
	require.ErrorAs(t, err, &apiErr)
	require.NotContains(t, apiErr.UserMessage, testToken)

	_, err = collect(t, a.client.Projects(t.Context()))
	require.Error(t, err)
	require.NotContains(t, err.Error(), testToken)

	// A token without a recognisable prefix is redacted by value.
	const plain = "plainSecretToken987654321"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 403, nil, strconv.Quote("denied for "+r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	c, err := admin.NewClient(srv.URL, 1, plain, admin.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	_, err = c.Account(t.Context())
	require.ErrorIs(t, err, admin.ErrForbidden)
	require.NotContains(t, err.Error(), plain)
	require.Equal(t, "x [REDACTED] y", c.Redact("x "+plain+" y"))

	// Network errors carry the URL, never headers.
	srv.Close()
	_, err = c.Account(t.Context())
	require.Error(t, err)
	require.NotContains(t, err.Error(), plain)
}

func TestNewClientValidation(t *testing.T) {
	_, err := admin.NewClient("http://cloud.getdbt.com", 0, "bad token\n")
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "DBT_CLOUD_ACCESS_URL")
	require.Contains(t, msg, "DBT_CLOUD_ACCOUNT_ID")
	require.Contains(t, msg, "DBT_CLOUD_TOKEN contains spaces")
	require.NotContains(t, msg, "bad token")

	_, err = admin.NewClient("https://ab123.us1.dbt.com", 1, "")
	require.ErrorContains(t, err, "DBT_CLOUD_TOKEN is empty")

	c, err := admin.NewClient("https://AB123.us1.dbt.com/", 1, testToken)
	require.NoError(t, err)
	require.Equal(t, "https://ab123.us1.dbt.com", c.AccessURL().URL)
	require.EqualValues(t, 1, c.AccountID())
	require.NotNil(t, c.Transport(), "the default client has the retrying transport")
	c.Transport().CloseIdleConnections()

	c, err = admin.NewClient("https://ab123.us1.dbt.com", 1, testToken, admin.WithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	require.Nil(t, c.Transport())
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	a := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		writeEnvelope(w, 200, map[string]any{"id": testAccount}, `"Success!"`)
	}, admin.WithUserAgent("crawler-test/1.0"))
	_, err := a.client.Account(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Token "+testToken, got.Get("Authorization"))
	require.Equal(t, "application/json", got.Get("Accept"))
	require.Equal(t, "crawler-test/1.0", got.Get("User-Agent"))
}

func TestCancelledContext(t *testing.T) {
	a := newAPI(t, pager(items(10), true))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := a.client.Account(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = collect(t, a.client.Runs(ctx, admin.RunFilter{}))
	require.True(t, errors.Is(err, context.Canceled))
	require.Zero(t, a.requests.Load())
}
