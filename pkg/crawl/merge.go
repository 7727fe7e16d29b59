package crawl

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Merge combines an environment's Discovery applied state (base; nil when
// Discovery is not used) with the snapshot built from its run artifacts
// (art; never nil). The applied state is dbt's own merge of every job in the
// environment, so its values win; artifacts fill what it lacks (YAML column
// docs, metrics, semantic models, saved queries, nodes never built,
// warehouse relations) and add run history. Assets are keyed by unique_id;
// the newest execution wins. The result is sorted and deterministic.
// Merge consumes base and art: the result reuses their slices, so neither
// may be used afterwards.
func Merge(scope catalog.Scope, base, art *catalog.Snapshot) *catalog.Snapshot {
	out := &catalog.Snapshot{
		Scope:       scope,
		AdapterType: art.AdapterType,
		GeneratedAt: art.GeneratedAt,
		Relations:   art.Relations,
		Matches:     art.Matches,
	}
	for _, w := range art.Warnings {
		for range max(w.Count, 1) {
			out.AddWarning(w.Code, w.Message)
		}
	}
	if base == nil {
		out.Assets = art.Assets
		out.Columns = art.Columns
		out.Edges = art.Edges
		out.TestResults = art.TestResults
		out.Freshness = art.Freshness
		finish(out)
		return out
	}
	out.AdapterType = cmp.Or(base.AdapterType, art.AdapterType)
	if base.GeneratedAt.After(out.GeneratedAt) {
		out.GeneratedAt = base.GeneratedAt
	}
	for _, w := range base.Warnings {
		for range max(w.Count, 1) {
			out.AddWarning(w.Code, w.Message)
		}
	}

	// Assets.
	artByID := make(map[string]int, len(art.Assets))
	for i := range art.Assets {
		artByID[art.Assets[i].UniqueID] = i
	}
	// Merged in place in the applied state's slice: a large environment's
	// assets are then held twice only while the artifact-only ones are
	// appended, never three times.
	seen := make(map[string]bool, len(base.Assets)+len(art.Assets))
	out.Assets = base.Assets
	for j := range out.Assets {
		d := &out.Assets[j]
		if i, ok := artByID[d.UniqueID]; ok {
			*d = mergeAsset(*d, art.Assets[i])
		}
		seen[d.UniqueID] = true
	}
	extra := 0
	for _, a := range art.Assets {
		if !seen[a.UniqueID] {
			extra++
		}
	}
	out.Assets = slices.Grow(out.Assets, extra)
	for _, a := range art.Assets {
		if !seen[a.UniqueID] {
			seen[a.UniqueID] = true
			out.Assets = append(out.Assets, a)
		}
	}
	base.Assets = nil // now out's
	// In final order now, so the columns below come out in order too.
	sortAssets(out.Assets)

	// Columns: the warehouse columns Discovery reports, described by YAML.
	baseCols := groupColumns(base.Columns)
	artCols := groupColumns(art.Columns)
	out.Columns = make([]catalog.Column, 0, max(len(base.Columns), len(art.Columns))+len(art.Columns)/8)
	for _, a := range out.Assets {
		bc, ac := baseCols.of(base.Columns, a.UniqueID), artCols.of(art.Columns, a.UniqueID)
		switch {
		case len(bc) == 0:
			out.Columns = append(out.Columns, ac...)
		case len(ac) == 0:
			out.Columns = append(out.Columns, bc...)
		default:
			out.Columns = appendMergedColumns(out.Columns, bc, ac)
		}
	}

	// Lineage: the union, without edges to nodes that do not exist.
	for _, set := range [][]catalog.Edge{base.Edges, art.Edges} {
		for _, e := range set {
			if seen[e.Upstream] && seen[e.Downstream] {
				out.Edges = append(out.Edges, e)
			}
		}
	}
	out.TestResults = mergeSorted(art.TestResults, base.TestResults, compareTestResults)
	// A check reported by both differs only in timestamp precision; the
	// store keeps one (the precise one).
	out.Freshness = append(append(out.Freshness, art.Freshness...), base.Freshness...)
	finish(out)
	return out
}

// mergeAsset fills the empty fields of the applied-state asset d from the
// artifact asset a, and takes the newer execution.
func mergeAsset(d, a catalog.Asset) catalog.Asset {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&d.Name, a.Name)
	fill(&d.PackageName, a.PackageName)
	fill(&d.Description, a.Description)
	fill(&d.Database, a.Database)
	fill(&d.Schema, a.Schema)
	fill(&d.Identifier, a.Identifier)
	fill(&d.RelationName, a.RelationName)
	fill(&d.Materialization, a.Materialization)
	fill(&d.Language, a.Language)
	fill(&d.Access, a.Access)
	fill(&d.Version, a.Version)
	fill(&d.Owner, a.Owner)
	fill(&d.Path, a.Path)
	if d.RawCode.IsEmpty() {
		d.RawCode = a.RawCode
	}
	if d.CompiledCode.IsEmpty() {
		d.CompiledCode = a.CompiledCode
	}
	fill(&d.Checksum, a.Checksum)
	fill(&d.SourceName, a.SourceName)
	fill(&d.Loader, a.Loader)
	fill(&d.TestName, a.TestName)
	fill(&d.TestColumnName, a.TestColumnName)
	fill(&d.TestedUniqueID, a.TestedUniqueID)
	fill(&d.Severity, a.Severity)
	fill(&d.URL, a.URL)
	fill(&d.Label, a.Label)
	if len(d.Tags) == 0 {
		d.Tags = a.Tags
	}
	if len(d.Meta) == 0 || string(d.Meta) == "{}" {
		d.Meta = a.Meta
	}
	if !d.Enabled {
		d.Enabled = a.Enabled
	}
	if a.LastRunAt.After(d.LastRunAt) {
		d.LastRunStatus, d.LastRunAt, d.LastRunID, d.LastJobID, d.ExecutionSeconds =
			a.LastRunStatus, a.LastRunAt, a.LastRunID, a.LastJobID, a.ExecutionSeconds
	}
	return d
}

// columnRanges maps an asset to the range of its columns in a slice that
// groupColumns sorted in place by asset, so no column is copied.
type columnRanges map[string][2]int

func (r columnRanges) of(cols []catalog.Column, uid string) []catalog.Column {
	if x, ok := r[uid]; ok {
		return cols[x[0]:x[1]]
	}
	return nil
}

func groupColumns(cols []catalog.Column) columnRanges {
	sortStable(cols, func(a, b catalog.Column) int { return strings.Compare(a.AssetUniqueID, b.AssetUniqueID) })
	r := columnRanges{}
	for i := 0; i < len(cols); {
		j := i + 1
		for j < len(cols) && cols[j].AssetUniqueID == cols[i].AssetUniqueID {
			j++
		}
		r[cols[i].AssetUniqueID] = [2]int{i, j}
		i = j
	}
	return r
}

// appendMergedColumns appends to dst the warehouse columns (names, types,
// ordinals) with descriptions, tags and meta taken from the YAML columns,
// matching names case-insensitively, then the YAML columns the warehouse
// lacks, and sorts what it appended. Among YAML columns whose names differ
// only in case the last one describes the warehouse column. Assets have
// a few dozen columns, so names are matched by a scan, without a map.
func appendMergedColumns(dst, warehouse, yaml []catalog.Column) []catalog.Column {
	start := len(dst)
	const small = 64
	var usedBuf [small]bool
	var asciiBuf [small]bool
	var used, ascii []bool
	if len(yaml) <= small {
		used, ascii = usedBuf[:len(yaml)], asciiBuf[:len(yaml)]
	} else {
		used, ascii = make([]bool, len(yaml)), make([]bool, len(yaml))
	}
	for i := range yaml {
		ascii[i] = isASCII(yaml[i].Name)
	}
	for _, w := range warehouse {
		wASCII := isASCII(w.Name)
		for i := len(yaml) - 1; i >= 0; i-- {
			y := &yaml[i]
			if !sameColumnName(w.Name, y.Name, wASCII && ascii[i]) {
				continue
			}
			used[i] = true
			if w.Description == "" {
				w.Description = y.Description
			}
			if len(w.Tags) == 0 {
				w.Tags = y.Tags
			}
			if len(w.Meta) == 0 || string(w.Meta) == "{}" {
				w.Meta = y.Meta
			}
			if w.DataType == "" {
				w.DataType = y.DataType
			}
			break
		}
		dst = append(dst, w)
	}
	for i := range yaml {
		if !used[i] {
			dst = append(dst, yaml[i])
		}
	}
	sortStable(dst[start:], compareColumns)
	return dst
}

// sameColumnName reports whether two column names are equal in lower case;
// ascii says both are ASCII, whose lower case keeps their length.
func sameColumnName(a, b string, ascii bool) bool {
	if ascii {
		return len(a) == len(b) && strings.EqualFold(a, b)
	}
	// Not strings.EqualFold: Unicode case folding matches names that
	// differ in lower case (the Kelvin sign and "k"), and the YAML and
	// warehouse names are matched by their lower case.
	//lint:ignore SA6005 lower-case equality is the rule, not case folding
	return strings.ToLower(a) == strings.ToLower(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func compareColumns(a, b catalog.Column) int {
	return cmp.Or(strings.Compare(a.AssetUniqueID, b.AssetUniqueID), cmp.Compare(ordinalKey(a.Ordinal), ordinalKey(b.Ordinal)), strings.Compare(a.Name, b.Name))
}

func compareTestResults(a, b catalog.TestResult) int {
	return cmp.Or(strings.Compare(a.TestUniqueID, b.TestUniqueID), cmp.Compare(a.RunID, b.RunID))
}

// sortStable sorts s unless it is sorted already, as the parts Merge
// assembles usually are.
func sortStable[E any](s []E, cmp func(a, b E) int) {
	if !slices.IsSortedFunc(s, cmp) {
		slices.SortStableFunc(s, cmp)
	}
}

// mergeSorted returns the elements of a and then b in the order of cmp,
// keeping a's before b's among equals: a linear merge when both are sorted.
func mergeSorted[E any](a, b []E, cmp func(x, y E) int) []E {
	out := make([]E, 0, len(a)+len(b))
	if !slices.IsSortedFunc(a, cmp) || !slices.IsSortedFunc(b, cmp) {
		return append(append(out, a...), b...) // finish sorts it
	}
	for len(a) > 0 && len(b) > 0 {
		if cmp(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// sortAssets orders assets by unique ID unless they are in order already.
func sortAssets(s []catalog.Asset) {
	byID := func(a, b catalog.Asset) int { return strings.Compare(a.UniqueID, b.UniqueID) }
	if !slices.IsSortedFunc(s, byID) {
		slices.SortFunc(s, byID)
	}
}

// finish sorts and deduplicates the snapshot.
func finish(s *catalog.Snapshot) {
	sortAssets(s.Assets)
	sortStable(s.Columns, compareColumns)
	s.Columns = slices.CompactFunc(s.Columns, func(a, b catalog.Column) bool {
		return a.AssetUniqueID == b.AssetUniqueID && a.Name == b.Name
	})
	byUpstream := func(a, b catalog.Edge) int {
		return cmp.Or(strings.Compare(a.Upstream, b.Upstream), strings.Compare(a.Downstream, b.Downstream))
	}
	if !slices.IsSortedFunc(s.Edges, byUpstream) {
		slices.SortFunc(s.Edges, byUpstream)
	}
	s.Edges = slices.Compact(s.Edges)
	sortStable(s.TestResults, compareTestResults)
	s.TestResults = slices.CompactFunc(s.TestResults, func(a, b catalog.TestResult) bool {
		return a.TestUniqueID == b.TestUniqueID && a.RunID == b.RunID
	})
	slices.SortStableFunc(s.Freshness, func(a, b catalog.Freshness) int {
		return cmp.Or(strings.Compare(a.SourceUniqueID, b.SourceUniqueID), a.SnapshottedAt.Compare(b.SnapshottedAt))
	})
	s.Freshness = slices.CompactFunc(s.Freshness, func(a, b catalog.Freshness) bool {
		return a.SourceUniqueID == b.SourceUniqueID && a.SnapshottedAt.Equal(b.SnapshottedAt)
	})
}

// ordinalKey sorts unknown ordinals (0) after known ones.
func ordinalKey(o int) int {
	if o <= 0 {
		return 1 << 30
	}
	return o
}
