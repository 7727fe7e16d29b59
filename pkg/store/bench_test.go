package store

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// BenchmarkApply writes a fresh snapshot of 5,000 models with 20 columns each
// (100,000 columns) per iteration, into a new environment, and reports rows
// per second. BenchmarkPlainCopy is the floor: a bare COPY of the same rows
// into tables of the same shape, with no hashing, sanitising or upsert.
func BenchmarkApply(b *testing.B) {
	s := newStore(b)
	base := makeSnapshot(testScope, 5000, 20)
	rows := len(base.Assets) + len(base.Columns) + len(base.Edges) + len(base.TestResults) + len(base.Relations) + len(base.Matches)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		snap := *base
		snap.Scope.EnvironmentID = int64(1000 + i)
		_, err := s.Apply(b.Context(), &snap, nil)
		require.NoError(b, err)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkApplyUnchanged re-applies the same snapshot: the no-change path.
func BenchmarkApplyUnchanged(b *testing.B) {
	s := newStore(b)
	snap := makeSnapshot(testScope, 5000, 20)
	_, err := s.Apply(b.Context(), snap, nil)
	require.NoError(b, err)
	rows := len(snap.Assets) + len(snap.Columns) + len(snap.Edges)
	b.ResetTimer()
	for b.Loop() {
		r, err := s.Apply(b.Context(), snap, nil)
		require.NoError(b, err)
		require.Zero(b, r.AssetRowsWritten())
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkPlainCopy(b *testing.B) {
	s := newStore(b)
	snap := makeSnapshot(testScope, 5000, 20)
	ctx := b.Context()
	_, err := s.pool.Exec(ctx, `
		CREATE TABLE floor_assets (LIKE crawler.assets INCLUDING DEFAULTS);
		CREATE TABLE floor_columns (LIKE crawler.columns INCLUDING DEFAULTS);
		CREATE TABLE floor_edges (LIKE crawler.edges INCLUDING DEFAULTS);`)
	require.NoError(b, err)
	var assetRows, colRows, edgeRows [][]any
	hash := make([]byte, 16)
	for _, a := range snap.Assets {
		meta := string(a.Meta)
		if meta == "" {
			meta = "{}"
		}
		if a.Tags == nil {
			a.Tags = []string{}
		}
		assetRows = append(assetRows, []any{int64(len(assetRows)), int64(1), a.UniqueID, "q/" + a.UniqueID, string(a.Type), a.Name, a.Description, a.Database, a.Schema, a.Identifier, a.Materialization, a.Owner, a.Tags, meta, a.CompiledCode.String(), hash})
	}
	for _, c := range snap.Columns {
		colRows = append(colRows, []any{int64(1), c.AssetUniqueID, c.Name, c.DataType, int32(c.Ordinal), c.Description, hash})
	}
	for _, e := range snap.Edges {
		edgeRows = append(edgeRows, []any{int64(1), e.Upstream, e.Downstream})
	}
	rows := len(snap.Assets) + len(snap.Columns) + len(snap.Edges)
	b.ResetTimer()
	for b.Loop() {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `TRUNCATE floor_assets, floor_columns, floor_edges`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_assets"}, []string{"asset_id", "env_id", "unique_id", "qualified_name", "asset_type", "name", "description", "database_name", "schema_name", "identifier", "materialization", "owner", "tags", "meta", "compiled_code", "content_hash"}, pgx.CopyFromRows(assetRows)); err != nil {
				return fmt.Errorf("copy assets: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_columns"}, []string{"env_id", "unique_id", "name", "data_type", "ordinal", "description", "content_hash"}, pgx.CopyFromRows(colRows)); err != nil {
				return fmt.Errorf("copy columns: %w", err)
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"floor_edges"}, []string{"env_id", "upstream", "downstream"}, pgx.CopyFromRows(edgeRows))
			return err
		})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
