package dbtcloudtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

const gqlTestEnv = int64(7)

// gqlTestDataset is a small hand-built environment: three models, two
// sources (one checked for freshness), one test with two results, lineage
// and columns.
func gqlTestDataset() *Dataset {
	at := time.Date(2025, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
	fails := int64(3)
	return &Dataset{
		Environments: []Environment{{ID: gqlTestEnv, AccountID: 1, ProjectID: 2, Name: "prod"}, {ID: 8, AccountID: 1, ProjectID: 2, Name: "dev"}},
		Applied: map[int64]*AppliedState{gqlTestEnv: {
			AdapterType: "postgres", DbtProjectName: "jaffle", LastUpdatedAt: at, LatestGitSHA: "f00d",
			Snapshot: &catalog.Snapshot{
				Assets: []catalog.Asset{
					{UniqueID: "model.jaffle.a", Type: catalog.TypeModel, Name: "a", Database: "db", Schema: "s1", Identifier: "a", Tags: []string{"x"}, LastRunStatus: "success", LastRunAt: at, LastRunID: 11},
					{UniqueID: "model.jaffle.b", Type: catalog.TypeModel, Name: "b", Database: "db", Schema: "s2", Identifier: "b", LastRunStatus: "error", LastRunAt: at},
					{UniqueID: "model.jaffle.c", Type: catalog.TypeModel, Name: "c", Database: "db", Schema: "s2", Identifier: "c", Tags: []string{"y", "x"}},
					{UniqueID: "source.jaffle.raw.orders", Type: catalog.TypeSource, Name: "orders", SourceName: "raw", Database: "raw", Schema: "public", Identifier: "orders"},
					{UniqueID: "source.jaffle.stripe.payments", Type: catalog.TypeSource, Name: "payments", SourceName: "stripe"},
					{UniqueID: "test.jaffle.not_null_a_id", Type: catalog.TypeTest, Name: "not_null_a_id", TestName: "not_null", TestColumnName: "id", TestedUniqueID: "model.jaffle.a"},
				},
				Columns: []catalog.Column{
					{AssetUniqueID: "model.jaffle.a", Name: "name", DataType: "text", Ordinal: 2},
					{AssetUniqueID: "model.jaffle.a", Name: "id", DataType: "integer", Ordinal: 1, Tags: []string{"pk"}},
				},
				Edges: []catalog.Edge{
					{Upstream: "source.jaffle.raw.orders", Downstream: "model.jaffle.a"},
					{Upstream: "model.jaffle.a", Downstream: "model.jaffle.b"},
					{Upstream: "model.jaffle.a", Downstream: "test.jaffle.not_null_a_id"},
					{Upstream: "metric.jaffle.revenue", Downstream: "model.jaffle.c"},
				},
				TestResults: []catalog.TestResult{
					{TestUniqueID: "test.jaffle.not_null_a_id", RunID: 20, Status: "pass", ExecutedAt: at.Add(-time.Hour)},
					{TestUniqueID: "test.jaffle.not_null_a_id", RunID: 21, JobID: 5, Status: "fail", Failures: &fails, Message: "3 nulls", ExecutedAt: at},
				},
				Freshness: []catalog.Freshness{
					{SourceUniqueID: "source.jaffle.raw.orders", RunID: 30, Status: "warn", MaxLoadedAt: at.Add(-2 * time.Hour), SnapshottedAt: at, AgeSeconds: 7200,
						Criteria: json.RawMessage(`{"warn_after":{"count":1,"period":"hour"}}`)},
				},
			},
		}},
	}
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlResponse) code(i int) string {
	c, _ := r.Errors[i].Extensions["code"].(string)
	return c
}

// gqlPost sends one GraphQL request to h.
func gqlPost(t *testing.T, h http.Handler, auth, query string, vars map[string]any) (int, gqlResponse) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp gqlResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), "body: %s", rec.Body.String())
	return rec.Code, resp
}

func gqlHandler(opts GraphQLOptions) http.Handler {
	if opts.Tokens == nil {
		opts.Tokens = []string{"good"}
	}
	return NewGraphQLHandler(gqlTestDataset(), opts)
}

func TestGraphQLAuth(t *testing.T) {
	h := gqlHandler(GraphQLOptions{ForbiddenTokens: []string{"readonly"}})
	const q = `{ environment(id: 7) { __typename } }`
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"a bearer token is accepted", "Bearer good", http.StatusOK},
		{"the Token prefix is accepted", "Token good", http.StatusOK},
		{"no header is refused", "", http.StatusUnauthorized},
		{"another scheme is refused", "Basic good", http.StatusUnauthorized},
		{"an unknown token is refused", "Bearer bad", http.StatusUnauthorized},
		{"a token without permission is forbidden", "Bearer readonly", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := gqlPost(t, h, tt.auth, q, nil)
			require.Equal(t, tt.status, status)
			if status == http.StatusOK {
				require.JSONEq(t, `{"environment":{"__typename":"Environment"}}`, string(resp.Data))
			} else {
				require.NotEmpty(t, resp.Errors)
			}
		})
	}
}

func TestGraphQLRejectsInvalidQueries(t *testing.T) {
	h := gqlHandler(GraphQLOptions{})
	tests := []struct {
		name    string
		query   string
		vars    map[string]any
		status  int
		code    string
		message string
	}{
		{"an unknown field is a validation failure", `{ environment(id: 7) { owner } }`, nil,
			http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED", `Cannot query field "owner"`},
		{"an Int! environment id is refused", `query Q($id: Int!) { environment(id: $id) { adapterType } }`, map[string]any{"id": 7},
			http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED", "BigInt"},
		{"a syntax error is refused", `{ environment(id: 7) { `, nil,
			http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED", "Expected"},
		{"a missing variable is refused", `query Q($id: BigInt!) { environment(id: $id) { adapterType } }`, nil,
			http.StatusBadRequest, "BAD_USER_INPUT", "must be defined"},
		{"a wrongly typed variable is refused", `query Q($id: BigInt!, $first: Int) { environment(id: $id) { applied { models(first: $first) { totalCount } } } }`,
			map[string]any{"id": 7, "first": "many"}, http.StatusBadRequest, "BAD_USER_INPUT", "Int"},
		{"first above 500 is refused", `{ environment(id: 7) { applied { models(first: 501) { totalCount } } } }`, nil,
			http.StatusOK, "BAD_USER_INPUT", "at most 500"},
		{"a forged cursor is refused", `{ environment(id: 7) { applied { models(first: 1, after: "bm9wZQ==") { totalCount } } } }`, nil,
			http.StatusOK, "BAD_USER_INPUT", "invalid cursor"},
		{"an unknown environment is an error", `{ environment(id: 99) { adapterType } }`, nil,
			http.StatusOK, "NOT_FOUND", "environment 99 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := gqlPost(t, h, "Bearer good", tt.query, tt.vars)
			require.Equal(t, tt.status, status)
			require.NotEmpty(t, resp.Errors)
			require.Equal(t, tt.code, resp.code(0))
			require.Contains(t, resp.Errors[0].Message, tt.message)
			if status == http.StatusOK {
				want := `{"environment":{"applied":null}}` // the connection is non-null, applied is not
				if tt.code == "NOT_FOUND" {
					want = "null" // environment is non-null up to the root
				}
				require.JSONEq(t, want, string(resp.Data))
			}
		})
	}
}

func TestGraphQLRequestShape(t *testing.T) {
	h := gqlHandler(GraphQLOptions{})
	t.Run("GET is not allowed", func(t *testing.T) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/graphql", nil)
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	})
	t.Run("a body that is not JSON is refused", func(t *testing.T) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", strings.NewReader("query {"))
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusBadRequest, rec.Code)
	})
	t.Run("operationName picks the operation", func(t *testing.T) {
		q := `query A { environment(id: 7) { adapterType } } query B { environment(id: 7) { dbtProjectName } }`
		body, err := json.Marshal(map[string]any{"query": q, "operationName": "B"})
		require.NoError(t, err)
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"data":{"environment":{"dbtProjectName":"jaffle"}}}`, rec.Body.String())
	})
}

func TestGraphQLExecutesSelections(t *testing.T) {
	h := gqlHandler(GraphQLOptions{})
	q := `
query Models($env: BigInt!, $first: Int, $skipCols: Boolean!) {
  environment(id: $env) {
    adapterType
    applied {
      lastUpdatedAt
      latestGitSha
      resourceCounts
      first: models(first: $first) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { ...M } }
      }
    }
  }
}
fragment M on ModelAppliedStateNode {
  __typename
  id: uniqueId
  tags
  catalog @skip(if: $skipCols) { columns { index name type tags } }
  executionInfo { lastRunStatus lastRunId executeCompletedAt }
  parents { __typename uniqueId ... on SourceAppliedStateNestedNode { sourceName } }
}`
	status, resp := gqlPost(t, h, "Bearer good", q, map[string]any{"env": "7", "first": 1, "skipCols": false})
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, resp.Errors)
	cursor := base64.StdEncoding.EncodeToString([]byte("cursor:model.jaffle.a"))
	require.JSONEq(t, fmt.Sprintf(`{"environment":{"adapterType":"postgres","applied":{
		"lastUpdatedAt":"2025-02-03T04:05:06.789Z","latestGitSha":"f00d","resourceCounts":{"model":3,"source":2,"test":1},
		"first":{"totalCount":3,"pageInfo":{"hasNextPage":true,"endCursor":%q},
		"edges":[{"cursor":%q,"node":{"__typename":"ModelAppliedStateNode","id":"model.jaffle.a","tags":["x"],
			"catalog":{"columns":[{"index":1,"name":"id","type":"integer","tags":["pk"]},{"index":2,"name":"name","type":"text","tags":[]}]},
			"executionInfo":{"lastRunStatus":"success","lastRunId":11,"executeCompletedAt":"2025-02-03T04:05:06.789Z"},
			"parents":[{"__typename":"SourceAppliedStateNestedNode","uniqueId":"source.jaffle.raw.orders","sourceName":"raw"}]}}]}}}}`,
		cursor, cursor), string(resp.Data))
	require.True(t, strings.HasPrefix(string(resp.Data), `{"environment":{"adapterType"`), "fields keep the query's order")
}

func TestGraphQLPagesAndFilters(t *testing.T) {
	h := gqlHandler(GraphQLOptions{})
	type page struct {
		Environment struct {
			Applied struct {
				Conn struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   *string
					}
					Edges []struct{ Node struct{ UniqueID string } }
				}
			}
		}
	}
	run := func(t *testing.T, conn, args string) page {
		t.Helper()
		q := fmt.Sprintf(`{ environment(id: 7) { applied { conn: %s(%s) { totalCount pageInfo { hasNextPage endCursor } edges { node { uniqueId } } } } } }`, conn, args)
		status, resp := gqlPost(t, h, "Bearer good", q, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, resp.Errors)
		var p page
		require.NoError(t, json.Unmarshal(resp.Data, &p))
		return p
	}
	ids := func(p page) []string {
		var out []string
		for _, e := range p.Environment.Applied.Conn.Edges {
			out = append(out, e.Node.UniqueID)
		}
		return out
	}
	tests := []struct {
		name  string
		conn  string
		args  string
		want  []string
		total int
	}{
		{"all models", "models", "first: 10", []string{"model.jaffle.a", "model.jaffle.b", "model.jaffle.c"}, 3},
		{"by unique IDs", "models", `first: 10, filter: {uniqueIds: ["model.jaffle.c", "model.jaffle.a"]}`, []string{"model.jaffle.a", "model.jaffle.c"}, 2},
		{"by schema", "models", `filter: {schema: "s2"}`, []string{"model.jaffle.b", "model.jaffle.c"}, 2},
		{"by any tag", "models", `filter: {tags: ["y"]}`, []string{"model.jaffle.c"}, 1},
		{"by last run status", "models", `filter: {lastRunStatus: error}`, []string{"model.jaffle.b"}, 1},
		{"by source name", "sources", `filter: {sourceNames: ["stripe"]}`, []string{"source.jaffle.stripe.payments"}, 1},
		{"by freshness status", "sources", `filter: {freshnessStatus: Warn}`, []string{"source.jaffle.raw.orders"}, 1},
		{"unchecked sources", "sources", `filter: {freshnessChecked: false}`, []string{"source.jaffle.stripe.payments"}, 1},
		{"tests by latest status", "tests", `filter: {status: "fail"}`, []string{"test.jaffle.not_null_a_id"}, 1},
		{"tests by type", "tests", `filter: {testTypes: [SINGULAR_DATA_TEST]}`, nil, 0},
		{"an empty connection", "seeds", "first: 5", nil, 0},
		{"first zero", "models", "first: 0", nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := run(t, tt.conn, tt.args)
			require.Equal(t, tt.want, ids(p))
			require.Equal(t, tt.total, p.Environment.Applied.Conn.TotalCount)
		})
	}
	t.Run("cursors walk every node once", func(t *testing.T) {
		var got []string
		after := ""
		for range 5 {
			args := "first: 2"
			if after != "" {
				args += fmt.Sprintf(", after: %q", after)
			}
			p := run(t, "models", args)
			got = append(got, ids(p)...)
			if !p.Environment.Applied.Conn.PageInfo.HasNextPage {
				break
			}
			after = *p.Environment.Applied.Conn.PageInfo.EndCursor
		}
		require.Equal(t, []string{"model.jaffle.a", "model.jaffle.b", "model.jaffle.c"}, got)
	})
}

func TestGraphQLServesTestsSourcesAndLineage(t *testing.T) {
	h := gqlHandler(GraphQLOptions{})
	q := `{ environment(id: 7) { applied {
	  tests(first: 5) { edges { node { uniqueId testType testedNodeUniqueId columnName testMetadata { name }
	    executionInfo { lastRunStatus lastRunId lastJobDefinitionId lastRunFailures lastRunError } parents { uniqueId } } } }
	  sources(first: 5, filter: {uniqueIds: ["source.jaffle.raw.orders"]}) { edges { node { uniqueId sourceName
	    freshness { freshnessChecked freshnessStatus maxLoadedAt maxLoadedAtTimeAgoInS freshnessRunId criteria { warnAfter { count period } errorAfter { count } } }
	    children { uniqueId } } } }
	  c: models(filter: {uniqueIds: ["model.jaffle.c"]}) { edges { node { parents { uniqueId } catalog { owner } executionInfo { lastRunStatus } } } }
	} } }`
	status, resp := gqlPost(t, h, "Bearer good", q, nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, resp.Errors)
	require.JSONEq(t, `{"environment":{"applied":{
	  "tests":{"edges":[{"node":{"uniqueId":"test.jaffle.not_null_a_id","testType":"GENERIC_DATA_TEST","testedNodeUniqueId":"model.jaffle.a",
	    "columnName":"id","testMetadata":{"name":"not_null"},
	    "executionInfo":{"lastRunStatus":"fail","lastRunId":21,"lastJobDefinitionId":5,"lastRunFailures":3,"lastRunError":"3 nulls"},
	    "parents":[{"uniqueId":"model.jaffle.a"}]}}]},
	  "sources":{"edges":[{"node":{"uniqueId":"source.jaffle.raw.orders","sourceName":"raw",
	    "freshness":{"freshnessChecked":true,"freshnessStatus":"Warn","maxLoadedAt":"2025-02-03T02:05:06.789Z","maxLoadedAtTimeAgoInS":7200,
	      "freshnessRunId":30,"criteria":{"warnAfter":{"count":1,"period":"hour"},"errorAfter":null}},
	    "children":[{"uniqueId":"model.jaffle.a"}]}}]},
	  "c":{"edges":[{"node":{"parents":[],"catalog":null,"executionInfo":null}}]}
	}}}`, string(resp.Data))
}

func TestGraphQLFaults(t *testing.T) {
	t.Run("a field error nulls the field and reports its path", func(t *testing.T) {
		h := gqlHandler(GraphQLOptions{FieldError: func(typeName, field string) error {
			if typeName == "ModelAppliedStateNode" && field == "executionInfo" {
				return errors.New("execution store down")
			}
			return nil
		}})
		status, resp := gqlPost(t, h, "Bearer good", `{ environment(id: 7) { applied { models(first: 1) { edges { node { uniqueId executionInfo { lastRunStatus } } } } } } }`, nil)
		require.Equal(t, http.StatusOK, status)
		require.JSONEq(t, `{"environment":{"applied":{"models":{"edges":[{"node":{"uniqueId":"model.jaffle.a","executionInfo":null}}]}}}}`, string(resp.Data))
		require.Len(t, resp.Errors, 1)
		require.Equal(t, "execution store down", resp.Errors[0].Message)
		require.Equal(t, []any{"environment", "applied", "models", "edges", float64(0), "node", "executionInfo"}, resp.Errors[0].Path)
	})
	t.Run("an error on a non-null field nulls the nearest nullable parent", func(t *testing.T) {
		h := gqlHandler(GraphQLOptions{FieldError: func(typeName, field string) error {
			if field == "totalCount" {
				return errors.New("count failed")
			}
			return nil
		}})
		status, resp := gqlPost(t, h, "Bearer good", `{ environment(id: 7) { adapterType applied { models { totalCount } } } }`, nil)
		require.Equal(t, http.StatusOK, status)
		require.JSONEq(t, `{"environment":{"adapterType":"postgres","applied":null}}`, string(resp.Data))
		require.Len(t, resp.Errors, 1)
	})
	t.Run("the complexity limit refuses large pages", func(t *testing.T) {
		h := gqlHandler(GraphQLOptions{ComplexityLimit: 100})
		q := `query Q($first: Int) { environment(id: 7) { applied { models(first: $first) { edges { node { uniqueId catalog { type } parents { uniqueId } } } } } } }`
		status, resp := gqlPost(t, h, "Bearer good", q, map[string]any{"first": 40})
		require.Equal(t, http.StatusBadRequest, status, "40 × 3 > 100")
		require.Equal(t, "COMPLEXITY_EXCEEDED", resp.code(0))
		status, resp = gqlPost(t, h, "Bearer good", q, map[string]any{"first": 30})
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, resp.Errors)
	})
	t.Run("the fault hook answers instead of the handler", func(t *testing.T) {
		h := gqlHandler(GraphQLOptions{Fault: func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errors":[{"message":"slow down"}]}`))
			return true
		}})
		status, resp := gqlPost(t, h, "Bearer good", `{ environment(id: 7) { adapterType } }`, nil)
		require.Equal(t, http.StatusTooManyRequests, status)
		require.Equal(t, "slow down", resp.Errors[0].Message)
	})
}

func TestGraphQLEnvironmentsWithoutAppliedState(t *testing.T) {
	ds := gqlTestDataset()
	h := NewGraphQLHandler(ds, GraphQLOptions{})
	status, resp := gqlPost(t, h, "Bearer any", `{ environment(id: 8) { adapterType applied { lastUpdatedAt } } }`, nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"environment":{"adapterType":null,"applied":null}}`, string(resp.Data))

	t.Run("a replaced applied state is served at once", func(t *testing.T) {
		q := `{ environment(id: 7) { applied { models { totalCount } } } }`
		_, resp := gqlPost(t, h, "Bearer any", q, nil)
		require.JSONEq(t, `{"environment":{"applied":{"models":{"totalCount":3}}}}`, string(resp.Data))
		next := *ds.Applied[gqlTestEnv]
		snap := *next.Snapshot
		snap.Assets = snap.Assets[1:]
		next.Snapshot = &snap
		ds.mu.Lock()
		ds.Applied[gqlTestEnv] = &next
		ds.mu.Unlock()
		_, resp = gqlPost(t, h, "Bearer any", q, nil)
		require.JSONEq(t, `{"environment":{"applied":{"models":{"totalCount":2}}}}`, string(resp.Data))
	})
}

func BenchmarkGraphQLModelsPage(b *testing.B) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := &catalog.Snapshot{}
	for i := range 5000 {
		id := fmt.Sprintf("model.p.m%05d", i)
		snap.Assets = append(snap.Assets, catalog.Asset{UniqueID: id, Type: catalog.TypeModel, Name: id, LastRunStatus: "success", LastRunAt: at, CompiledCode: catalog.NewText("select 1")})
		for j := 1; j <= 10; j++ {
			snap.Columns = append(snap.Columns, catalog.Column{AssetUniqueID: id, Name: fmt.Sprintf("c%d", j), Ordinal: j, DataType: "text"})
		}
		if i > 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: fmt.Sprintf("model.p.m%05d", i-1), Downstream: id})
		}
	}
	h := NewGraphQLHandler(&Dataset{Applied: map[int64]*AppliedState{1: {Snapshot: snap}}}, GraphQLOptions{})
	body, err := json.Marshal(map[string]any{"query": `{ environment(id: 1) { applied { models(first: 500) { totalCount pageInfo { endCursor hasNextPage }
	  edges { node { uniqueId name compiledCode catalog { columns { index name type } } executionInfo { lastRunStatus executeCompletedAt } parents { uniqueId } } } } } } }`})
	require.NoError(b, err)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}
