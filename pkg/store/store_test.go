package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newStore returns a migrated store on a fresh database.
func newStore(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	return s
}

var testScope = catalog.Scope{AccountID: 1, ProjectID: 10, EnvironmentID: 100, ProjectName: "shop", EnvironmentName: "prod", EnvironmentType: "deployment", DeploymentType: "production"}

// makeSnapshot builds a complete snapshot of n models with cols columns and
// one not_null test each, plus one source.
func makeSnapshot(sc catalog.Scope, n, cols int) *catalog.Snapshot {
	snap := &catalog.Snapshot{Scope: sc, Complete: true, AdapterType: "postgres"}
	snap.Assets = append(snap.Assets, catalog.Asset{UniqueID: "source.shop.raw.orders", Type: catalog.TypeSource, Name: "orders", SourceName: "raw", Database: "db", Schema: "raw", Identifier: "orders", Enabled: true})
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("model.shop.m%05d", i)
		snap.Assets = append(snap.Assets, catalog.Asset{
			UniqueID: id, Type: catalog.TypeModel, Name: fmt.Sprintf("m%05d", i), PackageName: "shop",
			Description: "model " + fmt.Sprint(i), Database: "db", Schema: "analytics", Identifier: fmt.Sprintf("m%05d", i),
			Materialization: "table", Owner: "team-a", Tags: []string{"daily"}, Meta: json.RawMessage(`{"owner":"team-a"}`),
			Enabled: true, CompiledCode: catalog.NewText("select 1"), LastRunStatus: "success", LastRunAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), LastRunID: 5, LastJobID: 7,
		})
		test := fmt.Sprintf("test.shop.not_null_m%05d_id", i)
		snap.Assets = append(snap.Assets, catalog.Asset{UniqueID: test, Type: catalog.TypeTest, Name: "not_null_id", TestName: "not_null", TestColumnName: "id", TestedUniqueID: id, Enabled: true})
		snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "source.shop.raw.orders", Downstream: id}, catalog.Edge{Upstream: id, Downstream: test})
		for c := 0; c < cols; c++ {
			snap.Columns = append(snap.Columns, catalog.Column{AssetUniqueID: id, Name: fmt.Sprintf("col_%d", c), DataType: "integer", Ordinal: c + 1, Description: "a column"})
		}
		f := int64(0)
		snap.TestResults = append(snap.TestResults, catalog.TestResult{TestUniqueID: test, RunID: 5, JobID: 7, Status: "pass", Failures: &f, ExecutedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		snap.Relations = append(snap.Relations, catalog.Relation{Database: "db", Schema: "analytics", Name: fmt.Sprintf("m%05d", i), Kind: "table"})
		snap.Matches = append(snap.Matches, catalog.Match{UniqueID: id, Status: catalog.MatchMatched, Rule: "exact", Database: "db", Schema: "analytics", Name: fmt.Sprintf("m%05d", i)})
	}
	snap.Watermarks = []catalog.Watermark{{JobID: 7, LastRunID: 5}}
	snap.Jobs = []catalog.Job{{ID: 7, EnvironmentID: sc.EnvironmentID, Name: "daily", GenerateDocs: true}}
	snap.Runs = []catalog.Run{{ID: 5, JobID: 7, Status: 10, StatusText: "Success"}}
	return snap
}

func TestMigrationsUpDownUp(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, int64(2))
	_, err = s.MigrateDownAll(ctx)
	require.NoError(t, err)
	var n int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ('crawler','catalog')`).Scan(&n))
	require.Zero(t, n)
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	res, err := s.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, res, "a second migrate applies nothing")
}

// TestRunTableMigrationRecordsStoredRuns: migration 00007 records the runs
// of the results stored before it, and swaps the btree on run_id for a
// BRIN index.
func TestRunTableMigrationRecordsStoredRuns(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Apply(ctx, makeSnapshot(testScope, 2, 0), nil)
	require.NoError(t, err)
	p, db, err := s.provider()
	require.NoError(t, err)
	defer db.Close()
	_, err = p.DownTo(ctx, 6)
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, `INSERT INTO crawler.test_results (env_id, test_unique_id, run_id, status)
		SELECT env_id, 'test.shop.older', 3, 'pass' FROM crawler.environments`)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 7)
	require.NoError(t, err)

	rs, err := s.pool.Query(ctx, `SELECT run_id FROM crawler.test_result_runs ORDER BY run_id`)
	require.NoError(t, err)
	runs, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{3, 5}, runs)
	rs, err = s.pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = 'crawler' AND tablename = 'test_results' ORDER BY 1`)
	require.NoError(t, err)
	indexes, err := pgx.CollectRows(rs, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"test_results_executed_brin", "test_results_pkey", "test_results_run_brin"}, indexes)
}

func TestConcurrentMigrate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn, Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			_, errs[i] = s.Migrate(t.Context())
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

func TestApply(t *testing.T) {
	t.Run("same snapshot twice writes no asset rows the second time", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 20, 5)
		r1, err := s.Apply(t.Context(), snap, &CrawlRecord{})
		require.NoError(t, err)
		require.Equal(t, len(snap.Assets), r1.Inserted)
		require.Equal(t, 100, r1.ColumnsWritten)
		r2, err := s.Apply(t.Context(), snap, &CrawlRecord{})
		require.NoError(t, err)
		require.Zero(t, r2.AssetRowsWritten())
		require.Equal(t, len(snap.Assets), r2.Unchanged)
		require.Zero(t, r2.ColumnsWritten)
		require.Zero(t, r2.EdgesWritten)
		require.Zero(t, r2.TestResultsAdded)
		require.Zero(t, r2.RelationsWritten)
		require.Zero(t, r2.MatchesWritten)
	})
	t.Run("a changed description updates exactly that asset", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 20, 5)
		_, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		snap.Assets[3].Description = "changed"
		snap.Columns[7].Description = "changed too"
		r, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Updated)
		require.Zero(t, r.Inserted)
		require.Equal(t, 1, r.ColumnsWritten)
		var desc string
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT description FROM catalog.assets WHERE unique_id = $1`, snap.Assets[3].UniqueID).Scan(&desc))
		require.Equal(t, "changed", desc)
	})
	t.Run("long code is stored whole, compared without inflating and rewritten when it changes", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 4, 1)
		long := strings.Repeat("select id, amount from analytics.orders where status = 'paid'\n", 100)
		snap.Assets[1].CompiledCode = catalog.NewText(long)
		snap.Assets[2].RawCode = catalog.NewText(long + "\x00bad")
		require.True(t, snap.Assets[1].CompiledCode.Compressed())
		r, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Sanitized, "the NUL in the compressed code was repaired once")
		read := func(uid string) (raw, compiled string) {
			require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT raw_code, compiled_code FROM catalog.assets WHERE unique_id = $1`, uid).Scan(&raw, &compiled))
			return raw, compiled
		}
		_, compiled := read(snap.Assets[1].UniqueID)
		require.Equal(t, long, compiled)
		raw, _ := read(snap.Assets[2].UniqueID)
		require.Equal(t, long+"bad", raw)

		r, err = s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Zero(t, r.AssetRowsWritten())

		snap.Assets[1].CompiledCode = catalog.NewText(long + "-- changed")
		r, err = s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Updated)
		_, compiled = read(snap.Assets[1].UniqueID)
		require.Equal(t, long+"-- changed", compiled)
	})
	t.Run("archives after the grace count and restores", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 5, 1)
		_, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		gone := snap.Assets[1].UniqueID
		thin := *snap
		thin.Assets = append(append([]catalog.Asset{}, snap.Assets[:1]...), snap.Assets[2:]...)
		r, err := s.Apply(t.Context(), &thin, nil)
		require.NoError(t, err)
		require.Zero(t, r.Archived, "first absence is within the grace count")
		require.Nil(t, archivedAt(t, s, gone))
		r, err = s.Apply(t.Context(), &thin, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Archived)
		require.NotNil(t, archivedAt(t, s, gone))
		r, err = s.Apply(t.Context(), &thin, nil)
		require.NoError(t, err)
		require.Zero(t, r.AssetRowsWritten(), "an archived asset is not archived again")
		r, err = s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 1, r.Restored)
		require.Equal(t, 1, r.Updated)
		require.Nil(t, archivedAt(t, s, gone))
	})
	t.Run("an incomplete snapshot archives nothing", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 5, 1)
		_, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		empty := &catalog.Snapshot{Scope: testScope, Complete: false}
		for range 3 {
			r, err := s.Apply(t.Context(), empty, nil)
			require.NoError(t, err)
			require.Zero(t, r.Archived)
		}
		var n int
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM catalog.assets WHERE archived_at IS NULL`).Scan(&n))
		require.Equal(t, len(snap.Assets), n)
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM catalog.lineage`).Scan(&n))
		require.Equal(t, len(snap.Edges), n)
	})
	t.Run("two environments of one project stay apart", func(t *testing.T) {
		s := newStore(t)
		staging := testScope
		staging.EnvironmentID, staging.EnvironmentName = 101, "staging"
		_, err := s.Apply(t.Context(), makeSnapshot(testScope, 3, 1), nil)
		require.NoError(t, err)
		_, err = s.Apply(t.Context(), makeSnapshot(staging, 3, 1), nil)
		require.NoError(t, err)
		var n, q int
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT qualified_name) FROM catalog.assets`).Scan(&n, &q))
		require.Equal(t, 14, n)
		require.Equal(t, 14, q)
	})
	t.Run("test results are appended once per test and run", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 3, 1)
		snap.TestResults = append(snap.TestResults, snap.TestResults[0]) // a duplicate in one snapshot
		r, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 3, r.TestResultsAdded)
		next := *snap
		next.TestResults = nil
		for _, tr := range snap.TestResults[:3] {
			tr.RunID, tr.Status = 6, "fail"
			next.TestResults = append(next.TestResults, tr)
		}
		r, err = s.Apply(t.Context(), &next, nil)
		require.NoError(t, err)
		require.Equal(t, 3, r.TestResultsAdded)
		var n int
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM catalog.test_results`).Scan(&n))
		require.Equal(t, 6, n)
	})
	t.Run("NUL bytes and invalid UTF-8 are repaired, not fatal", func(t *testing.T) {
		s := newStore(t)
		snap := makeSnapshot(testScope, 2, 1)
		snap.Assets[1].Description = "bad\x00nul and \xff\xfe bytes"
		snap.Assets[1].Meta = json.RawMessage(`{"k":"v\u0000w","nested":{"a":["\u0000"]}}`)
		snap.Columns[0].Description = "\xc3\x28"
		r, err := s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Equal(t, 3, r.Sanitized)
		var desc, meta string
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT description, meta::text FROM catalog.assets WHERE unique_id = $1`, snap.Assets[1].UniqueID).Scan(&desc, &meta))
		require.Equal(t, "badnul and \uFFFD bytes", desc)
		require.Equal(t, `{"k": "vw", "nested": {"a": [""]}}`, meta)
		r, err = s.Apply(t.Context(), snap, nil)
		require.NoError(t, err)
		require.Zero(t, r.AssetRowsWritten(), "repaired values hash the same each time")
	})
}

func archivedAt(t *testing.T, s *Store, uid string) *time.Time {
	t.Helper()
	var at *time.Time
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT archived_at FROM catalog.assets WHERE unique_id = $1`, uid).Scan(&at))
	return at
}

// dump returns every row of every crawler table as text, in a stable order.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range []string{"accounts", "projects", "environments", "jobs", "runs", "assets", "asset_status", "columns", "edges", "test_results", "source_freshness", "relations", "matches", "watermarks", "crawls"} {
		rows, err := s.pool.Query(t.Context(), `SELECT t::text FROM crawler.`+tbl+` t ORDER BY t::text`)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		fmt.Fprintf(&b, "%s\n%s\n", tbl, strings.Join(lines, "\n"))
	}
	return b.String()
}

func TestApplyFailureLeavesPreviousState(t *testing.T) {
	phases := []string{"environment", "jobs", "assets", "status", "columns", "edges", "test_results", "freshness", "relations", "matches", "watermarks", "commit"}
	s := newStore(t)
	base := makeSnapshot(testScope, 10, 3)
	_, err := s.Apply(t.Context(), base, &CrawlRecord{})
	require.NoError(t, err)
	before := dump(t, s)
	changed := makeSnapshot(testScope, 8, 4)
	changed.Assets[2].Description = "new"
	changed.TestResults[0].RunID = 99
	changed.Watermarks[0].LastRunID = 99
	for _, phase := range phases {
		t.Run("failure before "+phase, func(t *testing.T) {
			injected := errors.New("injected failure")
			s.inject = func(p string) error {
				if p == phase {
					return injected
				}
				return nil
			}
			defer func() { s.inject = nil }()
			_, err := s.Apply(t.Context(), changed, &CrawlRecord{})
			require.ErrorIs(t, err, injected)
			require.Equal(t, before, dump(t, s))
		})
	}
}

func TestConcurrentApplySerializes(t *testing.T) {
	s := newStore(t)
	// A second handle on the same database, as another process would
	// have: its writers pass this Store's slot and meet the advisory lock.
	s2, err := Open(t.Context(), s.dsn, Options{})
	require.NoError(t, err)
	t.Cleanup(s2.Close)
	var mu sync.Mutex
	inside, maxInside := 0, 0
	s.inject = func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		switch p {
		case "environment": // runs right after the lock is taken
			inside++
			maxInside = max(maxInside, inside)
		case "commit":
			inside--
		}
		return nil
	}
	s2.inject = s.inject
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			snap := makeSnapshot(testScope, 50, 2)
			snap.Assets[1].Description = fmt.Sprint("writer ", i)
			_, errs[i] = []*Store{s, s2}[i%2].Apply(t.Context(), snap, &CrawlRecord{})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, maxInside, "two writers of one environment were inside Apply at once")
	require.Empty(t, s.writing, "the write slot is released")
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM catalog.crawls`).Scan(&n))
	require.Equal(t, 6, n)
}

func TestEnvironmentLock(t *testing.T) {
	s := newStore(t)
	l1, ok, err := s.TryLockEnvironment(t.Context(), testScope)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.TryLockEnvironment(t.Context(), testScope)
	require.NoError(t, err)
	require.False(t, ok, "a second holder is refused")
	other := testScope
	other.EnvironmentID = 999
	l3, ok, err := s.TryLockEnvironment(t.Context(), other)
	require.NoError(t, err)
	require.True(t, ok, "other environments are independent")
	l3.Unlock(t.Context())
	l1.Unlock(t.Context())
	l2, ok, err := s.TryLockEnvironment(t.Context(), testScope)
	require.NoError(t, err)
	require.True(t, ok)
	l2.Unlock(t.Context())
}

func TestEnvironmentState(t *testing.T) {
	s := newStore(t)
	st, err := s.EnvironmentState(t.Context(), testScope)
	require.NoError(t, err)
	require.False(t, st.Known)
	snap := makeSnapshot(testScope, 2, 1)
	snap.AppliedUpdatedAt = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	_, err = s.Apply(t.Context(), snap, &CrawlRecord{Status: "succeeded"})
	require.NoError(t, err)
	st, err = s.EnvironmentState(t.Context(), testScope)
	require.NoError(t, err)
	require.True(t, st.Known)
	require.True(t, st.LastCrawlComplete)
	require.Equal(t, map[int64]int64{7: 5}, st.Watermarks)
	require.True(t, snap.AppliedUpdatedAt.Equal(st.AppliedUpdatedAt))
}

// Per-environment tables carry no foreign key (migration 00003), so deleting
// an environment relies on the statement trigger to take its rows along.
func TestDeletingAnEnvironmentDeletesItsRows(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	staging := testScope
	staging.EnvironmentID = 200
	for _, sc := range []catalog.Scope{testScope, staging} {
		snap := makeSnapshot(sc, 3, 2)
		snap.Jobs = []catalog.Job{{ID: 7, EnvironmentID: sc.EnvironmentID, Name: "daily"}}
		snap.Runs = []catalog.Run{{ID: 5, JobID: 7, Status: 10, StatusText: "Success"}}
		_, err := s.Apply(ctx, snap, nil)
		require.NoError(t, err)
	}
	tables := []string{"jobs", "runs", "assets", "asset_status", "columns", "edges", "test_results", "test_result_runs", "relations", "matches", "watermarks"}
	count := func(table string) (prod, other int) {
		err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE e.environment_id = 100), count(*) FILTER (WHERE e.environment_id <> 100)
			FROM crawler.`+table+` t JOIN crawler.environments e USING (env_id)`).Scan(&prod, &other)
		require.NoError(t, err, table)
		return prod, other
	}
	before := map[string]int{}
	for _, table := range tables {
		prod, other := count(table)
		require.Positive(t, prod, "%s has rows of the environment to delete", table)
		before[table] = other
	}

	_, err := s.pool.Exec(ctx, `DELETE FROM crawler.environments WHERE environment_id = 100`)
	require.NoError(t, err)

	for _, table := range tables {
		var orphans int
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM crawler.`+table+` t
			WHERE NOT EXISTS (SELECT 1 FROM crawler.environments e WHERE e.env_id = t.env_id)`).Scan(&orphans))
		require.Zero(t, orphans, "%s keeps rows of the deleted environment", table)
		_, other := count(table)
		require.Equal(t, before[table], other, "%s lost rows of another environment", table)
	}
}

// Test results are rendered straight into COPY text: every field must come
// back as given, and repeats in the snapshot are written once.
func TestTestResultsRoundTrip(t *testing.T) {
	for _, sorted := range []bool{true, false} {
		t.Run(map[bool]string{true: "sorted snapshot", false: "unsorted snapshot"}[sorted], func(t *testing.T) {
			s := newStore(t)
			snap := makeSnapshot(testScope, 2, 1)
			failures := int64(3)
			at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
			full := catalog.TestResult{TestUniqueID: "test.shop.not_null_m00001_id", RunID: 9, JobID: 7, Status: "fail",
				Failures: &failures, Message: "Got 3 results,\tconfigured\nto fail \\ if != 0", ExecutedAt: at,
				ExecutionSeconds: 0.25, InvocationID: "inv-1"}
			bare := catalog.TestResult{TestUniqueID: "test.shop.not_null_m00000_id", RunID: 9, JobID: 7, Status: "pass"}
			snap.TestResults = []catalog.TestResult{bare, full, full}
			if !sorted {
				snap.TestResults = []catalog.TestResult{full, bare, full}
			}
			r, err := s.Apply(t.Context(), snap, nil)
			require.NoError(t, err)
			require.Equal(t, 2, r.TestResultsAdded)

			var (
				status, message, invocation string
				gotFailures                 *int64
				executedAt                  *time.Time
				seconds                     *float64
			)
			require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT status, failures, message, executed_at, execution_seconds, invocation_id
				FROM crawler.test_results WHERE test_unique_id = $1 AND run_id = 9`, full.TestUniqueID).
				Scan(&status, &gotFailures, &message, &executedAt, &seconds, &invocation))
			require.Equal(t, "fail", status)
			require.Equal(t, int64(3), *gotFailures)
			require.Equal(t, full.Message, message)
			require.True(t, at.Truncate(time.Microsecond).Equal(*executedAt), "executed_at %v", executedAt)
			require.InDelta(t, 0.25, *seconds, 0)
			require.Equal(t, "inv-1", invocation)

			require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT failures, executed_at, execution_seconds
				FROM crawler.test_results WHERE test_unique_id = $1 AND run_id = 9`, bare.TestUniqueID).
				Scan(&gotFailures, &executedAt, &seconds))
			require.Nil(t, gotFailures)
			require.Nil(t, executedAt)
			require.Nil(t, seconds)
		})
	}
}

func TestApplyWaitingForTheWriteSlotHonoursCancel(t *testing.T) {
	s := newStore(t)
	s.writing <- struct{}{} // another Apply of this process is writing
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Apply(ctx, makeSnapshot(testScope, 5, 1), &CrawlRecord{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	<-s.writing
	res, err := s.Apply(t.Context(), makeSnapshot(testScope, 5, 1), &CrawlRecord{})
	require.NoError(t, err)
	require.Equal(t, 11, res.Inserted, "the cancelled Apply wrote nothing, so every asset is new")
}

// TestStatusAndEdgesRoundTrip pins what the binary COPY of new status rows
// and edges stores: times at microsecond precision in UTC whatever their
// zone, zero IDs and durations as NULL, and repaired text.
func TestStatusAndEdgesRoundTrip(t *testing.T) {
	s := newStore(t)
	snap := makeSnapshot(testScope, 2, 0)
	zone := time.FixedZone("UTC+5", 5*3600)
	snap.Assets[1].LastRunAt = time.Date(2026, 3, 4, 10, 11, 12, 123456789, zone)
	snap.Assets[1].ExecutionSeconds = 1.25
	snap.Assets[3].LastRunStatus, snap.Assets[3].LastRunID, snap.Assets[3].LastJobID = "error\x00", 0, 0
	snap.Edges = append(snap.Edges, catalog.Edge{Upstream: "model.shop.m00000", Downstream: "exposure.shop.tableau_é"})
	_, err := s.Apply(t.Context(), snap, &CrawlRecord{})
	require.NoError(t, err)

	type row struct {
		Status  string
		At      *time.Time
		Run     *int64
		Job     *int64
		Seconds *float64
	}
	read := func(uid string) row {
		var r row
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT last_run_status, last_run_at, last_run_id, last_job_id, execution_seconds
			FROM crawler.asset_status WHERE unique_id = $1`, uid).Scan(&r.Status, &r.At, &r.Run, &r.Job, &r.Seconds))
		return r
	}
	first := read("model.shop.m00000")
	require.Equal(t, "success", first.Status)
	require.True(t, first.At.Equal(time.Date(2026, 3, 4, 5, 11, 12, 123456000, time.UTC)), "got %v", first.At)
	require.Equal(t, int64(5), *first.Run)
	require.Equal(t, int64(7), *first.Job)
	require.Equal(t, 1.25, *first.Seconds)
	second := read("model.shop.m00001")
	require.Equal(t, "error", second.Status, "NUL bytes are removed")
	require.Nil(t, second.Run)
	require.Nil(t, second.Job)
	require.Nil(t, second.Seconds)

	rows, err := s.pool.Query(t.Context(), `SELECT upstream || ' -> ' || downstream FROM crawler.edges ORDER BY 1`)
	require.NoError(t, err)
	edges, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"model.shop.m00000 -> exposure.shop.tableau_é",
		"model.shop.m00000 -> test.shop.not_null_m00000_id",
		"model.shop.m00001 -> test.shop.not_null_m00001_id",
		"source.shop.raw.orders -> model.shop.m00000",
		"source.shop.raw.orders -> model.shop.m00001",
	}, edges)
}

// TestStoredResultsLookupProbesOnlyThePairsAsked: results of a run the
// environment has stored are looked up pair by pair; with the history of
// many runs stored, each lookup must be one probe of the primary key, not
// a read of the environment's history.
func TestStoredResultsLookupProbesOnlyThePairsAsked(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	snap := makeSnapshot(testScope, 300, 0)
	results := snap.TestResults
	snap.TestResults = nil
	for run := int64(1); run <= 40; run++ {
		for _, r := range results {
			r.RunID = run
			snap.TestResults = append(snap.TestResults, r)
		}
	}
	_, err := s.Apply(ctx, snap, &CrawlRecord{})
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, `ANALYZE crawler.test_results`)
	require.NoError(t, err)
	var envID int64
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT env_id FROM crawler.environments`).Scan(&envID))

	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	// As the writer runs it.
	_, err = tx.Exec(ctx, `SET LOCAL enable_nestloop = off`)
	require.NoError(t, err)
	tests := []string{results[0].TestUniqueID, results[1].TestUniqueID, results[2].TestUniqueID}
	runs := []int64{40, 41, 7}
	var plan string
	require.NoError(t, tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+storedResultsSQL, envID, tests, runs).Scan(&plan))
	require.Contains(t, plan, "test_results_pkey", "each pair is a probe of the primary key")
	require.NotRegexp(t, `"Node Type": "(Seq Scan|Bitmap Heap Scan)"`, plan)
	require.Regexp(t, `"Actual Loops": 3\b`, plan, "one probe per pair")

	rs, err := tx.Query(ctx, storedResultsSQL, envID, tests, runs)
	require.NoError(t, err)
	var found []string
	for rs.Next() {
		var test string
		var run int64
		var replaceable bool
		require.NoError(t, rs.Scan(&test, &run, &replaceable))
		found = append(found, fmt.Sprint(test, "@", run, " ", replaceable))
	}
	require.NoError(t, rs.Err())
	require.ElementsMatch(t, []string{tests[0] + "@40 true", tests[2] + "@7 true"}, found)
}

// TestResultsRunsAreRecorded: the runs whose results an environment has
// stored are recorded, so that a crawl appends the results of new runs
// without looking them up; a result known only from the Discovery API is
// still replaced by the artifact's entry for the same run.
func TestResultsRunsAreRecorded(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	runs := func() []int64 {
		rs, err := s.pool.Query(ctx, `SELECT run_id FROM crawler.test_result_runs ORDER BY run_id`)
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rs, pgx.RowTo[int64])
		require.NoError(t, err)
		return ids
	}
	snap := makeSnapshot(testScope, 2, 0)
	snap.TestResults = []catalog.TestResult{
		{TestUniqueID: "test.shop.not_null_m00000_id", RunID: 8, JobID: 7, Status: "pass"}, // from the Discovery API
		{TestUniqueID: "test.shop.not_null_m00001_id", RunID: 9, JobID: 7, Status: "pass", InvocationID: "inv-9"},
	}
	r, err := s.Apply(ctx, snap, nil)
	require.NoError(t, err)
	require.Equal(t, 2, r.TestResultsAdded)
	require.Equal(t, []int64{8, 9}, runs())

	// The artifacts of run 8 arrive, with the same result and another;
	// run 10 is new.
	snap = makeSnapshot(testScope, 2, 0)
	snap.TestResults = []catalog.TestResult{
		{TestUniqueID: "test.shop.not_null_m00000_id", RunID: 8, JobID: 7, Status: "fail", InvocationID: "inv-8"},
		{TestUniqueID: "test.shop.not_null_m00000_id", RunID: 10, JobID: 7, Status: "pass", InvocationID: "inv-10"},
		{TestUniqueID: "test.shop.not_null_m00001_id", RunID: 8, JobID: 7, Status: "pass", InvocationID: "inv-8"},
		{TestUniqueID: "test.shop.not_null_m00001_id", RunID: 9, JobID: 7, Status: "fail", InvocationID: "inv-9b"}, // recorded already
	}
	r, err = s.Apply(ctx, snap, nil)
	require.NoError(t, err)
	require.Equal(t, 3, r.TestResultsAdded, "one replaced, two appended")
	require.Equal(t, []int64{8, 9, 10}, runs())
	rs, err := s.pool.Query(ctx, `SELECT concat_ws(' ', test_unique_id, run_id, status, invocation_id) FROM crawler.test_results ORDER BY 1`)
	require.NoError(t, err)
	stored, err := pgx.CollectRows(rs, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"test.shop.not_null_m00000_id 10 pass inv-10",
		"test.shop.not_null_m00000_id 8 fail inv-8",
		"test.shop.not_null_m00001_id 8 pass inv-8",
		"test.shop.not_null_m00001_id 9 pass inv-9",
	}, stored)
}

// TestResultsTheRunTableMissesAreNotAppendedTwice: results stored without
// their run recorded (by a crawler older than the table, or by hand) make
// the append fail on the primary key; the write then looks every pair up,
// appends only what is new, records the runs and succeeds.
func TestResultsTheRunTableMissesAreNotAppendedTwice(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	snap := makeSnapshot(testScope, 3, 0)
	_, err := s.Apply(ctx, snap, nil)
	require.NoError(t, err)
	var stored int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM crawler.test_results`).Scan(&stored))
	require.Positive(t, stored)
	_, err = s.pool.Exec(ctx, `DELETE FROM crawler.test_result_runs`)
	require.NoError(t, err)

	snap = makeSnapshot(testScope, 3, 0)
	extra := snap.TestResults[0]
	extra.TestUniqueID = "test.shop.\x00unique_m00000"
	snap.TestResults = append(snap.TestResults, extra)
	r, err := s.Apply(ctx, snap, nil)
	require.NoError(t, err)
	require.Equal(t, 1, r.TestResultsAdded)
	require.Equal(t, 1, r.Sanitized, "the repaired ID is counted once")
	var n, runs int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM crawler.test_results`).Scan(&n))
	require.Equal(t, stored+1, n)
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM crawler.test_result_runs`).Scan(&runs))
	require.Positive(t, runs, "the runs are recorded again")

	// Nothing new at all: the retry appends nothing and still records
	// the runs, so that the next write does not fail on the key again.
	_, err = s.pool.Exec(ctx, `DELETE FROM crawler.test_result_runs`)
	require.NoError(t, err)
	r, err = s.Apply(ctx, snap, nil)
	require.NoError(t, err)
	require.Zero(t, r.TestResultsAdded)
	var again int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM crawler.test_result_runs`).Scan(&again))
	require.Equal(t, runs, again)
}

// TestFirstFreshnessMatchesTheGeneralPath: an environment's first
// freshness checks are deduplicated in the process and COPYed straight
// in; they must be stored exactly as the general path, which a stored
// check forces, stores them.
func TestFirstFreshnessMatchesTheGeneralPath(t *testing.T) {
	at := time.Date(2026, 2, 3, 12, 0, 0, 123456789, time.UTC)
	checks := []catalog.Freshness{
		{SourceUniqueID: "source.shop.raw.a", RunID: 9, JobID: 7, Status: "pass", SnapshottedAt: at, MaxLoadedAt: at.Add(-time.Hour), AgeSeconds: 3600, Criteria: json.RawMessage(`{"warn_after":{"count":1,"period":"day"}}`)},
		// The Discovery API's copy of the same check, in milliseconds.
		{SourceUniqueID: "source.shop.raw.a", RunID: 9, JobID: 7, Status: "warn", SnapshottedAt: at.Truncate(time.Millisecond), Message: "from discovery"},
		{SourceUniqueID: "source.shop.raw.a", RunID: 10, JobID: 7, Status: "error", SnapshottedAt: at.Add(time.Hour), Message: "stale\x00"},
		// No snapshot time: placed at its max_loaded_at; twice.
		{SourceUniqueID: "source.shop.raw.b", RunID: 10, JobID: 7, Status: "pass", MaxLoadedAt: at.Add(-time.Minute)},
		{SourceUniqueID: "source.shop.raw.b", RunID: 10, JobID: 7, Status: "pass", MaxLoadedAt: at.Add(-time.Minute)},
		// No time at all: not stored.
		{SourceUniqueID: "source.shop.raw.c", RunID: 10, JobID: 7, Status: "pass"},
	}
	read := func(s *Store) []string {
		rows, err := s.pool.Query(t.Context(), `SELECT concat_ws(' | ', source_unique_id, snapshotted_at, run_id, job_id, status,
				max_loaded_at, age_seconds, criteria::text, message)
			FROM crawler.source_freshness WHERE source_unique_id <> 'source.shop.raw.other' ORDER BY 1`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}

	first := newStore(t)
	snap := makeSnapshot(testScope, 2, 0)
	snap.Freshness = checks
	res, err := first.Apply(t.Context(), snap, &CrawlRecord{})
	require.NoError(t, err)
	firstRows := read(first)

	general := newStore(t)
	earlier := makeSnapshot(testScope, 2, 0)
	earlier.Freshness = []catalog.Freshness{{SourceUniqueID: "source.shop.raw.other", Status: "pass", SnapshottedAt: at.Add(-24 * time.Hour)}}
	_, err = general.Apply(t.Context(), earlier, &CrawlRecord{})
	require.NoError(t, err)
	snap = makeSnapshot(testScope, 2, 0)
	snap.Freshness = checks
	again, err := general.Apply(t.Context(), snap, &CrawlRecord{})
	require.NoError(t, err)

	require.Equal(t, read(general), firstRows)
	require.Equal(t, again.FreshnessAdded, res.FreshnessAdded)
	require.Equal(t, 3, res.FreshnessAdded, "a's precise check and its later one, and b's check once")
	require.Contains(t, firstRows[0], "| pass |", "the precise copy of a's first check is kept")
}
