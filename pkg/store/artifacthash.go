package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// ArtifactHashes returns the artifact hash of every asset of snap, a
// snapshot built from run artifacts alone, before it is merged with the
// Discovery API's applied state: a digest of the asset's fields, its
// columns and the unique IDs it depends on, not of its execution. Artifacts
// that define an asset the same way give it the same hash in every crawl,
// whatever order its columns and edges come in. A crawl sets the result as
// the merged snapshot's ArtifactHashes; the store keeps each hash with its
// asset (see StoredArtifactHashes).
func ArtifactHashes(snap *catalog.Snapshot) map[string][]byte {
	w := newWriter(snap, 0)
	// Nothing is written: the values are hashed as the artifacts gave
	// them, unrepaired (repairs are counted when they are written).
	w.raw = true
	w.h.fast = xxhash.NewWithSeed(artifactSeed)
	// Columns and edges are summed per asset, so their order does not
	// matter; the count goes in too.
	type sum struct {
		cols, edges [2]uint64
		nc, ne      uint64
	}
	idx := make(map[string]int, len(snap.Assets))
	var sums []sum
	get := func(uid string) int {
		i, ok := idx[uid]
		if !ok {
			i = len(sums)
			idx[uid] = i
			sums = append(sums, sum{})
		}
		return i
	}
	add := func(dst *[2]uint64, h [sumLen]byte) {
		dst[0] += binary.LittleEndian.Uint64(h[:8])
		dst[1] += binary.LittleEndian.Uint64(h[8:16])
	}
	h := w.h
	cur, curUID := -1, ""
	for i := range snap.Columns {
		c := &snap.Columns[i]
		// The values as writer.columnRow gives them unrepaired, hashed
		// as hashColumn hashes them, without building the row.
		h.reset()
		h.str(c.AssetUniqueID)
		h.str(c.Name)
		h.str(c.DataType)
		h.i64(int64(int32(c.Ordinal)))
		h.str(c.Description)
		h.strs(c.Tags)
		h.bytes(c.Meta)
		h.str(c.Comment)
		// Columns come grouped by asset: one lookup per asset.
		if cur < 0 || curUID != c.AssetUniqueID {
			cur, curUID = get(c.AssetUniqueID), c.AssetUniqueID
		}
		s := &sums[cur]
		add(&s.cols, h.sum16())
		s.nc++
	}
	for _, e := range snap.Edges {
		h.reset()
		h.str(e.Upstream)
		s := &sums[get(e.Downstream)]
		add(&s.edges, h.sum16())
		s.ne++
	}
	out := make(map[string][]byte, len(snap.Assets))
	for i := range snap.Assets {
		a := &snap.Assets[i]
		w.hashAssetFields(a)
		fields := h.sum16()
		h.reset()
		h.bytes(fields[:])
		if i, ok := idx[a.UniqueID]; ok {
			s := &sums[i]
			h.u64(s.nc)
			h.u64(s.cols[0])
			h.u64(s.cols[1])
			h.u64(s.ne)
			h.u64(s.edges[0])
			h.u64(s.edges[1])
		}
		out[a.UniqueID] = h.sum() // keyed as Snapshot.ArtifactHashes is read
	}
	return out
}

// StoredArtifactHashes returns the artifact hash stored with each asset of
// the environment that is not archived: nil for an asset stored without
// one (known only from the Discovery API, or written before artifact
// hashes were kept) and for one the last crawl found missing, since its
// stored row is then not the one to keep. An environment never crawled
// has none.
func (s *Store) StoredArtifactHashes(ctx context.Context, sc catalog.Scope) (map[string][]byte, error) {
	rs, err := s.pool.Query(ctx, `
		SELECT a.unique_id, CASE WHEN a.missing_count = 0 THEN a.artifact_hash END
		FROM crawler.assets a JOIN crawler.environments e ON e.env_id = a.env_id
		WHERE e.account_id = $1 AND e.project_id = $2 AND e.environment_id = $3
		  AND a.archived_at IS NULL`, sc.AccountID, sc.ProjectID, sc.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("read artifact hashes of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	defer rs.Close()
	out := map[string][]byte{}
	for rs.Next() {
		raw := rs.RawValues() // text and bytea arrive as their bytes
		if len(raw) != 2 {
			return nil, fmt.Errorf("read artifact hashes of environment %d: %d values in a row", sc.EnvironmentID, len(raw))
		}
		var h []byte
		if raw[1] != nil {
			h = append([]byte(nil), raw[1]...)
		}
		out[string(raw[0])] = h
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read artifact hashes of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	return out, nil
}
