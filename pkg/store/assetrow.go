package store

import (
	"strings"
	"unsafe"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// fieldSink receives a row's sanitised values one by one: hashed, rendered
// as COPY text, or collected. One walk per table (assetFields) fixes the
// column order for all three.
type fieldSink interface {
	str(string)
	strs([]string)
	boolean(bool)
	code(catalog.Text)
	json(string) // a jsonb value's text
}

// assetFields walks asset a's values in assetCols order, from unique_id to
// label: env_id and content_hash are the caller's.
func (w *writer) assetFields(a *catalog.Asset, s fieldSink) {
	uid := w.str(a.UniqueID)
	s.str(uid)
	// QualifiedName(scope, uid) is the scope's prefix (ASCII) and uid,
	// which is clean already.
	s.str(w.qualifiedPrefix + uid)
	s.str(string(a.Type))
	s.str(w.str(a.Name))
	s.str(w.str(a.PackageName))
	s.str(w.str(a.Description))
	s.str(w.str(a.Database))
	s.str(w.str(a.Schema))
	s.str(w.str(a.Identifier))
	s.str(w.str(a.RelationName))
	s.str(w.str(a.Materialization))
	s.str(w.str(a.Language))
	s.str(w.str(a.Access))
	s.str(w.str(a.Version))
	s.boolean(a.Enabled)
	s.str(w.str(a.Owner))
	s.strs(w.strs(a.Tags))
	s.json(w.json(a.Meta, "{}"))
	s.str(w.str(a.Path))
	s.code(a.RawCode)
	s.code(a.CompiledCode)
	s.str(w.str(a.Checksum))
	s.str(w.str(a.SourceName))
	s.str(w.str(a.Loader))
	s.str(w.str(a.TestName))
	s.str(w.str(a.TestColumnName))
	s.str(w.str(a.TestedUniqueID))
	s.str(w.str(a.Severity))
	s.str(w.str(a.URL))
	s.str(w.str(a.Label))
}

// hashSink hashes the values as hashRow would.
type hashSink struct{ w *writer }

func (s hashSink) str(v string)    { s.w.h.str(v) }
func (s hashSink) strs(v []string) { s.w.h.strs(v) }
func (s hashSink) boolean(v bool)  { s.w.h.boolean(v) }
func (s hashSink) json(v string)   { s.w.h.str(v) }
func (s hashSink) code(t catalog.Text) {
	// Long code by its digest, never inflated; short code as its
	// sanitised text (as hashRow hashes what writer.code gives).
	if t.Compressed() {
		s.w.h.text(t)
	} else {
		s.w.h.str(s.w.str(t.String()))
	}
}

// copySink renders the values as COPY text fields.
type copySink struct {
	w *writer
	b []byte
}

func (s *copySink) str(v string)    { s.b = append(appendCopyText(s.b, v), '\t') }
func (s *copySink) strs(v []string) { s.b = append(appendCopyArray(s.b, v), '\t') }
func (s *copySink) boolean(v bool) {
	if v {
		s.b = append(s.b, 't', '\t')
	} else {
		s.b = append(s.b, 'f', '\t')
	}
}
func (s *copySink) code(t catalog.Text) { s.str(s.w.codeText(t)) }
func (s *copySink) json(v string)       { s.str(v) }

// binSink renders the values in COPY binary format.
type binSink struct {
	w *writer
	b []byte
}

func (s *binSink) str(v string)    { s.b = binText(s.b, v) }
func (s *binSink) strs(v []string) { s.b = binTextArray(s.b, v) }
func (s *binSink) boolean(v bool) {
	s.b = append(s.b, 0, 0, 0, 1, 0)
	if v {
		s.b[len(s.b)-1] = 1
	}
}
func (s *binSink) code(t catalog.Text) { s.str(s.w.codeView(t)) } // copied at once
func (s *binSink) json(v string)       { s.b = binJSONB(s.b, v) }

// anySink collects the values for a parameterised write.
type anySink struct {
	w    *writer
	vals []any
}

func (s *anySink) str(v string)        { s.vals = append(s.vals, v) }
func (s *anySink) strs(v []string)     { s.vals = append(s.vals, v) }
func (s *anySink) boolean(v bool)      { s.vals = append(s.vals, v) }
func (s *anySink) code(t catalog.Text) { s.vals = append(s.vals, s.w.codeText(t)) }
func (s *anySink) json(v string)       { s.vals = append(s.vals, v) }

// codeText is code as written: its sanitised text. Repairs in compressed
// code are counted here, since hashing never inflated it.
func (w *writer) codeText(t catalog.Text) string {
	if !t.Compressed() {
		return w.str(t.String())
	}
	return strings.Clone(w.codeView(t))
}

// codeView is codeText without a copy of its own: compressed code is
// inflated into the writer's scratch buffer, and the result is valid only
// until the next call. Text.String would allocate the text and a copy
// buffer per call; a first crawl inflates every model's code.
func (w *writer) codeView(t catalog.Text) string {
	if !t.Compressed() {
		return w.str(t.String())
	}
	w.scratch.Reset()
	w.scratch.Grow(t.Len())
	// bytes.Buffer reads the inflated stream straight into itself.
	if _, err := t.WriteTo(&w.scratch); err != nil {
		// Only package catalog compresses texts, so the stream is never
		// corrupt; String reports it as it always has if it were.
		w.scratch.Reset()
		w.scratch.WriteString(t.String())
	}
	b := w.scratch.Bytes()
	c, changed := clean(unsafe.String(unsafe.SliceData(b), len(b)))
	if changed {
		w.sanitized++
	}
	return c
}

// hashBinSink renders the values in COPY binary format and hashes them
// as hashSink does, in one walk.
type hashBinSink struct{ binSink }

func (s *hashBinSink) str(v string) {
	s.w.h.str(v)
	s.binSink.str(v)
}
func (s *hashBinSink) strs(v []string) {
	s.w.h.strs(v)
	s.binSink.strs(v)
}
func (s *hashBinSink) boolean(v bool) {
	s.w.h.boolean(v)
	s.binSink.boolean(v)
}
func (s *hashBinSink) json(v string) {
	s.w.h.str(v)
	s.binSink.json(v)
}
func (s *hashBinSink) code(t catalog.Text) {
	if t.Compressed() {
		s.w.h.text(t) // by its digest, as hashSink does
		s.binSink.code(t)
		return
	}
	s.str(s.w.str(t.String()))
}

// appendNewAssetTuple renders a new asset a as one COPY binary tuple of
// assetCols, computing its content hash in the same walk (hashAsset gives
// the same hash).
func (w *writer) appendNewAssetTuple(b []byte, a *catalog.Asset) []byte {
	b = binTuple(b, len(assetCols))
	b = binInt8(b, w.envID)
	w.h.reset()
	s := hashBinSink{binSink{w: w, b: b}}
	w.assetFields(a, &s)
	ah := w.artifactHash(a)
	if ah != nil {
		w.h.bytes(ah)
	}
	b = binSum(s.b, w.h)
	return binBytes(b, ah)
}

// hashAsset returns asset a's content hash: its fields and its artifact
// hash, so that a row whose artifact hash changed is written too.
func (w *writer) hashAsset(a *catalog.Asset) []byte {
	w.hashAssetFields(a)
	return w.h.sum()
}

// hashAssetFields writes what hashAsset hashes to w.h.
func (w *writer) hashAssetFields(a *catalog.Asset) {
	w.h.reset()
	w.assetFields(a, hashSink{w})
	if ah := w.artifactHash(a); ah != nil {
		w.h.bytes(ah)
	}
}

// artifactHash is asset a's artifact hash in the snapshot, nil when it
// has none.
func (w *writer) artifactHash(a *catalog.Asset) []byte {
	if w.snap.ArtifactHashes == nil {
		return nil
	}
	return w.snap.ArtifactHashes[a.UniqueID]
}
