package catalog_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// buildShop builds the snapshot of the hand-written fixture project.
func buildShop(t *testing.T) *catalog.Snapshot {
	t.Helper()
	return shopBuilder(t).Build()
}

// shopBuilder returns a Builder holding the hand-written fixture project.
func shopBuilder(t *testing.T) *catalog.Builder {
	t.Helper()
	b := catalog.NewBuilder(catalog.CoreScope("shop", "prod"), catalog.BuildOptions{})
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join("testdata", "shop", name))
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	finished := time.Date(2025, 3, 1, 10, 1, 0, 0, time.UTC)
	require.NoError(t, b.AddRunResults(open("run_results.json"), catalog.Provenance{RunID: 100, JobID: 7, FinishedAt: finished}))
	require.NoError(t, b.AddSources(open("sources.json"), catalog.Provenance{RunID: 99, JobID: 8}))
	require.NoError(t, b.AddCatalog(open("catalog.json")))
	require.NoError(t, b.AddManifest(open("manifest.json"), catalog.Provenance{RunID: 100, JobID: 7, FinishedAt: finished}))
	return b
}

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./pkg/catalog -run %s -update` to create the golden file", t.Name())
	require.Equal(t, string(want), string(got))
}

func TestBuildShopGolden(t *testing.T) {
	snap := buildShop(t)
	checkGolden(t, "shop_snapshot.json", snap)
	again := buildShop(t)
	require.Equal(t, snap, again, "builds are deterministic")
}

func TestBuildShop(t *testing.T) {
	snap := buildShop(t)
	assets := map[string]catalog.Asset{}
	for _, a := range snap.Assets {
		assets[a.UniqueID] = a
	}
	matches := map[string]catalog.Match{}
	for _, m := range snap.Matches {
		matches[m.UniqueID] = m
	}
	t.Run("skips operations and records every asset type", func(t *testing.T) {
		require.NotContains(t, assets, "operation.shop.shop-on-run-end-0")
		require.Len(t, snap.Assets, 15)
		require.Equal(t, catalog.TypeUnitTest, assets["unit_test.shop.orders.test_amount_is_positive"].Type)
		require.False(t, assets["model.shop.legacy_orders"].Enabled)
	})
	t.Run("merges tags meta and owner", func(t *testing.T) {
		stg := assets["model.shop.stg_orders"]
		require.Equal(t, []string{"daily", "staging"}, stg.Tags)
		require.Equal(t, "data-eng@shop.test", stg.Owner)
		require.Equal(t, "models/staging/stg_orders.sql", stg.Path)
		orders := assets["model.shop.orders"]
		require.JSONEq(t, `{"tier":2}`, string(orders.Meta))
		require.Equal(t, "finance@shop.test", orders.Owner, "group owner")
		require.Equal(t, "2", orders.Version)
		require.Equal(t, "bi@shop.test", assets["exposure.shop.weekly_revenue"].Owner)
		require.Equal(t, "TRANSFORMER", assets["seed.shop.countries"].Owner, "catalog owner")
	})
	t.Run("finds the tested node", func(t *testing.T) {
		rel := assets["test.shop.relationships_orders_country.6f7a8b9c0d"]
		require.Equal(t, "model.shop.orders", rel.TestedUniqueID)
		require.Equal(t, "relationships", rel.TestName)
		require.Equal(t, "warn", rel.Severity)
		require.Equal(t, "", assets["test.shop.assert_positive_amount"].TestName)
	})
	t.Run("matches relations by rule and explains non-matches", func(t *testing.T) {
		require.Equal(t, catalog.MatchMatched, matches["model.shop.stg_orders"].Status)
		require.Equal(t, "relation_name", matches["model.shop.stg_orders"].Rule)
		require.Equal(t, "STG_ORDERS", matches["model.shop.stg_orders"].Name)
		require.Equal(t, catalog.MatchEphemeral, matches["model.shop.order_math"].Status)
		require.Equal(t, catalog.MatchDisabled, matches["model.shop.legacy_orders"].Status)
		require.Equal(t, catalog.MatchNotBuilt, matches["model.shop.returns"].Status)
		require.Equal(t, catalog.MatchMatched, matches["source.shop.raw.orders"].Status)
		require.Equal(t, catalog.MatchMatched, matches["snapshot.shop.orders_snapshot"].Status)
	})
	t.Run("merges columns case-insensitively with catalog spelling", func(t *testing.T) {
		var cols []catalog.Column
		for _, c := range snap.Columns {
			if c.AssetUniqueID == "model.shop.stg_orders" {
				cols = append(cols, c)
			}
		}
		require.Len(t, cols, 4)
		require.Equal(t, "ORDER_ID", cols[0].Name)
		require.Equal(t, 1, cols[0].Ordinal)
		require.Equal(t, "Primary key.", cols[0].Description)
		require.Equal(t, []string{"pk"}, cols[0].Tags)
		require.Equal(t, "status as shipped", cols[1].Comment)
		require.Equal(t, "legacy_flag", cols[3].Name)
		require.Zero(t, cols[3].Ordinal)
	})
	t.Run("records relations with kind and stats", func(t *testing.T) {
		rels := map[string]catalog.Relation{}
		for _, r := range snap.Relations {
			rels[r.Key()] = r
		}
		orders := rels["SHOP.ANALYTICS.ORDERS"]
		require.Equal(t, "table", orders.Kind)
		require.Equal(t, int64(1042), *orders.RowCount)
		require.Equal(t, int64(65536), *orders.Bytes)
		require.Equal(t, "external", rels["SHOP.RAW.ORDERS"].Kind)
		require.Nil(t, rels["SHOP.SNAPSHOTS.ORDERS_SNAPSHOT"].RowCount, "row_count false is no number")
		require.Contains(t, rels, "SHOP.ANALYTICS.DROPPED_MODEL")
	})
	t.Run("records test results with failures and provenance", func(t *testing.T) {
		require.Len(t, snap.TestResults, 4)
		byID := map[string]catalog.TestResult{}
		for _, r := range snap.TestResults {
			byID[r.TestUniqueID] = r
		}
		fail := byID["test.shop.assert_positive_amount"]
		require.Equal(t, "fail", fail.Status)
		require.Equal(t, int64(3), *fail.Failures)
		require.Equal(t, int64(100), fail.RunID)
		require.Equal(t, int64(7), fail.JobID)
		unit := byID["unit_test.shop.orders.test_amount_is_positive"]
		require.Nil(t, unit.Failures)
		require.Equal(t, time.Date(2025, 3, 1, 10, 1, 0, 0, time.UTC), unit.ExecutedAt, "run finish when no timing")
		require.Equal(t, "error", assets["snapshot.shop.orders_snapshot"].LastRunStatus)
		require.Equal(t, "success", assets["model.shop.orders"].LastRunStatus)
	})
	t.Run("records source freshness", func(t *testing.T) {
		require.Len(t, snap.Freshness, 1)
		f := snap.Freshness[0]
		require.Equal(t, "pass", f.Status)
		require.Equal(t, time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC), f.MaxLoadedAt)
		require.Equal(t, 1804.0, f.AgeSeconds)
	})
	t.Run("builds lineage from depends_on and test attachments", func(t *testing.T) {
		edges := map[catalog.Edge]bool{}
		for _, e := range snap.Edges {
			edges[e] = true
		}
		require.True(t, edges[catalog.Edge{Upstream: "source.shop.raw.orders", Downstream: "model.shop.stg_orders"}])
		require.True(t, edges[catalog.Edge{Upstream: "model.shop.orders", Downstream: "exposure.shop.weekly_revenue"}])
		require.True(t, edges[catalog.Edge{Upstream: "metric.shop.revenue", Downstream: "exposure.shop.weekly_revenue"}])
		require.True(t, edges[catalog.Edge{Upstream: "model.shop.orders", Downstream: "test.shop.relationships_orders_country.6f7a8b9c0d"}])
		require.Empty(t, snap.Warnings)
	})
}

func TestBuildWarnings(t *testing.T) {
	manifest := func(nodes string) string {
		return `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","adapter_type":"postgres"},"nodes":{` + nodes + `}}`
	}
	tests := []struct {
		name     string
		manifest string
		runs     string
		code     string
		check    func(t *testing.T, s *catalog.Snapshot)
	}{
		{
			name:     "duplicate unique_id keeps the first",
			manifest: manifest(`"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"first"},"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"second"}`),
			code:     catalog.WarnDuplicateID,
			check: func(t *testing.T, s *catalog.Snapshot) {
				require.Len(t, s.Assets, 1)
				require.Equal(t, "first", s.Assets[0].Name)
			},
		},
		{
			name:     "dangling depends_on is dropped",
			manifest: manifest(`"model.p.a":{"unique_id":"model.p.a","resource_type":"model","depends_on":{"nodes":["model.p.gone"]}}`),
			code:     catalog.WarnDanglingRef,
			check:    func(t *testing.T, s *catalog.Snapshot) { require.Empty(t, s.Edges) },
		},
		{
			name:     "NUL and invalid UTF-8 are sanitised",
			manifest: manifest(`"model.p.a":{"unique_id":"model.p.a","resource_type":"model","description":"a\u0000b","name":"x` + "\xff" + `y"}`),
			code:     catalog.WarnSanitized,
			check: func(t *testing.T, s *catalog.Snapshot) {
				require.Equal(t, "ab", s.Assets[0].Description)
				require.Equal(t, "x\uFFFDy", s.Assets[0].Name)
			},
		},
		{
			name:     "docs generate results are not history",
			manifest: manifest(`"test.p.t":{"unique_id":"test.p.t","resource_type":"test"}`),
			runs:     `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"unique_id":"test.p.t","status":"success","adapter_response":{}}],"args":{"which":"generate"}}`,
			code:     catalog.WarnCompileOnly,
			check:    func(t *testing.T, s *catalog.Snapshot) { require.Empty(t, s.TestResults) },
		},
		{
			name:     "results without which or adapter response are compile-only",
			manifest: manifest(`"model.p.m":{"unique_id":"model.p.m","resource_type":"model"}`),
			runs:     `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v4.json"},"results":[{"unique_id":"model.p.m","status":"success","adapter_response":{}}]}`,
			code:     catalog.WarnCompileOnly,
			check:    func(t *testing.T, s *catalog.Snapshot) { require.Empty(t, s.Assets[0].LastRunStatus) },
		},
		{
			name:     "results for unknown nodes are dropped",
			manifest: manifest(`"model.p.m":{"unique_id":"model.p.m","resource_type":"model"}`),
			runs:     `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"},"results":[{"unique_id":"test.p.unknown","status":"fail","failures":1}],"args":{"which":"test"}}`,
			code:     catalog.WarnUnknownResult,
			check:    func(t *testing.T, s *catalog.Snapshot) { require.Empty(t, s.TestResults) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
			require.NoError(t, b.AddManifest(bytes.NewReader([]byte(tc.manifest)), catalog.Provenance{}))
			if tc.runs != "" {
				require.NoError(t, b.AddRunResults(bytes.NewReader([]byte(tc.runs)), catalog.Provenance{RunID: 1}))
			}
			s := b.Build()
			var codes []string
			for _, w := range s.Warnings {
				codes = append(codes, w.Code)
			}
			require.Contains(t, codes, tc.code)
			tc.check(t, s)
		})
	}
}

func TestBuildFailedArtifactLeavesBuilderUnchanged(t *testing.T) {
	b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
	// Metadata after the nodes, naming the wrong kind: the nodes were
	// already seen by the decoder but must not reach the snapshot.
	doc := `{"nodes":{"model.p.a":{"unique_id":"model.p.a","resource_type":"model"}},"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/catalog/v1.json"}}`
	err := b.AddManifest(bytes.NewReader([]byte(doc)), catalog.Provenance{})
	require.ErrorIs(t, err, catalog.ErrWrongKind)
	require.Empty(t, b.Build().Assets)
}

func TestBuildNewestManifestWins(t *testing.T) {
	doc := func(at, desc string) string {
		return `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","generated_at":"` + at +
			`"},"nodes":{"model.p.a":{"unique_id":"model.p.a","resource_type":"model","description":"` + desc + `"}}}`
	}
	b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{})
	require.NoError(t, b.AddManifest(bytes.NewReader([]byte(doc("2025-01-02T00:00:00Z", "new"))), catalog.Provenance{}))
	require.NoError(t, b.AddManifest(bytes.NewReader([]byte(doc("2025-01-01T00:00:00Z", "old"))), catalog.Provenance{}))
	s := b.Build()
	require.Equal(t, "new", s.Assets[0].Description)
	require.Empty(t, s.Warnings)
}
