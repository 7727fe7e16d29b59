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

-- +goose Down
ALTER TABLE crawler.environments DROP COLUMN applied_full_read_at;
ALTER TABLE crawler.assets DROP COLUMN artifact_hash;
