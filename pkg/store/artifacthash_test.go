package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

func TestArtifactHashes(t *testing.T) {
	base := makeSnapshot(testScope, 3, 4)
	want := ArtifactHashes(base)
	require.Len(t, want, len(base.Assets))
	m := "model.shop.m00001"

	cases := []struct {
		name    string
		mutate  func(s *catalog.Snapshot)
		changed []string // assets whose hash changes; nil: none
	}{
		{"columns and edges in another order", func(s *catalog.Snapshot) {
			slices.Reverse(s.Columns)
			slices.Reverse(s.Edges)
			slices.Reverse(s.Assets)
		}, nil},
		{"execution is not definition", func(s *catalog.Snapshot) {
			for i := range s.Assets {
				s.Assets[i].LastRunStatus, s.Assets[i].LastRunID = "error", 99
				s.Assets[i].LastRunAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			}
		}, nil},
		{"a description", func(s *catalog.Snapshot) { s.Assets[slices.IndexFunc(s.Assets, byID(m))].Description = "new" }, []string{m}},
		{"a column type", func(s *catalog.Snapshot) {
			s.Columns[slices.IndexFunc(s.Columns, func(c catalog.Column) bool { return c.AssetUniqueID == m })].DataType = "text"
		}, []string{m}},
		{"a column more", func(s *catalog.Snapshot) {
			s.Columns = append(s.Columns, catalog.Column{AssetUniqueID: m, Name: "extra"})
		}, []string{m}},
		{"an upstream edge less", func(s *catalog.Snapshot) {
			s.Edges = slices.DeleteFunc(s.Edges, func(e catalog.Edge) bool { return e.Downstream == m })
		}, []string{m}},
		{"compiled code", func(s *catalog.Snapshot) {
			s.Assets[slices.IndexFunc(s.Assets, byID(m))].CompiledCode = catalog.NewText("select 2")
		}, []string{m}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := makeSnapshot(testScope, 3, 4)
			tc.mutate(s)
			got := ArtifactHashes(s)
			for uid, h := range want {
				if slices.Contains(tc.changed, uid) {
					require.NotEqual(t, h, got[uid], uid)
				} else {
					require.Equal(t, h, got[uid], uid)
				}
			}
		})
	}
}

func byID(uid string) func(catalog.Asset) bool {
	return func(a catalog.Asset) bool { return a.UniqueID == uid }
}

func TestApplyKeepsKeptAssets(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	first := makeSnapshot(testScope, 3, 2)
	first.AppliedUpdatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first.ArtifactHashes = ArtifactHashes(first)
	_, err := s.Apply(ctx, first, nil)
	require.NoError(t, err)

	st, err := s.EnvironmentState(ctx, testScope)
	require.NoError(t, err)
	require.False(t, st.AppliedFullReadAt.IsZero(), "a full read is stamped")
	stamp := st.AppliedFullReadAt
	stored, err := s.StoredArtifactHashes(ctx, testScope)
	require.NoError(t, err)
	require.Equal(t, first.ArtifactHashes, stored)
	before := dump(t, s)

	// The next crawl keeps m00000 (and its test) and rereads m00001. The
	// kept model comes with artifact values only (no owner, no columns,
	// no edges) and a newer execution.
	kept, reread := "model.shop.m00000", "model.shop.m00001"
	next := makeSnapshot(testScope, 3, 2)
	next.AppliedUpdatedAt = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	next.Kept = map[string]bool{kept: true, "test.shop.not_null_m00000_id": true}
	i := slices.IndexFunc(next.Assets, byID(kept))
	next.Assets[i].Owner = ""
	next.Assets[i].LastRunStatus, next.Assets[i].LastRunID = "error", 6
	next.Assets[i].LastRunAt = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	next.Columns = slices.DeleteFunc(next.Columns, func(c catalog.Column) bool { return c.AssetUniqueID == kept })
	next.Edges = slices.DeleteFunc(next.Edges, func(e catalog.Edge) bool { return e.Downstream == kept })
	next.Assets[slices.IndexFunc(next.Assets, byID(reread))].Description = "changed"
	next.ArtifactHashes = ArtifactHashes(next)
	res, err := s.Apply(ctx, next, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Updated, "only the reread asset that changed")
	require.Zero(t, res.ColumnsWritten, "the kept asset's columns stand")
	require.Zero(t, res.EdgesWritten, "the kept asset's edges stand")

	q := func(sql string, args ...any) string {
		var out string
		require.NoError(t, s.pool.QueryRow(ctx, sql, args...).Scan(&out))
		return out
	}
	require.Equal(t, "team-a", q(`SELECT owner FROM crawler.assets WHERE unique_id = $1`, kept))
	require.Equal(t, "2", q(`SELECT count(*)::text FROM crawler.columns WHERE unique_id = $1`, kept))
	require.Equal(t, "1", q(`SELECT count(*)::text FROM crawler.edges WHERE downstream = $1`, kept))
	require.Equal(t, "error", q(`SELECT last_run_status FROM crawler.asset_status WHERE unique_id = $1`, kept), "a kept asset's execution is applied")
	require.Equal(t, "changed", q(`SELECT description FROM crawler.assets WHERE unique_id = $1`, reread))
	require.NotEqual(t, before, dump(t, s))

	st, err = s.EnvironmentState(ctx, testScope)
	require.NoError(t, err)
	require.Equal(t, stamp, st.AppliedFullReadAt, "an incremental crawl leaves the full-read stamp")
	stored, err = s.StoredArtifactHashes(ctx, testScope)
	require.NoError(t, err)
	require.Equal(t, next.ArtifactHashes[reread], stored[reread], "a reread asset's new artifact hash is kept")
	require.Equal(t, first.ArtifactHashes[kept], stored[kept])
}

func TestHasherIsSHA256OfLengthPrefixedFields(t *testing.T) {
	// Stored content hashes must not change when the hasher does: this is
	// the byte layout every stored hash was made with.
	h := newHasher()
	h.reset()
	h.str("ab")
	h.u64(7)
	h.boolean(true)
	var want []byte
	want = binary.LittleEndian.AppendUint64(want, 2)
	want = append(want, "ab"...)
	want = binary.LittleEndian.AppendUint64(want, 7)
	want = binary.LittleEndian.AppendUint64(want, 1)
	sum := sha256.Sum256(want)
	require.Equal(t, sum[:16], h.sum())
}
