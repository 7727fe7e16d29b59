package catalog

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Provenance says which dbt Cloud run produced an artifact. For dbt Core
// artifacts the IDs are 0.
type Provenance struct {
	RunID int64
	JobID int64
	// FinishedAt is when the run finished; it dates results that carry no
	// timing of their own.
	FinishedAt time.Time
}

// BuildOptions configures a Builder. The zero value is usable.
type BuildOptions struct {
	// AdapterType overrides the manifest's metadata.adapter_type (for
	// example when only a catalog is available).
	AdapterType string
	// Decode bounds every artifact read (File is filled per artifact when
	// empty).
	Decode DecodeOptions
}

// Warning codes a Builder emits.
const (
	WarnDuplicateID     = "duplicate_unique_id"
	WarnDanglingRef     = "dangling_reference"
	WarnUnknownResult   = "result_for_unknown_node"
	WarnSanitized       = "sanitized_strings"
	WarnCompileOnly     = "compile_only_run_results"
	WarnCatalogErrors   = "catalog_errors"
	WarnUnknownAdapter  = "unknown_adapter"
	WarnUnknownType     = "unknown_resource_type"
	maxDistinctWarnings = 100
)

type stagedManifest struct {
	meta  ArtifactMeta
	prov  Provenance
	nodes []stagedNode
	seq   int
}

type stagedCatalog struct {
	meta   ArtifactMeta
	tables []stagedTable
	seq    int
}

// stagedRun is one run_results.json in the compact form Build reads.
type stagedRun struct {
	meta ArtifactMeta
	prov Provenance
	rows []runRow
	// compileOnly is isCompileOnly of the file; its rows are then dropped.
	compileOnly bool
}

type stagedSources struct {
	meta    ArtifactMeta
	prov    Provenance
	results []FreshnessResult
}

// Builder merges dbt artifacts of one environment into a Snapshot. It does
// no I/O beyond reading the readers it is given. Artifacts may be added in
// any order; an artifact that fails to decode leaves the Builder as it was.
// Build may be called more than once; BuildAndRelease builds once and
// frees the staged artifacts as it goes. A Builder is not safe for
// concurrent use.
type Builder struct {
	scope     Scope
	opts      BuildOptions
	seq       int
	manifests []stagedManifest
	catalogs  []stagedCatalog
	runs      []stagedRun
	sources   []stagedSources
	// strs interns the unique_ids and statuses of run results, which
	// repeat from run to run.
	strs strTable
	// in stores repeated strings, JSON values and tag lists of manifests
	// and catalogs once.
	in interner
}

// NewBuilder returns an empty Builder for the environment scope.
func NewBuilder(scope Scope, opts BuildOptions) *Builder {
	return &Builder{scope: scope, opts: opts}
}

func (b *Builder) decodeOpts(file string) DecodeOptions {
	o := b.opts.Decode
	if o.File == "" {
		o.File = file
	}
	return o
}

// AddManifest reads a manifest.json. When several manifests are added, the
// newest (by metadata.generated_at) wins for every unique_id. It returns
// the decoder's *ArtifactError on input it cannot understand.
func (b *Builder) AddManifest(r io.Reader, prov Provenance) error {
	// Collected in chunks and copied once at their exact count: growing
	// one slice would leave several times its final size as garbage.
	var staged chunks[stagedNode]
	d := nodeDecoder{in: &b.in}
	meta, err := streamManifest(r, b.decodeOpts("manifest.json"), &d, func(section, key string) error {
		*staged.next() = d.stage(section, key)
		return nil
	})
	if err != nil {
		return err
	}
	nodes := staged.drain(nil)
	b.seq++
	b.manifests = append(b.manifests, stagedManifest{meta: meta, prov: prov, nodes: nodes, seq: b.seq})
	return nil
}

// ProjectName returns the dbt project name (metadata.project_name) of the
// newest manifest added, or "" when it has none.
func (b *Builder) ProjectName() string {
	name, newest := "", time.Time{}
	for _, m := range b.manifests {
		if m.meta.ProjectName != "" && !m.meta.GeneratedAt.Before(newest) {
			name, newest = m.meta.ProjectName, m.meta.GeneratedAt
		}
	}
	return name
}

// AddCatalog reads a catalog.json. When several catalogs are added, the
// newest wins for every unique_id and relation.
func (b *Builder) AddCatalog(r io.Reader) error {
	var staged chunks[stagedTable]
	d := tableDecoder{in: &b.in}
	meta, err := streamCatalog(r, b.decodeOpts("catalog.json"), &d, func(key string) error {
		*staged.next() = d.stage(key)
		return nil
	})
	if err != nil {
		return err
	}
	tables := staged.drain(nil)
	b.seq++
	b.catalogs = append(b.catalogs, stagedCatalog{meta: meta, tables: tables, seq: b.seq})
	return nil
}

// AddRunResults reads a run_results.json produced by the run prov.
// Results written by `dbt docs generate` or `dbt compile` are kept out of
// run history.
func (b *Builder) AddRunResults(r io.Reader, prov Provenance) error {
	meta, rows, quiet, err := decodeRunRows(r, b.decodeOpts("run_results.json"), &b.strs, nil)
	if err != nil {
		return err
	}
	compileOnly := isCompileOnly(meta, len(rows), quiet)
	switch {
	case compileOnly:
		rows = nil // never read
	case cap(rows)-len(rows) > len(rows)/8:
		rows = slices.Clone(rows)
	}
	b.runs = append(b.runs, stagedRun{meta: meta, prov: prov, rows: rows, compileOnly: compileOnly})
	return nil
}

// AddSources reads a sources.json (source freshness) produced by the run
// prov.
func (b *Builder) AddSources(r io.Reader, prov Provenance) error {
	var results []FreshnessResult
	meta, err := DecodeSources(r, b.decodeOpts("sources.json"), func(res FreshnessResult) error {
		results = append(results, res)
		return nil
	})
	if err != nil {
		return err
	}
	b.sources = append(b.sources, stagedSources{meta: meta, prov: prov, results: results})
	return nil
}

// assetTypes are the resource types recorded as assets.
var assetTypes = map[string]ResourceType{
	"model": TypeModel, "source": TypeSource, "seed": TypeSeed, "snapshot": TypeSnapshot,
	"test": TypeTest, "unit_test": TypeUnitTest, "exposure": TypeExposure, "metric": TypeMetric,
	"semantic_model": TypeSemanticModel, "saved_query": TypeSavedQuery, "analysis": TypeAnalysis,
}

// knownNonAssets are the resource types dbt writes that are not catalog
// assets; any other unknown type is skipped with a warning.
var knownNonAssets = map[string]bool{
	"operation": true, "sql_operation": true, "sql": true, "rpc": true, "macro": true,
	"doc": true, "docs": true, "group": true, "function": true,
}

// build holds the state of one Build call.
type build struct {
	b *Builder
	// release is set by BuildAndRelease: each part of the Builder is
	// dropped as soon as it has been converted.
	release bool
	snap    *Snapshot
	adapter string
	quoting Quoting
	// haveManifest and haveCatalog say whether any manifest or catalog
	// was added (read before the Builder is released).
	haveManifest bool
	haveCatalog  bool
	nodes        map[string]*stagedNode
	skipped      map[string]bool // manifest ids that are not assets
	// assets maps a manifest unique_id to its position in snap.Assets,
	// which is also its position in order.
	assets    map[string]int32
	order     []string
	groups    map[string]string // group name -> owner
	tables    []*stagedTable
	tableByID map[string]int
	// What match needs of the nodes, by position in order: the expected
	// relations (of relation types only) and the YAML columns.
	refs      [][]relationRef
	yaml      [][]stagedColumn
	sanitized int
	distinct  map[string]int
	tagCache  map[*string]tagSet
}

// Build merges everything added so far into a Snapshot with every slice
// sorted, so the same inputs always give the same snapshot. Complete is
// left false: the caller sets it when every input was fetched; Jobs, Runs
// and Watermarks are left to the caller too. Problems in the inputs become
// Snapshot warnings; Build never fails.
//
// Merge rules:
//   - Assets: models, sources, seeds, snapshots, tests, unit tests,
//     exposures, metrics, semantic models, saved queries and analyses,
//     including disabled ones (Enabled false); operations, macros, docs
//     and groups are not assets. Tags are config.tags ∪ tags, sorted; Meta
//     is meta merged over config.meta (node-level keys win) as canonical
//     JSON; Owner is meta.owner, then config.meta.owner, then the exposure
//     owner, then the group owner (email before name), then the catalog
//     table owner. Path is original_file_path with forward slashes.
//   - Columns: catalog columns in ordinal order (1-based; a 0-based table
//     is shifted by one) with the catalog's spelling, joined
//     case-insensitively to YAML columns for description, tags and meta;
//     YAML-only columns follow with ordinal 0.
//   - Edges: depends_on.nodes and the tested node of every test; references
//     to nodes no manifest lists are dropped with a warning.
//   - Test results: one per (test, run, invocation) from run_results that
//     executed something (not `docs generate` or `compile`), dated by the
//     execute timing, else the run's FinishedAt, else generated_at. The
//     newest execution of any node sets its LastRun* fields.
//   - Matches: every model, seed, snapshot and source gets a Match:
//     disabled, ephemeral, matched (trying relation_name, then exact
//     database.schema.identifier after adapter normalisation, then
//     case-insensitive, then the catalog's unique_id key), or not_built /
//     missing_from_catalog with a Reason. Relations are every catalog
//     table, kind from metadata.type, row count and bytes from stats.
func (b *Builder) Build() *Snapshot {
	return b.build(false)
}

// BuildAndRelease returns the same Snapshot as Build while releasing the
// Builder's staged artifacts as soon as each part has been converted, so
// that the staged form and the snapshot are not both held in full: for a
// large project this lowers the peak heap of building by about the size
// of the staged artifacts. The Builder must not be used afterwards; it is
// left empty, so a later Build returns an empty snapshot.
func (b *Builder) BuildAndRelease() *Snapshot {
	return b.build(true)
}

// build runs the Build steps, releasing the Builder's staged state along
// the way when release is set.
func (b *Builder) build(release bool) *Snapshot {
	st := &build{
		b:            b,
		release:      release,
		snap:         &Snapshot{Scope: b.scope},
		haveManifest: len(b.manifests) > 0,
		haveCatalog:  len(b.catalogs) > 0,
		nodes:        map[string]*stagedNode{},
		skipped:      map[string]bool{},
		assets:       map[string]int32{},
		groups:       map[string]string{},
		tagCache:     map[*string]tagSet{},
		tableByID:    map[string]int{},
		distinct:     map[string]int{},
	}
	if release {
		b.in = interner{} // only the Add methods use it
	}
	st.collectNodes()
	st.collectTables()
	st.chooseAdapter()
	st.keepMatchInputs()
	st.makeAssets()
	st.makeEdges()
	st.releaseNodes()
	built := st.applyRunResults()
	st.applyFreshness()
	st.match(built)
	st.finish()
	return st.snap
}

// warn records a warning, listing at most maxDistinctWarnings distinct
// messages per code and counting the rest under one summary message.
func (st *build) warn(code, msg string) {
	if st.distinct[code] >= maxDistinctWarnings {
		st.snap.AddWarning(code, "further warnings of this kind are counted here, not listed")
		return
	}
	before := len(st.snap.Warnings)
	st.snap.AddWarning(code, msg)
	if len(st.snap.Warnings) > before {
		st.distinct[code]++
	}
}

// s sanitises a string taken from an artifact, counting changes.
func (st *build) s(v string) string {
	c := clean(v)
	if c != v {
		st.sanitized++
	}
	return c
}

func (st *build) noteGenerated(t time.Time) {
	if t.After(st.snap.GeneratedAt) {
		st.snap.GeneratedAt = t
	}
}

// collectNodes picks one node per unique_id: the newest manifest wins;
// within a manifest the first entry wins, enabled before disabled. order
// lists the picked unique_ids sorted.
func (st *build) collectNodes() {
	ms := slices.Clone(st.b.manifests)
	slices.SortStableFunc(ms, func(a, b stagedManifest) int {
		return cmp.Or(b.meta.GeneratedAt.Compare(a.meta.GeneratedAt), cmp.Compare(a.seq, b.seq))
	})
	for mi := range ms {
		m := &ms[mi]
		st.noteGenerated(m.meta.GeneratedAt)
		st.sanitized += m.meta.InvalidUTF8
		if mi == 0 {
			st.quoting = m.meta.Quoting
		}
		seen := map[string]bool{}
		for pass := range 2 {
			for i := range m.nodes {
				n := &m.nodes[i]
				if (n.Section == "disabled") != (pass == 1) || n.UniqueID == "" {
					continue
				}
				if n.Section == "groups" {
					if _, ok := st.groups[n.Name]; !ok {
						st.groups[n.Name] = n.extra().Owner
					}
					continue
				}
				if seen[n.UniqueID] {
					if pass == 0 {
						st.warn(WarnDuplicateID, fmt.Sprintf("manifest lists %s more than once; the first entry is kept", st.s(n.UniqueID)))
					}
					continue
				}
				seen[n.UniqueID] = true
				if _, ok := st.nodes[n.UniqueID]; ok {
					continue // an older manifest's copy
				}
				if _, ok := assetTypes[n.ResourceType]; !ok {
					st.skipped[n.UniqueID] = true
					if !knownNonAssets[n.ResourceType] && pass == 0 {
						st.warn(WarnUnknownType, fmt.Sprintf("manifest lists %s with resource_type %q, which the crawler does not know; it is skipped", st.s(n.UniqueID), st.s(n.ResourceType)))
					}
					continue
				}
				st.nodes[n.UniqueID] = n
			}
		}
	}
	st.order = make([]string, 0, len(st.nodes))
	for id := range st.nodes {
		st.order = append(st.order, id)
	}
	slices.Sort(st.order)
}

// collectTables keeps one catalog table per unique_id and per relation,
// newest catalog first.
func (st *build) collectTables() {
	cs := slices.Clone(st.b.catalogs)
	slices.SortStableFunc(cs, func(a, b stagedCatalog) int {
		return cmp.Or(b.meta.GeneratedAt.Compare(a.meta.GeneratedAt), cmp.Compare(a.seq, b.seq))
	})
	seenRel := map[string]bool{}
	for _, c := range cs {
		st.noteGenerated(c.meta.GeneratedAt)
		st.sanitized += c.meta.InvalidUTF8
		for _, e := range c.meta.CatalogErrors {
			st.warn(WarnCatalogErrors, "catalog.json reports an error: "+e)
		}
		for i := range c.tables {
			t := &c.tables[i]
			if _, ok := st.tableByID[t.UniqueID]; ok {
				continue
			}
			key := relKey(t.Database, t.Schema, t.Name)
			if seenRel[key] {
				continue
			}
			seenRel[key] = true
			st.tableByID[t.UniqueID] = len(st.tables)
			st.tables = append(st.tables, t)
		}
	}
}

// chooseAdapter takes the adapter from the options, the newest manifest or
// the catalog's type names, in that order.
func (st *build) chooseAdapter() {
	st.adapter = strings.ToLower(st.b.opts.AdapterType)
	if st.adapter == "" {
		newest := time.Time{}
		for _, m := range st.b.manifests {
			if m.meta.AdapterType != "" && (st.adapter == "" || m.meta.GeneratedAt.After(newest)) {
				st.adapter, newest = m.meta.AdapterType, m.meta.GeneratedAt
			}
		}
	}
	if st.adapter == "" {
		st.adapter = inferAdapter(st.tables)
		if st.adapter == "" && len(st.tables) > 0 {
			st.warn(WarnUnknownAdapter, "the warehouse adapter is unknown (no manifest metadata.adapter_type); relations are matched case-insensitively")
		}
	}
	st.snap.AdapterType = st.adapter
}

// inferAdapter guesses the adapter from catalog column type names.
func inferAdapter(tables []*stagedTable) string {
	for _, t := range tables {
		for _, c := range t.Columns {
			switch {
			case c.Type == "STRING" || c.Type == "INT64" || strings.HasPrefix(c.Type, "ARRAY<") || strings.HasPrefix(c.Type, "STRUCT<"):
				return "bigquery"
			case strings.HasPrefix(c.Type, "VARCHAR2"):
				return "oracle"
			case c.Type == "TEXT" || c.Type == "VARIANT" || c.Type == "TIMESTAMP_NTZ" || c.Type == "TIMESTAMP_LTZ":
				return "snowflake"
			case strings.HasPrefix(c.Type, "character varying") || c.Type == "timestamp without time zone":
				return "postgres"
			}
		}
	}
	return ""
}

// makeAssets makes one asset per node, in order.
func (st *build) makeAssets() {
	// The assets live in the snapshot's slice from the start, so finish
	// need not copy them.
	st.snap.Assets = make([]Asset, len(st.order))
	for i, id := range st.order {
		st.makeAsset(&st.snap.Assets[i], st.nodes[id])
		st.assets[id] = int32(i)
	}
	st.groups = nil
}

// asset returns the asset of the manifest unique_id, or nil.
func (st *build) asset(id string) *Asset {
	i, ok := st.assets[id]
	if !ok {
		return nil
	}
	return &st.snap.Assets[i]
}

// keepMatchInputs keeps what match needs of the nodes, by position in
// order: the expected relations and the YAML columns. It runs before the
// assets are made, while less is held.
func (st *build) keepMatchInputs() {
	st.refs = make([][]relationRef, len(st.order))
	st.yaml = make([][]stagedColumn, len(st.order))
	for i, id := range st.order {
		n := st.nodes[id]
		if relationTypes[assetTypes[n.ResourceType]] {
			st.refs[i] = slices.Clip(expectedRelations(n, st.adapter, st.quoting))
		}
		st.yaml[i] = n.Columns
	}
}

// releaseNodes drops the staged manifests when releasing: nothing after
// makeEdges reads them.
func (st *build) releaseNodes() {
	if st.release {
		st.nodes = nil
		st.b.manifests = nil
	}
}

func normPath(p string) string { return strings.ReplaceAll(p, `\`, "/") }

func (st *build) makeAsset(a *Asset, n *stagedNode) {
	x := n.extra()
	*a = Asset{
		UniqueID:        st.s(n.UniqueID),
		Type:            assetTypes[n.ResourceType],
		Name:            st.s(n.Name),
		PackageName:     st.s(n.PackageName),
		Description:     st.s(n.Description),
		Database:        st.s(n.Database),
		Schema:          st.s(n.Schema),
		Identifier:      st.s(firstNonEmpty(n.Alias, x.Identifier)),
		RelationName:    st.s(n.RelationName),
		Materialization: st.s(n.Materialized),
		Language:        st.s(n.Language),
		Access:          st.s(x.Access),
		Version:         st.s(x.Version),
		Enabled:         n.Enabled,
		Path:            st.s(n.Path),
		RawCode:         n.RawCode, // repaired by the store when written
		CompiledCode:    n.CompiledCode,
		SourceName:      st.s(x.SourceName),
		Loader:          st.s(x.Loader),
		Severity:        strings.ToLower(st.s(n.Severity)),
		URL:             st.s(x.URL),
		Label:           st.s(x.Label),
		Group:           st.s(x.Group),
	}
	if n.ResourceType == string(TypeSource) {
		a.Identifier = st.s(firstNonEmpty(x.Identifier, n.Name))
	} else if a.Identifier == "" && a.Schema != "" {
		a.Identifier = a.Name
	}
	a.Checksum = st.s(n.Checksum)
	a.Tags = st.sortedTags(n.Tags)
	a.Meta = n.Meta
	switch a.Type {
	case TypeTest:
		if n.HasTestMetadata {
			a.TestName = st.s(x.TestName)
			a.TestNamespace = st.s(x.TestNamespace)
		}
		a.TestColumnName = st.s(x.ColumnName)
		if a.TestColumnName == "" && n.HasTestMetadata {
			a.TestColumnName = st.s(x.TestColumn)
		}
		a.TestedUniqueID = st.s(testedNode(n, st.nodes))
	case TypeUnitTest:
		a.TestedUniqueID = st.s(testedNode(n, st.nodes))
	case TypeExposure:
		a.ExposureType = st.s(x.Kind)
		a.Maturity = st.s(x.Maturity)
	case TypeMetric:
		a.MetricType = st.s(x.Kind)
	}
	a.Owner = st.s(x.Owner)
	if a.Owner == "" && a.Group != "" {
		a.Owner = st.s(st.groups[a.Group])
	}
}

// preferred returns the owner's email, else its name.
func (o ManifestOwner) preferred() string { return firstNonEmpty(o.Email, o.Name) }

// tags returns the union of tag lists, de-duplicated and sorted.
func (st *build) tags(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, t := range l {
			if t = st.s(t); t != "" {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// testedNode returns the node a test is attached to: attached_node, the
// only depends_on node, the depends_on node named in kwargs.model, or the
// first depends_on node.
func testedNode(n *stagedNode, nodes map[string]*stagedNode) string {
	x := n.extra()
	if x.AttachedNode != "" {
		return x.AttachedNode
	}
	if len(n.DependsOn) == 1 {
		return n.DependsOn[0]
	}
	if len(n.DependsOn) == 0 {
		return ""
	}
	if n.HasTestMetadata && x.TestModel != "" {
		model := x.TestModel
		for _, dep := range n.DependsOn {
			d, ok := nodes[dep]
			if !ok {
				continue
			}
			var needles []string
			if d.ResourceType == string(TypeSource) {
				src := d.extra().SourceName
				needles = []string{"source('" + src + "', '" + d.Name + "')", `source("` + src + `", "` + d.Name + `")`}
			} else {
				needles = []string{"ref('" + d.Name + "')", `ref("` + d.Name + `")`}
			}
			for _, needle := range needles {
				if strings.Contains(model, needle) {
					return dep
				}
			}
		}
	}
	return n.DependsOn[0]
}

// isCompileOnly reports whether run results come from a command that runs
// nothing in the warehouse (docs generate, compile, ...). Without
// args.which, n results where every status is success and every adapter
// response is empty (quiet) are taken as compile-only.
func isCompileOnly(meta ArtifactMeta, n int, quiet bool) bool {
	switch strings.ToLower(meta.Command) {
	case "generate", "docs", "compile", "parse", "list", "ls", "show", "debug", "deps", "clean", "init":
		return true
	case "":
		return n > 0 && quiet
	}
	return false
}

// applyRunResults records test results and last runs, and returns, by
// asset position, whether some run built the asset successfully.
func (st *build) applyRunResults() []bool {
	built := make([]bool, len(st.snap.Assets))
	strs := &st.b.strs
	// Per strTable position: the asset it names plus one (0: none; looked
	// up on first use) and its test-result bucket (-1: none yet). A bucket
	// is one asset UniqueID.
	n := len(strs.list)
	ref := make([]int32, n)
	resolved := make([]bool, n)
	asset := func(id int32) *Asset {
		if !resolved[id] {
			resolved[id] = true
			if i, ok := st.assets[strs.get(id)]; ok {
				ref[id] = i + 1
			}
		}
		if ref[id] == 0 {
			return nil
		}
		return &st.snap.Assets[ref[id]-1]
	}
	// Size TestResults once: growing it would hold two copies.
	nTests := 0
	for _, run := range st.b.runs {
		if !st.haveManifest || run.compileOnly {
			continue
		}
		for i := range run.rows {
			if a := asset(run.rows[i].id); a != nil && (a.Type == TypeTest || a.Type == TypeUnitTest) {
				nTests++
			}
		}
	}
	var trBucket []int32
	if nTests > 0 {
		st.snap.TestResults = make([]TestResult, 0, nTests)
		trBucket = make([]int32, 0, nTests)
	}
	bucket := make([]int32, n)
	for i := range bucket {
		bucket[i] = -1
	}
	bucketOf := map[string]int32{}
	var bucketIDs []string
	// Runs that share a run ID and invocation ID form one group; a test has
	// at most one result per group.
	groups := map[runGroup]uint64{}
	// The result a group holds for a bucket: when each group's runs are
	// added one after another (one run_results.json per run and
	// invocation, the usual case), only a bucket's latest group can hold
	// one, so two slices by bucket do; otherwise a map by group and bucket.
	contiguous := groupsContiguous(st.b.runs)
	var lastGroup []uint64 // by bucket: its latest group plus one
	var lastTR []int32     // by bucket: the position of that group's result
	var seenTR map[uint64]int32
	if !contiguous {
		seenTR = map[uint64]int32{}
	}
	var fails []int64 // backs TestResult.Failures
	for _, run := range st.b.runs {
		st.noteGenerated(run.meta.GeneratedAt)
		st.sanitized += run.meta.InvalidUTF8
		if !st.haveManifest {
			st.warn(WarnUnknownResult, "run_results.json was added without a manifest.json; its results cannot be attached to nodes")
			continue
		}
		if run.compileOnly {
			what := run.meta.Command
			if what == "" {
				what = "a compile-only command"
			}
			st.warn(WarnCompileOnly, fmt.Sprintf("run_results.json from `%s` holds no executions and was not used as run history", what))
			continue
		}
		gk := runGroup{run.prov.RunID, run.meta.InvocationID}
		group, ok := groups[gk]
		if !ok {
			group = uint64(len(groups))
			groups[gk] = group
		}
		for i := range run.rows {
			r := &run.rows[i]
			a := asset(r.id)
			if a == nil {
				id := strs.get(r.id)
				if !st.skipped[id] && id != "" {
					st.warn(WarnUnknownResult, fmt.Sprintf("run_results.json has a result for %s, which no manifest lists; it is ignored", st.s(id)))
				}
				continue
			}
			at := firstTime(r.executedAt(), run.prov.FinishedAt, run.meta.GeneratedAt)
			status := st.s(strs.get(r.status))
			if status == "success" || status == "pass" || status == "fail" || status == "warn" {
				built[ref[r.id]-1] = true
			}
			if newer(at, run.prov.RunID, a.LastRunAt, a.LastRunID) {
				a.LastRunStatus, a.LastRunAt = status, at
				a.LastRunID, a.LastJobID = run.prov.RunID, run.prov.JobID
				a.ExecutionSeconds = r.seconds
			}
			if a.Type != TypeTest && a.Type != TypeUnitTest {
				continue
			}
			bk := bucket[r.id]
			if bk < 0 {
				var ok bool
				if bk, ok = bucketOf[a.UniqueID]; !ok {
					bk = int32(len(bucketIDs))
					bucketOf[a.UniqueID] = bk
					bucketIDs = append(bucketIDs, a.UniqueID)
					if contiguous {
						lastGroup = append(lastGroup, 0)
						lastTR = append(lastTR, 0)
					}
				}
				bucket[r.id] = bk
			}
			tr := TestResult{
				TestUniqueID:     a.UniqueID,
				RunID:            run.prov.RunID,
				JobID:            run.prov.JobID,
				Status:           status,
				Message:          st.s(r.message),
				ExecutedAt:       at,
				ExecutionSeconds: r.seconds,
				InvocationID:     run.meta.InvocationID,
			}
			if r.flags&rowFailures != 0 {
				if len(fails) == cap(fails) {
					fails = make([]int64, 0, 1024)
				}
				fails = append(fails, r.failures)
				tr.Failures = &fails[len(fails)-1]
			}
			i, dup := int32(0), false
			if contiguous {
				i, dup = lastTR[bk], lastGroup[bk] == group+1
			} else {
				i, dup = seenTR[group<<32|uint64(bk)]
			}
			if dup {
				if tr.ExecutedAt.After(st.snap.TestResults[i].ExecutedAt) {
					st.snap.TestResults[i] = tr
				}
				continue
			}
			if contiguous {
				lastGroup[bk], lastTR[bk] = group+1, int32(len(st.snap.TestResults))
			} else {
				seenTR[group<<32|uint64(bk)] = int32(len(st.snap.TestResults))
			}
			st.snap.TestResults = append(st.snap.TestResults, tr)
			trBucket = append(trBucket, bk)
		}
	}
	orderTestResults(st.snap.TestResults, trBucket, bucketIDs)
	if st.release {
		st.b.runs = nil
		st.b.strs = strTable{}
		st.skipped = nil
	}
	return built
}

// runGroup names the runs that share a run ID and invocation ID.
type runGroup struct {
	run   int64
	invoc string
}

// groupsContiguous reports whether the runs applyRunResults uses that
// share a run ID and invocation ID (a group) follow one another, so that
// no group recurs after another has begun.
func groupsContiguous(runs []stagedRun) bool {
	var prev runGroup
	var seen map[runGroup]bool
	for i := range runs {
		run := &runs[i]
		if run.compileOnly {
			continue
		}
		k := runGroup{run.prov.RunID, run.meta.InvocationID}
		if seen != nil && k == prev {
			continue
		}
		if seen[k] {
			return false
		}
		if seen == nil {
			seen = map[runGroup]bool{}
		}
		seen[k], prev = true, k
	}
	return true
}

// orderTestResults puts trs in the order finish wants (test, executed at,
// run, invocation) in place, without comparing unique IDs per result:
// results are grouped by their bucket (a test's UniqueID, trs[i] is in
// bucket[i]), buckets ordered by ID and each bucket sorted on its own.
// bucket is overwritten.
func orderTestResults(trs []TestResult, bucket []int32, ids []string) {
	if len(trs) < 2 {
		return
	}
	byID := make([]int32, len(ids))
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return strings.Compare(ids[a], ids[b]) })
	count := make([]int, len(ids))
	for _, b := range bucket {
		count[b]++
	}
	start := make([]int, len(ids)) // by bucket: its first slot
	pos := 0
	for _, b := range byID {
		start[b] = pos
		pos += count[b]
	}
	// Turn bucket into each result's destination, then move the results
	// along the cycles of that permutation.
	next := slices.Clone(start)
	dest := bucket
	for i, b := range bucket {
		dest[i] = int32(next[b])
		next[b]++
	}
	for i := range trs {
		for int(dest[i]) != i {
			j := dest[i]
			trs[i], trs[j] = trs[j], trs[i]
			dest[i], dest[j] = dest[j], dest[i]
		}
	}
	cmpRun := func(a, b TestResult) int {
		return cmp.Or(a.ExecutedAt.Compare(b.ExecutedAt), cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.InvocationID, b.InvocationID))
	}
	for b := range ids {
		part := trs[start[b] : start[b]+count[b]]
		if !slices.IsSortedFunc(part, cmpRun) {
			slices.SortFunc(part, cmpRun)
		}
	}
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// newer reports whether an execution at (at, run) supersedes (curAt, curRun).
func newer(at time.Time, run int64, curAt time.Time, curRun int64) bool {
	if curAt.IsZero() && curRun == 0 {
		return true
	}
	if c := at.Compare(curAt); c != 0 {
		return c > 0
	}
	return run > curRun
}

// relationTypes are the asset types matched to warehouse relations.
var relationTypes = map[ResourceType]bool{TypeModel: true, TypeSeed: true, TypeSnapshot: true, TypeSource: true}

// match builds Relations from the catalog and a Match for every model,
// seed, snapshot and source, then merges columns. built is by asset
// position.
func (st *build) match(built []bool) {
	ix := newRelationIndex(st.tables)
	if len(st.tables) > 0 {
		st.snap.Relations = make([]Relation, 0, len(st.tables))
	}
	kinds := map[string]string{} // catalog type -> RelationKind
	for _, t := range st.tables {
		kind, ok := kinds[t.Type]
		if !ok {
			kind = RelationKind(t.Type)
			kinds[t.Type] = kind
		}
		rel := Relation{
			Database: st.s(t.Database), Schema: st.s(t.Schema), Name: st.s(t.Name),
			Kind: kind, Owner: st.s(t.Owner), Comment: st.s(t.Comment),
			RowCount: t.RowCount, Bytes: t.Bytes,
		}
		st.snap.Relations = append(st.snap.Relations, rel)
	}
	nMatches := 0
	for i := range st.snap.Assets {
		if relationTypes[st.snap.Assets[i].Type] {
			nMatches++
		}
	}
	if nMatches > 0 {
		st.snap.Matches = make([]Match, 0, nMatches)
	}
	// First the table of every asset and the plan of its columns, so that
	// Columns is allocated once at its final size.
	tableOf := make([]int32, len(st.order))
	uses := make([]int32, len(st.tables)) // assets per table
	planEnd := make([]int32, len(st.order))
	var plan []colPlan
	for i, id := range st.order {
		a := &st.snap.Assets[i]
		table := -1
		if relationTypes[a.Type] {
			m := Match{UniqueID: a.UniqueID}
			refs := st.refs[i]
			if len(refs) > 0 {
				m.Database, m.Schema, m.Name = st.s(refs[0].Database), st.s(refs[0].Schema), st.s(refs[0].Name)
			}
			switch {
			case !a.Enabled:
				m.Status, m.Reason = MatchDisabled, "the node is disabled"
			case strings.EqualFold(a.Materialization, "ephemeral"):
				m.Status, m.Reason = MatchEphemeral, "ephemeral models build no relation"
			default:
				t, rule := ix.find(refs, id)
				if t >= 0 {
					table = t
					ct := st.tables[t]
					m.Status, m.Rule = MatchMatched, rule
					m.Database, m.Schema, m.Name = st.s(ct.Database), st.s(ct.Schema), st.s(ct.Name)
				} else {
					m.Status, m.Reason = st.noMatch(a, refs, built[i])
				}
			}
			st.snap.Matches = append(st.snap.Matches, m)
		} else if t, ok := st.tableByID[id]; ok {
			table = t // e.g. a test stored with store_failures
		}
		var ct *stagedTable
		if table >= 0 {
			ct = st.tables[table]
			uses[table]++
			if a.Owner == "" {
				a.Owner = st.s(ct.Owner)
			}
		}
		tableOf[i] = int32(table)
		plan = st.planColumns(plan, st.yaml[i], ct)
		planEnd[i] = int32(len(plan))
	}
	st.refs = nil
	tableCols := make([][]CatalogColumn, len(st.tables))
	for t, ct := range st.tables {
		tableCols[t] = ct.Columns
	}
	if st.release {
		// Only the columns of the staged tables are read from here on.
		st.tables, st.tableByID = nil, nil
		st.b.catalogs = nil
	}
	if len(plan) > 0 {
		st.snap.Columns = make([]Column, 0, len(plan))
	}
	from := int32(0)
	for i := range st.order {
		var cols []CatalogColumn
		t := tableOf[i]
		if t >= 0 {
			cols = tableCols[t]
		}
		st.snap.Columns = st.makeColumns(st.snap.Columns, st.snap.Assets[i].UniqueID, st.yaml[i], cols, plan[from:planEnd[i]])
		from = planEnd[i]
		if st.release {
			st.yaml[i] = nil
			if t >= 0 {
				if uses[t]--; uses[t] == 0 {
					tableCols[t] = nil
				}
			}
		}
	}
	st.yaml = nil
}

// noMatch says why an enabled, materialised node has no catalog relation.
func (st *build) noMatch(a *Asset, refs []relationRef, built bool) (MatchStatus, string) {
	where := "the relation"
	if len(refs) > 0 {
		where = strings.TrimPrefix(refs[0].Database+"."+refs[0].Schema+"."+refs[0].Name, ".")
	}
	switch {
	case !st.haveCatalog:
		if a.Type == TypeSource || built {
			return MatchMissingCatalog, "no catalog.json was provided; run `dbt docs generate` in a job to match " + where
		}
		return MatchNotBuilt, "no run built the node and no catalog.json was provided"
	case a.Type == TypeSource:
		return MatchMissingCatalog, where + " is not in catalog.json; check the source's database, schema and identifier"
	case built:
		return MatchMissingCatalog, where + " was built but is not in catalog.json; the catalog may predate the build or come from another target"
	case a.LastRunStatus != "":
		return MatchNotBuilt, "the last run ended with status " + a.LastRunStatus + " and " + where + " is not in catalog.json"
	}
	return MatchNotBuilt, "no run result and " + where + " is not in catalog.json"
}

// statInt returns the first of the stats ids that holds a number.
func statInt(stats []CatalogStat, ids ...string) *int64 {
	for _, id := range ids {
		for _, s := range stats {
			if s.ID == id {
				if v, ok := s.Int64(); ok {
					return &v
				}
			}
		}
	}
	return nil
}

// makeEdges turns depends_on and test attachments into lineage edges,
// warning about references to nodes no manifest lists. Edges repeat
// here; finish removes the repeats once sorted, which costs less than a
// set of every edge.
func (st *build) makeEdges() {
	most := 0
	for i, id := range st.order {
		most += len(st.nodes[id].DependsOn)
		if t := st.snap.Assets[i].Type; t == TypeTest || t == TypeUnitTest {
			most++
		}
	}
	if most == 0 {
		return
	}
	edges := make([]Edge, 0, most)
	add := func(up string, down *Asset) {
		if up == "" || up == down.UniqueID {
			return
		}
		ua := st.asset(up)
		if ua == nil {
			if !st.skipped[up] {
				st.warn(WarnDanglingRef, fmt.Sprintf("%s depends on %s, which no manifest lists; the edge is dropped", down.UniqueID, clean(up)))
			}
			return
		}
		edges = append(edges, Edge{Upstream: ua.UniqueID, Downstream: down.UniqueID})
	}
	for i, id := range st.order {
		n, a := st.nodes[id], &st.snap.Assets[i]
		for _, dep := range n.DependsOn {
			add(dep, a)
		}
		if a.Type == TypeTest || a.Type == TypeUnitTest {
			add(testedNode(n, st.nodes), a)
		}
	}
	if len(edges) > 0 {
		st.snap.Edges = edges
	}
}

func (st *build) applyFreshness() {
	type key struct {
		id    string
		run   int64
		invoc string
	}
	seen := map[key]bool{}
	for _, src := range st.b.sources {
		st.noteGenerated(src.meta.GeneratedAt)
		st.sanitized += src.meta.InvalidUTF8
		if !st.haveManifest {
			st.warn(WarnUnknownResult, "sources.json was added without a manifest.json; its results cannot be attached to sources")
			continue
		}
		for _, r := range src.results {
			a := st.asset(r.UniqueID)
			if a == nil || a.Type != TypeSource {
				st.warn(WarnUnknownResult, fmt.Sprintf("sources.json has a freshness result for %s, which no manifest lists as a source; it is ignored", st.s(r.UniqueID)))
				continue
			}
			k := key{a.UniqueID, src.prov.RunID, src.meta.InvocationID}
			if seen[k] {
				continue
			}
			seen[k] = true
			st.snap.Freshness = append(st.snap.Freshness, Freshness{
				SourceUniqueID: a.UniqueID,
				RunID:          src.prov.RunID,
				JobID:          src.prov.JobID,
				Status:         st.s(r.Status),
				MaxLoadedAt:    r.MaxLoadedAt,
				SnapshottedAt:  firstTime(r.SnapshottedAt, src.prov.FinishedAt, src.meta.GeneratedAt),
				AgeSeconds:     r.AgeSeconds,
				Criteria:       r.Criteria,
				Message:        st.s(r.Error),
			})
		}
	}
	if st.release {
		st.b.sources = nil
		st.assets = nil
	}
}

// finish sorts every slice.
func (st *build) finish() {
	s := st.snap
	if st.sanitized > 0 {
		s.Warnings = append(s.Warnings, Warning{Code: WarnSanitized,
			Message: "strings with NUL bytes or invalid UTF-8 were sanitised (NUL removed, invalid bytes replaced by U+FFFD)",
			Count:   st.sanitized})
	}
	slices.SortStableFunc(s.Columns, func(a, b Column) int { return cmp.Compare(a.AssetUniqueID, b.AssetUniqueID) })
	slices.SortFunc(s.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.Upstream, b.Upstream), cmp.Compare(a.Downstream, b.Downstream))
	})
	s.Edges = slices.Compact(s.Edges) // makeEdges leaves repeats

	// applyRunResults leaves TestResults in this order; check it cheaply.
	if byTest := func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.TestUniqueID, b.TestUniqueID), a.ExecutedAt.Compare(b.ExecutedAt),
			cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.InvocationID, b.InvocationID))
	}; !slices.IsSortedFunc(s.TestResults, byTest) {
		slices.SortFunc(s.TestResults, byTest)
	}
	slices.SortFunc(s.Freshness, func(a, b Freshness) int {
		return cmp.Or(cmp.Compare(a.SourceUniqueID, b.SourceUniqueID), a.SnapshottedAt.Compare(b.SnapshottedAt), cmp.Compare(a.RunID, b.RunID))
	})
	slices.SortFunc(s.Relations, func(a, b Relation) int { return cmp.Compare(a.Key(), b.Key()) })
	slices.SortFunc(s.Matches, func(a, b Match) int { return cmp.Compare(a.UniqueID, b.UniqueID) })
	slices.SortStableFunc(s.Warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
}
