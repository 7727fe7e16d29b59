-- +goose NO TRANSACTION
-- +goose Up
-- One BRIN index on (executed_at, run_id) replaces the btree on run_id of
-- 00006 and the BRIN on executed_at of 00005. Results are appended crawl
-- after crawl, so a page range holds the results of a few runs close in
-- time, and its summary bounds both their times and their run IDs: the
-- lookup of a crawl's runs before appending (WHERE env_id = $1 AND run_id =
-- ANY($2)) reads only the ranges that can hold them, and time windows
-- ("failures of the last day") read only recent ranges, as before.
--
-- The btree cost a first crawl one descent per result, its entries for the
-- runs of one environment interleaved (0.42 s of PostgreSQL time for
-- 600,000 results on the benchmark machine, against 0.68 s for the primary
-- key); the BRIN index is updated only when a range fills.
--
-- autosummarize: a range is summarized by autovacuum as soon as the next
-- one starts filling, so the unsummarized tail, which every lookup reads,
-- stays about one range long instead of growing until the next VACUUM.
--
-- Built CONCURRENTLY, so that crawlers keep writing while a large history
-- is indexed; an interrupted build leaves an invalid index, which the
-- first statement removes when the migration is retried.
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_time_run_brin;
CREATE INDEX CONCURRENTLY test_results_time_run_brin ON crawler.test_results
    USING brin (executed_at, run_id) WITH (autosummarize = on);
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_idx;
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_executed_brin;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS test_results_executed_brin ON crawler.test_results USING brin (executed_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS test_results_run_idx ON crawler.test_results (run_id);
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_time_run_brin;
