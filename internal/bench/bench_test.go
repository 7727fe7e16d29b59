package bench

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// tinyAccount is a dataset small enough for a test: 1 project × 2
// environments × 12 models.
func tinyAccount() *dbtcloudtest.GenConfig {
	c := dbtcloudtest.DefaultGenConfig()
	c.Projects, c.Models, c.RunsPerJob = 1, 12, 2
	return &c
}

func TestRunMeasuresEveryScenarioEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls the emulator into PostgreSQL; skipped with -short")
	}
	huge := dbtcloudtest.DefaultGenConfig()
	huge.Projects, huge.EnvironmentsPerProject, huge.Models, huge.RunsPerJob, huge.CompiledCodeBytes = 1, 1, 40, 1, 2000
	var progress strings.Builder
	res, err := Run(t.Context(), Options{
		DatabaseURL:    pgtest.NewDatabase(t),
		Quick:          true,
		Account:        tinyAccount(),
		HugeProject:    &huge,
		ChangeFraction: 0.25,
		Logger:         zaptest.NewLogger(t),
		Progress:       &progress,
	})
	require.NoError(t, err, progress.String())
	require.Len(t, res.Scenarios, 4)
	by := map[string]ScenarioResult{}
	for _, s := range res.Scenarios {
		by[s.Name] = s
		require.Positive(t, s.Requests, s.Name)
		require.Zero(t, s.RateLimited, s.Name)
		require.True(t, s.InProcess, s.Name)
		require.Positive(t, s.Floor.DownloadBytes, s.Name)
	}

	t.Run("first crawl writes every row and downloads artifacts", func(t *testing.T) {
		acc := by[ScenarioAccount]
		require.Positive(t, acc.AssetRowsWritten)
		require.Positive(t, acc.ArtifactsDownloaded)
		require.Positive(t, acc.Floor.CopyRows)
		require.Equal(t, acc.RowsWritten, acc.Floor.CopyRows, "the floor copies exactly the rows the crawl wrote")
		require.Equal(t, acc.BytesDownloaded, acc.Floor.DownloadBytes, "the floor downloads exactly the crawl's bytes")
		require.Equal(t, 2, acc.Dataset.Environments)
		require.Len(t, acc.CrawlSamples, 3, "account is crawled three times at the quick sizes")
		var walls []float64
		for _, c := range acc.CrawlSamples {
			require.Positive(t, c.WallSeconds)
			walls = append(walls, c.WallSeconds)
		}
		require.Equal(t, median(walls), acc.WallSeconds, "account's wall is the median of its crawls")
	})
	t.Run("no-change writes no asset row and downloads no artifact", func(t *testing.T) {
		nc := by[ScenarioNoChange]
		require.Zero(t, nc.AssetRowsWritten)
		require.Zero(t, nc.ArtifactsDownloaded)
		require.Equal(t, 2, nc.Statuses["unchanged"])
	})
	t.Run("one-percent writes the changed assets", func(t *testing.T) {
		op := by[ScenarioOnePercent]
		require.NotNil(t, op.AssetsReallyChanged)
		require.Positive(t, *op.AssetsReallyChanged)
		require.Positive(t, op.TestResultsAdded)
	})
	t.Run("targets and outputs are produced", func(t *testing.T) {
		require.NotEmpty(t, res.Targets)
		var table strings.Builder
		require.NoError(t, res.WriteTable(&table))
		require.Contains(t, table.String(), "crawl/floor")
		out := filepath.Join(t.TempDir(), "results.json")
		require.NoError(t, res.WriteJSON(out))
	})
}

func TestRunRejectsUnknownScenario(t *testing.T) {
	_, err := Run(t.Context(), Options{Scenarios: []string{"everything"}})
	require.ErrorContains(t, err, `unknown scenario "everything"`)
}

func TestEndpointOf(t *testing.T) {
	tests := []struct {
		name string
		req  request
		want string
	}{
		{"numbers become placeholders", request{Method: "GET", Path: "/api/v2/accounts/70001/runs/?limit=100&offset=0"}, "GET /api/v2/accounts/{id}/runs/"},
		{"artifact paths collapse", request{Method: "GET", Path: "/api/v2/accounts/1/runs/900001/artifacts/manifest.json?step=2"}, "GET /api/v2/accounts/{id}/runs/{id}/artifacts/{path}"},
		{"graphql names its operation", request{Method: "POST", Path: "/graphql", Body: []byte(`{"query":"query AppliedModels($first: Int!) { x }"}`)}, "POST /graphql (AppliedModels)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, endpointOf(tt.req))
		})
	}
}

func TestPageSizes(t *testing.T) {
	reqs := []request{
		{Method: "GET", Path: "/api/v2/accounts/1/runs/?limit=100&offset=0"},
		{Method: "GET", Path: "/api/v3/accounts/1/projects/?limit=1"},
		{Method: "GET", Path: "/api/v2/accounts/1/runs/5/"},
		{Method: "POST", Path: "/graphql", Body: []byte(`{"query":"q","variables":{"first":500}}`)},
		{Method: "POST", Path: "/graphql", Body: []byte(`{"query":"q","variables":{"environmentId":1}}`)},
	}
	admin, disc := pageSizes(reqs)
	require.Equal(t, map[string]int{"100": 1, "1": 1}, admin)
	require.Equal(t, map[string]int{"500": 1}, disc)
	require.False(t, onlyKey(admin, 100))
	require.True(t, onlyKey(disc, 500))
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range cases {
		in := slices.Clone(tc.in)
		require.Equal(t, tc.want, median(tc.in))
		require.Equal(t, in, tc.in, "median leaves its input alone")
	}
}
