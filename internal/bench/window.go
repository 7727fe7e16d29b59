package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// discoveryRequests counts the Discovery requests a scenario made.
func discoveryRequests(s ScenarioResult) int {
	n := 0
	for ep, c := range s.RequestsByEndpoint {
		if strings.HasPrefix(ep, "POST /graphql") {
			n += c
		}
	}
	return n
}

// waitForDiscoveryWindow waits until the Discovery requests that crawls of
// the account made in the last minute, as their crawl reports record them,
// leave room in the crawler's default budget for need more, and returns how
// long it waited. The crawler itself would wait the same time inside its
// rate limiter (it charges those requests against its budget), so the next
// crawl's wall time would measure the benchmark's scheduling rather than
// the crawl.
func waitForDiscoveryWindow(ctx context.Context, dsn string, accountID int64, need int, progress func(string, ...any)) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
		SELECT finished_at, discovery_requests FROM crawler.crawls
		WHERE account_id = $1 AND discovery_requests > 0 AND finished_at > now() - interval '1 minute'
		ORDER BY finished_at`, accountID)
	if err != nil {
		return 0, fmt.Errorf("read recent crawls: %w", err)
	}
	type burst struct {
		at time.Time
		n  int
	}
	var bursts []burst
	total := 0
	for rows.Next() {
		var b burst
		if err := rows.Scan(&b.at, &b.n); err != nil {
			return 0, err
		}
		bursts = append(bursts, b)
		total += b.n
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	budget := config.DefaultDiscoveryPerMinute
	var until time.Time
	for _, b := range bursts {
		if total+need <= budget {
			break
		}
		total -= b.n
		until = b.at.Add(time.Minute + time.Second)
	}
	wait := time.Until(until)
	if wait <= 0 {
		return 0, nil
	}
	progress("waiting %.0fs for earlier Discovery requests to leave the one-minute window", wait.Seconds())
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
		return wait, nil
	}
}
