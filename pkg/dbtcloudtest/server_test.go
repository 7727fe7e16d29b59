package dbtcloudtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type listBody struct {
	Status struct {
		Code      int  `json:"code"`
		IsSuccess bool `json:"is_success"`
	} `json:"status"`
	Data  []map[string]any `json:"data"`
	Extra struct {
		Filters    map[string]any `json:"filters"`
		OrderBy    *string        `json:"order_by"`
		Pagination struct {
			Count      int `json:"count"`
			TotalCount int `json:"total_count"`
		} `json:"pagination"`
	} `json:"extra"`
}

func get(t *testing.T, srv *Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func getList(t *testing.T, srv *Server, path string) listBody {
	t.Helper()
	resp, b := get(t, srv, path, "Token "+DefaultToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var l listBody
	require.NoError(t, json.Unmarshal(b, &l))
	return l
}

func datasetWithRuns(n int) *Dataset {
	ds := &Dataset{Account: Account{ID: 1, Name: "a"}}
	for i := range n {
		ds.Runs = append(ds.Runs, Run{ID: int64(i + 1), AccountID: 1, JobID: int64(1 + i%3), Status: 10,
			CreatedAt: baseTime.Add(time.Duration(n-i) * time.Minute), FinishedAt: baseTime.Add(time.Duration(n-i) * time.Minute)})
	}
	return ds
}

func TestPagination(t *testing.T) {
	for _, n := range []int{0, 1, 100, 101, 250} {
		t.Run(fmt.Sprintf("%d runs", n), func(t *testing.T) {
			srv := NewServer(datasetWithRuns(n))
			defer srv.Close()
			var ids []int64
			for offset := 0; ; {
				l := getList(t, srv, fmt.Sprintf("/api/v2/accounts/1/runs/?limit=100&offset=%d", offset))
				require.Equal(t, n, l.Extra.Pagination.TotalCount)
				require.Equal(t, len(l.Data), l.Extra.Pagination.Count)
				require.EqualValues(t, 100, l.Extra.Filters["limit"])
				for _, r := range l.Data {
					ids = append(ids, int64(r["id"].(float64)))
				}
				offset += len(l.Data)
				if len(l.Data) == 0 || offset >= l.Extra.Pagination.TotalCount {
					break
				}
			}
			require.Len(t, ids, n)
			for i := range ids {
				require.EqualValues(t, i+1, ids[i], "default order is id ascending")
			}
		})
	}
	t.Run("limit above 100 is refused", func(t *testing.T) {
		srv := NewServer(datasetWithRuns(3))
		defer srv.Close()
		resp, _ := get(t, srv, "/api/v2/accounts/1/runs/?limit=101", "Token "+DefaultToken)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

func TestRunFilters(t *testing.T) {
	ds := Generate(DefaultGenConfig())
	srv := NewServer(ds)
	defer srv.Close()
	a := ds.Account.ID
	job := ds.Jobs[0]
	count := func(pred func(Run) bool) int {
		n := 0
		for _, r := range ds.Runs {
			if pred(r) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name  string
		query string
		want  int
		first int64
	}{
		{"job", fmt.Sprintf("job_definition_id=%d", job.ID), count(func(r Run) bool { return r.JobID == job.ID }), 0},
		{"environment", fmt.Sprintf("environment_id=%d", job.EnvironmentID), count(func(r Run) bool { return r.EnvironmentID == job.EnvironmentID }), 0},
		{"project", fmt.Sprintf("project_id=%d", job.ProjectID), count(func(r Run) bool { return r.ProjectID == job.ProjectID }), 0},
		{"status", "status=10", count(func(r Run) bool { return r.Status == 10 }), 0},
		{"status__in JSON", "status__in=[10,20]", len(ds.Runs), 0},
		{"status__in comma", "status__in=20", count(func(r Run) bool { return r.Status == 20 }), 0},
		{"docs", "has_docs_generated=true", count(func(r Run) bool { return r.HasDocsGenerated }), 0},
		{"id__gt", fmt.Sprintf("id__gt=%d", ds.Runs[9].ID), len(ds.Runs) - 10, ds.Runs[10].ID},
		{"newest first", "order_by=-id&limit=1", len(ds.Runs), ds.Runs[len(ds.Runs)-1].ID},
		{"latest finished", "order_by=-finished_at&limit=1", len(ds.Runs), ds.Runs[len(ds.Runs)-1].ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := getList(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/?%s", a, tc.query))
			require.Equal(t, tc.want, l.Extra.Pagination.TotalCount)
			if tc.first != 0 {
				require.EqualValues(t, tc.first, l.Data[0]["id"])
			}
		})
	}
	t.Run("jobs by environment", func(t *testing.T) {
		l := getList(t, srv, fmt.Sprintf("/api/v2/accounts/%d/jobs/?environment_id=%d", a, job.EnvironmentID))
		require.Equal(t, 3, l.Extra.Pagination.TotalCount)
	})
	t.Run("production environments", func(t *testing.T) {
		l := getList(t, srv, fmt.Sprintf("/api/v3/accounts/%d/projects/%d/environments/?deployment_type=production", a, job.ProjectID))
		require.Equal(t, 1, l.Extra.Pagination.TotalCount)
	})
	t.Run("bad order_by is refused", func(t *testing.T) {
		resp, _ := get(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/?order_by=name", a), "Token "+DefaultToken)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("run steps", func(t *testing.T) {
		resp, b := get(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/?include_related=[\"run_steps\"]", a, ds.Runs[0].ID), "Token "+DefaultToken)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var body struct {
			Data struct {
				RunSteps []map[string]any `json:"run_steps"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(b, &body))
		require.Len(t, body.Data.RunSteps, len(ds.Runs[0].Steps))
	})
	t.Run("artifact bytes", func(t *testing.T) {
		resp, b := get(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/artifacts/manifest.json", a, ds.Runs[0].ID), "Token "+DefaultToken)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		want, _ := ds.Artifact(ds.Runs[0].ID, "manifest.json")
		require.Equal(t, want, b)
		resp, _ = get(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/%d/artifacts/catalog.json", a, ds.Runs[1].ID), "Token "+DefaultToken)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

func TestAuth(t *testing.T) {
	srv := NewServer(datasetWithRuns(1), WithTokens("secret-a"))
	defer srv.Close()
	tests := []struct {
		name, header string
		want         int
	}{
		{"token scheme", "Token secret-a", 200},
		{"bearer scheme", "Bearer secret-a", 200},
		{"missing header", "", 401},
		{"no scheme", "secret-a", 401},
		{"wrong token", "Token secret-b", 401},
		{"metadata only", "Token " + MetadataOnlyToken, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := get(t, srv, "/api/v2/accounts/1/runs/", tc.header)
			require.Equal(t, tc.want, resp.StatusCode)
			require.NotContains(t, string(b), "secret-")
		})
	}
	t.Run("other account is 404", func(t *testing.T) {
		resp, _ := get(t, srv, "/api/v2/accounts/2/runs/", "Token secret-a")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

func TestFaults(t *testing.T) {
	path := "/api/v2/accounts/1/runs/"
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, resp *http.Response, err error)
	}{
		{"429 with Retry-After", Fault{Kind: FaultRateLimit, RetryAfter: 3 * time.Second}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 429, resp.StatusCode)
			require.Equal(t, "3", resp.Header.Get("Retry-After"))
		}},
		{"429 without Retry-After", Fault{Kind: FaultRateLimitNoRetryAfter}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 429, resp.StatusCode)
			require.Empty(t, resp.Header.Get("Retry-After"))
		}},
		{"500", Fault{Kind: FaultInternalError}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 500, resp.StatusCode)
		}},
		{"502", Fault{Kind: FaultBadGateway}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 502, resp.StatusCode)
		}},
		{"503", Fault{Kind: FaultUnavailable}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 503, resp.StatusCode)
		}},
		{"connection reset", Fault{Kind: FaultConnReset}, func(t *testing.T, resp *http.Response, err error) {
			require.Error(t, err)
		}},
		{"truncated body", Fault{Kind: FaultTruncated}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
		}},
		{"invalid JSON", Fault{Kind: FaultInvalidJSON}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			var v any
			require.Error(t, json.NewDecoder(resp.Body).Decode(&v))
		}},
		{"slow", Fault{Kind: FaultSlow, Delay: time.Millisecond}, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewServer(datasetWithRuns(5))
			defer srv.Close()
			f := tc.fault
			f.PathPrefix, f.Nth = "/api/v2/", 2
			srv.SetFaults(f)
			send := func() (*http.Response, error) {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Token "+DefaultToken)
				return srv.Client().Do(req)
			}
			resp, err := send()
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode, "the first request passes")
			resp.Body.Close()
			resp, err = send()
			tc.check(t, resp, err)
			if resp != nil {
				resp.Body.Close()
			}
			resp, err = send()
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode, "only the Nth request fails")
			resp.Body.Close()
			require.Equal(t, []int{1}, srv.FaultsFired())
			require.Equal(t, 3, srv.Requests()["GET /api/v2/accounts/{account_id}/runs/"])
		})
	}
	t.Run("pattern and rate are reproducible", func(t *testing.T) {
		seq := func() []int {
			srv := NewServer(datasetWithRuns(1), WithFaultSeed(5),
				WithFaults(Fault{Kind: FaultInternalError, Pattern: regexp.MustCompile(`/runs/$`), Rate: 0.5}))
			defer srv.Close()
			var codes []int
			for range 20 {
				resp, _ := get(t, srv, path, "Token "+DefaultToken)
				codes = append(codes, resp.StatusCode)
			}
			return codes
		}
		a := seq()
		require.Equal(t, a, seq())
		require.Contains(t, a, 500)
		require.Contains(t, a, 200)
	})
}

func TestRateLimits(t *testing.T) {
	srv := NewServer(datasetWithRuns(1), WithRateLimits(2, 0))
	defer srv.Close()
	for i := range 2 {
		resp, _ := get(t, srv, "/api/v2/accounts/1/", "Token "+DefaultToken)
		require.Equal(t, 200, resp.StatusCode, "request %d", i)
	}
	resp, _ := get(t, srv, "/api/v2/accounts/1/", "Token "+DefaultToken)
	require.Equal(t, 429, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Positive(t, srv.BytesServed())
	srv.ResetStats()
	require.Zero(t, srv.TotalRequests())
	resp, _ = get(t, srv, "/api/v2/accounts/1/", "Token "+DefaultToken)
	require.Equal(t, 200, resp.StatusCode, "reset opens a new window")
}

func TestConcurrentMutation(t *testing.T) {
	ds := Generate(DefaultGenConfig())
	srv := NewServer(ds)
	defer srv.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			ds.AddRuns(1, 0.1)
		}
	}()
	for range 20 {
		l := getList(t, srv, fmt.Sprintf("/api/v2/accounts/%d/runs/?order_by=-id&limit=1", ds.Account.ID))
		require.Len(t, l.Data, 1)
	}
	<-done
}
