-- +goose Up
-- Base tables of the catalog. Downstream users query the views in schema
-- "catalog" (migration 00002); these tables may change between releases.
CREATE SCHEMA IF NOT EXISTS crawler;

CREATE TABLE crawler.accounts (
    account_id  bigint PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crawler.projects (
    account_id  bigint NOT NULL,
    project_id  bigint NOT NULL,
    name        text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, project_id)
);

-- One row per crawled environment. env_id is a compact surrogate key used by
-- every per-environment table; (account_id, project_id, environment_id) is
-- the natural key, so two environments of one project never collide.
CREATE TABLE crawler.environments (
    env_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          bigint NOT NULL,
    project_id          bigint NOT NULL,
    environment_id      bigint NOT NULL,
    project_name        text NOT NULL DEFAULT '',
    name                text NOT NULL DEFAULT '',
    environment_type    text NOT NULL DEFAULT '',
    deployment_type     text NOT NULL DEFAULT '',
    adapter_type        text NOT NULL DEFAULT '',
    applied_updated_at  timestamptz,
    consecutive_complete_crawls integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, project_id, environment_id)
);

CREATE TABLE crawler.jobs (
    env_id          bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    job_id          bigint NOT NULL,
    name            text NOT NULL DEFAULT '',
    generate_docs   boolean NOT NULL DEFAULT false,
    run_freshness   boolean NOT NULL DEFAULT false,
    execute_steps   text[] NOT NULL DEFAULT '{}',
    state           integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, job_id)
);

CREATE TABLE crawler.runs (
    env_id                  bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    run_id                  bigint NOT NULL,
    job_id                  bigint NOT NULL,
    status                  integer NOT NULL,
    status_text             text NOT NULL DEFAULT '',
    git_sha                 text NOT NULL DEFAULT '',
    has_docs_generated      boolean NOT NULL DEFAULT false,
    has_sources_generated   boolean NOT NULL DEFAULT false,
    trigger_cause           text NOT NULL DEFAULT '',
    created_at              timestamptz,
    finished_at             timestamptz,
    duration_seconds        double precision,
    PRIMARY KEY (env_id, run_id)
);
CREATE INDEX runs_job_idx ON crawler.runs (env_id, job_id, run_id DESC);

CREATE TABLE crawler.assets (
    asset_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    env_id              bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    unique_id           text NOT NULL,
    qualified_name      text NOT NULL UNIQUE,
    asset_type          text NOT NULL,
    name                text NOT NULL DEFAULT '',
    package_name        text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    database_name       text NOT NULL DEFAULT '',
    schema_name         text NOT NULL DEFAULT '',
    identifier          text NOT NULL DEFAULT '',
    relation_name       text NOT NULL DEFAULT '',
    materialization     text NOT NULL DEFAULT '',
    language            text NOT NULL DEFAULT '',
    access              text NOT NULL DEFAULT '',
    version             text NOT NULL DEFAULT '',
    enabled             boolean NOT NULL DEFAULT true,
    owner               text NOT NULL DEFAULT '',
    tags                text[] NOT NULL DEFAULT '{}',
    meta                jsonb NOT NULL DEFAULT '{}',
    path                text NOT NULL DEFAULT '',
    raw_code            text NOT NULL DEFAULT '',
    compiled_code       text NOT NULL DEFAULT '',
    checksum            text NOT NULL DEFAULT '',
    source_name         text NOT NULL DEFAULT '',
    loader              text NOT NULL DEFAULT '',
    test_name           text NOT NULL DEFAULT '',
    test_column_name    text NOT NULL DEFAULT '',
    tested_unique_id    text NOT NULL DEFAULT '',
    severity            text NOT NULL DEFAULT '',
    url                 text NOT NULL DEFAULT '',
    label               text NOT NULL DEFAULT '',
    content_hash        bytea NOT NULL,
    missing_count       integer NOT NULL DEFAULT 0,
    archived_at         timestamptz,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (env_id, unique_id)
);
CREATE INDEX assets_type_idx ON crawler.assets (env_id, asset_type);
CREATE INDEX assets_owner_idx ON crawler.assets (owner);

-- The last execution of each node, kept apart from its definition: a new
-- run touches this narrow row, not the asset row, so "asset rows written"
-- counts definition changes only.
CREATE TABLE crawler.asset_status (
    env_id              bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    unique_id           text NOT NULL,
    last_run_status     text NOT NULL DEFAULT '',
    last_run_at         timestamptz,
    last_run_id         bigint,
    last_job_id         bigint,
    execution_seconds   double precision,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, unique_id)
);

CREATE TABLE crawler.columns (
    env_id          bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    unique_id       text NOT NULL,
    name            text NOT NULL,
    data_type       text NOT NULL DEFAULT '',
    ordinal         integer NOT NULL DEFAULT 0,
    description     text NOT NULL DEFAULT '',
    tags            text[] NOT NULL DEFAULT '{}',
    meta            jsonb NOT NULL DEFAULT '{}',
    comment         text NOT NULL DEFAULT '',
    content_hash    bytea NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, unique_id, name)
);

CREATE TABLE crawler.edges (
    env_id      bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    upstream    text NOT NULL,
    downstream  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, upstream, downstream)
);
CREATE INDEX edges_downstream_idx ON crawler.edges (env_id, downstream);

-- Test results are history: one row per (test, run), appended, never updated.
CREATE TABLE crawler.test_results (
    env_id              bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    test_unique_id      text NOT NULL,
    run_id              bigint NOT NULL,
    job_id              bigint NOT NULL DEFAULT 0,
    status              text NOT NULL,
    failures            bigint,
    message             text NOT NULL DEFAULT '',
    executed_at         timestamptz,
    execution_seconds   double precision,
    invocation_id       text NOT NULL DEFAULT '',
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, test_unique_id, run_id)
);
CREATE INDEX test_results_executed_idx ON crawler.test_results (env_id, executed_at DESC);

CREATE TABLE crawler.source_freshness (
    env_id              bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    source_unique_id    text NOT NULL,
    snapshotted_at      timestamptz NOT NULL,
    run_id              bigint NOT NULL DEFAULT 0,
    job_id              bigint NOT NULL DEFAULT 0,
    status              text NOT NULL,
    max_loaded_at       timestamptz,
    age_seconds         double precision,
    criteria            jsonb NOT NULL DEFAULT '{}',
    message             text NOT NULL DEFAULT '',
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, source_unique_id, snapshotted_at)
);

CREATE TABLE crawler.relations (
    env_id          bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    database_name   text NOT NULL,
    schema_name     text NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL DEFAULT '',
    owner           text NOT NULL DEFAULT '',
    comment         text NOT NULL DEFAULT '',
    row_count       bigint,
    bytes           bigint,
    content_hash    bytea NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, database_name, schema_name, name)
);

-- The match of every dbt node to the warehouse relation it builds or reads,
-- with the rule that matched or the reason there is none.
CREATE TABLE crawler.matches (
    env_id          bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    unique_id       text NOT NULL,
    status          text NOT NULL,
    rule            text NOT NULL DEFAULT '',
    reason          text NOT NULL DEFAULT '',
    database_name   text NOT NULL DEFAULT '',
    schema_name     text NOT NULL DEFAULT '',
    relation_name   text NOT NULL DEFAULT '',
    content_hash    bytea NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, unique_id)
);

CREATE TABLE crawler.watermarks (
    env_id      bigint NOT NULL REFERENCES crawler.environments ON DELETE CASCADE,
    job_id      bigint NOT NULL,
    last_run_id bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env_id, job_id)
);

-- One row per crawl and environment.
CREATE TABLE crawler.crawls (
    crawl_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          bigint NOT NULL,
    project_id          bigint NOT NULL,
    environment_id      bigint NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    status              text NOT NULL,
    complete            boolean NOT NULL DEFAULT false,
    assets_inserted     integer NOT NULL DEFAULT 0,
    assets_updated      integer NOT NULL DEFAULT 0,
    assets_unchanged    integer NOT NULL DEFAULT 0,
    assets_archived     integer NOT NULL DEFAULT 0,
    assets_restored     integer NOT NULL DEFAULT 0,
    columns_written     integer NOT NULL DEFAULT 0,
    edges_written       integer NOT NULL DEFAULT 0,
    test_results_added  integer NOT NULL DEFAULT 0,
    freshness_added     integer NOT NULL DEFAULT 0,
    api_requests        integer NOT NULL DEFAULT 0,
    discovery_requests  integer NOT NULL DEFAULT 0,
    api_retries         integer NOT NULL DEFAULT 0,
    rate_limit_waits    integer NOT NULL DEFAULT 0,
    bytes_downloaded    bigint NOT NULL DEFAULT 0,
    artifacts_downloaded integer NOT NULL DEFAULT 0,
    durations           jsonb NOT NULL DEFAULT '{}',
    warnings            jsonb NOT NULL DEFAULT '[]',
    error               text NOT NULL DEFAULT ''
);
CREATE INDEX crawls_env_idx ON crawler.crawls (account_id, project_id, environment_id, crawl_id DESC);

-- +goose Down
DROP SCHEMA crawler CASCADE;
