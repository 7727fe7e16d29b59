package catalog_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// fuzzOpts keeps fuzzed inputs bounded.
var fuzzOpts = catalog.DecodeOptions{MaxBytes: 1 << 20, MaxDepth: 64}

// fuzzBuild decodes doc as kind, and when it decodes, builds a snapshot
// from it with Build and with BuildAndRelease; no step may panic and both
// builds must agree.
func fuzzBuild(t *testing.T, kind catalog.ArtifactKind, doc []byte) {
	if err := decodeAs(kind, doc, fuzzOpts); err != nil {
		return
	}
	b := catalog.NewBuilder(catalog.Scope{}, catalog.BuildOptions{Decode: fuzzOpts})
	var err error
	switch kind {
	case catalog.KindManifest:
		err = b.AddManifest(bytes.NewReader(doc), catalog.Provenance{})
	case catalog.KindCatalog:
		err = b.AddCatalog(bytes.NewReader(doc))
	case catalog.KindRunResults:
		err = b.AddRunResults(bytes.NewReader(doc), catalog.Provenance{})
	case catalog.KindSources:
		err = b.AddSources(bytes.NewReader(doc), catalog.Provenance{})
	}
	if err != nil {
		t.Fatalf("decoded once but not twice: %v", err)
	}
	want := b.Build()
	require.Equal(t, want, b.BuildAndRelease(), "BuildAndRelease gives what Build gives")
}

func seedFuzz(f *testing.F, file string) {
	doc := readFixture(f, file)
	f.Add(doc)
	f.Add(doc[:len(doc)/3])
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"metadata":null}`))
}

func FuzzDecodeManifest(f *testing.F) {
	seedFuzz(f, "manifest.json")
	f.Fuzz(func(t *testing.T, doc []byte) { fuzzBuild(t, catalog.KindManifest, doc) })
}

func FuzzDecodeCatalog(f *testing.F) {
	seedFuzz(f, "catalog.json")
	f.Fuzz(func(t *testing.T, doc []byte) { fuzzBuild(t, catalog.KindCatalog, doc) })
}

func FuzzDecodeRunResults(f *testing.F) {
	seedFuzz(f, "run_results.json")
	f.Fuzz(func(t *testing.T, doc []byte) { fuzzBuild(t, catalog.KindRunResults, doc) })
}

func FuzzDecodeSources(f *testing.F) {
	seedFuzz(f, "sources.json")
	f.Fuzz(func(t *testing.T, doc []byte) { fuzzBuild(t, catalog.KindSources, doc) })
}
