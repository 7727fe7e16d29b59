package discovery

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// expectedSnapshot is what the client should return for a dataset: every
// applied asset, column and edge, and only the latest result of each test.
func expectedSnapshot(ds *dbtcloudtest.Dataset) *catalog.Snapshot {
	src := ds.Applied[testEnvID].Snapshot
	want := &catalog.Snapshot{
		Assets: slices.Clone(src.Assets), Columns: slices.Clone(src.Columns), Edges: slices.Clone(src.Edges),
		Freshness: slices.Clone(src.Freshness),
	}
	latest := map[string]catalog.TestResult{}
	for _, r := range src.TestResults {
		if cur, ok := latest[r.TestUniqueID]; !ok || r.ExecutedAt.After(cur.ExecutedAt) {
			latest[r.TestUniqueID] = r
		}
	}
	for _, r := range latest {
		want.TestResults = append(want.TestResults, r)
	}
	sortSnapshot(want)
	return want
}

func TestAppliedStateReturnsTheDataset(t *testing.T) {
	ds := syntheticDataset(sizes{models: 23, sources: 5, seeds: 3, snapshots: 4, exposures: 2})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{}, WithPageSize(7))

	got, err := c.AppliedState(t.Context(), testEnvID)
	require.NoError(t, err)
	want := expectedSnapshot(ds)

	require.True(t, got.Complete)
	require.Equal(t, "snowflake", got.AdapterType)
	require.Equal(t, catalog.Scope{AccountID: testAccount, ProjectID: testProject, EnvironmentID: testEnvID, ProjectName: "shop"}, got.Scope)
	require.Equal(t, ds.Applied[testEnvID].LastUpdatedAt, got.GeneratedAt)
	require.Equal(t, want.Assets, got.Assets)
	require.Equal(t, want.Columns, got.Columns)
	require.Equal(t, want.Edges, got.Edges)
	require.Equal(t, want.TestResults, got.TestResults)
	require.Equal(t, want.Freshness, got.Freshness)
	require.Empty(t, got.Warnings)

	// 23 models in pages of 7 need 4 requests; 25 tests need 4.
	require.Equal(t, 4, rec.count(opModels))
	require.Equal(t, 4, rec.count(opTests))
	for _, h := range rec.headers {
		require.Equal(t, "Bearer "+testToken, h.Get("Authorization"))
	}
}

func TestIteratorsYieldEachKind(t *testing.T) {
	ds := syntheticDataset(sizes{models: 3, sources: 2, seeds: 1, snapshots: 1, exposures: 1})
	c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
	tests := []struct {
		name string
		seq  func(context.Context, int64) iter.Seq2[Node, error]
		want []string
	}{
		{"models", c.Models, []string{"model.shop.m0000", "model.shop.m0001", "model.shop.m0002"}},
		{"sources", c.Sources, []string{"source.shop.raw.t0000", "source.shop.raw.t0001"}},
		{"seeds", c.Seeds, []string{"seed.shop.s0000"}},
		{"snapshots", c.Snapshots, []string{"snapshot.shop.snap0000"}},
		{"exposures", c.Exposures, []string{"exposure.shop.dash00"}},
		{"tests", c.Tests, []string{"test.shop.assert_positive", "test.shop.not_null_m0000_col_1.0000",
			"test.shop.not_null_m0001_col_1.0001", "test.shop.not_null_m0002_col_1.0002", "unit_test.shop.m0000.test_ids"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for n, err := range tt.seq(t.Context(), testEnvID) {
				require.NoError(t, err)
				ids = append(ids, n.Asset.UniqueID)
			}
			require.Equal(t, tt.want, ids)
		})
	}
	t.Run("unit tests keep their type and singular tests have no test name", func(t *testing.T) {
		types := map[string]catalog.ResourceType{}
		for n, err := range c.Tests(t.Context(), testEnvID) {
			require.NoError(t, err)
			types[n.Asset.UniqueID] = n.Asset.Type
			if n.Asset.UniqueID == "test.shop.assert_positive" {
				require.Empty(t, n.Asset.TestName)
				require.Nil(t, n.TestResult)
			}
		}
		require.Equal(t, catalog.TypeUnitTest, types["unit_test.shop.m0000.test_ids"])
	})
}

func TestModelsPaging(t *testing.T) {
	tests := []struct {
		models   int
		requests int
	}{
		{0, 1}, {1, 1}, {500, 1}, {501, 2}, {1250, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d models take %d requests", tt.models, tt.requests), func(t *testing.T) {
			ds := syntheticDataset(sizes{models: tt.models})
			c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
			var ids []string
			for n, err := range c.Models(t.Context(), testEnvID) {
				require.NoError(t, err)
				ids = append(ids, n.Asset.UniqueID)
			}
			require.Len(t, ids, tt.models)
			require.True(t, slices.IsSorted(ids))
			require.Len(t, slices.Compact(ids), tt.models, "no node twice")
			require.Equal(t, tt.requests, rec.count(opModels))
			for _, f := range rec.firsts {
				require.Equal(t, MaxPageSize, f)
			}
		})
	}
}

func TestIteratorStopsWhenCallerBreaks(t *testing.T) {
	ds := syntheticDataset(sizes{models: 30})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{}, WithPageSize(10))
	n := 0
	for _, err := range c.Models(t.Context(), testEnvID) {
		require.NoError(t, err)
		n++
		if n == 12 {
			break
		}
	}
	require.Equal(t, 2, rec.count(opModels))
}

// fakeServer answers every request with body and status.
func fakeServer(t *testing.T, status int, body func(n int) string) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body(int(n))))
	}))
	t.Cleanup(srv.Close)
	c, _ := newClientFor(t, srv.URL+"/graphql")
	return c, &calls
}

func modelsPage(uniqueID string, hasNext bool, cursor string) string {
	return fmt.Sprintf(`{"data":{"environment":{"applied":{"models":{"totalCount":9,"pageInfo":{"hasNextPage":%t,"endCursor":%q},`+
		`"edges":[{"node":{"uniqueId":%q,"resourceType":"model","tags":[],"parents":[]}}]}}}}}`, hasNext, cursor, uniqueID)
}

func TestPagingGuards(t *testing.T) {
	tests := []struct {
		name    string
		body    func(n int) string
		wantErr string
		calls   int32
	}{
		{
			name: "a repeated cursor stops paging",
			body: func(n int) string {
				return modelsPage(fmt.Sprintf("model.x.m%d", n), true, []string{"", "Yz1h", "Yz1i", "Yz1h"}[n])
			},
			wantErr: "came back",
			calls:   3,
		},
		{
			name:    "an empty cursor with more pages stops paging",
			body:    func(n int) string { return modelsPage("model.x.a", true, "") },
			wantErr: "endCursor is empty",
			calls:   1,
		},
		{
			name:  "an empty cursor on the last page is fine",
			body:  func(n int) string { return modelsPage("model.x.a", false, "") },
			calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, calls := fakeServer(t, http.StatusOK, tt.body)
			var err error
			for _, e := range c.Models(t.Context(), testEnvID) {
				if e != nil {
					err = e
				}
			}
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
			}
			if strings.Contains(tt.name, "repeated") {
				require.ErrorIs(t, err, errRepeatedCursor)
			}
			require.Equal(t, tt.calls, calls.Load())
		})
	}
}

func TestPartialResponses(t *testing.T) {
	t.Run("a failed nullable field keeps the data and marks the snapshot incomplete", func(t *testing.T) {
		ds := syntheticDataset(sizes{models: 12, sources: 2})
		fail := func(typeName, field string) error {
			if typeName == "ModelAppliedStateNode" && field == "catalog" {
				return errors.New("catalog service unavailable")
			}
			return nil
		}
		c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{FieldError: fail}, WithPageSize(5))
		snap, err := c.AppliedState(t.Context(), testEnvID)
		var pe *PartialError
		require.ErrorAs(t, err, &pe)
		require.NotNil(t, snap)
		require.False(t, snap.Complete)
		require.Equal(t, expectedSnapshot(ds).Assets, snap.Assets, "all assets are kept")
		for _, col := range snap.Columns {
			require.False(t, strings.HasPrefix(col.AssetUniqueID, "model."), "model columns are missing")
		}
		require.Len(t, pe.Errors, 12)
		require.Equal(t, "catalog service unavailable", pe.Errors[0].Message)
		require.NotEmpty(t, snap.Warnings)
	})
	t.Run("a failed non-null field drops the connection and marks the snapshot incomplete", func(t *testing.T) {
		ds := syntheticDataset(sizes{models: 3})
		fail := func(typeName, field string) error {
			if typeName == "TestAppliedStateNode" && field == "testMetadata" {
				return errors.New("boom")
			}
			return nil
		}
		c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{FieldError: fail})
		snap, err := c.AppliedState(t.Context(), testEnvID)
		var pe *PartialError
		require.ErrorAs(t, err, &pe)
		require.False(t, snap.Complete)
		require.Empty(t, snap.TestResults)
		for _, a := range snap.Assets {
			require.Equal(t, catalog.TypeModel, a.Type)
		}
	})
	t.Run("the iterator yields the partial error after the nodes", func(t *testing.T) {
		ds := syntheticDataset(sizes{models: 4})
		fail := func(typeName, field string) error {
			if typeName == "CatalogNode" && field == "columns" {
				return errors.New("no columns")
			}
			return nil
		}
		c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{FieldError: fail}, WithPageSize(3))
		var nodes int
		var errs []error
		for n, err := range c.Models(t.Context(), testEnvID) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			require.Empty(t, errs, "errors come last")
			require.Empty(t, n.Columns)
			nodes++
		}
		require.Equal(t, 4, nodes)
		require.Len(t, errs, 1)
		var pe *PartialError
		require.ErrorAs(t, errs[0], &pe)
		require.Len(t, pe.Errors, 4, "the errors of both pages are joined")
	})
}

func TestComplexityRetry(t *testing.T) {
	ds := syntheticDataset(sizes{models: 130, sources: 3, seeds: 2, snapshots: 2, exposures: 1})
	t.Run("a smaller page answers a complexity error", func(t *testing.T) {
		// A full model page costs 5 per node, so 100 nodes fit.
		c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 500})
		snap, err := c.AppliedState(t.Context(), testEnvID)
		require.NoError(t, err)
		require.True(t, snap.Complete)
		require.Equal(t, expectedSnapshot(ds).Assets, snap.Assets)
		require.Empty(t, snap.Warnings)
		var modelFirsts []int
		for i, op := range rec.ops {
			if op == opModels {
				modelFirsts = append(modelFirsts, rec.firsts[i])
			}
		}
		require.Equal(t, []int{500, 250, 125, 62, 62, 62}, modelFirsts)
	})
	t.Run("the lighter field set answers when the smallest page is too complex", func(t *testing.T) {
		c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 40})
		snap, err := c.AppliedState(t.Context(), testEnvID)
		require.NoError(t, err)
		require.True(t, snap.Complete)
		require.Len(t, snap.Assets, len(expectedSnapshot(ds).Assets))
		require.Len(t, snap.Columns, len(expectedSnapshot(ds).Columns))
		for _, a := range snap.Assets {
			if a.Type == catalog.TypeModel {
				require.Empty(t, a.CompiledCode)
			}
		}
		require.NotEmpty(t, snap.Warnings)
		require.Equal(t, "discovery_light_fields", snap.Warnings[0].Code)
		require.Positive(t, rec.count(opModelsLight))
	})
	t.Run("a query too complex even when light fails", func(t *testing.T) {
		c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 5})
		_, err := c.AppliedState(t.Context(), testEnvID)
		require.ErrorIs(t, err, ErrComplexityExceeded)
		var qe *QueryError
		require.ErrorAs(t, err, &qe)
		require.Equal(t, http.StatusBadRequest, qe.StatusCode)
	})
}

func TestCancelledContextStopsPaging(t *testing.T) {
	ds := syntheticDataset(sizes{models: 40})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{}, WithPageSize(10))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var nodes int
	var err error
	for _, e := range c.Models(ctx, testEnvID) {
		if e != nil {
			err = e
			break
		}
		nodes++
		if nodes == 15 {
			cancel()
		}
	}
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 20, nodes, "the page in hand is delivered")
	require.Equal(t, 2, rec.count(opModels))
}

func TestErrorsAreTyped(t *testing.T) {
	ds := syntheticDataset(sizes{models: 2})
	tests := []struct {
		name   string
		opts   dbtcloudtest.GraphQLOptions
		envID  int64
		check  func(t *testing.T, err error)
		output string
	}{
		{
			name: "an unknown token is a 401 naming the settings to check",
			opts: dbtcloudtest.GraphQLOptions{Tokens: []string{"another"}},
			check: func(t *testing.T, err error) {
				var ae *AuthError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, http.StatusUnauthorized, ae.StatusCode)
			},
			output: "DBT_CLOUD_TOKEN",
		},
		{
			name: "a token without permission is a 403 naming the permission set",
			opts: dbtcloudtest.GraphQLOptions{ForbiddenTokens: []string{testToken}},
			check: func(t *testing.T, err error) {
				var ae *AuthError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, http.StatusForbidden, ae.StatusCode)
			},
			output: "Metadata Only",
		},
		{
			name: "429 after the transport's retries is ErrRateLimited",
			opts: dbtcloudtest.GraphQLOptions{Fault: func(w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}},
			check:  func(t *testing.T, err error) { require.ErrorIs(t, err, ErrRateLimited) },
			output: "HTTP 429",
		},
		{
			name: "a 500 keeps the start of the body",
			opts: dbtcloudtest.GraphQLOptions{Fault: func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, "upstream exploded", http.StatusInternalServerError)
				return true
			}},
			check: func(t *testing.T, err error) {
				var qe *QueryError
				require.ErrorAs(t, err, &qe)
				require.Equal(t, http.StatusInternalServerError, qe.StatusCode)
			},
			output: "upstream exploded",
		},
		{
			name:  "an unknown environment is a query error",
			envID: 999,
			check: func(t *testing.T, err error) {
				var qe *QueryError
				require.ErrorAs(t, err, &qe)
				require.Equal(t, "NOT_FOUND", qe.Errors[0].Code)
			},
			output: "environment 999 not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestServer(t, ds, tt.opts)
			env := testEnvID
			if tt.envID != 0 {
				env = tt.envID
			}
			_, err := c.AppliedState(t.Context(), env)
			require.Error(t, err)
			tt.check(t, err)
			require.Contains(t, err.Error(), tt.output)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestValidationFailureIsAQueryError(t *testing.T) {
	body := `{"errors":[{"message":"Cannot query field \"nope\" on type \"Environment\".","locations":[{"line":1,"column":3}],` +
		`"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`
	c, _ := fakeServer(t, http.StatusBadRequest, func(int) string { return body })
	_, err := c.Info(t.Context(), testEnvID)
	var qe *QueryError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, http.StatusBadRequest, qe.StatusCode)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", qe.Errors[0].Code)
	require.ErrorContains(t, err, "upgrade the crawler")
}

func TestErrorsWithoutDataAreQueryErrors(t *testing.T) {
	c, _ := fakeServer(t, http.StatusOK, func(int) string {
		return `{"data":null,"errors":[{"message":"internal","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`
	})
	_, err := c.LastUpdatedAt(t.Context(), testEnvID)
	var qe *QueryError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, http.StatusOK, qe.StatusCode)
}

func TestNoAppliedState(t *testing.T) {
	ds := syntheticDataset(sizes{})
	ds.Applied = nil
	c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})

	info, err := c.Info(t.Context(), testEnvID)
	require.NoError(t, err)
	require.False(t, info.HasAppliedState)

	_, err = c.LastUpdatedAt(t.Context(), testEnvID)
	require.ErrorIs(t, err, ErrNoAppliedState)
	_, err = c.AppliedState(t.Context(), testEnvID)
	require.ErrorIs(t, err, ErrNoAppliedState)
	for _, err := range c.Models(t.Context(), testEnvID) {
		require.ErrorIs(t, err, ErrNoAppliedState)
	}
}

func TestInfoAndLastUpdatedAt(t *testing.T) {
	ds := syntheticDataset(sizes{models: 1})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
	info, err := c.Info(t.Context(), testEnvID)
	require.NoError(t, err)
	applied := ds.Applied[testEnvID]
	require.Equal(t, EnvironmentInfo{EnvironmentID: testEnvID, AdapterType: "snowflake", DbtProjectName: "shop",
		HasAppliedState: true, LastUpdatedAt: applied.LastUpdatedAt, LatestGitSHA: "abc123"}, info)

	ts, err := c.LastUpdatedAt(t.Context(), testEnvID)
	require.NoError(t, err)
	require.Equal(t, applied.LastUpdatedAt, ts)
	require.Contains(t, rec.queries[0], "$environmentId:BigInt!")
}

func TestNewClientValidates(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		token    string
		opts     []Option
		wantErr  string
	}{
		{"https is accepted", "https://ab123.metadata.us1.dbt.com/graphql", "tok", nil, ""},
		{"http on loopback is accepted", "http://127.0.0.1:8080/graphql", "tok", nil, ""},
		{"http elsewhere is refused", "http://metadata.example.com/graphql", "tok", nil, "plain http"},
		{"a relative URL is refused", "/graphql", "tok", nil, "not an absolute URL"},
		{"an empty token is refused", "https://x.dbt.com/graphql", " ", nil, "token is empty"},
		{"a token with a newline is refused", "https://x.dbt.com/graphql", "tok\n", nil, "whitespace"},
		{"a page above 500 is refused", "https://x.dbt.com/graphql", "tok", []Option{WithPageSize(501)}, "1..500"},
		{"a page of 0 is refused", "https://x.dbt.com/graphql", "tok", []Option{WithPageSize(0)}, "1..500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.endpoint, tt.token, tt.opts...)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), "tok\n")
		})
	}
}

func TestBigIntDecodes(t *testing.T) {
	tests := []struct {
		in   string
		want BigInt
		err  bool
	}{
		{`132676`, 132676, false}, {`"70403103920401"`, 70403103920401, false}, {`null`, 7, false},
		{`1.5`, 0, true}, {`"abc"`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b := BigInt(7)
			err := b.UnmarshalJSON([]byte(tt.in))
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, b)
		})
	}
}

// BenchmarkAppliedStateEmulator includes the emulator's cost of answering.
func BenchmarkAppliedStateEmulator(b *testing.B) {
	ds := syntheticDataset(sizes{models: 2000, sources: 200, seeds: 20, snapshots: 20, exposures: 10})
	srv := httptest.NewServer(dbtcloudtest.NewGraphQLHandler(ds, dbtcloudtest.GraphQLOptions{}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := NewClient(srv.URL+"/graphql", testToken, WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		snap, err := c.AppliedState(b.Context(), testEnvID)
		require.NoError(b, err)
		require.Len(b, snap.Assets, 2000*2+200+20+20+10+2)
	}
}
