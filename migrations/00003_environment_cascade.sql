-- +goose Up
-- Per-environment tables no longer carry a foreign key to
-- crawler.environments. A foreign key checks every inserted row with its own
-- trigger query, and a first crawl inserts over a million rows: the checks
-- cost more than the rest of the write together (store BenchmarkApply:
-- 120k rows/s with them, 278k without). The store writes these tables only
-- in the transaction that upserts their environment row, so the check never
-- fired. What the keys also gave, rows leaving with their environment, is
-- kept by one statement-level trigger below.
ALTER TABLE crawler.jobs             DROP CONSTRAINT jobs_env_id_fkey;
ALTER TABLE crawler.runs             DROP CONSTRAINT runs_env_id_fkey;
ALTER TABLE crawler.assets           DROP CONSTRAINT assets_env_id_fkey;
ALTER TABLE crawler.asset_status     DROP CONSTRAINT asset_status_env_id_fkey;
ALTER TABLE crawler.columns          DROP CONSTRAINT columns_env_id_fkey;
ALTER TABLE crawler.edges            DROP CONSTRAINT edges_env_id_fkey;
ALTER TABLE crawler.test_results     DROP CONSTRAINT test_results_env_id_fkey;
ALTER TABLE crawler.source_freshness DROP CONSTRAINT source_freshness_env_id_fkey;
ALTER TABLE crawler.relations        DROP CONSTRAINT relations_env_id_fkey;
ALTER TABLE crawler.matches          DROP CONSTRAINT matches_env_id_fkey;
ALTER TABLE crawler.watermarks       DROP CONSTRAINT watermarks_env_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION crawler.delete_environment_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crawler.jobs             t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.runs             t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.assets           t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.asset_status     t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.columns          t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.edges            t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.test_results     t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.source_freshness t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.relations        t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.matches          t USING gone g WHERE t.env_id = g.env_id;
    DELETE FROM crawler.watermarks       t USING gone g WHERE t.env_id = g.env_id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER environments_delete_rows
    AFTER DELETE ON crawler.environments
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION crawler.delete_environment_rows();

-- +goose Down
DROP TRIGGER environments_delete_rows ON crawler.environments;
DROP FUNCTION crawler.delete_environment_rows();
ALTER TABLE crawler.jobs             ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.runs             ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.assets           ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.asset_status     ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.columns          ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.edges            ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.test_results     ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.source_freshness ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.relations        ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.matches          ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
ALTER TABLE crawler.watermarks       ADD FOREIGN KEY (env_id) REFERENCES crawler.environments ON DELETE CASCADE;
