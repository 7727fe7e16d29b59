package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testToken   = "dbtc_s3cr3t-test-token"
	testEnvID   = int64(70403103920401)
	testAccount = int64(12)
	testProject = int64(34)
)

// sizes says how many nodes of each kind a synthetic environment has.
type sizes struct {
	models, sources, seeds, snapshots, exposures int
}

// syntheticDataset builds an account with one environment whose applied
// state has the given numbers of nodes, with columns, tests (one generic
// test per model with two results, plus one singular and one unit test),
// lineage, source freshness and a mix of statuses. Times have millisecond
// precision, as the Discovery API reports them.
func syntheticDataset(n sizes) *dbtcloudtest.Dataset {
	base := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	snap := &catalog.Snapshot{
		Scope:    catalog.Scope{AccountID: testAccount, ProjectID: testProject, EnvironmentID: testEnvID, ProjectName: "shop"},
		Complete: true,
	}
	add := func(a catalog.Asset) { a.Enabled = true; snap.Assets = append(snap.Assets, a) }
	addColumns := func(id string, k int) {
		for j := 1; j <= k; j++ {
			c := catalog.Column{AssetUniqueID: id, Name: fmt.Sprintf("col_%d", j), DataType: "TEXT", Ordinal: j}
			if j == 1 {
				c.Description, c.Tags, c.Meta, c.Comment = "primary key", []string{"pii"}, json.RawMessage(`{"masked":true}`), "pk"
			}
			snap.Columns = append(snap.Columns, c)
		}
	}
	statuses := []string{"success", "error", "skipped"}
	for i := range n.sources {
		id := fmt.Sprintf("source.shop.raw.t%04d", i)
		add(catalog.Asset{UniqueID: id, Type: catalog.TypeSource, Name: fmt.Sprintf("t%04d", i),
			Description: "raw table", Database: "RAW", Schema: "public", Identifier: fmt.Sprintf("t%04d", i),
			Path: "models/sources.yml", SourceName: "raw", Loader: "fivetran", Tags: []string{"raw"}})
		addColumns(id, 2)
		if i%2 == 0 {
			snap.Freshness = append(snap.Freshness, catalog.Freshness{SourceUniqueID: id, RunID: 900, JobID: 9,
				Status: []string{"pass", "warn", "error"}[i%3], MaxLoadedAt: base.Add(-time.Hour), SnapshottedAt: base,
				AgeSeconds: 3600, Criteria: json.RawMessage(`{"error_after":{"count":2,"period":"day"},"warn_after":{"count":1,"period":"day"}}`)})
		}
	}
	for i := range n.seeds {
		id := fmt.Sprintf("seed.shop.s%04d", i)
		add(catalog.Asset{UniqueID: id, Type: catalog.TypeSeed, Name: fmt.Sprintf("s%04d", i), PackageName: "shop",
			Database: "ANALYTICS", Schema: "seeds", Identifier: fmt.Sprintf("s%04d", i), Path: fmt.Sprintf("seeds/s%04d.csv", i),
			Materialization: "seed", LastRunStatus: "success", LastRunAt: base, LastRunID: 1000, LastJobID: 10, ExecutionSeconds: 0.25})
		addColumns(id, 1)
	}
	for i := range n.models {
		id := fmt.Sprintf("model.shop.m%04d", i)
		a := catalog.Asset{UniqueID: id, Type: catalog.TypeModel, Name: fmt.Sprintf("m%04d", i), PackageName: "shop",
			Description: fmt.Sprintf("model %d", i), Database: "ANALYTICS", Schema: "marts", Identifier: fmt.Sprintf("m%04d", i),
			Materialization: []string{"table", "view", "incremental"}[i%3], Language: "sql", Access: "protected",
			Path: fmt.Sprintf("models/m%04d.sql", i), RawCode: catalog.NewText("select 1"), CompiledCode: catalog.NewText("select 1 as id"),
			LastRunStatus: statuses[i%3], LastRunAt: base.Add(time.Duration(i) * time.Second), LastRunID: 2000 + int64(i%5),
			LastJobID: 20, ExecutionSeconds: 1.5}
		if i%4 == 0 {
			a.Tags = []string{"finance", "daily"}
			a.Meta = json.RawMessage(`{"owner":"team-finance","tier":1}`)
			a.Owner = "team-finance"
		}
		if i == 7 {
			a.Version = "2"
			a.Group = "finance"
		}
		add(a)
		addColumns(id, 3)
		if i > 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: fmt.Sprintf("model.shop.m%04d", i-1), Downstream: id})
		}
		if n.sources > 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: fmt.Sprintf("source.shop.raw.t%04d", i%n.sources), Downstream: id})
		}
		if n.seeds > 0 && i%10 == 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: fmt.Sprintf("seed.shop.s%04d", i%n.seeds), Downstream: id})
		}
		// One generic test per model with an old and a latest result.
		tid := fmt.Sprintf("test.shop.not_null_m%04d_col_1.%04x", i, i)
		fails := int64(i % 3)
		latest := catalog.TestResult{TestUniqueID: tid, RunID: 3001, JobID: 30, Status: []string{"pass", "fail", "warn"}[i%3],
			Failures: &fails, ExecutedAt: base.Add(time.Minute), ExecutionSeconds: 0.5}
		if latest.Status != "pass" {
			latest.Message = "Got 1 result, configured to fail if != 0"
		}
		add(catalog.Asset{UniqueID: tid, Type: catalog.TypeTest, Name: fmt.Sprintf("not_null_m%04d_col_1", i),
			Path: "models/schema.yml", TestName: "not_null", TestNamespace: []string{"", "dbt_utils"}[i%2], TestColumnName: "col_1", TestedUniqueID: id, Severity: "ERROR",
			RawCode: catalog.NewText("{{ test_not_null(**_dbt_generic_test_kwargs) }}"), CompiledCode: catalog.NewText("select * from x where col_1 is null"),
			LastRunStatus: latest.Status, LastRunAt: latest.ExecutedAt, LastRunID: latest.RunID, LastJobID: latest.JobID,
			ExecutionSeconds: latest.ExecutionSeconds})
		snap.TestResults = append(snap.TestResults, latest, catalog.TestResult{TestUniqueID: tid, RunID: 3000, JobID: 30,
			Status: "pass", ExecutedAt: base, ExecutionSeconds: 0.4})
		snap.Edges = append(snap.Edges, catalog.Edge{Upstream: id, Downstream: tid})
	}
	if n.models > 0 {
		add(catalog.Asset{UniqueID: "test.shop.assert_positive", Type: catalog.TypeTest, Name: "assert_positive",
			Path: "tests/assert_positive.sql", RawCode: catalog.NewText("select 1 where false")})
		snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "model.shop.m0000", Downstream: "test.shop.assert_positive"})
		add(catalog.Asset{UniqueID: "unit_test.shop.m0000.test_ids", Type: catalog.TypeUnitTest, Name: "test_ids",
			Path: "models/unit.yml", TestedUniqueID: "model.shop.m0000", LastRunStatus: "pass", LastRunAt: base, LastRunID: 3001, LastJobID: 30})
		snap.TestResults = append(snap.TestResults, catalog.TestResult{TestUniqueID: "unit_test.shop.m0000.test_ids",
			RunID: 3001, JobID: 30, Status: "pass", ExecutedAt: base})
		snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "model.shop.m0000", Downstream: "unit_test.shop.m0000.test_ids"})
	}
	for i := range n.snapshots {
		id := fmt.Sprintf("snapshot.shop.snap%04d", i)
		add(catalog.Asset{UniqueID: id, Type: catalog.TypeSnapshot, Name: fmt.Sprintf("snap%04d", i), PackageName: "shop",
			Database: "ANALYTICS", Schema: "snapshots", Identifier: fmt.Sprintf("snap%04d", i), Path: "snapshots/s.sql",
			Materialization: "snapshot", RawCode: catalog.NewText("{% snapshot %}"), CompiledCode: catalog.NewText("select 2"),
			LastRunStatus: "success", LastRunAt: base, LastRunID: 4000, LastJobID: 40, ExecutionSeconds: 3})
		addColumns(id, 2)
		if n.sources > 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "source.shop.raw.t0000", Downstream: id})
		}
	}
	for i := range n.exposures {
		id := fmt.Sprintf("exposure.shop.dash%02d", i)
		add(catalog.Asset{UniqueID: id, Type: catalog.TypeExposure, Name: fmt.Sprintf("dash%02d", i), PackageName: "shop",
			Label: "Revenue dashboard", URL: "https://bi.example.com/d/1", Owner: "Ana Lytics", ExposureType: "dashboard", Maturity: "high", Path: "models/exposures.yml",
			Description: "board"})
		if n.models > 0 {
			snap.Edges = append(snap.Edges, catalog.Edge{Upstream: fmt.Sprintf("model.shop.m%04d", n.models-1), Downstream: id})
		}
	}
	return &dbtcloudtest.Dataset{
		Account:      dbtcloudtest.Account{ID: testAccount, Name: "acme"},
		Environments: []dbtcloudtest.Environment{{ID: testEnvID, AccountID: testAccount, ProjectID: testProject, Name: "prod", Type: "deployment", DeploymentType: "production"}},
		Applied: map[int64]*dbtcloudtest.AppliedState{testEnvID: {
			AdapterType: "snowflake", DbtProjectName: "shop", LastUpdatedAt: base.Add(time.Hour), LatestGitSHA: "abc123", Snapshot: snap,
		}},
	}
}

// recorder is an http.RoundTripper that records every GraphQL request.
type recorder struct {
	mu      sync.Mutex
	next    http.RoundTripper
	queries []string
	ops     []string
	firsts  []int
	// filters holds each request's $filter.uniqueIds (nil without one).
	filters [][]string
	headers []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	var payload struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return nil, err
	}
	var filter struct {
		Variables struct {
			Filter *struct {
				UniqueIDs []string `json:"uniqueIds"`
			} `json:"filter"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(body, &filter); err != nil {
		return nil, err
	}
	var ids []string
	if f := filter.Variables.Filter; f != nil {
		ids = f.UniqueIDs
	}
	first, _ := payload.Variables["first"].(float64)
	r.mu.Lock()
	r.queries = append(r.queries, payload.Query)
	r.ops = append(r.ops, payload.OperationName)
	r.firsts = append(r.firsts, int(first))
	r.filters = append(r.filters, ids)
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	return r.next.RoundTrip(req)
}

func (r *recorder) count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.ops {
		if o == op {
			n++
		}
	}
	return n
}

// newTestServer serves ds through the emulator's GraphQL handler and
// returns a client with a recording transport.
func newTestServer(t *testing.T, ds *dbtcloudtest.Dataset, gopts dbtcloudtest.GraphQLOptions, opts ...Option) (*Client, *recorder) {
	t.Helper()
	if gopts.Tokens == nil {
		gopts.Tokens = []string{testToken}
	}
	srv := httptest.NewServer(dbtcloudtest.NewGraphQLHandler(ds, gopts))
	t.Cleanup(srv.Close)
	return newClientFor(t, srv.URL+"/graphql", opts...)
}

func newClientFor(t *testing.T, endpoint string, opts ...Option) (*Client, *recorder) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rec := &recorder{next: tr}
	all := append([]Option{WithHTTPClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}),
		WithLogger(zaptest.NewLogger(t))}, opts...)
	c, err := NewClient(endpoint, testToken, all...)
	require.NoError(t, err)
	return c, rec
}
