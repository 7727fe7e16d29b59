package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
			durations, warnings, error, discovery_requests, applied_read, applied_assets)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
			$19, $20, $21, $22, $23, $24, $25, $26, $27)
		RETURNING crawl_id`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID, started, finished, status, complete,
		res.Inserted, res.Updated, res.Unchanged, res.Archived, res.Restored, res.ColumnsWritten,
		res.EdgesWritten, res.TestResultsAdded, res.FreshnessAdded, rec.APIRequests, rec.APIRetries,
		rec.RateLimitWaits, rec.BytesDownloaded, rec.ArtifactsDownloaded, string(durations), string(wj), msg,
		rec.DiscoveryRequests, rec.AppliedRead, rec.AppliedAssets,
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

// RecordUnchanged records a crawl that found nothing new. Nothing new means
// the last complete snapshot still holds, so it counts as one more
// consecutive complete crawl for the assets missing from it: those reaching
// the archive grace count are archived now. Assets not missing are not
// touched.
func (s *Store) RecordUnchanged(ctx context.Context, sc catalog.Scope, rec CrawlRecord) (ApplyResult, error) {
	var res ApplyResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`, lockApply, scopeKey(sc)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE crawler.assets a
			SET missing_count = a.missing_count + 1,
			    archived_at = CASE WHEN a.missing_count + 1 >= $4 THEN now() END
			FROM crawler.environments e
			WHERE e.env_id = a.env_id AND e.account_id = $1 AND e.project_id = $2 AND e.environment_id = $3
			  AND a.archived_at IS NULL AND a.missing_count > 0
			RETURNING a.archived_at IS NOT NULL`, sc.AccountID, sc.ProjectID, sc.EnvironmentID, s.opts.ArchiveAfter)
		if err != nil {
			return err
		}
		for rows.Next() {
			var archived bool
			if err := rows.Scan(&archived); err != nil {
				rows.Close()
				return err
			}
			if archived {
				res.Archived++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		id, err := insertCrawl(ctx, tx, sc, true, &rec, &res)
		res.CrawlID = id
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("record unchanged crawl of environment %d: %w", sc.EnvironmentID, translate(err))
	}
	return res, nil
}

// RequestBurst is a number of requests a crawl sent, dated by when it ended.
type RequestBurst struct {
	At       time.Time
	Requests int
}

// RecentDiscoveryRequests returns the Discovery API requests that crawls of
// the account recorded in the last window, so that a new process can count
// them against dbt's per-minute limit, which is per account, not per
// process.
func (s *Store) RecentDiscoveryRequests(ctx context.Context, accountID int64, window time.Duration) ([]RequestBurst, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT finished_at, discovery_requests FROM crawler.crawls
		WHERE account_id = $1 AND discovery_requests > 0 AND finished_at > now() - $2::interval
		ORDER BY finished_at`, accountID, fmt.Sprintf("%d milliseconds", window.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("read recent crawls of account %d: %w", accountID, translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RequestBurst, error) {
		var b RequestBurst
		return b, r.Scan(&b.At, &b.Requests)
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
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
	// AppliedFullReadAt is when a complete crawl last read the whole
	// Discovery applied state (zero if none did).
	AppliedFullReadAt time.Time
	// LastAppliedRead is how the newest succeeded crawl read the applied
	// state: "full", "changed", or "" when it did not read it.
	LastAppliedRead string
}

// EnvironmentState returns the stored state of an environment.
func (s *Store) EnvironmentState(ctx context.Context, sc catalog.Scope) (EnvironmentState, error) {
	st := EnvironmentState{Watermarks: map[int64]int64{}}
	var envID int64
	var applied, fullRead *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT env_id, applied_updated_at, applied_full_read_at FROM crawler.environments
		WHERE account_id = $1 AND project_id = $2 AND environment_id = $3`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID).Scan(&envID, &applied, &fullRead)
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
	if fullRead != nil {
		st.AppliedFullReadAt = *fullRead
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
		SELECT complete, applied_read FROM crawler.crawls
		WHERE account_id = $1 AND project_id = $2 AND environment_id = $3 AND status = 'succeeded'
		ORDER BY crawl_id DESC LIMIT 1`, sc.AccountID, sc.ProjectID, sc.EnvironmentID).Scan(&st.LastCrawlComplete, &st.LastAppliedRead)
	if err != nil && err != pgx.ErrNoRows {
		return st, translate(err)
	}
	return st, nil
}

// EnvironmentLock is a held per-environment crawl lock.
type EnvironmentLock struct {
	conn *pgx.Conn
	key  string
}

// TryLockEnvironment takes the session-level advisory lock that makes one
// crawler process at a time crawl an environment. It returns ok=false when
// another process holds it. The lock lives on a dedicated connection, apart
// from the pool, so crawls holding locks never starve their own writes.
// Release it with Unlock.
func (s *Store) TryLockEnvironment(ctx context.Context, sc catalog.Scope) (*EnvironmentLock, bool, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, fmt.Errorf("lock environment %d: %w", sc.EnvironmentID, translate(err))
	}
	var ok bool
	key := scopeKey(sc)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int4, hashtext($2))`, lockCrawl, key).Scan(&ok); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, fmt.Errorf("lock environment %d: %w", sc.EnvironmentID, translate(err))
	}
	if !ok {
		conn.Close(context.WithoutCancel(ctx))
		return nil, false, nil
	}
	return &EnvironmentLock{conn: conn, key: key}, true, nil
}

// Unlock releases the lock by closing its connection (the server drops a
// session's advisory locks with the session). It runs even when ctx is
// already cancelled, and is safe to call on a nil lock and more than once.
func (l *EnvironmentLock) Unlock(ctx context.Context) {
	if l == nil || l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1::int4, hashtext($2))`, lockCrawl, l.key)
	_ = l.conn.Close(ctx)
	l.conn = nil
}

func zapScope(sc catalog.Scope) zap.Field {
	return zap.String("environment", scopeKey(sc))
}
