-- +goose Up
-- The SQL surface: views in schema "catalog" are the public contract that
-- people and downstream tools query (docs/sql.md). Tables behind them may
-- change; these views keep their names and columns.
CREATE SCHEMA IF NOT EXISTS catalog;

CREATE VIEW catalog.environments AS
SELECT e.account_id, e.project_id, e.environment_id, e.project_name,
       e.name AS environment_name, e.environment_type, e.deployment_type,
       e.adapter_type, e.applied_updated_at, e.created_at, e.updated_at
FROM crawler.environments e;

CREATE VIEW catalog.assets AS
SELECT a.qualified_name, a.asset_type, a.unique_id, a.name, a.description,
       e.account_id, e.project_id, e.environment_id,
       e.project_name, e.name AS environment_name,
       a.database_name, a.schema_name, a.identifier, a.relation_name,
       a.materialization, a.owner, a.tags, a.meta,
       COALESCE(s.last_run_status, '') AS last_run_status, s.last_run_at, s.last_run_id, s.last_job_id,
       a.archived_at, a.package_name, a.language, a.access, a.version,
       a.enabled, a.path, a.raw_code, a.compiled_code, a.checksum,
       a.source_name, a.loader, a.test_name, a.test_column_name,
       t.qualified_name AS tested_qualified_name, a.severity, a.url, a.label,
       s.execution_seconds, a.first_seen_at, a.updated_at
FROM crawler.assets a
JOIN crawler.environments e USING (env_id)
LEFT JOIN crawler.asset_status s ON s.env_id = a.env_id AND s.unique_id = a.unique_id
LEFT JOIN crawler.assets t ON t.env_id = a.env_id AND t.unique_id = a.tested_unique_id AND a.tested_unique_id <> '';

CREATE VIEW catalog.columns AS
SELECT a.qualified_name AS asset_qualified_name, c.name, c.data_type,
       c.ordinal, c.description, c.tags, c.meta, c.comment,
       e.environment_id, c.updated_at
FROM crawler.columns c
JOIN crawler.assets a ON a.env_id = c.env_id AND a.unique_id = c.unique_id
JOIN crawler.environments e ON e.env_id = c.env_id;

CREATE VIEW catalog.lineage AS
SELECT u.qualified_name AS upstream_qualified_name,
       d.qualified_name AS downstream_qualified_name,
       u.asset_type AS upstream_type, d.asset_type AS downstream_type,
       e.environment_id
FROM crawler.edges x
JOIN crawler.assets u ON u.env_id = x.env_id AND u.unique_id = x.upstream
JOIN crawler.assets d ON d.env_id = x.env_id AND d.unique_id = x.downstream
JOIN crawler.environments e ON e.env_id = x.env_id;

CREATE VIEW catalog.test_results AS
SELECT a.qualified_name AS test_qualified_name, r.run_id, r.job_id, r.status,
       r.failures, r.message, r.executed_at, r.execution_seconds,
       t.qualified_name AS tested_qualified_name,
       e.environment_id, r.recorded_at
FROM crawler.test_results r
JOIN crawler.assets a ON a.env_id = r.env_id AND a.unique_id = r.test_unique_id
JOIN crawler.environments e ON e.env_id = r.env_id
LEFT JOIN crawler.assets t ON t.env_id = a.env_id AND t.unique_id = a.tested_unique_id AND a.tested_unique_id <> '';

CREATE VIEW catalog.source_freshness AS
SELECT a.qualified_name AS source_qualified_name, f.status, f.max_loaded_at,
       f.snapshotted_at, f.age_seconds, f.criteria, f.message, f.run_id,
       f.job_id, e.environment_id
FROM crawler.source_freshness f
JOIN crawler.assets a ON a.env_id = f.env_id AND a.unique_id = f.source_unique_id
JOIN crawler.environments e ON e.env_id = f.env_id;

CREATE VIEW catalog.relations AS
SELECT e.environment_id, r.database_name, r.schema_name, r.name, r.kind,
       r.owner, r.comment, r.row_count, r.bytes, r.updated_at
FROM crawler.relations r
JOIN crawler.environments e USING (env_id);

CREATE VIEW catalog.relation_matches AS
SELECT a.qualified_name, a.asset_type, m.status, m.rule, m.reason,
       m.database_name, m.schema_name, m.relation_name, e.environment_id
FROM crawler.matches m
JOIN crawler.assets a ON a.env_id = m.env_id AND a.unique_id = m.unique_id
JOIN crawler.environments e ON e.env_id = m.env_id;

CREATE VIEW catalog.crawls AS
SELECT crawl_id, started_at, finished_at, status, environment_id,
       assets_inserted, assets_updated, assets_unchanged, assets_archived,
       api_requests, account_id, project_id, complete, assets_restored,
       columns_written, edges_written, test_results_added, freshness_added,
       api_retries, rate_limit_waits, bytes_downloaded, artifacts_downloaded,
       durations, warnings, error
FROM crawler.crawls;

CREATE VIEW catalog.runs AS
SELECT e.environment_id, r.run_id, r.job_id, j.name AS job_name, r.status,
       r.status_text, r.git_sha, r.has_docs_generated, r.has_sources_generated,
       r.created_at, r.finished_at, r.duration_seconds
FROM crawler.runs r
JOIN crawler.environments e USING (env_id)
LEFT JOIN crawler.jobs j ON j.env_id = r.env_id AND j.job_id = r.job_id;

-- +goose Down
DROP SCHEMA catalog CASCADE;
