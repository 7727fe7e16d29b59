-- +goose NO TRANSACTION
-- +goose Up
-- Which runs of an environment have test results stored, one row per run.
-- Before appending results a crawl asks this table which of its runs are
-- known and probes the primary key only for the (test, run) pairs of those:
-- the runs of a first crawl, and the new runs of later ones, are appended
-- without reading test_results at all. A stored result that this
-- table misses (written by an older crawler during the upgrade, or by
-- hand) still cannot be appended twice: the primary key rejects it, and the
-- crawl then probes every pair and records the run here.
--
-- The btree on run_id (migration 00006) served that lookup; it cost every
-- appended result an index entry in the middle of the tree, about a
-- quarter of what a first crawl's PostgreSQL spends on test results. "The
-- results of run N" is served by a BRIN index instead: results are
-- appended crawl after crawl and dbt Cloud's run IDs grow, so a run's
-- results sit in the page ranges its crawl appended. autosummarize keeps
-- the ranges a crawl appends from being read by every such query until
-- the next vacuum.
--
-- Unlike the bulk tables (migration 00003), this one keeps a foreign key
-- to leave with its environment: a write adds a row per run, a few dozen,
-- so the per-row check costs nothing, and the statement trigger stays as
-- it was.
CREATE TABLE IF NOT EXISTS crawler.test_result_runs (
    env_id      bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    run_id      bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, run_id)
);

INSERT INTO crawler.test_result_runs (env_id, run_id)
SELECT DISTINCT env_id, run_id FROM crawler.test_results
ON CONFLICT DO NOTHING;

-- Built CONCURRENTLY, like 00006, so that crawlers keep writing while a
-- large history is indexed; an interrupted build leaves an invalid index,
-- which the first statement removes when the migration is retried.
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_brin;
CREATE INDEX CONCURRENTLY test_results_run_brin ON crawler.test_results USING brin (run_id) WITH (autosummarize = on);
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_idx;
CREATE INDEX CONCURRENTLY test_results_run_idx ON crawler.test_results (run_id);
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_brin;
DROP TABLE IF EXISTS crawler.test_result_runs;
