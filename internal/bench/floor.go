package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// replayDownload sends every successful request of reqs again to base
// with a plain HTTP client, workers at a time, reading and discarding the
// bodies, and returns the time it took and the bytes read. It is the
// floor of the crawl's network side: the same requests, no decoding, no
// rate limit.
func replayDownload(ctx context.Context, base string, reqs []request, workers int) (time.Duration, int64, error) {
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var todo []request
	for _, r := range reqs {
		if r.Status < 300 {
			todo = append(todo, r)
		}
	}
	jobs := make(chan request)
	var (
		mu    sync.Mutex
		total int64
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for r := range jobs {
				n, err := fetchOnce(ctx, client, base, r, buf)
				mu.Lock()
				total += n
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range todo {
		select {
		case jobs <- r:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return time.Since(start), total, first
}

func fetchOnce(ctx context.Context, client *http.Client, base string, r request, buf []byte) (int64, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.Path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Token "+dbtcloudtest.DefaultToken)
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("floor download %s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err != nil {
		return n, fmt.Errorf("floor download %s %s: %w", r.Method, r.Path, err)
	}
	if resp.StatusCode >= 300 {
		return n, fmt.Errorf("floor download %s %s: status %s", r.Method, r.Path, resp.Status)
	}
	return n, nil
}

// tableSpec says how to find the rows of one crawler table written since a
// mark: by a timestamp column, or by an identity above the mark.
type tableSpec struct {
	name  string
	since string // SQL predicate with $1 = mark time, $2 = max run_id, $3 = max crawl_id
}

// crawlerTables are the crawler's tables and how to select the rows a
// crawl wrote. Rows a crawl only deleted are not counted.
var crawlerTables = []tableSpec{
	{"accounts", "updated_at >= $1"},
	{"projects", "updated_at >= $1"},
	{"environments", "updated_at >= $1"},
	{"jobs", "updated_at >= $1"},
	{"runs", "run_id > $2"},
	{"assets", "updated_at >= $1"},
	{"asset_status", "updated_at >= $1"},
	{"columns", "updated_at >= $1"},
	{"edges", "created_at >= $1"},
	{"test_results", "recorded_at >= $1"},
	{"test_result_runs", "recorded_at >= $1"},
	{"source_freshness", "recorded_at >= $1"},
	{"relations", "updated_at >= $1"},
	{"matches", "updated_at >= $1"},
	{"watermarks", "updated_at >= $1"},
	{"crawls", "crawl_id > $3"},
}

// mark is the database's position before a crawl.
type mark struct {
	at       time.Time
	maxRun   int64
	maxCrawl int64
}

// takeMark records the server clock and the highest run and crawl IDs.
// Before the first crawl the tables do not exist yet, which counts as zero.
func takeMark(ctx context.Context, conn *pgx.Conn) (mark, error) {
	var m mark
	if err := conn.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&m.at); err != nil {
		return m, fmt.Errorf("read the database clock: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('crawler.crawls') IS NOT NULL`).Scan(&exists); err != nil {
		return m, err
	}
	if !exists {
		return m, nil
	}
	err := conn.QueryRow(ctx, `SELECT coalesce((SELECT max(run_id) FROM crawler.runs), 0),
		coalesce((SELECT max(crawl_id) FROM crawler.crawls), 0)`).Scan(&m.maxRun, &m.maxCrawl)
	if err != nil {
		return m, fmt.Errorf("read the crawl mark: %w", err)
	}
	return m, nil
}

// rowsWritten counts, per table, the rows written since m.
func rowsWritten(ctx context.Context, conn *pgx.Conn, m mark) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range crawlerTables {
		var n int64
		q := fmt.Sprintf(`SELECT count(*) FROM crawler.%s WHERE %s AND $1::timestamptz IS NOT NULL AND $2::bigint >= 0 AND $3::bigint >= 0`, pgx.Identifier{t.name}.Sanitize(), t.since)
		if err := conn.QueryRow(ctx, q, m.at, m.maxRun, m.maxCrawl).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows written to crawler.%s: %w", t.name, err)
		}
		out[t.name] = n
	}
	return out, nil
}

// copyFloor copies the rows written since m out of the crawler's tables
// (untimed) and back into fresh tables of the same shape, made with
// CREATE TABLE ... (LIKE ...) so without indexes or keys, in one timed
// transaction of plain COPY statements. It returns that time and the rows
// copied. The fresh tables are dropped afterwards.
func copyFloor(ctx context.Context, conn *pgx.Conn, m mark) (time.Duration, int64, error) {
	const schema = "bench_floor"
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS bench_floor CASCADE; CREATE SCHEMA bench_floor`); err != nil {
		return 0, 0, fmt.Errorf("create the floor schema: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS bench_floor CASCADE`) //nolint:errcheck
	type dump struct {
		table string
		data  []byte
		rows  int64
	}
	var dumps []dump
	for _, t := range crawlerTables {
		id := pgx.Identifier{t.name}.Sanitize()
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s.%s (LIKE crawler.%s)`, schema, id, id)); err != nil {
			return 0, 0, fmt.Errorf("create floor table %s: %w", t.name, err)
		}
		sel := fmt.Sprintf(`SELECT * FROM crawler.%s WHERE %s`, id, t.since)
		sel = substitute(sel, m)
		var buf bytes.Buffer
		tag, err := conn.PgConn().CopyTo(ctx, &buf, `COPY (`+sel+`) TO STDOUT (FORMAT binary)`)
		if err != nil {
			return 0, 0, fmt.Errorf("copy rows out of crawler.%s: %w", t.name, err)
		}
		dumps = append(dumps, dump{table: id, data: buf.Bytes(), rows: tag.RowsAffected()})
	}
	// This process's garbage (the dumps above, the emulator's last
	// responses) is collected now, as before a crawl (runner.crawl), not
	// by collector workers on both cores during the timed COPY.
	runtime.GC()
	var rows int64
	start := time.Now()
	if _, err := conn.Exec(ctx, `BEGIN`); err != nil {
		return 0, 0, err
	}
	for _, d := range dumps {
		if d.rows == 0 {
			continue
		}
		if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(d.data), fmt.Sprintf(`COPY %s.%s FROM STDIN (FORMAT binary)`, schema, d.table)); err != nil {
			conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`) //nolint:errcheck
			return 0, 0, fmt.Errorf("floor COPY into %s: %w", d.table, err)
		}
		rows += d.rows
	}
	if _, err := conn.Exec(ctx, `COMMIT`); err != nil {
		return 0, 0, err
	}
	return time.Since(start), rows, nil
}

// substitute inlines the mark into a predicate: COPY cannot take
// parameters.
func substitute(sql string, m mark) string {
	r := []string{
		"$1", "'" + m.at.UTC().Format("2006-01-02 15:04:05.999999") + "+00'::timestamptz",
		"$2", fmt.Sprint(m.maxRun),
		"$3", fmt.Sprint(m.maxCrawl),
	}
	for i := 0; i < len(r); i += 2 {
		sql = strings.ReplaceAll(sql, r[i], r[i+1])
	}
	return sql
}

// settle waits (at most a minute) until no autovacuum worker is busy, then
// asks for a checkpoint, so that the floor is measured on an idle server.
// A role that may not checkpoint (an external server) skips that step.
func settle(ctx context.Context, conn *pgx.Conn) time.Duration {
	start := time.Now()
	for time.Since(start) < time.Minute {
		var busy int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND state <> 'idle'`).Scan(&busy)
		if err != nil || busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(200 * time.Millisecond):
		}
	}
	_, _ = conn.Exec(ctx, `CHECKPOINT`) // needs superuser or pg_checkpoint; best effort
	return time.Since(start)
}
