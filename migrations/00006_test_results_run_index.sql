-- +goose NO TRANSACTION
-- +goose Up
-- A crawl looks up the stored results of the runs it is about to append
-- (WHERE env_id = $1 AND run_id = ANY($2)). The primary key leads with the
-- test, so without this index the lookup read every result the
-- environment ever had, again at every crawl with new runs: a year of
-- hourly runs of a few thousand tests is tens of millions of rows. The
-- index also serves "the results of run N". dbt Cloud's run IDs grow, so
-- new entries land at the index's right edge.
--
-- Built CONCURRENTLY, so that crawlers of an older version keep writing
-- while a large history is indexed; an interrupted build leaves an invalid
-- index, which the first statement removes when the migration is retried.
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_idx;
CREATE INDEX CONCURRENTLY test_results_run_idx ON crawler.test_results (run_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS crawler.test_results_run_idx;
