package catalog

import (
	"bytes"
	"io"
)

// AddManifestReference adds a manifest.json the generic way: DecodeManifest
// followed by interner.stage. AddManifest must stage exactly what it
// stages.
func (b *Builder) AddManifestReference(r io.Reader, prov Provenance) error {
	var nodes []stagedNode
	meta, err := DecodeManifest(r, b.decodeOpts("manifest.json"), func(n ManifestNode) error {
		nodes = append(nodes, b.in.stage(&n))
		return nil
	})
	if err != nil {
		return err
	}
	b.seq++
	b.manifests = append(b.manifests, stagedManifest{meta: meta, prov: prov, nodes: nodes, seq: b.seq})
	return nil
}

// AddCatalogReference adds a catalog.json the generic way: DecodeCatalog
// followed by interner.stageTable. AddCatalog must stage exactly what it
// stages.
func (b *Builder) AddCatalogReference(r io.Reader) error {
	var tables []stagedTable
	meta, err := DecodeCatalog(r, b.decodeOpts("catalog.json"), func(t CatalogTable) error {
		tables = append(tables, b.in.stageTable(&t))
		return nil
	})
	if err != nil {
		return err
	}
	b.seq++
	b.catalogs = append(b.catalogs, stagedCatalog{meta: meta, tables: tables, seq: b.seq})
	return nil
}

// StagedBothWays adds the manifest (kind KindManifest) or catalog (kind
// KindCatalog) doc to two new Builders, one through AddManifest or
// AddCatalog and one through the reference way, and returns what each
// staged (for comparison only) and the errors.
func StagedBothWays(kind ArtifactKind, doc []byte, opts DecodeOptions) (fast, ref any, fastErr, refErr error) {
	fb := NewBuilder(Scope{}, BuildOptions{Decode: opts})
	rb := NewBuilder(Scope{}, BuildOptions{Decode: opts})
	if kind == KindCatalog {
		fastErr = fb.AddCatalog(bytesReader(doc))
		refErr = rb.AddCatalogReference(bytesReader(doc))
		return fb.catalogs, rb.catalogs, fastErr, refErr
	}
	fastErr = fb.AddManifest(bytesReader(doc), Provenance{})
	refErr = rb.AddManifestReference(bytesReader(doc), Provenance{})
	return fb.manifests, rb.manifests, fastErr, refErr
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
