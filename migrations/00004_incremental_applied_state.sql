-- +goose Up
-- Incremental crawls. artifact_hash is the digest of an asset's definition
-- as the run artifacts give it (its fields, columns and upstream edges):
-- the next crawl compares it with the new artifacts to tell which assets
-- changed, and reads only those from the Discovery API. NULL for assets
-- known only from the Discovery API and for rows written before this
-- migration; the next crawl then reads them in full.
-- applied_full_read_at is when the environment's whole applied state was
-- last read: incremental crawls read it in full again after a while, so
-- that a change only the Discovery API sees still reaches the catalog.
ALTER TABLE crawler.assets ADD COLUMN artifact_hash bytea;
ALTER TABLE crawler.environments ADD COLUMN applied_full_read_at timestamptz;

-- How each crawl read the applied state: 'full', 'changed' (only the
-- assets whose artifacts changed) or '' (not at all), and how many
-- applied-state assets it read. Appended to the public view.
ALTER TABLE crawler.crawls ADD COLUMN applied_read text NOT NULL DEFAULT '';
ALTER TABLE crawler.crawls ADD COLUMN applied_assets integer NOT NULL DEFAULT 0;
CREATE OR REPLACE VIEW catalog.crawls AS
SELECT crawl_id, started_at, finished_at, status, environment_id,
       assets_inserted, assets_updated, assets_unchanged, assets_archived,
       api_requests, account_id, project_id, complete, assets_restored,
       columns_written, edges_written, test_results_added, freshness_added,
       api_retries, rate_limit_waits, bytes_downloaded, artifacts_downloaded,
       durations, warnings, error, applied_read, applied_assets
FROM crawler.crawls;

-- +goose Down
DROP VIEW catalog.crawls;
CREATE VIEW catalog.crawls AS
SELECT crawl_id, started_at, finished_at, status, environment_id,
       assets_inserted, assets_updated, assets_unchanged, assets_archived,
       api_requests, account_id, project_id, complete, assets_restored,
       columns_written, edges_written, test_results_added, freshness_added,
       api_retries, rate_limit_waits, bytes_downloaded, artifacts_downloaded,
       durations, warnings, error
FROM crawler.crawls;
ALTER TABLE crawler.crawls DROP COLUMN applied_assets;
ALTER TABLE crawler.crawls DROP COLUMN applied_read;
ALTER TABLE crawler.environments DROP COLUMN applied_full_read_at;
ALTER TABLE crawler.assets DROP COLUMN artifact_hash;
