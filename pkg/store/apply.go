package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// Advisory lock classes (the first key of the two-key advisory locks).
const (
	lockApply int32 = 0x0DB7_0001 // held by Apply for its transaction
	lockCrawl int32 = 0x0DB7_0002 // held by a crawler process while it crawls an environment
)

// CrawlRecord is the report of one crawl of one environment, written to
// crawler.crawls (the catalog.crawls view).
type CrawlRecord struct {
	StartedAt   time.Time
	FinishedAt  time.Time
	Status      string // "succeeded", "failed", "skipped"
	APIRequests int
	// DiscoveryRequests is the part of APIRequests sent to the Discovery
	// API; later crawls count it against the per-minute budget.
	DiscoveryRequests   int
	APIRetries          int
	RateLimitWaits      int
	BytesDownloaded     int64
	ArtifactsDownloaded int
	// Durations holds seconds per phase, e.g. {"plan": 0.2, "fetch": 3.1}.
	Durations map[string]float64
	Warnings  []catalog.Warning
	Error     string
	// AppliedRead is how the Discovery applied state was read ("full",
	// "changed" or "" for not at all) and AppliedAssets how many of its
	// assets came back.
	AppliedRead   string
	AppliedAssets int
}

// ApplyResult counts what Apply wrote.
type ApplyResult struct {
	CrawlID   int64
	Inserted  int
	Updated   int
	Unchanged int
	Archived  int
	Restored  int
	// StatusWritten counts last-execution rows written (crawler.asset_status).
	StatusWritten    int
	ColumnsWritten   int
	EdgesWritten     int
	TestResultsAdded int
	FreshnessAdded   int
	RelationsWritten int
	MatchesWritten   int
	// Sanitized counts values whose NUL bytes or invalid UTF-8 were repaired.
	Sanitized int
}

// AssetRowsWritten is the number of asset rows inserted, updated or archived.
func (r ApplyResult) AssetRowsWritten() int { return r.Inserted + r.Updated + r.Archived }

// Apply writes one environment's snapshot in one transaction: it upserts the
// assets, columns, relations and matches whose content changed (an unchanged
// row costs no write), appends new test results and freshness checks,
// records jobs, runs and watermarks, and, when the snapshot is Complete,
// archives assets missing from it for Options.ArchiveAfter consecutive
// complete snapshots (restoring any that come back) and removes edges,
// columns, relations and matches it no longer has. An incomplete snapshot
// never archives or removes anything.
//
// When rec is not nil the crawl report is written in the same transaction.
// The Apply calls of one Store write one at a time, and Apply calls of
// different processes for one environment serialize on an advisory lock.
// On any error nothing is written.
func (s *Store) Apply(ctx context.Context, snap *catalog.Snapshot, rec *CrawlRecord) (ApplyResult, error) {
	var res ApplyResult
	if snap == nil {
		return res, fmt.Errorf("apply: nil snapshot")
	}
	// One Apply of a process writes at a time; the others wait here with
	// their snapshots built. Environments crawled side by side then
	// append their rows one after another: a first crawl's keys (after
	// its new env_id) then all fall at the right edge of every index,
	// where PostgreSQL inserts without descending the tree and splits
	// pages full. Concurrent writers interleave in the middle of the
	// indexes instead, which cost the benchmark's PostgreSQL about a
	// tenth more CPU for the same rows (docs/benchmarks.md), and their
	// transactions gained nothing: one backend's COPY keeps pace with the
	// fetching.
	select {
	case s.writing <- struct{}{}:
	case <-ctx.Done():
		return res, fmt.Errorf("apply snapshot of environment %d: %w", snap.Scope.EnvironmentID, ctx.Err())
	}
	defer func() { <-s.writing }()
	w := newWriter(snap, s.opts.ArchiveAfter)
	// The account and project rows are shared by the project's
	// environments: upserted inside an environment's transaction, they
	// would make every other environment of the project wait for its
	// commit. They only say that the project exists and how it is named.
	if err := s.upsertProject(ctx, snap.Scope); err != nil {
		return ApplyResult{}, fmt.Errorf("apply snapshot of environment %d: %w", snap.Scope.EnvironmentID, translate(err))
	}
	// How long each step took, for the debug log.
	var timings []zap.Field
	started := time.Now()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res = ApplyResult{}
		w.res = &res
		w.tx = tx
		steps := []struct {
			phase string
			fn    func(context.Context) error
		}{
			{"lock", w.lock},
			{"environment", w.environment},
			{"jobs", w.jobsAndRuns},
			{"assets", w.assets},
			{"status", w.status},
			{"columns", w.columns},
			{"edges", w.edges},
			{"test_results", w.testResults},
			{"freshness", w.freshness},
			{"relations", w.relations},
			{"matches", w.matches},
			{"watermarks", w.watermarks},
		}
		timings = timings[:0]
		for _, st := range steps {
			if s.inject != nil {
				if err := s.inject(st.phase); err != nil {
					return err
				}
			}
			t := time.Now()
			if err := st.fn(ctx); err != nil {
				return fmt.Errorf("write %s: %w", st.phase, err)
			}
			timings = append(timings, zap.Duration(st.phase, time.Since(t)))
		}
		res.Sanitized = w.sanitized
		if rec != nil {
			id, err := insertCrawl(ctx, tx, snap.Scope, snap.Complete, rec, &res)
			if err != nil {
				return fmt.Errorf("write crawl report: %w", err)
			}
			res.CrawlID = id
		}
		if s.inject != nil {
			return s.inject("commit")
		}
		return nil
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply snapshot of environment %d: %w", snap.Scope.EnvironmentID, translate(err))
	}
	s.log.Debug("applied snapshot",
		zapScope(snap.Scope),
		zap.Int("inserted", res.Inserted), zap.Int("updated", res.Updated),
		zap.Int("unchanged", res.Unchanged), zap.Int("archived", res.Archived),
		zap.Duration("duration", time.Since(started)), zap.Dict("steps", timings...))
	return res, nil
}

// writer holds the state of one Apply transaction.
type writer struct {
	snap         *catalog.Snapshot
	archiveAfter int
	tx           pgx.Tx
	res          *ApplyResult
	envID        int64
	sanitized    int
	quiet        bool // values are being rebuilt: do not count repairs again
	raw          bool // values are only hashed, never stored: no repairs
	h            *hasher
	// qualifiedPrefix is catalog.QualifiedName of the scope without the
	// unique ID, which the name ends with.
	qualifiedPrefix string
	scratch         bytes.Buffer // see codeView
}

func newWriter(snap *catalog.Snapshot, archiveAfter int) *writer {
	return &writer{snap: snap, archiveAfter: archiveAfter, h: newHasher(),
		qualifiedPrefix: catalog.QualifiedName(snap.Scope, "")}
}

func (w *writer) str(s string) string {
	if w.raw {
		return s
	}
	c, changed := clean(s)
	if changed && !w.quiet {
		w.sanitized++
	}
	return c
}

func (w *writer) strs(in []string) []string {
	if w.raw {
		return in
	}
	c, changed := cleanAll(in)
	if changed && !w.quiet {
		w.sanitized++
	}
	return c
}

func (w *writer) json(raw json.RawMessage, empty string) string {
	if w.raw {
		return string(raw)
	}
	c, changed := cleanJSON(raw, empty)
	if changed && !w.quiet {
		w.sanitized++
	}
	return c
}

func (w *writer) lock(ctx context.Context) error {
	sc := w.snap.Scope
	// Statistics of freshly written tables lag behind (autovacuum has not
	// run yet), and the planner then picks nested loops for the set joins
	// below, which are quadratic. Every join here is a bulk set operation,
	// so hash and merge joins are always the right choice.
	if _, err := w.tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
		return err
	}
	_, err := w.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`, lockApply, scopeKey(sc))
	return err
}

func scopeKey(sc catalog.Scope) string {
	return fmt.Sprintf("%d/%d/%d", sc.AccountID, sc.ProjectID, sc.EnvironmentID)
}

// upsertProject records the scope's account and project in their own
// short transaction.
func (s *Store) upsertProject(ctx context.Context, sc catalog.Scope) error {
	name, _ := clean(sc.ProjectName) // a repair is counted by the environment's write
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO crawler.accounts (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, sc.AccountID)
	b.Queue(`
		INSERT INTO crawler.projects (account_id, project_id, name) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, project_id) DO UPDATE SET name = excluded.name, updated_at = now()
		WHERE projects.name IS DISTINCT FROM excluded.name`, sc.AccountID, sc.ProjectID, name)
	return s.pool.SendBatch(ctx, b).Close()
}

func (w *writer) environment(ctx context.Context) error {
	sc := w.snap.Scope
	var applied *time.Time
	if !w.snap.AppliedUpdatedAt.IsZero() {
		t := w.snap.AppliedUpdatedAt
		applied = &t
	}
	// A complete snapshot that read the whole applied state stamps when
	// it did; an incremental one (Kept) leaves the stamp as it was.
	fullRead := w.snap.Complete && applied != nil && w.snap.Kept == nil
	if _, err := w.tx.Exec(ctx, `
		INSERT INTO crawler.environments (account_id, project_id, environment_id, project_name, name,
			environment_type, deployment_type, adapter_type, applied_updated_at, applied_full_read_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::boolean THEN now() END)
		ON CONFLICT (account_id, project_id, environment_id) DO UPDATE SET
			project_name = excluded.project_name, name = excluded.name,
			environment_type = excluded.environment_type, deployment_type = excluded.deployment_type,
			adapter_type = CASE WHEN excluded.adapter_type = '' THEN environments.adapter_type ELSE excluded.adapter_type END,
			applied_updated_at = COALESCE(excluded.applied_updated_at, environments.applied_updated_at),
			applied_full_read_at = COALESCE(excluded.applied_full_read_at, environments.applied_full_read_at),
			updated_at = now()
		WHERE (environments.project_name, environments.name, environments.environment_type,
		       environments.deployment_type, environments.adapter_type, environments.applied_updated_at)
		  IS DISTINCT FROM
		      (excluded.project_name, excluded.name, excluded.environment_type, excluded.deployment_type,
		       CASE WHEN excluded.adapter_type = '' THEN environments.adapter_type ELSE excluded.adapter_type END,
		       COALESCE(excluded.applied_updated_at, environments.applied_updated_at))
		   OR excluded.applied_full_read_at IS NOT NULL`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID, w.str(sc.ProjectName), w.str(sc.EnvironmentName),
		sc.EnvironmentType, sc.DeploymentType, w.snap.AdapterType, applied, fullRead); err != nil {
		return err
	}
	return w.tx.QueryRow(ctx, `
		SELECT env_id FROM crawler.environments
		WHERE account_id = $1 AND project_id = $2 AND environment_id = $3`,
		sc.AccountID, sc.ProjectID, sc.EnvironmentID).Scan(&w.envID)
}

func (w *writer) jobsAndRuns(ctx context.Context) error {
	if len(w.snap.Jobs) == 0 && len(w.snap.Runs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, j := range w.snap.Jobs {
		steps := w.strs(j.ExecuteSteps)
		b.Queue(`
			INSERT INTO crawler.jobs (env_id, job_id, name, generate_docs, run_freshness, execute_steps, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (env_id, job_id) DO UPDATE SET name = excluded.name,
				generate_docs = excluded.generate_docs, run_freshness = excluded.run_freshness,
				execute_steps = excluded.execute_steps, state = excluded.state, updated_at = now()
			WHERE (jobs.name, jobs.generate_docs, jobs.run_freshness, jobs.execute_steps, jobs.state)
			  IS DISTINCT FROM (excluded.name, excluded.generate_docs, excluded.run_freshness, excluded.execute_steps, excluded.state)`,
			w.envID, j.ID, w.str(j.Name), j.GenerateDocs, j.RunFreshness, steps, j.State)
	}
	for _, r := range w.snap.Runs {
		b.Queue(`
			INSERT INTO crawler.runs (env_id, run_id, job_id, status, status_text, git_sha,
				has_docs_generated, has_sources_generated, trigger_cause, created_at, finished_at, duration_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (env_id, run_id) DO UPDATE SET status = excluded.status,
				status_text = excluded.status_text, finished_at = excluded.finished_at,
				duration_seconds = excluded.duration_seconds,
				has_docs_generated = excluded.has_docs_generated,
				has_sources_generated = excluded.has_sources_generated
			WHERE (runs.status, runs.finished_at, runs.has_docs_generated, runs.has_sources_generated)
			  IS DISTINCT FROM (excluded.status, excluded.finished_at, excluded.has_docs_generated, excluded.has_sources_generated)`,
			w.envID, r.ID, r.JobID, r.Status, w.str(r.StatusText), w.str(r.GitSHA),
			r.HasDocsGenerated, r.HasSourcesGenerated, w.str(r.TriggerCause),
			optTime(r.CreatedAt), optTime(r.FinishedAt), r.DurationSeconds)
	}
	return w.tx.SendBatch(ctx, b).Close()
}

var assetCols = []string{
	"env_id", "unique_id", "qualified_name", "asset_type", "name", "package_name", "description",
	"database_name", "schema_name", "identifier", "relation_name", "materialization", "language",
	"access", "version", "enabled", "owner", "tags", "meta", "path", "raw_code", "compiled_code",
	"checksum", "source_name", "loader", "test_name", "test_column_name", "tested_unique_id",
	"severity", "url", "label", "content_hash", "artifact_hash",
}

func (w *writer) assets(ctx context.Context) error {
	// The stored hashes decide which rows cross the wire: an unchanged
	// asset is neither copied nor upserted. The environment's advisory lock
	// makes the read and the writes one consistent step.
	type stored struct {
		hash    []byte
		pending bool // archived, or counted missing: must be rewritten
	}
	existing := map[string]stored{}
	rs, err := w.tx.Query(ctx, `
		SELECT unique_id, content_hash, archived_at IS NOT NULL, missing_count <> 0
		FROM crawler.assets WHERE env_id = $1`, w.envID)
	if err != nil {
		return err
	}
	archivedNow := map[string]bool{}
	for rs.Next() {
		var uid string
		var hash []byte
		var archived, missing bool
		if err := rs.Scan(&uid, &hash, &archived, &missing); err != nil {
			rs.Close()
			return err
		}
		existing[uid] = stored{hash: hash, pending: archived || missing}
		if archived {
			archivedNow[uid] = true
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}

	seen := make(map[string]bool, len(w.snap.Assets))
	var rows [][]any
	var fresh []int
	for i := range w.snap.Assets {
		a := &w.snap.Assets[i]
		uid, _ := clean(a.UniqueID) // a repair is counted once, by hashAsset or the tuple
		if seen[uid] {
			continue // duplicates are reported by the builder; the first wins
		}
		seen[uid] = true
		if w.snap.Kept[uid] {
			if old, ok := existing[uid]; ok && !old.pending {
				w.res.Unchanged++
				continue
			}
			// Not stored as it was read (archived since, or gone): this
			// snapshot's artifact values are all there is.
		}
		old, ok := existing[uid]
		if !ok {
			// Rendered and hashed in one walk when copied, so the whole
			// batch is never held at once.
			fresh = append(fresh, i)
			continue
		}
		hash := w.hashAsset(a)
		if !old.pending && bytes.Equal(old.hash, hash) {
			w.res.Unchanged++
			continue
		}
		if archivedNow[uid] {
			w.res.Restored++
		}
		w.quiet = true // counted by hashAsset
		rows = append(rows, w.assetValues(a, hash))
		w.quiet = false
	}
	// New assets go straight in with COPY: the environment's lock means no
	// one else can have inserted them. Rendered again from the snapshot
	// rather than kept, so the whole batch is never held at once.
	if len(fresh) > 0 {
		n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "assets"}, assetCols, fresh, func(b []byte, i *int) []byte {
			return w.appendNewAssetTuple(b, &w.snap.Assets[*i])
		})
		if err != nil {
			return err
		}
		w.res.Inserted += int(n)
	}
	if len(rows) > 0 {
		if err := w.tempTable(ctx, "_assets", "crawler.assets", assetCols); err != nil {
			return err
		}
		if err := w.copy(ctx, "_assets", assetCols, rows); err != nil {
			return err
		}
		set := ""
		for _, c := range assetCols[2:] {
			if keepWhenEmpty[c] {
				set += c + " = COALESCE(NULLIF(excluded." + c + ", ''), assets." + c + "), "
			} else {
				set += c + " = excluded." + c + ", "
			}
		}
		before := w.res.Inserted + w.res.Updated
		rs, err := w.tx.Query(ctx, `INSERT INTO crawler.assets (`+joinCols(assetCols)+`)
			SELECT `+joinCols(assetCols)+` FROM _assets
			ON CONFLICT (env_id, unique_id) DO UPDATE SET `+set+`
				missing_count = 0, archived_at = NULL, updated_at = now()
			WHERE assets.content_hash IS DISTINCT FROM excluded.content_hash
			   OR assets.archived_at IS NOT NULL OR assets.missing_count <> 0
			RETURNING (xmax = 0)`)
		if err != nil {
			return err
		}
		for rs.Next() {
			var inserted bool
			if err := rs.Scan(&inserted); err != nil {
				rs.Close()
				return err
			}
			if inserted {
				w.res.Inserted++
			} else {
				w.res.Updated++
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		w.res.Unchanged += len(rows) - (w.res.Inserted + w.res.Updated - before)
	}
	if !w.snap.Complete {
		return nil
	}
	// Assets the snapshot no longer has: count the absence, and archive
	// those that reached the grace count.
	var missing [][]any
	for uid := range existing {
		if !seen[uid] && !archivedNow[uid] {
			missing = append(missing, []any{uid})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := w.keyTable(ctx, "_missing_assets", 1, missing); err != nil {
		return err
	}
	rs, err = w.tx.Query(ctx, `
		UPDATE crawler.assets a
		SET missing_count = a.missing_count + 1,
		    archived_at = CASE WHEN a.missing_count + 1 >= $2 THEN now() END
		FROM _missing_assets m WHERE a.env_id = $1 AND a.unique_id = m.k1
		RETURNING a.archived_at IS NOT NULL`, w.envID, w.archiveAfter)
	if err != nil {
		return err
	}
	for rs.Next() {
		var archived bool
		if err := rs.Scan(&archived); err != nil {
			rs.Close()
			return err
		}
		if archived {
			w.res.Archived++
		}
	}
	rs.Close()
	return rs.Err()
}

// assetValues returns asset a's values with its hash, in assetCols order,
// for a parameterised write.
func (w *writer) assetValues(a *catalog.Asset, hash []byte) []any {
	s := anySink{w: w, vals: make([]any, 0, len(assetCols))}
	s.vals = append(s.vals, w.envID)
	w.assetFields(a, &s)
	return append(s.vals, hash, w.artifactHash(a))
}

// keyTable creates a transaction-scoped table of n text key columns
// (k1..kn) holding rows.
func (w *writer) keyTable(ctx context.Context, name string, n int, rows [][]any) error {
	cols := make([]string, n)
	defs := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("k%d", i+1)
		defs[i] = cols[i] + " text NOT NULL"
	}
	if _, err := w.tx.Exec(ctx, `CREATE TEMP TABLE `+name+` (`+strings.Join(defs, ", ")+`) ON COMMIT DROP`); err != nil {
		return err
	}
	return w.copy(ctx, name, cols, rows)
}

// storedHashes reads key columns and the content hash of a table's rows of
// the environment, keyed by the key columns joined with NUL.
func (w *writer) storedHashes(ctx context.Context, sql string) (map[rowKey]rowHash, error) {
	rs, err := w.tx.Query(ctx, sql, w.envID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[rowKey]rowHash{}
	n := len(rs.FieldDescriptions()) - 1
	if n > len(rowKey{}) {
		return nil, fmt.Errorf("stored hashes: %d key columns, at most %d", n, len(rowKey{}))
	}
	dest := make([]any, n+1)
	var key rowKey
	var hash []byte
	for i := range n {
		dest[i] = &key[i]
	}
	dest[n] = &hash
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		out[key] = newRowHash(hash)
	}
	return out, rs.Err()
}

// rowKey is the key of a row within its environment: up to three text
// columns, the unused ones empty.
type rowKey [3]string

// rowHash is a stored content hash (the first 16 bytes of a SHA-256).
type rowHash [16]byte

func newRowHash(b []byte) rowHash {
	var h rowHash
	copy(h[:], b)
	return h
}

// equal reports whether b is this hash.
func (h rowHash) equal(b []byte) bool { return len(b) == len(h) && [16]byte(b) == h }

// keepWhenEmpty lists the asset columns a thinner input must not blank out:
// a manifest written by `dbt test` has no compiled code, an artifact-only
// crawl of a run that did not build a model has no execution for it. An
// empty value there means "not known", so the stored value stays.
var keepWhenEmpty = map[string]bool{"description": true, "raw_code": true, "compiled_code": true}

// status upserts the last execution of each asset that has one. An asset
// the snapshot knows no execution for keeps the stored one.
func (w *writer) status(ctx context.Context) error {
	cols := []string{"env_id", "unique_id", "last_run_status", "last_run_at", "last_run_id", "last_job_id", "execution_seconds"}
	type stored struct {
		status string
		at     *time.Time
		run    *int64
	}
	existing := map[string]stored{}
	rs, err := w.tx.Query(ctx, `SELECT unique_id, last_run_status, last_run_at, last_run_id FROM crawler.asset_status WHERE env_id = $1`, w.envID)
	if err != nil {
		return err
	}
	for rs.Next() {
		var uid string
		var st stored
		if err := rs.Scan(&uid, &st.status, &st.at, &st.run); err != nil {
			rs.Close()
			return err
		}
		existing[uid] = st
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(w.snap.Assets))
	// New rows are rendered straight from their assets; a first crawl
	// has one per executed node.
	type freshRow struct {
		a           *catalog.Asset
		uid, status string
	}
	var fresh []freshRow
	var changed [][]any
	for i := range w.snap.Assets {
		a := &w.snap.Assets[i]
		if a.LastRunStatus == "" && a.LastRunAt.IsZero() {
			continue
		}
		uid := w.str(a.UniqueID)
		if seen[uid] {
			continue
		}
		seen[uid] = true
		status := w.str(a.LastRunStatus)
		old, ok := existing[uid]
		switch {
		case !ok:
			fresh = append(fresh, freshRow{a, uid, status})
		case old.status == status && equalTime(old.at, optTime(a.LastRunAt)) && equalID(old.run, optID(a.LastRunID)):
			// unchanged
		default:
			changed = append(changed, []any{w.envID, uid, status, optTime(a.LastRunAt), optID(a.LastRunID), optID(a.LastJobID), optFloat(a.ExecutionSeconds)})
		}
	}
	if len(fresh) > 0 {
		n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "asset_status"}, cols, fresh, func(b []byte, r *freshRow) []byte {
			b = binTuple(b, len(cols))
			b = binInt8(b, w.envID)
			b = binText(b, r.uid)
			b = binText(b, r.status)
			b = binOptTime(b, r.a.LastRunAt)
			b = binOptInt8(b, r.a.LastRunID)
			b = binOptInt8(b, r.a.LastJobID)
			return binOptFloat8(b, r.a.ExecutionSeconds)
		})
		if err != nil {
			return err
		}
		w.res.StatusWritten += int(n)
	}
	if len(changed) == 0 {
		return nil
	}
	if err := w.tempTable(ctx, "_status", "crawler.asset_status", cols); err != nil {
		return err
	}
	if err := w.copy(ctx, "_status", cols, changed); err != nil {
		return err
	}
	tag, err := w.tx.Exec(ctx, `
		INSERT INTO crawler.asset_status (`+joinCols(cols)+`)
		SELECT `+joinCols(cols)+` FROM _status
		ON CONFLICT (env_id, unique_id) DO UPDATE SET
			last_run_status = excluded.last_run_status, last_run_at = excluded.last_run_at,
			last_run_id = excluded.last_run_id, last_job_id = excluded.last_job_id,
			execution_seconds = excluded.execution_seconds, updated_at = now()
		WHERE (asset_status.last_run_status, asset_status.last_run_at, asset_status.last_run_id,
		       asset_status.last_job_id, asset_status.execution_seconds)
		  IS DISTINCT FROM (excluded.last_run_status, excluded.last_run_at, excluded.last_run_id,
		       excluded.last_job_id, excluded.execution_seconds)
		  AND (asset_status.last_run_at IS NULL OR excluded.last_run_at IS NULL
		       OR excluded.last_run_at >= asset_status.last_run_at)`)
	w.res.StatusWritten += int(tag.RowsAffected())
	return err
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func equalID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

var columnCols = []string{"env_id", "unique_id", "name", "data_type", "ordinal", "description", "tags", "meta", "comment", "content_hash"}

func (w *writer) columns(ctx context.Context) error {
	byAsset, err := w.storedColumns(ctx)
	if err != nil {
		return err
	}
	var rows [][]any
	var fresh []int
	var cur *assetColumns
	for i := range w.snap.Columns {
		if w.snap.Kept[w.snap.Columns[i].AssetUniqueID] {
			continue // the stored columns stand
		}
		r := w.columnRow(&w.snap.Columns[i])
		if cur == nil || cur.uid != r.uid {
			// Columns come grouped by asset: one lookup per asset, and
			// per column only its short name is hashed.
			cur = byAsset[r.uid]
			if cur == nil {
				cur = &assetColumns{uid: r.uid}
				byAsset[r.uid] = cur
			}
			if cur.seen == nil {
				cur.seen = map[string]bool{}
			}
		}
		if cur.seen[r.name] {
			continue
		}
		cur.seen[r.name] = true
		old, ok := cur.stored[r.name]
		if !ok {
			fresh = append(fresh, i) // hashed when copied
			continue
		}
		if hash := w.hashColumn(&r); !old.equal(hash) {
			rows = append(rows, []any{w.envID, r.uid, r.name, r.dataType, r.ordinal, r.description, r.tags, r.meta, r.comment, hash})
		}
	}
	if len(fresh) > 0 {
		// Rendered straight from the snapshot, rebuilt (already counted)
		// rather than kept: an account's first crawl has ~500k columns.
		w.quiet = true
		n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "columns"}, columnCols, fresh, func(b []byte, i *int) []byte {
			r := w.columnRow(&w.snap.Columns[*i])
			b = binTuple(b, len(columnCols))
			b = binInt8(b, w.envID)
			b = binText(b, r.uid)
			b = binText(b, r.name)
			b = binText(b, r.dataType)
			b = binInt4(b, r.ordinal)
			b = binText(b, r.description)
			b = binTextArray(b, r.tags)
			b = binJSONB(b, r.meta)
			b = binText(b, r.comment)
			w.hashColumnFields(&r)
			return binSum(b, w.h)
		})
		w.quiet = false
		if err != nil {
			return err
		}
		w.res.ColumnsWritten += int(n)
	}
	if len(rows) > 0 {
		if err := w.tempTable(ctx, "_columns", "crawler.columns", columnCols); err != nil {
			return err
		}
		if err := w.copy(ctx, "_columns", columnCols, rows); err != nil {
			return err
		}
		tag, err := w.tx.Exec(ctx, `
			INSERT INTO crawler.columns (`+joinCols(columnCols)+`)
			SELECT `+joinCols(columnCols)+` FROM _columns
			ON CONFLICT (env_id, unique_id, name) DO UPDATE SET data_type = excluded.data_type,
				ordinal = excluded.ordinal, description = excluded.description, tags = excluded.tags,
				meta = excluded.meta, comment = excluded.comment, content_hash = excluded.content_hash,
				updated_at = now()
			WHERE columns.content_hash IS DISTINCT FROM excluded.content_hash`)
		if err != nil {
			return err
		}
		w.res.ColumnsWritten += int(tag.RowsAffected())
	}
	if !w.snap.Complete {
		return nil
	}
	// Columns the snapshot no longer lists, for assets whose columns it
	// knows: an asset the snapshot gives no columns for (no catalog.json in
	// this crawl) keeps the columns already stored.
	var gone [][]any
	for _, ac := range byAsset {
		if ac.seen == nil {
			continue
		}
		for name := range ac.stored {
			if !ac.seen[name] {
				gone = append(gone, []any{ac.uid, name})
			}
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := w.keyTable(ctx, "_gone_columns", 2, gone); err != nil {
		return err
	}
	tag, err := w.tx.Exec(ctx, `
		DELETE FROM crawler.columns c USING _gone_columns g
		WHERE c.env_id = $1 AND c.unique_id = g.k1 AND c.name = g.k2`, w.envID)
	w.res.ColumnsWritten += int(tag.RowsAffected())
	return err
}

// assetColumns is what the diff knows of one asset's columns.
type assetColumns struct {
	uid    string
	stored map[string]rowHash // name -> stored content hash
	seen   map[string]bool    // names the snapshot lists; nil when it lists none
}

// storedColumns reads the environment's stored column hashes grouped by
// asset. Rows come in key order, so each asset's unique_id is one string.
func (w *writer) storedColumns(ctx context.Context) (map[string]*assetColumns, error) {
	var (
		rs  pgx.Rows
		err error
	)
	if w.snap.Kept == nil {
		rs, err = w.tx.Query(ctx, `SELECT unique_id, name, content_hash FROM crawler.columns WHERE env_id = $1 ORDER BY unique_id, name`, w.envID)
	} else {
		// Only the columns of the assets read in full: usually a few.
		var uids []string
		for i := range w.snap.Assets {
			if uid := w.snap.Assets[i].UniqueID; !w.snap.Kept[uid] {
				uids = append(uids, w.str(uid))
			}
		}
		rs, err = w.tx.Query(ctx, `SELECT unique_id, name, content_hash FROM crawler.columns WHERE env_id = $1 AND unique_id = ANY($2) ORDER BY unique_id, name`, w.envID, uids)
	}
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]*assetColumns{}
	var cur *assetColumns
	for rs.Next() {
		raw := rs.RawValues() // text and bytea arrive as their bytes
		if len(raw) != 3 {
			return nil, fmt.Errorf("stored columns: %d values in a row", len(raw))
		}
		if cur == nil || cur.uid != string(raw[0]) {
			cur = &assetColumns{uid: string(raw[0]), stored: map[string]rowHash{}}
			out[cur.uid] = cur
		}
		cur.stored[string(raw[1])] = newRowHash(raw[2])
	}
	return out, rs.Err()
}

// columnRow holds a column's sanitised values, in columnCols order.
type columnRow struct {
	uid, name, dataType string
	ordinal             int32
	description         string
	tags                []string
	meta, comment       string
}

func (w *writer) columnRow(c *catalog.Column) columnRow {
	return columnRow{w.str(c.AssetUniqueID), w.str(c.Name), w.str(c.DataType), int32(c.Ordinal),
		w.str(c.Description), w.strs(c.Tags), w.json(c.Meta, "{}"), w.str(c.Comment)}
}

// hashColumn is hashRow over the row's values, without boxing each one.
func (w *writer) hashColumn(r *columnRow) []byte {
	w.hashColumnFields(r)
	return w.h.sum()
}

// hashColumnFields writes what hashColumn hashes to w.h.
func (w *writer) hashColumnFields(r *columnRow) {
	h := w.h
	h.reset()
	h.str(r.uid)
	h.str(r.name)
	h.str(r.dataType)
	h.i64(int64(r.ordinal))
	h.str(r.description)
	h.strs(r.tags)
	h.str(r.meta)
	h.str(r.comment)
}

func (w *writer) edges(ctx context.Context) error {
	existing, err := w.storedHashes(ctx, `SELECT upstream, downstream, ''::bytea FROM crawler.edges WHERE env_id = $1`)
	if err != nil {
		return err
	}
	seen := make(map[rowKey]bool, len(w.snap.Edges))
	var fresh []rowKey
	for _, e := range w.snap.Edges {
		up, down := w.str(e.Upstream), w.str(e.Downstream)
		key := rowKey{up, down}
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, ok := existing[key]; !ok {
			fresh = append(fresh, key)
		}
	}
	if len(fresh) > 0 {
		n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "edges"}, []string{"env_id", "upstream", "downstream"}, fresh, func(b []byte, e *rowKey) []byte {
			b = binTuple(b, 3)
			b = binInt8(b, w.envID)
			b = binText(b, e[0])
			return binText(b, e[1])
		})
		if err != nil {
			return err
		}
		w.res.EdgesWritten = int(n)
	}
	if !w.snap.Complete {
		return nil
	}
	var gone [][]any
	for key := range existing {
		if !seen[key] && !w.snap.Kept[key[1]] {
			gone = append(gone, []any{key[0], key[1]})
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := w.keyTable(ctx, "_gone_edges", 2, gone); err != nil {
		return err
	}
	tag, err := w.tx.Exec(ctx, `
		DELETE FROM crawler.edges x USING _gone_edges g
		WHERE x.env_id = $1 AND x.upstream = g.k1 AND x.downstream = g.k2`, w.envID)
	w.res.EdgesWritten += int(tag.RowsAffected())
	return err
}

// knownRunsSQL reads which of some runs of an environment have test
// results stored (migration 00007).
const knownRunsSQL = `SELECT run_id FROM crawler.test_result_runs WHERE env_id = $1 AND run_id = ANY($2)`

// storedResultsSQL reads which of the given (test, run) pairs an
// environment has stored, probing the primary key once per pair: the
// subquery behind OFFSET 0 is planned on its own, so it stays a unique key
// lookup whatever the sizes, and its cost follows the pairs asked, never
// the length of the stored history.
const storedResultsSQL = `SELECT k.test, k.run, x.replaceable
	FROM unnest($2::text[], $3::bigint[]) AS k(test, run),
	LATERAL (SELECT t.invocation_id = '' AS replaceable FROM crawler.test_results t
		WHERE t.env_id = $1 AND t.test_unique_id = k.test AND t.run_id = k.run OFFSET 0) AS x`

// recordRunsSQL records runs as having test results stored.
const recordRunsSQL = `INSERT INTO crawler.test_result_runs (env_id, run_id)
	SELECT $1, r FROM unnest($2::bigint[]) AS r ON CONFLICT DO NOTHING`

// uniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const uniqueViolation = "23505"

// resultKey identifies a test result of an environment.
type resultKey struct {
	test string
	run  int64
}

func (w *writer) testResults(ctx context.Context) error {
	if len(w.snap.TestResults) == 0 {
		return nil
	}
	runSet := map[int64]bool{}
	for _, r := range w.snap.TestResults {
		runSet[r.RunID] = true
	}
	runs := make([]int64, 0, len(runSet))
	for id := range runSet {
		runs = append(runs, id)
	}
	slices.Sort(runs)
	rs, err := w.tx.Query(ctx, knownRunsSQL, w.envID, runs)
	if err != nil {
		return err
	}
	knownRuns, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	known := make(map[int64]bool, len(knownRuns))
	for _, id := range knownRuns {
		known[id] = true
	}
	// The table of runs is a shortcut, the primary key the rule: when a
	// result it did not announce is stored, the append fails on the key,
	// is undone to here and done again with every pair probed.
	if _, err := w.tx.Exec(ctx, `SAVEPOINT append_results`); err != nil {
		return err
	}
	added, err := w.appendResults(ctx, known)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation && pe.ConstraintName == "test_results_pkey" {
		if _, err := w.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT append_results`); err != nil {
			return err
		}
		quiet := w.quiet
		w.quiet = true // the repairs were counted by the first attempt
		added, err = w.appendResults(ctx, runSet)
		w.quiet = quiet
	}
	if err != nil {
		return err
	}
	// Every run of the snapshot now has results stored; recording them
	// also repairs the table after a retry that found nothing new.
	if _, err := w.tx.Exec(ctx, recordRunsSQL, w.envID, runs); err != nil {
		return err
	}
	if _, err := w.tx.Exec(ctx, `RELEASE SAVEPOINT append_results`); err != nil {
		return err
	}
	w.res.TestResultsAdded += added
	return nil
}

// appendResults appends the snapshot's test results that are not stored
// and replaces those known only from the Discovery API (no invocation) by
// the richer artifact entry. Only the pairs of the runs in probe are
// looked up: the others are taken as new.
func (w *writer) appendResults(ctx context.Context, probe map[int64]bool) (int, error) {
	cols := []string{"env_id", "test_unique_id", "run_id", "job_id", "status", "failures", "message", "executed_at", "execution_seconds", "invocation_id"}
	results := w.snap.TestResults
	existing, err := w.storedResults(ctx, probe)
	if err != nil {
		return 0, err
	}
	// A snapshot's results usually come sorted by (test, run), and then a
	// repeat is the previous entry; otherwise a set finds it.
	sorted := slices.IsSortedFunc(results, func(a, b catalog.TestResult) int {
		return cmp.Or(strings.Compare(a.TestUniqueID, b.TestUniqueID), cmp.Compare(a.RunID, b.RunID))
	})
	var seen map[resultKey]bool
	if !sorted {
		seen = make(map[resultKey]bool, len(results))
	}
	var fresh []int
	var replace [][]any
	var prev resultKey
	for i := range results {
		r := &results[i]
		uid := w.str(r.TestUniqueID)
		k := resultKey{uid, r.RunID}
		if sorted {
			if i > 0 && k == prev {
				continue
			}
			prev = k
		} else {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		replaceable, ok := existing[k]
		switch {
		case !ok:
			fresh = append(fresh, i)
		case replaceable && r.InvocationID != "":
			replace = append(replace, []any{w.envID, uid, r.RunID, r.JobID, w.str(r.Status),
				r.Failures, w.str(r.Message), optTime(r.ExecutedAt), optFloat(r.ExecutionSeconds), w.str(r.InvocationID)})
		}
	}
	added := 0
	if len(fresh) > 0 {
		// Rendered straight from the snapshot: an account's first crawl
		// appends hundreds of thousands of results.
		n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "test_results"}, cols, fresh, func(b []byte, i *int) []byte {
			r := &results[*i]
			uid, _ := clean(r.TestUniqueID) // counted above
			b = binTuple(b, len(cols))
			b = binInt8(b, w.envID)
			b = binText(b, uid)
			b = binInt8(b, r.RunID)
			b = binInt8(b, r.JobID)
			b = binText(b, w.str(r.Status))
			if r.Failures == nil {
				b = binNull(b)
			} else {
				b = binInt8(b, *r.Failures)
			}
			b = binText(b, w.str(r.Message))
			b = binOptTime(b, r.ExecutedAt)
			b = binOptFloat8(b, r.ExecutionSeconds)
			return binText(b, w.str(r.InvocationID))
		})
		if err != nil {
			return 0, err
		}
		added += int(n)
	}
	if len(replace) == 0 {
		return added, nil
	}
	if err := w.tempTable(ctx, "_test_results", "crawler.test_results", cols); err != nil {
		return 0, err
	}
	if err := w.copy(ctx, "_test_results", cols, replace); err != nil {
		return 0, err
	}
	tag, err := w.tx.Exec(ctx, `
		UPDATE crawler.test_results t SET
			job_id = n.job_id, status = n.status, failures = n.failures, message = n.message,
			executed_at = n.executed_at, execution_seconds = n.execution_seconds, invocation_id = n.invocation_id
		FROM _test_results n
		WHERE t.env_id = n.env_id AND t.test_unique_id = n.test_unique_id AND t.run_id = n.run_id
		  AND t.invocation_id = ''`)
	return added + int(tag.RowsAffected()), err
}

// storedResults returns which of the snapshot's (test, run) pairs of the
// given runs the environment has stored, and whether each is replaceable
// (known only from the Discovery API, without an invocation).
func (w *writer) storedResults(ctx context.Context, runs map[int64]bool) (map[resultKey]bool, error) {
	existing := map[resultKey]bool{}
	if len(runs) == 0 {
		return existing, nil
	}
	var tests []string
	var ids []int64
	for _, r := range w.snap.TestResults {
		if runs[r.RunID] {
			uid, _ := clean(r.TestUniqueID) // repairs are counted where results are written
			tests = append(tests, uid)
			ids = append(ids, r.RunID)
		}
	}
	if len(tests) == 0 {
		return existing, nil
	}
	rs, err := w.tx.Query(ctx, storedResultsSQL, w.envID, tests, ids)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var k resultKey
		var replaceable bool
		if err := rs.Scan(&k.test, &k.run, &replaceable); err != nil {
			return nil, err
		}
		existing[k] = replaceable
	}
	return existing, rs.Err()
}

func (w *writer) freshness(ctx context.Context) error {
	if len(w.snap.Freshness) == 0 {
		return nil
	}
	cols := []string{"env_id", "source_unique_id", "snapshotted_at", "run_id", "job_id", "status", "max_loaded_at", "age_seconds", "criteria", "message"}
	var stored bool
	if err := w.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crawler.source_freshness WHERE env_id = $1)`, w.envID).Scan(&stored); err != nil {
		return err
	}
	if !stored {
		return w.firstFreshness(ctx, cols)
	}
	if err := w.tempTable(ctx, "_freshness", "crawler.source_freshness", cols); err != nil {
		return err
	}
	rows := make([][]any, 0, len(w.snap.Freshness))
	for _, f := range w.snap.Freshness {
		snapAt := f.SnapshottedAt
		if snapAt.IsZero() {
			snapAt = f.MaxLoadedAt
		}
		if snapAt.IsZero() {
			continue // a check without any time cannot be placed in history
		}
		rows = append(rows, []any{w.envID, w.str(f.SourceUniqueID), snapAt.UTC().Truncate(time.Microsecond), f.RunID, f.JobID, w.str(f.Status),
			optTime(f.MaxLoadedAt), optFloat(f.AgeSeconds), w.json(f.Criteria, "{}"), w.str(f.Message)})
	}
	if err := w.copy(ctx, "_freshness", cols, rows); err != nil {
		return err
	}
	// One check can arrive twice, in one snapshot or across crawls: from
	// sources.json with microseconds and from the Discovery API with
	// milliseconds. The precise copy wins within a snapshot, a stored
	// millisecond copy gives way to it, and a check already stored at either
	// precision is not added again.
	if _, err := w.tx.Exec(ctx, `
		DELETE FROM crawler.source_freshness f USING _freshness n
		WHERE f.env_id = n.env_id AND f.source_unique_id = n.source_unique_id
		  AND f.snapshotted_at <> n.snapshotted_at
		  AND f.snapshotted_at = date_trunc('milliseconds', f.snapshotted_at)
		  AND date_trunc('milliseconds', n.snapshotted_at) = f.snapshotted_at`); err != nil {
		return err
	}
	tag, err := w.tx.Exec(ctx, `
		INSERT INTO crawler.source_freshness (`+joinCols(cols)+`)
		SELECT DISTINCT ON (source_unique_id, date_trunc('milliseconds', snapshotted_at)) `+joinCols(cols)+` FROM _freshness n
		WHERE NOT EXISTS (
			SELECT 1 FROM crawler.source_freshness f
			WHERE f.env_id = n.env_id AND f.source_unique_id = n.source_unique_id
			  AND date_trunc('milliseconds', f.snapshotted_at) = date_trunc('milliseconds', n.snapshotted_at))
		ORDER BY source_unique_id, date_trunc('milliseconds', snapshotted_at), snapshotted_at DESC
		ON CONFLICT (env_id, source_unique_id, snapshotted_at) DO NOTHING`)
	w.res.FreshnessAdded = int(tag.RowsAffected())
	return err
}

// firstFreshness writes the freshness checks of an environment that has
// none stored yet: the same rows as freshness's statements, deduplicated
// here and COPYed straight in, without a temporary table and three
// statements.
func (w *writer) firstFreshness(ctx context.Context, cols []string) error {
	type check struct {
		f                        *catalog.Freshness
		at                       time.Time
		source, status, criteria string
		message                  string
	}
	type bucket struct {
		source string
		ms     time.Time
	}
	var checks []check
	best := map[bucket]int{} // index into checks
	for i := range w.snap.Freshness {
		f := &w.snap.Freshness[i]
		at := f.SnapshottedAt
		if at.IsZero() {
			at = f.MaxLoadedAt
		}
		if at.IsZero() {
			continue // a check without any time cannot be placed in history
		}
		c := check{f: f, at: at.UTC().Truncate(time.Microsecond), source: w.str(f.SourceUniqueID), status: w.str(f.Status),
			criteria: w.json(f.Criteria, "{}"), message: w.str(f.Message)}
		// The two copies of one check (microseconds from sources.json,
		// milliseconds from the Discovery API) share a millisecond; the
		// precise one, the later, is kept.
		b := bucket{c.source, c.at.Truncate(time.Millisecond)}
		if j, ok := best[b]; ok {
			if c.at.After(checks[j].at) {
				checks[j] = c
			}
			continue
		}
		best[b] = len(checks)
		checks = append(checks, c)
	}
	if len(checks) == 0 {
		return nil
	}
	n, err := copyEach(ctx, w, pgx.Identifier{"crawler", "source_freshness"}, cols, checks, func(b []byte, c *check) []byte {
		b = binTuple(b, len(cols))
		b = binInt8(b, w.envID)
		b = binText(b, c.source)
		b = binTime(b, c.at)
		b = binInt8(b, c.f.RunID)
		b = binInt8(b, c.f.JobID)
		b = binText(b, c.status)
		b = binOptTime(b, c.f.MaxLoadedAt)
		b = binOptFloat8(b, c.f.AgeSeconds)
		b = binJSONB(b, c.criteria)
		return binText(b, c.message)
	})
	w.res.FreshnessAdded = int(n)
	return err
}

// diffSpec describes a table written by upsertDiff: rows keyed by the
// environment and nkeys text columns, with a content hash as last column.
type diffSpec struct {
	table  string   // e.g. "relations" in schema crawler
	cols   []string // env_id, the key columns, the other columns, content_hash
	nkeys  int
	update string // SET clause of the upsert
}

// upsertDiff writes the rows whose content hash differs from the stored
// one and, when remove is true, deletes the environment's stored rows the
// given rows no longer have. It returns the number of rows written.
func (w *writer) upsertDiff(ctx context.Context, sp diffSpec, rows [][]any, remove bool) (int, error) {
	keyCols := sp.cols[1 : 1+sp.nkeys]
	existing, err := w.storedHashes(ctx, `SELECT `+joinCols(keyCols)+`, content_hash FROM crawler.`+sp.table+` WHERE env_id = $1`)
	if err != nil {
		return 0, err
	}
	seen := make(map[rowKey]bool, len(rows))
	var changed, fresh [][]any
	for _, r := range rows {
		var key rowKey
		for i := range sp.nkeys {
			key[i] = r[1+i].(string)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		old, ok := existing[key]
		switch {
		case !ok:
			fresh = append(fresh, r)
		case !old.equal(r[len(r)-1].([]byte)):
			changed = append(changed, r)
		}
	}
	written := 0
	if len(fresh) > 0 {
		n, err := w.copyFrom(ctx, pgx.Identifier{"crawler", sp.table}, sp.cols, pgx.CopyFromRows(fresh))
		if err != nil {
			return 0, err
		}
		written += int(n)
	}
	if len(changed) > 0 {
		tmp := "_" + sp.table
		if err := w.tempTable(ctx, tmp, "crawler."+sp.table, sp.cols); err != nil {
			return 0, err
		}
		if err := w.copy(ctx, tmp, sp.cols, changed); err != nil {
			return 0, err
		}
		tag, err := w.tx.Exec(ctx, `
			INSERT INTO crawler.`+sp.table+` (`+joinCols(sp.cols)+`)
			SELECT `+joinCols(sp.cols)+` FROM `+tmp+`
			ON CONFLICT (env_id, `+joinCols(keyCols)+`) DO UPDATE SET `+sp.update+`,
				content_hash = excluded.content_hash, updated_at = now()
			WHERE `+sp.table+`.content_hash IS DISTINCT FROM excluded.content_hash`)
		if err != nil {
			return 0, err
		}
		written += int(tag.RowsAffected())
	}
	if !remove {
		return written, nil
	}
	var gone [][]any
	for key := range existing {
		if !seen[key] {
			row := make([]any, sp.nkeys)
			for i := range row {
				row[i] = key[i]
			}
			gone = append(gone, row)
		}
	}
	if len(gone) == 0 {
		return written, nil
	}
	tmp := "_gone_" + sp.table
	if err := w.keyTable(ctx, tmp, sp.nkeys, gone); err != nil {
		return 0, err
	}
	on := make([]string, sp.nkeys)
	for i, c := range keyCols {
		on[i] = fmt.Sprintf("t.%s = g.k%d", c, i+1)
	}
	tag, err := w.tx.Exec(ctx, `DELETE FROM crawler.`+sp.table+` t USING `+tmp+` g
		WHERE t.env_id = $1 AND `+strings.Join(on, " AND "), w.envID)
	return written + int(tag.RowsAffected()), err
}

func (w *writer) relations(ctx context.Context) error {
	rows := make([][]any, 0, len(w.snap.Relations))
	for _, r := range w.snap.Relations {
		row := []any{w.envID, w.str(r.Database), w.str(r.Schema), w.str(r.Name), w.str(r.Kind), w.str(r.Owner), w.str(r.Comment), r.RowCount, r.Bytes, nil}
		row[len(row)-1] = w.hashRow(row[1 : len(row)-1])
		rows = append(rows, row)
	}
	// A snapshot without a warehouse catalog keeps the relations known.
	n, err := w.upsertDiff(ctx, diffSpec{
		table: "relations",
		cols:  []string{"env_id", "database_name", "schema_name", "name", "kind", "owner", "comment", "row_count", "bytes", "content_hash"},
		nkeys: 3,
		update: `kind = excluded.kind, owner = excluded.owner, comment = excluded.comment,
			row_count = excluded.row_count, bytes = excluded.bytes`,
	}, rows, w.snap.Complete && len(rows) > 0)
	w.res.RelationsWritten = n
	return err
}

func (w *writer) matches(ctx context.Context) error {
	rows := make([][]any, 0, len(w.snap.Matches))
	for _, m := range w.snap.Matches {
		row := []any{w.envID, w.str(m.UniqueID), string(m.Status), w.str(m.Rule), w.str(m.Reason), w.str(m.Database), w.str(m.Schema), w.str(m.Name), nil}
		row[len(row)-1] = w.hashRow(row[1 : len(row)-1])
		rows = append(rows, row)
	}
	n, err := w.upsertDiff(ctx, diffSpec{
		table: "matches",
		cols:  []string{"env_id", "unique_id", "status", "rule", "reason", "database_name", "schema_name", "relation_name", "content_hash"},
		nkeys: 1,
		update: `status = excluded.status, rule = excluded.rule, reason = excluded.reason,
			database_name = excluded.database_name, schema_name = excluded.schema_name,
			relation_name = excluded.relation_name`,
	}, rows, w.snap.Complete)
	w.res.MatchesWritten = n
	return err
}

func (w *writer) watermarks(ctx context.Context) error {
	if len(w.snap.Watermarks) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range w.snap.Watermarks {
		b.Queue(`
			INSERT INTO crawler.watermarks (env_id, job_id, last_run_id) VALUES ($1, $2, $3)
			ON CONFLICT (env_id, job_id) DO UPDATE SET last_run_id = excluded.last_run_id, updated_at = now()
			WHERE watermarks.last_run_id < excluded.last_run_id`, w.envID, m.JobID, m.LastRunID)
	}
	return w.tx.SendBatch(ctx, b).Close()
}

// copy loads rows into a temporary table and analyzes it, so the planner
// joins it with hash joins rather than nested loops.
func (w *writer) copy(ctx context.Context, table string, cols []string, rows [][]any) error {
	if _, err := w.copyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err := w.tx.Exec(ctx, `ANALYZE `+table)
	return err
}

// tempTable creates a transaction-scoped table with the types of cols in
// table, for COPY.
func (w *writer) tempTable(ctx context.Context, name, table string, cols []string) error {
	_, err := w.tx.Exec(ctx, `CREATE TEMP TABLE `+name+` ON COMMIT DROP AS SELECT `+joinCols(cols)+` FROM `+table+` WITH NO DATA`)
	return err
}

// hashRow hashes the already-sanitised values of a row.
func (w *writer) hashRow(vals []any) []byte {
	h := w.h
	h.reset()
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			h.str(x)
		case []string:
			h.strs(x)
		case bool:
			h.boolean(x)
		case int32:
			h.i64(int64(x))
		case int64:
			h.i64(x)
		case *int64:
			h.optInt(x)
		case *float64:
			if x == nil {
				h.u64(0)
			} else {
				h.u64(1)
				h.f64(*x)
			}
		case *time.Time:
			if x == nil {
				h.u64(0)
			} else {
				h.u64(1)
				h.time(*x)
			}
		case nil:
			h.u64(0)
		default:
			h.str(fmt.Sprint(x))
		}
	}
	return h.sum()
}

func joinCols(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

func optID(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func optFloat(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}
