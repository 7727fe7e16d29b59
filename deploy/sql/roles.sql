-- dbt-crawler database roles (optional; docs/security.md explains them).
--
--   crawler_writer  owns schemas "crawler" (tables) and "catalog" (views):
--                   the role the crawler connects as, including for
--                   `crawler migrate`.
--   catalog_reader  reads the views in schema "catalog" and nothing else:
--                   no access to schema "crawler", no writes, no DDL.
--                   Grant it to people and tools: GRANT catalog_reader TO alice;
--
-- Views run with their owner's privileges, so catalog_reader can read the
-- catalog views without any privilege on the tables behind them.
--
-- Run it connected to the catalog database, as a superuser (or as a role
-- that is a member of crawler_writer and may create roles), before or after
-- the first `crawler migrate`:
--
--   psql "$ADMIN_DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/sql/roles.sql
--
-- It is idempotent: running it again changes nothing, and objects created
-- later by crawler_writer are covered by default privileges. Both roles are
-- created NOLOGIN; give them logins or members yourself, e.g.
--
--   ALTER ROLE crawler_writer LOGIN PASSWORD '...';
--   CREATE ROLE bi_tool LOGIN PASSWORD '...' IN ROLE catalog_reader;

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crawler_writer') THEN
        CREATE ROLE crawler_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'catalog_reader') THEN
        CREATE ROLE catalog_reader NOLOGIN;
    END IF;
END
$$;

-- Database: both connect; the writer creates its schemas and uses
-- temporary tables for bulk writes.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO crawler_writer', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO catalog_reader', current_database());
END
$$;

-- The migration history table (crawler_schema_migrations) lives in schema
-- public; PostgreSQL 15 and later no longer let every role create there.
GRANT USAGE, CREATE ON SCHEMA public TO crawler_writer;

-- The two schemas, owned by the writer, whether they exist yet or not.
CREATE SCHEMA IF NOT EXISTS crawler AUTHORIZATION crawler_writer;
CREATE SCHEMA IF NOT EXISTS catalog AUTHORIZATION crawler_writer;
ALTER SCHEMA crawler OWNER TO crawler_writer;
ALTER SCHEMA catalog OWNER TO crawler_writer;

-- Objects a previous `crawler migrate` created as another role move to the
-- writer, so that later migrations, run as the writer, may alter them.
-- Identity and serial sequences follow their tables.
DO $$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind
                   WHEN 'v' THEN 'VIEW'
                   WHEN 'm' THEN 'MATERIALIZED VIEW'
                   WHEN 'S' THEN 'SEQUENCE'
                   WHEN 'f' THEN 'FOREIGN TABLE'
                   ELSE 'TABLE'
               END AS kind
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('crawler', 'catalog')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND c.relowner <> 'crawler_writer'::regrole::oid
          AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.pg_depend d
              WHERE d.classid = 'pg_catalog.pg_class'::regclass
                AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
        ORDER BY c.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO crawler_writer', obj.kind, obj.name);
    END LOOP;
    IF to_regclass('public.crawler_schema_migrations') IS NOT NULL THEN
        ALTER TABLE public.crawler_schema_migrations OWNER TO crawler_writer;
    END IF;
END
$$;

-- Nobody but the owner reaches the tables.
REVOKE ALL ON SCHEMA crawler FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA crawler FROM PUBLIC;
REVOKE ALL ON SCHEMA crawler FROM catalog_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA crawler FROM catalog_reader;

-- The reader: the catalog views, read-only.
REVOKE ALL ON SCHEMA catalog FROM PUBLIC;
GRANT USAGE ON SCHEMA catalog TO catalog_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA catalog FROM catalog_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO catalog_reader;

-- Views created later (new migrations) are readable too: those the writer
-- creates, and those the role running this script creates.
ALTER DEFAULT PRIVILEGES FOR ROLE crawler_writer IN SCHEMA catalog
    GRANT SELECT ON TABLES TO catalog_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA catalog
    GRANT SELECT ON TABLES TO catalog_reader;

COMMIT;
