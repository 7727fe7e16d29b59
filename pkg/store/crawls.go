package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

type execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func insertCrawl(ctx context.Context, q execer, sc catalog.Scope, complete bool, rec *CrawlRecord, res *ApplyResult) (int64, error) {
	if res == nil {
		res = &ApplyResult{}
	}
	durations, err := json.Marshal(orEmpty(rec.Durations))
	if err != nil {
		return 0, err
	}
	warnings := rec.Warnings
	if warnings == nil {
		warnings = []catalog.Warning{}
	}
	type warn struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Count   int    `json:"count"`
	}
	ws := make([]warn, 0, len(warnings))
	for _, w := range warnings {
		c, _ := clean(w.Code)
		m, _ := clean(w.Message)
		ws = append(ws, warn{c, m, w.Count})
	}
	wj, err := json.Marshal(ws)
	if err != nil {
		return 0, err
	}
	started, finished := rec.StartedAt, rec.FinishedAt
	if started.IsZero() {
		started = time.Now()
	}
	if finished.IsZero() {
		finished = time.Now()
	}
	status := rec.Status
	if status == "" {
		status = "succeeded"
	}
	msg, _ := clean(rec.Error)
	var id int64
	err = q.QueryRow(ctx, `
		INSERT INTO crawler.crawls (account_id, project_id, environment_id, started_at, finished_at,
			status, complete, assets_inserted, assets_updated, assets_unchanged, assets_archived,
			assets_restored, columns_written, edges_written, test_results_added, freshness_added,
			api_requests, api_retries, rate_limit_waits, bytes_downloaded, artifacts_downloaded,
			durations, warnings, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
			$19, $20, $21, $22, $23, $24)
		RETURNING crawl_id`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID, started, finished, status, complete,
		res.Inserted, res.Updated, res.Unchanged, res.Archived, res.Restored, res.ColumnsWritten,
		res.EdgesWritten, res.TestResultsAdded, res.FreshnessAdded, rec.APIRequests, rec.APIRetries,
		rec.RateLimitWaits, rec.BytesDownloaded, rec.ArtifactsDownloaded, string(durations), string(wj), msg,
	).Scan(&id)
	return id, err
}

func orEmpty(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// RecordCrawl writes the report of a crawl that wrote no snapshot (it failed
// or was skipped) and returns its crawl_id.
func (s *Store) RecordCrawl(ctx context.Context, sc catalog.Scope, rec CrawlRecord) (int64, error) {
	id, err := insertCrawl(ctx, s.pool, sc, false, &rec, nil)
	if err != nil {
		return 0, fmt.Errorf("record crawl of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	return id, nil
}

// EnvironmentState is what the store remembers of an environment between
// crawls.
type EnvironmentState struct {
	// Known is false when the environment was never crawled.
	Known bool
	// AppliedUpdatedAt is the Discovery applied.lastUpdatedAt seen last.
	AppliedUpdatedAt time.Time
	// Watermarks maps job ID to the newest run ID fully processed.
	Watermarks map[int64]int64
	// LastCrawlComplete is whether the newest succeeded crawl was complete.
	LastCrawlComplete bool
}

// EnvironmentState returns the stored state of an environment.
func (s *Store) EnvironmentState(ctx context.Context, sc catalog.Scope) (EnvironmentState, error) {
	st := EnvironmentState{Watermarks: map[int64]int64{}}
	var envID int64
	var applied *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT env_id, applied_updated_at FROM crawler.environments
		WHERE account_id = $1 AND project_id = $2 AND environment_id = $3`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID).Scan(&envID, &applied)
	if err == pgx.ErrNoRows {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	st.Known = true
	if applied != nil {
		st.AppliedUpdatedAt = *applied
	}
	rows, err := s.pool.Query(ctx, `SELECT job_id, last_run_id FROM crawler.watermarks WHERE env_id = $1`, envID)
	if err != nil {
		return st, fmt.Errorf("read watermarks of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var job, run int64
		if err := rows.Scan(&job, &run); err != nil {
			return st, translate(err)
		}
		st.Watermarks[job] = run
	}
	if err := rows.Err(); err != nil {
		return st, translate(err)
	}
	err = s.pool.QueryRow(ctx, `
		SELECT complete FROM crawler.crawls
		WHERE account_id = $1 AND project_id = $2 AND environment_id = $3 AND status = 'succeeded'
		ORDER BY crawl_id DESC LIMIT 1`, sc.AccountID, sc.ProjectID, sc.EnvironmentID).Scan(&st.LastCrawlComplete)
	if err != nil && err != pgx.ErrNoRows {
		return st, translate(err)
	}
	return st, nil
}

// EnvironmentLock is a held per-environment crawl lock.
type EnvironmentLock struct {
	conn *pgxpool.Conn
	key  string
}

// TryLockEnvironment takes the session-level advisory lock that makes one
// crawler process at a time crawl an environment. It returns ok=false when
// another process holds it. Release the lock with Unlock.
func (s *Store) TryLockEnvironment(ctx context.Context, sc catalog.Scope) (*EnvironmentLock, bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock environment %d: %w", sc.EnvironmentID, translate(err))
	}
	var ok bool
	key := scopeKey(sc)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int4, hashtext($2))`, lockCrawl, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("lock environment %d: %w", sc.EnvironmentID, translate(err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &EnvironmentLock{conn: conn, key: key}, true, nil
}

// Unlock releases the lock. When the unlock cannot be confirmed the
// connection is closed, which releases the lock too. It is safe to call on a
// nil lock and more than once.
// The unlock runs even when ctx is already cancelled.
func (l *EnvironmentLock) Unlock(ctx context.Context) {
	if l == nil || l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1::int4, hashtext($2))`, lockCrawl, l.key); err != nil {
		_ = l.conn.Hijack().Close(ctx)
	} else {
		l.conn.Release()
	}
	l.conn = nil
}

func zapScope(sc catalog.Scope) zap.Field {
	return zap.String("environment", scopeKey(sc))
}

func zapInt(k string, v int) zap.Field { return zap.Int(k, v) }
