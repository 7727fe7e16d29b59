package catalog

import (
	"bytes"
	"io"
	"math"
	"time"
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

// AddRunResultsReference adds a run_results.json the generic way:
// DecodeRunResults, each RunResult converted into a runRow. AddRunResults
// must stage what it stages.
func (b *Builder) AddRunResultsReference(r io.Reader, prov Provenance) error {
	var rows []runRow
	quiet := true
	success := b.strs.str("success")
	meta, err := DecodeRunResults(r, b.decodeOpts("run_results.json"), func(res RunResult) error {
		row := runRow{status: b.strs.str(res.Status), id: b.strs.str(res.UniqueID), message: res.Message, seconds: res.ExecutionTime}
		if res.Failures != nil {
			row.failures, row.flags = *res.Failures, row.flags|rowFailures
		}
		if res.AdapterResponse != nil {
			row.flags |= rowAdapter
		}
		if t := res.ExecutedAt(); !t.IsZero() {
			row.execSec, row.execNsec, row.flags = t.Unix(), int32(t.Nanosecond()), row.flags|rowExecuted
		}
		if row.status != success || row.flags&rowAdapter != 0 {
			quiet = false
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return err
	}
	compileOnly := isCompileOnly(meta, len(rows), quiet)
	if compileOnly {
		rows = nil
	}
	b.runs = append(b.runs, stagedRun{meta: meta, prov: prov, rows: rows, compileOnly: compileOnly})
	return nil
}

// StagedRow is a staged run result with its strings resolved and its
// execution time as bits, so that NaN compares equal to itself.
type StagedRow struct {
	ID, Status, Message string
	SecondsBits         uint64
	Failures            int64
	Flags               uint8
	ExecutedAt          time.Time
}

// StagedRun is a staged run_results.json with its rows resolved.
type StagedRun struct {
	Meta        ArtifactMeta
	Prov        Provenance
	CompileOnly bool
	Rows        []StagedRow
}

// StagedRuns returns the run results b staged, resolved.
func (b *Builder) StagedRuns() []StagedRun {
	var out []StagedRun
	for _, run := range b.runs {
		sr := StagedRun{Meta: run.meta, Prov: run.prov, CompileOnly: run.compileOnly}
		for i := range run.rows {
			r := &run.rows[i]
			sr.Rows = append(sr.Rows, StagedRow{
				ID: b.strs.get(r.id), Status: b.strs.get(r.status), Message: r.message,
				SecondsBits: math.Float64bits(r.seconds), Failures: r.failures, Flags: r.flags,
				ExecutedAt: r.executedAt(),
			})
		}
		out = append(out, sr)
	}
	return out
}

// RunRowDocs are run_results.json documents exercising the corners of
// run result decoding.
var RunRowDocs = runRowDocs
