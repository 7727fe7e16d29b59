package admin

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"go.uber.org/zap"
)

// keyed is an API object with a numeric id, used to detect repeated pages
// and duplicates.
type keyed interface {
	key() int64
}

// list pages through a list endpoint with limit/offset. It stops on an empty
// page, when offset reaches the latest total_count, on a short page when the
// response gives no total, after limitTotal items (when positive), or when
// the caller stops ranging. It skips items already yielded (offset paging
// shifts when items are inserted mid-crawl) and fails instead of looping
// when a page repeats the previous one or maxPages is exceeded.
func list[T keyed](ctx context.Context, c *Client, what, path string, q url.Values, limitTotal int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if q == nil {
			q = url.Values{}
		}
		size := pageSize
		if limitTotal > 0 && limitTotal < size {
			size = limitTotal
		}
		q.Set("limit", strconv.Itoa(size))
		var (
			offset              int64
			yielded             int
			prevFirst, prevLast int64
			seen                = make(map[int64]struct{})
		)
		for page := 0; ; page++ {
			if page >= c.maxPages {
				yield(zero, fmt.Errorf("list %s: still more results after %d pages (offset %d); stopping", what, page, offset))
				return
			}
			q.Set("offset", strconv.FormatInt(offset, 10))
			data, extra, err := getJSON[[]T](ctx, c, path, q)
			if err != nil {
				yield(zero, fmt.Errorf("list %s (offset %d): %w", what, offset, err))
				return
			}
			var items []T
			if data != nil {
				items = *data
			}
			total := int64(-1)
			if extra != nil && extra.Pagination != nil {
				total = extra.Pagination.TotalCount
			}
			c.log.Debug("page", zap.String("list", what), zap.Int64("offset", offset),
				zap.Int("count", len(items)), zap.Int64("total", total))
			if len(items) == 0 {
				return
			}
			first, last := items[0].key(), items[len(items)-1].key()
			if page > 0 && first == prevFirst && last == prevLast {
				yield(zero, fmt.Errorf("list %s: the page at offset %d repeats the previous page (ids %d to %d); the server ignores offset, stopping", what, offset, first, last))
				return
			}
			prevFirst, prevLast = first, last
			for _, it := range items {
				k := it.key()
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				if !yield(it, nil) {
					return
				}
				yielded++
				if limitTotal > 0 && yielded >= limitTotal {
					return
				}
			}
			offset += int64(len(items))
			switch {
			case total >= 0 && offset >= total:
				return
			case total < 0 && len(items) < size:
				return
			}
		}
	}
}
