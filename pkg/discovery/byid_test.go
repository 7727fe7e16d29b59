package discovery

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// only keeps the parts of a snapshot that belong to the given nodes.
func only(s *catalog.Snapshot, ids ...string) *catalog.Snapshot {
	keep := func(id string) bool { return slices.Contains(ids, id) }
	out := &catalog.Snapshot{}
	for _, a := range s.Assets {
		if keep(a.UniqueID) {
			out.Assets = append(out.Assets, a)
		}
	}
	for _, c := range s.Columns {
		if keep(c.AssetUniqueID) {
			out.Columns = append(out.Columns, c)
		}
	}
	for _, e := range s.Edges {
		if keep(e.Downstream) {
			out.Edges = append(out.Edges, e)
		}
	}
	for _, r := range s.TestResults {
		if keep(r.TestUniqueID) {
			out.TestResults = append(out.TestResults, r)
		}
	}
	for _, f := range s.Freshness {
		if keep(f.SourceUniqueID) {
			out.Freshness = append(out.Freshness, f)
		}
	}
	return out
}

func assetIDs(s *catalog.Snapshot) []string {
	var ids []string
	for _, a := range s.Assets {
		ids = append(ids, a.UniqueID)
	}
	return ids
}

// connectionOps lists the operations sent, in order, leaving out Info.
func connectionOps(rec *recorder) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var ops []string
	for _, op := range rec.ops {
		if op != opInfo {
			ops = append(ops, op)
		}
	}
	return ops
}

func TestAppliedStateByIDMatchesTheFullRead(t *testing.T) {
	ds := syntheticDataset(sizes{models: 23, sources: 5, seeds: 3, snapshots: 4, exposures: 2})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{}, WithPageSize(7))
	full, err := c.AppliedState(t.Context(), testEnvID)
	require.NoError(t, err)

	ids := []string{
		"model.shop.m0000", "model.shop.m0010", "model.shop.m0022",
		"source.shop.raw.t0002", // with freshness
		"test.shop.not_null_m0004_col_1.0004", "test.shop.assert_positive", "unit_test.shop.m0000.test_ids",
		"seed.shop.s0001", "snapshot.shop.snap0003", "exposure.shop.dash01",
	}
	tests := []struct {
		name string
		opts AppliedOptions
	}{
		{"with the full field set", AppliedOptions{UniqueIDs: ids}},
		{"without code", AppliedOptions{UniqueIDs: ids, WithoutCode: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.ops)
			got, err := c.AppliedStateWith(t.Context(), testEnvID, tt.opts)
			require.NoError(t, err)
			want := only(full, ids...)
			if tt.opts.WithoutCode {
				for i := range want.Assets {
					want.Assets[i].RawCode, want.Assets[i].CompiledCode = catalog.Text{}, catalog.Text{}
				}
			}
			require.True(t, got.Complete)
			require.Equal(t, full.Scope, got.Scope)
			require.Equal(t, full.AdapterType, got.AdapterType)
			require.Equal(t, full.GeneratedAt, got.GeneratedAt)
			require.Len(t, got.Assets, len(ids))
			require.Equal(t, want.Assets, got.Assets)
			require.Equal(t, want.Columns, got.Columns)
			require.Equal(t, want.Edges, got.Edges)
			require.Equal(t, want.TestResults, got.TestResults)
			require.Equal(t, want.Freshness, got.Freshness)
			require.NotEmpty(t, got.TestResults)
			require.NotEmpty(t, got.Freshness)
			require.Empty(t, got.Warnings)

			// One request per connection: every connection's IDs fit one page.
			sent := slices.Clone(rec.ops[before:])
			slices.Sort(sent)
			wantOps := []string{opExposuresByID, opModelsByID, opSeedsByID, opSnapshotsByID, opSourcesByID, opTestsByID}
			if tt.opts.WithoutCode {
				wantOps = []string{opExposuresByID, opModelsLightByID, opSeedsByID, opSnapshotsLightByID, opSourcesByID, opTestsLightByID}
			}
			require.Equal(t, append(wantOps, opInfo), sent)
		})
	}
}

func TestAppliedStateByIDAsksOnlyConnectionsThatHoldTheIDs(t *testing.T) {
	ds := syntheticDataset(sizes{models: 5, sources: 2, seeds: 1, snapshots: 1, exposures: 1})
	tests := []struct {
		name    string
		ids     []string
		wantIDs []string
		wantOps []string
	}{
		{"models only", []string{"model.shop.m0001", "model.shop.m0003"},
			[]string{"model.shop.m0001", "model.shop.m0003"}, []string{opModelsByID}},
		{"unit tests are read from the tests connection", []string{"unit_test.shop.m0000.test_ids"},
			[]string{"unit_test.shop.m0000.test_ids"}, []string{opTestsByID}},
		{"IDs of other resource types are ignored",
			[]string{"metric.shop.revenue", "semantic_model.shop.orders", "saved_query.shop.q", "nodot", "model.", "", "seed.shop.s0000"},
			[]string{"seed.shop.s0000"}, []string{opSeedsByID}},
		{"duplicates are asked for once", []string{"source.shop.raw.t0001", "source.shop.raw.t0001", "exposure.shop.dash00"},
			[]string{"exposure.shop.dash00", "source.shop.raw.t0001"}, []string{opExposuresByID, opSourcesByID}},
		{"unknown IDs are absent", []string{"model.shop.gone", "snapshot.shop.snap0000", "test.shop.gone"},
			[]string{"snapshot.shop.snap0000"}, []string{opModelsByID, opSnapshotsByID, opTestsByID}},
		{"only unknown IDs give an empty snapshot", []string{"model.shop.gone"}, nil, []string{opModelsByID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
			got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: tt.ids})
			require.NoError(t, err)
			require.True(t, got.Complete)
			require.Equal(t, tt.wantIDs, assetIDs(got))
			require.Empty(t, got.Warnings)
			ops := connectionOps(rec)
			slices.Sort(ops)
			require.Equal(t, tt.wantOps, ops)
		})
	}
}

func TestAppliedStateByIDWithNothingToAskSendsNoRequest(t *testing.T) {
	ds := syntheticDataset(sizes{models: 2})
	info := &EnvironmentInfo{EnvironmentID: testEnvID, AdapterType: "snowflake", DbtProjectName: "shop", HasAppliedState: true,
		LastUpdatedAt: ds.Applied[testEnvID].LastUpdatedAt}
	tests := []struct {
		name string
		opts AppliedOptions
		want *catalog.Snapshot
	}{
		{"an empty list", AppliedOptions{UniqueIDs: []string{}},
			&catalog.Snapshot{Scope: catalog.Scope{EnvironmentID: testEnvID}, Complete: true}},
		{"only IDs no connection holds", AppliedOptions{UniqueIDs: []string{"metric.shop.revenue", "macro.shop.m"}},
			&catalog.Snapshot{Scope: catalog.Scope{EnvironmentID: testEnvID}, Complete: true}},
		{"an empty list with the environment's info", AppliedOptions{UniqueIDs: []string{}, Info: info},
			&catalog.Snapshot{Scope: catalog.Scope{EnvironmentID: testEnvID, ProjectName: "shop"}, Complete: true,
				AdapterType: "snowflake", GeneratedAt: info.LastUpdatedAt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
			got, err := c.AppliedStateWith(t.Context(), testEnvID, tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Empty(t, rec.ops)
		})
	}
	t.Run("info without applied state is still an error", func(t *testing.T) {
		c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
		_, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: []string{}, Info: &EnvironmentInfo{}})
		require.ErrorIs(t, err, ErrNoAppliedState)
		require.Empty(t, rec.ops)
	})
}

func TestAppliedStateByIDSendsTheIDsInChunks(t *testing.T) {
	models := func(from, to int) []string {
		var ids []string
		for i := from; i < to; i++ {
			ids = append(ids, fmt.Sprintf("model.shop.m%04d", i))
		}
		return ids
	}
	tests := []struct {
		name     string
		models   int
		chunk    int // 0: the default
		pageSize int
		ids      []string
		// wantFilters are the filters of the model requests, in order.
		wantFilters [][]string
	}{
		{"fewer IDs than a chunk take one walk", 10, 4, MaxPageSize, models(0, 3), [][]string{models(0, 3)}},
		{"each chunk is its own walk", 10, 4, MaxPageSize, models(0, 10),
			[][]string{models(0, 4), models(4, 8), models(8, 10)}},
		{"a chunk larger than a page is paged", 10, 4, 3, models(0, 6),
			[][]string{models(0, 4), models(0, 4), models(4, 6)}},
		{"the default chunk is 500 IDs", 501, 0, MaxPageSize, models(0, 501),
			[][]string{models(0, 500), models(500, 501)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := syntheticDataset(sizes{models: tt.models})
			c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{}, WithPageSize(tt.pageSize))
			c.idChunk = tt.chunk
			// Asked in reverse: the IDs go out sorted.
			ids := slices.Clone(tt.ids)
			slices.Reverse(ids)
			got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: ids})
			require.NoError(t, err)
			require.True(t, got.Complete)
			require.Equal(t, tt.ids, assetIDs(got))
			require.Empty(t, got.Warnings)
			var filters [][]string
			for i, op := range rec.ops {
				if op == opModelsByID {
					require.LessOrEqual(t, len(rec.filters[i]), maxIDsPerWalk)
					filters = append(filters, rec.filters[i])
				}
			}
			require.Equal(t, tt.wantFilters, filters)
		})
	}
}

func TestAppliedStateByIDKeepsRetriesAndPartialResults(t *testing.T) {
	ds := syntheticDataset(sizes{models: 130, sources: 3})
	var ids []string
	for i := range 130 {
		ids = append(ids, fmt.Sprintf("model.shop.m%04d", i))
	}
	t.Run("a smaller page answers a complexity error", func(t *testing.T) {
		c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 500})
		got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: ids})
		require.NoError(t, err)
		require.Equal(t, ids, assetIDs(got))
		var firsts []int
		for i, op := range rec.ops {
			if op == opModelsByID {
				firsts = append(firsts, rec.firsts[i])
			}
		}
		require.Equal(t, []int{500, 250, 125, 62, 62, 62}, firsts)
	})
	t.Run("the lighter field set answers when the smallest page is too complex, in every chunk", func(t *testing.T) {
		c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{ComplexityLimit: 40})
		c.idChunk = 50
		got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: ids})
		require.NoError(t, err)
		require.True(t, got.Complete)
		require.Equal(t, ids, assetIDs(got))
		for _, a := range got.Assets {
			require.Empty(t, a.CompiledCode)
		}
		require.Len(t, got.Warnings, 1)
		require.Equal(t, "discovery_light_fields", got.Warnings[0].Code)
		require.Positive(t, rec.count(opModelsLightByID))
		// Once light, later chunks start light: only the first chunk tried
		// the full field set.
		var fullFilters [][]string
		for i, op := range rec.ops {
			if op == opModelsByID {
				fullFilters = append(fullFilters, rec.filters[i])
			}
		}
		for _, f := range fullFilters {
			require.Equal(t, ids[:50], f)
		}
	})
	t.Run("partial pages of every chunk are kept and reported once", func(t *testing.T) {
		fail := func(typeName, field string) error {
			if typeName == "ModelAppliedStateNode" && field == "catalog" {
				return errors.New("catalog service unavailable")
			}
			return nil
		}
		c, _ := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{FieldError: fail}, WithPageSize(4))
		c.idChunk = 3
		want := append(slices.Clone(ids[:7]), "source.shop.raw.t0001")
		got, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{UniqueIDs: want})
		var pe *PartialError
		require.ErrorAs(t, err, &pe)
		require.False(t, got.Complete)
		require.Equal(t, want, assetIDs(got))
		require.Len(t, pe.Errors, 7, "one error per model, none repeated across chunks")
		partial := 0
		for _, w := range got.Warnings {
			if w.Code == "discovery_partial" {
				partial++
				require.True(t, strings.Contains(w.Message, opModelsByID), w.Message)
			}
		}
		require.Equal(t, 1, partial)
		for _, col := range got.Columns {
			require.Equal(t, "source.shop.raw.t0001", col.AssetUniqueID)
		}
	})
}

func TestAppliedStateWithoutIDsSendsTheUnfilteredQueries(t *testing.T) {
	ds := syntheticDataset(sizes{models: 3, sources: 1, seeds: 1, snapshots: 1, exposures: 1})
	c, rec := newTestServer(t, ds, dbtcloudtest.GraphQLOptions{})
	_, err := c.AppliedStateWith(t.Context(), testEnvID, AppliedOptions{})
	require.NoError(t, err)
	ops := connectionOps(rec)
	slices.Sort(ops)
	require.Equal(t, []string{opExposures, opModels, opSeeds, opSnapshots, opSources, opTests}, ops)
	for i, q := range rec.queries {
		require.NotContains(t, q, "filter", rec.ops[i])
		require.Nil(t, rec.filters[i])
	}
}

func TestConnectionOf(t *testing.T) {
	tests := []struct {
		id   string
		want string
	}{
		{"model.shop.orders", "models"},
		{"model.shop.orders.v2", "models"},
		{"source.shop.raw.orders", "sources"},
		{"test.shop.not_null_orders_id.abc123", "tests"},
		{"unit_test.shop.orders.test_ids", "tests"},
		{"seed.shop.countries", "seeds"},
		{"snapshot.shop.orders_snap", "snapshots"},
		{"exposure.shop.dashboard", "exposures"},
		{"metric.shop.revenue", ""},
		{"semantic_model.shop.orders", ""},
		{"saved_query.shop.q", ""},
		{"Model.shop.orders", ""},
		{"model", ""},
		{"model.", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q is in %q", tt.id, tt.want), func(t *testing.T) {
			require.Equal(t, tt.want, connectionOf(tt.id))
		})
	}
}
