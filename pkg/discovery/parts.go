package discovery

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// AppliedStateWith reads each connection into a part of its own, in
// chunks, and builds every slice of the snapshot once, at its exact
// length, by merging the parts in order. Growing one shared slice node by
// node instead allocates several times its final size, all of it fresh
// memory, and serialises the connections on one lock.

// The sizes of a chunked list's chunks: the first holds firstChunkLen
// values, each next one twice as many, up to chunkBytes.
const (
	firstChunkLen = 16
	chunkBytes    = 64 << 10
)

// chunked collects values in chunks that never move once allocated, so
// collecting copies nothing and leaves no garbage behind but the chunks.
type chunked[T any] struct {
	// chunks are the chunks filled so far; every one but the last is full.
	chunks [][]T
	n      int
}

// add appends v.
func (c *chunked[T]) add(v T) *T {
	last := len(c.chunks) - 1
	if last < 0 || len(c.chunks[last]) == cap(c.chunks[last]) {
		size := firstChunkLen
		if last >= 0 {
			var zero T
			size = min(2*cap(c.chunks[last]), max(firstChunkLen, chunkBytes/int(max(unsafe.Sizeof(zero), 1))))
		}
		c.chunks = append(c.chunks, make([]T, 0, size))
		last++
	}
	c.chunks[last] = append(c.chunks[last], v)
	c.n++
	return &c.chunks[last][len(c.chunks[last])-1]
}

// filter drops the values keep refuses, keeping the order of the others.
// It copies the list, and is meant for rare corrections.
func (c *chunked[T]) filter(keep func(*T) bool) {
	var out chunked[T]
	for _, ch := range c.chunks {
		for i := range ch {
			if keep(&ch[i]) {
				out.add(ch[i])
			}
		}
	}
	*c = out
}

// sortedRefs returns pointers to the values in the order compare gives,
// equal values in the order they were added.
func (c *chunked[T]) sortedRefs(compare func(a, b *T) int) []*T {
	refs := make([]*T, 0, c.n)
	sorted := true
	for _, ch := range c.chunks {
		for i := range ch {
			if sorted && len(refs) > 0 && compare(refs[len(refs)-1], &ch[i]) > 0 {
				sorted = false
			}
			refs = append(refs, &ch[i])
		}
	}
	if !sorted {
		slices.SortStableFunc(refs, compare)
	}
	return refs
}

// part holds what one connection read: the nodes converted to catalog
// values, in the order they came. One goroutine fills it.
type part struct {
	assets  chunked[catalog.Asset]
	columns chunked[catalog.Column]
	edges   chunked[catalog.Edge]
	results chunked[catalog.TestResult]
	fresh   chunked[catalog.Freshness]
	// seen finds the asset of each unique ID read so far.
	seen map[string]*catalog.Asset
	// duplicates counts the nodes that replaced an earlier one.
	duplicates int
	// accountID and projectID are the first non-zero ones the nodes gave.
	accountID, projectID int64
	// light is set when the connection fell back to the lighter field set.
	light bool
}

// maxSeenPresize bounds how many unique IDs a part makes room for ahead of
// time from a connection's totalCount.
const maxSeenPresize = 1 << 14

// add appends a node. A unique ID read before (the environment changed
// while paging) replaces the earlier asset and drops the earlier node's
// columns, edges, test result and freshness. total is the connection's
// totalCount, to size the part's index of unique IDs.
func (p *part) add(n *Node, total int) {
	p.accountID = cmp.Or(p.accountID, n.accountID)
	p.projectID = cmp.Or(p.projectID, n.projectID)
	if p.seen == nil {
		p.seen = make(map[string]*catalog.Asset, min(max(total, 0), maxSeenPresize))
	}
	id := n.Asset.UniqueID
	if a, ok := p.seen[id]; ok {
		*a = n.Asset
		p.duplicates++
		p.drop(id)
	} else {
		p.seen[id] = p.assets.add(n.Asset)
	}
	for _, c := range n.Columns {
		p.columns.add(c)
	}
	for _, up := range n.Parents {
		p.edges.add(catalog.Edge{Upstream: up, Downstream: id})
	}
	if n.TestResult != nil {
		p.results.add(*n.TestResult)
	}
	if n.Freshness != nil {
		p.fresh.add(*n.Freshness)
	}
}

// drop removes the columns, edges, test results and freshness of the node
// with unique ID id.
func (p *part) drop(id string) {
	p.columns.filter(func(c *catalog.Column) bool { return c.AssetUniqueID != id })
	p.edges.filter(func(e *catalog.Edge) bool { return e.Downstream != id })
	p.results.filter(func(r *catalog.TestResult) bool { return r.TestUniqueID != id })
	p.fresh.filter(func(f *catalog.Freshness) bool { return f.SourceUniqueID != id })
}

// The orders of the snapshot's slices, by unique ID first.

func compareAssets(a, b *catalog.Asset) int { return strings.Compare(a.UniqueID, b.UniqueID) }

func compareColumns(a, b *catalog.Column) int {
	return cmp.Or(strings.Compare(a.AssetUniqueID, b.AssetUniqueID), cmp.Compare(a.Ordinal, b.Ordinal),
		strings.Compare(a.Name, b.Name))
}

func compareEdges(a, b *catalog.Edge) int {
	return cmp.Or(strings.Compare(a.Downstream, b.Downstream), strings.Compare(a.Upstream, b.Upstream))
}

func compareResults(a, b *catalog.TestResult) int {
	return cmp.Or(strings.Compare(a.TestUniqueID, b.TestUniqueID), cmp.Compare(a.RunID, b.RunID))
}

func compareFreshness(a, b *catalog.Freshness) int {
	return cmp.Or(strings.Compare(a.SourceUniqueID, b.SourceUniqueID), cmp.Compare(a.RunID, b.RunID))
}

// The warning a node read twice gives.
const (
	warnDuplicate = "discovery_duplicate"
	msgDuplicate  = "a node appeared twice while paging; the environment changed during the crawl"
)

// fillAssets puts the parts' assets into the snapshot in order, in one
// slice of their count, and returns the parts read. parts are in a fixed
// order (nil for a connection not read); a unique ID that two parts hold
// (a server that put a node in the wrong connection) is kept from the
// later part only, with a discovery_duplicate warning, and the earlier
// part's columns, edges, test results and freshness of it are dropped.
func fillAssets(snap *catalog.Snapshot, parts []*part) []*part {
	var live []*part
	for _, p := range parts {
		if p != nil {
			live = append(live, p)
		}
	}
	type loser struct {
		p  *part
		id string
	}
	var losers []loser
	snap.Assets = merge(live, func(p *part) *chunked[catalog.Asset] { return &p.assets }, compareAssets,
		func(out []catalog.Asset, from, prev *part) []catalog.Asset {
			if prev == from {
				return out // a part holds each unique ID once
			}
			// The same unique ID from an earlier part: the later node wins.
			last := len(out) - 1
			losers = append(losers, loser{prev, out[last].UniqueID})
			snap.AddWarning(warnDuplicate, msgDuplicate)
			out[last-1] = out[last]
			return out[:last]
		})
	for _, l := range losers {
		l.p.drop(l.id)
	}
	return live
}

// fillRest puts the columns, edges, test results and freshness of the
// parts fillAssets returned into the snapshot in order, each in one slice
// of its count.
func fillRest(snap *catalog.Snapshot, live []*part) {
	snap.Columns = merge(live, func(p *part) *chunked[catalog.Column] { return &p.columns }, compareColumns, nil)
	snap.Edges = merge(live, func(p *part) *chunked[catalog.Edge] { return &p.edges }, compareEdges,
		func(out []catalog.Edge, _, _ *part) []catalog.Edge { return out[:len(out)-1] })
	snap.TestResults = merge(live, func(p *part) *chunked[catalog.TestResult] { return &p.results }, compareResults, nil)
	snap.Freshness = merge(live, func(p *part) *chunked[catalog.Freshness] { return &p.fresh }, compareFreshness, nil)
}

// merge returns the values list takes from each part, sorted by compare in
// one slice of their count; equal values keep the order of the parts and,
// within a part, the order they were added. When equal is not nil, it is
// called for a value equal to the one before it, after appending it to
// out, with the parts the two came from, and returns out as it should be.
// A slice that equal shortened by more than an eighth is copied to its
// length.
func merge[T any](parts []*part, list func(*part) *chunked[T], compare func(a, b *T) int,
	equal func(out []T, from, prev *part) []T) []T {
	total := 0
	refs := make([][]*T, len(parts))
	for i, p := range parts {
		l := list(p)
		total += l.n
		if l.n > 0 {
			refs[i] = l.sortedRefs(compare)
		}
	}
	if total == 0 {
		return nil
	}
	out := make([]T, 0, total)
	var prev *part
	for {
		// The part whose next value comes first (the earliest on a tie),
		// and the next value of the others that comes first: take from the
		// former until it reaches the latter.
		best, next := -1, -1
		for i, r := range refs {
			if len(r) == 0 {
				continue
			}
			switch {
			case best < 0:
				best = i
			case compare(r[0], refs[best][0]) < 0:
				best, next = i, best
			case next < 0 || compare(r[0], refs[next][0]) < 0:
				next = i
			}
		}
		if best < 0 {
			break
		}
		r := refs[best]
		for len(r) > 0 {
			if next >= 0 {
				if c := compare(r[0], refs[next][0]); c > 0 || c == 0 && best > next {
					break
				}
			}
			out = append(out, *r[0])
			if equal != nil && len(out) > 1 && compare(&out[len(out)-2], &out[len(out)-1]) == 0 {
				out = equal(out, parts[best], prev)
			}
			prev = parts[best]
			r = r[1:]
		}
		refs[best] = r
	}
	if cap(out)-len(out) > len(out)/8 {
		out = append(make([]T, 0, len(out)), out...)
	}
	return out
}
