package discovery

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"go.uber.org/zap"
)

// errRepeatedCursor stops a connection whose endCursor does not advance.
var errRepeatedCursor = errors.New("the server repeated a page cursor")

// page is one decoded page of a connection.
type page[N any] struct {
	nodes     []N
	total     int
	hasNext   bool
	endCursor string
	// applied is false when environment.applied was null.
	applied bool
}

// fetchFunc fetches one page: first nodes after the cursor, with the full
// or the lighter field set.
type fetchFunc[N any] func(ctx context.Context, first int, after string, light bool) (page[N], error)

// pageStats records how a connection was fetched.
type pageStats struct {
	requests int
	// total is the first page's totalCount.
	total   int
	light   bool
	partial []*PartialError
}

// connHolder is a pointer to an applied-state struct holding one connection.
type connHolder[N, A any] interface {
	*A
	conn() *connection[N]
}

// fetchPage builds the fetchFunc of one connection: operation op, query
// struct envQuery[A] whose A holds a connection of N, with filter as
// $filter when it is not nil. The function decodes every page into the
// same query struct and returns its nodes in the same slice, so a page's
// nodes are valid until the next call: the caller converts them first.
// The decoded nodes are zeroed before each page, so no slice, pointer or
// raw JSON of one page is decoded into again by the next (the converted
// nodes keep some of them).
func fetchPage[N, A any, PA connHolder[N, A]](c *Client, op string, envID int64, filter *idFilter) func(ctx context.Context, first int, after string) (page[N], error) {
	var (
		q       envQuery[A]
		applied = new(A)
		nodes   []N
	)
	return func(ctx context.Context, first int, after string) (page[N], error) {
		// Keep the arrays of the last page, zeroed, for the decoder to
		// fill (at their full length, so that it need not allocate each
		// element as it grows the array).
		cn := PA(applied).conn()
		edges := cn.Edges[:cap(cn.Edges)]
		clear(edges)
		*cn = connection[N]{Edges: edges}
		q.Environment.Applied = applied
		clear(nodes)
		nodes = nodes[:0]

		var afterVar *string
		if after != "" {
			afterVar = &after
		}
		vars := map[string]any{varEnvironmentID: BigInt(envID), varFirst: first, varAfter: afterVar}
		if filter != nil {
			vars[varFilter] = filter
		}
		err := query(ctx, c, op, &q, vars)
		var pe *PartialError
		if err != nil && !errors.As(err, &pe) {
			return page[N]{}, err
		}
		if q.Environment.Applied == nil {
			return page[N]{}, err
		}
		cn = PA(q.Environment.Applied).conn()
		p := page[N]{applied: true, total: cn.TotalCount, hasNext: cn.PageInfo.HasNextPage,
			endCursor: strings.Clone(cn.PageInfo.EndCursor)}
		for _, e := range cn.Edges {
			nodes = append(nodes, e.Node)
		}
		p.nodes = nodes
		return p, err
	}
}

// connFetch builds the fetchFunc of one connection: the whole connection
// (operation op, query struct A) when filter is nil, otherwise only the
// nodes the filter names (operation opByID, query struct B).
func connFetch[N, A, B any, PA connHolder[N, A], PB connHolder[N, B]](c *Client, envID int64, filter *idFilter,
	op, opByID string) func(ctx context.Context, first int, after string) (page[N], error) {
	if filter == nil {
		return fetchPage[N, A, PA](c, op, envID, nil)
	}
	return fetchPage[N, B, PB](c, opByID, envID, filter)
}

// paginate walks a connection page by page. It stops when hasNextPage is
// false, fails on an empty or repeated cursor, answers COMPLEXITY_EXCEEDED
// by halving the page (down to minPageSize) and then, when a lighter field
// set exists (light != nil), by switching to it for the rest of the
// connection. Partial pages are kept; their errors are recorded in stats
// and yielded, joined into one *PartialError, after the last node.
func paginate[N any](ctx context.Context, c *Client, op string, full fetchFunc[N], hasLight bool, stats *pageStats) iter.Seq2[N, error] {
	return func(yield func(N, error) bool) {
		var zero N
		if stats == nil {
			stats = &pageStats{}
		}
		first := c.pageSize
		after := ""
		seen := map[string]bool{}
		firstTotal := -1
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, fmt.Errorf("discovery %s: %w", op, err))
				return
			}
			stats.requests++
			p, err := full(ctx, first, after, stats.light)
			if errors.Is(err, ErrComplexityExceeded) {
				switch {
				case first > minPageSize:
					first = max(first/2, minPageSize)
					c.log.Info("query too complex, shrinking the page", zap.String("operation", op), zap.Int("first", first))
					continue
				case hasLight && !stats.light:
					stats.light = true
					c.log.Warn("query too complex at the smallest page, dropping raw and compiled code",
						zap.String("operation", op), zap.Int("first", first))
					continue
				}
			}
			var pe *PartialError
			if errors.As(err, &pe) {
				stats.partial = append(stats.partial, pe)
				c.log.Warn("partial response", zap.String("operation", op), zap.Int("errors", len(pe.Errors)))
			} else if err != nil {
				yield(zero, err)
				return
			}
			if !p.applied {
				if pe == nil {
					yield(zero, fmt.Errorf("discovery %s: %w", op, ErrNoAppliedState))
					return
				}
				break
			}
			c.log.Debug("page", zap.String("operation", op), zap.Int("nodes", len(p.nodes)),
				zap.Int("total", p.total), zap.Bool("has_next", p.hasNext))
			if firstTotal < 0 {
				firstTotal = p.total
				stats.total = p.total
			} else if p.total != firstTotal {
				c.log.Warn("total count changed while paging; the environment is being updated",
					zap.String("operation", op), zap.Int("was", firstTotal), zap.Int("now", p.total))
			}
			for _, n := range p.nodes {
				if !yield(n, nil) {
					return
				}
			}
			if !p.hasNext {
				break
			}
			if p.endCursor == "" {
				yield(zero, fmt.Errorf("discovery %s: hasNextPage is true but endCursor is empty; stopping", op))
				return
			}
			if seen[p.endCursor] {
				yield(zero, fmt.Errorf("discovery %s: cursor %q came back after %d pages: %w", op, p.endCursor, len(seen), errRepeatedCursor))
				return
			}
			seen[p.endCursor] = true
			after = p.endCursor
		}
		if len(stats.partial) > 0 {
			yield(zero, joinPartial(op, stats.partial))
		}
	}
}

// joinPartial merges the partial errors of several pages into one.
func joinPartial(op string, list []*PartialError) *PartialError {
	out := &PartialError{Operation: op}
	for _, pe := range list {
		out.Errors = append(out.Errors, pe.Errors...)
	}
	return out
}
