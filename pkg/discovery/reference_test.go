package discovery

import (
	"cmp"
	"slices"
	"strings"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// The straightforward way to build a snapshot from nodes, one at a time
// into growing slices, sorted at the end: the reference the chunked parts
// of AppliedStateWith must match.

// referenceSnapshot builds the snapshot of the nodes of each connection
// (in the order of the connections), with the duplicate and light-field
// warnings AppliedStateWith gives.
func referenceSnapshot(envID int64, info EnvironmentInfo, conns [][]Node, light []string) *catalog.Snapshot {
	snap := newSnapshot(envID, info)
	seen := map[string]int{}
	for _, nodes := range conns {
		for _, n := range nodes {
			addNode(snap, n, seen)
		}
	}
	for _, name := range light {
		snap.AddWarning("discovery_light_fields",
			name+" were fetched without raw and compiled code: the Discovery API found the full query too complex")
	}
	sortSnapshot(snap)
	snap.Assets, snap.Columns, snap.Edges = trim(snap.Assets), trim(snap.Columns), trim(snap.Edges)
	return snap
}

// trim returns s in a slice of its own length when appending left more
// than an eighth of it unused.
func trim[T any](s []T) []T {
	if cap(s)-len(s) <= len(s)/8 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

// addNode appends a node to the snapshot; a unique ID seen before (the
// environment changed while paging) replaces the earlier asset.
func addNode(snap *catalog.Snapshot, n Node, seen map[string]int) {
	if snap.Scope.AccountID == 0 || snap.Scope.ProjectID == 0 {
		snap.Scope.AccountID = cmp.Or(snap.Scope.AccountID, n.accountID)
		snap.Scope.ProjectID = cmp.Or(snap.Scope.ProjectID, n.projectID)
	}
	id := n.Asset.UniqueID
	if i, ok := seen[id]; ok {
		snap.Assets[i] = n.Asset
		snap.AddWarning("discovery_duplicate", "a node appeared twice while paging; the environment changed during the crawl")
		snap.Columns = slices.DeleteFunc(snap.Columns, func(c catalog.Column) bool { return c.AssetUniqueID == id })
		snap.Edges = slices.DeleteFunc(snap.Edges, func(e catalog.Edge) bool { return e.Downstream == id })
		snap.TestResults = slices.DeleteFunc(snap.TestResults, func(r catalog.TestResult) bool { return r.TestUniqueID == id })
		snap.Freshness = slices.DeleteFunc(snap.Freshness, func(f catalog.Freshness) bool { return f.SourceUniqueID == id })
	} else {
		seen[id] = len(snap.Assets)
		snap.Assets = append(snap.Assets, n.Asset)
	}
	snap.Columns = append(snap.Columns, n.Columns...)
	for _, p := range n.Parents {
		snap.Edges = append(snap.Edges, catalog.Edge{Upstream: p, Downstream: id})
	}
	if n.TestResult != nil {
		snap.TestResults = append(snap.TestResults, *n.TestResult)
	}
	if n.Freshness != nil {
		snap.Freshness = append(snap.Freshness, *n.Freshness)
	}
}

// sortSnapshot orders a snapshot deterministically.
func sortSnapshot(s *catalog.Snapshot) {
	s.Assets = sortedStable(s.Assets, func(a, b *catalog.Asset) int { return strings.Compare(a.UniqueID, b.UniqueID) })
	s.Columns = sortedStable(s.Columns, func(a, b *catalog.Column) int {
		return cmp.Or(strings.Compare(a.AssetUniqueID, b.AssetUniqueID), cmp.Compare(a.Ordinal, b.Ordinal),
			strings.Compare(a.Name, b.Name))
	})
	s.Edges = sortedStable(s.Edges, func(a, b *catalog.Edge) int {
		return cmp.Or(strings.Compare(a.Downstream, b.Downstream), strings.Compare(a.Upstream, b.Upstream))
	})
	s.Edges = slices.Compact(s.Edges)
	slices.SortFunc(s.TestResults, func(a, b catalog.TestResult) int {
		return cmp.Or(strings.Compare(a.TestUniqueID, b.TestUniqueID), cmp.Compare(a.RunID, b.RunID))
	})
	slices.SortFunc(s.Freshness, func(a, b catalog.Freshness) int {
		return cmp.Or(strings.Compare(a.SourceUniqueID, b.SourceUniqueID), cmp.Compare(a.RunID, b.RunID))
	})
}

// sortedStable sorts s stably by compare. Sorting a list of indices moves
// four bytes a swap instead of a whole struct, so a list out of order is
// returned as a new slice of exactly its length; a sorted one is returned
// as it is.
func sortedStable[T any](s []T, compare func(a, b *T) int) []T {
	sorted := true
	for i := 1; i < len(s) && sorted; i++ {
		sorted = compare(&s[i-1], &s[i]) <= 0
	}
	if sorted {
		return s
	}
	idx := make([]int32, len(s))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return compare(&s[a], &s[b]) })
	out := make([]T, len(s))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}
