package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// renderSnapshot is makeSnapshot with code of realistic length: short raw
// code held as it is and compiled code long enough to be compressed.
func renderSnapshot() *catalog.Snapshot {
	snap := makeSnapshot(testScope, 2000, 20)
	for i := range snap.Assets {
		a := &snap.Assets[i]
		if a.Type != catalog.TypeModel {
			continue
		}
		sql := fmt.Sprintf("select id, amount, status from {{ ref('stg_%s') }} where status = 'paid'\n", a.Name)
		a.RawCode = catalog.NewText(strings.Repeat(sql, 8))
		a.CompiledCode = catalog.NewText(strings.Repeat(sql, 30))
	}
	return snap
}

// BenchmarkArtifactHashes hashes a snapshot of 4,001 assets, 40,000
// columns and 4,000 edges per op.
func BenchmarkArtifactHashes(b *testing.B) {
	snap := renderSnapshot()
	b.ReportAllocs()
	for b.Loop() {
		ArtifactHashes(snap)
	}
}

// BenchmarkNewAssetTuples renders and hashes every asset of the snapshot
// as the first crawl COPYs them.
func BenchmarkNewAssetTuples(b *testing.B) {
	snap := renderSnapshot()
	snap.ArtifactHashes = ArtifactHashes(snap)
	w := newWriter(snap, 2)
	w.envID = 1
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		for i := range snap.Assets {
			buf = w.appendNewAssetTuple(buf[:0], &snap.Assets[i])
		}
	}
}

// BenchmarkColumnRows builds and hashes every column of the snapshot, as
// the column diff and a first crawl's COPY do.
func BenchmarkColumnRows(b *testing.B) {
	snap := renderSnapshot()
	w := newWriter(snap, 2)
	b.ReportAllocs()
	for b.Loop() {
		for i := range snap.Columns {
			r := w.columnRow(&snap.Columns[i])
			w.hashColumn(&r)
		}
	}
}
