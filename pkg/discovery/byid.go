package discovery

import (
	"errors"
	"iter"
	"slices"
	"strings"
)

// maxIDsPerWalk is how many unique IDs one walk of a connection sends in
// its filter. A unique ID is some 40 to 100 bytes, so a chunk keeps the
// request body to a few tens of kilobytes, and a chunk's nodes fit one
// page at the default page size. More IDs take one walk per chunk.
const maxIDsPerWalk = 500

// idsPerWalk is the chunk size of by-ID reads: maxIDsPerWalk unless a
// test set a smaller one.
func (c *Client) idsPerWalk() int {
	if c.idChunk > 0 {
		return c.idChunk
	}
	return maxIDsPerWalk
}

// connectionOf names the applied-state connection that holds a unique ID,
// from the resource type before its first dot; "" when none does
// (metrics, semantic models, saved queries and malformed IDs).
func connectionOf(uniqueID string) string {
	typ, rest, ok := strings.Cut(uniqueID, ".")
	if !ok || rest == "" {
		return ""
	}
	switch typ {
	case "model":
		return "models"
	case "source":
		return "sources"
	case "test", "unit_test":
		// The tests connection serves data and unit tests alike.
		return "tests"
	case "seed":
		return "seeds"
	case "snapshot":
		return "snapshots"
	case "exposure":
		return "exposures"
	}
	return ""
}

// routeIDs sorts unique IDs into the connections that hold them, each
// list sorted and without duplicates, and counts the IDs no connection
// holds.
func routeIDs(ids []string) (byConn map[string][]string, ignored int) {
	byConn = map[string][]string{}
	for _, id := range ids {
		conn := connectionOf(id)
		if conn == "" {
			ignored++
			continue
		}
		byConn[conn] = append(byConn[conn], id)
	}
	for conn, list := range byConn {
		slices.Sort(list)
		byConn[conn] = slices.Compact(list)
	}
	return byConn, ignored
}

// byIDChunks reads the nodes of one connection with the given unique IDs:
// one paged walk per chunk of at most idsPerWalk IDs, one after another.
// The walks share st, so a connection that needed the lighter field set
// keeps it for the later chunks; the partial errors of every walk are
// yielded after the last node, joined under operation op.
func (c *Client) byIDChunks(op string, ids []string, st *pageStats,
	walk func(chunk []string, st *pageStats) iter.Seq2[Node, error]) iter.Seq2[Node, error] {
	return func(yield func(Node, error) bool) {
		var partial []*PartialError
		for chunk := range slices.Chunk(ids, c.idsPerWalk()) {
			// paginate reports the partial errors it recorded in st at the
			// end of its walk: start each walk with none.
			st.partial = nil
			for n, err := range walk(chunk, st) {
				var pe *PartialError
				if errors.As(err, &pe) {
					partial = append(partial, pe)
					continue
				}
				if !yield(n, err) || err != nil {
					return
				}
			}
		}
		if len(partial) > 0 {
			yield(Node{}, joinPartial(op, partial))
		}
	}
}
