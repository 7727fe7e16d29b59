package store

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/internal/pgtest"
)

// rolesScript returns deploy/sql/roles.sql, the opt-in script that creates
// the crawler_writer and catalog_reader roles.
func rolesScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "sql", "roles.sql"))
	require.NoError(t, err, "deploy/sql/roles.sql must exist beside this package")
	return string(b)
}

// loginAs returns dsn with its user replaced. The test cluster trusts
// loopback connections, so the password only documents the real setup.
func loginAs(t *testing.T, dsn, user, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.UserPassword(user, password)
	return u.String()
}

// enableLogin gives the two roles a login for the test and takes it away
// afterwards, so that no login with a known password outlives the test on a
// shared server (TEST_DATABASE_URL).
func enableLogin(t *testing.T, admin *pgx.Conn) {
	t.Helper()
	for _, stmt := range []string{
		`ALTER ROLE crawler_writer LOGIN PASSWORD 'writer-test-only'`,
		`ALTER ROLE catalog_reader LOGIN PASSWORD 'reader-test-only'`,
	} {
		_, err := admin.Exec(t.Context(), stmt)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, stmt := range []string{
			`ALTER ROLE crawler_writer NOLOGIN PASSWORD NULL`,
			`ALTER ROLE catalog_reader NOLOGIN PASSWORD NULL`,
		} {
			_, _ = admin.Exec(ctx, stmt)
		}
	})
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// names lists the relations of one kind ('r' tables, 'v' views) in a schema.
func names(t *testing.T, conn *pgx.Conn, schema string, kind string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `
		SELECT c.relname FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind::text = $2 ORDER BY c.relname`, schema, kind)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, out, "schema %s has no relations of kind %s", schema, kind)
	return out
}

// requireDenied asserts that sql fails with insufficient_privilege (42501).
func requireDenied(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	_, err := conn.Exec(t.Context(), sql)
	require.Error(t, err, "the reader could run: %s", sql)
	var pg *pgconn.PgError
	require.True(t, errors.As(err, &pg), "not a PostgreSQL error: %v", err)
	require.Equal(t, "42501", pg.Code, "%s: %s", sql, pg.Message)
}

func TestRolesScript(t *testing.T) {
	script := rolesScript(t)
	for _, tc := range []struct {
		name          string
		beforeMigrate bool
	}{
		{name: "applied after the first migrate hands the objects to the writer"},
		{name: "applied to an empty database lets the writer migrate", beforeMigrate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := pgtest.NewDatabase(t)
			admin := connect(t, dsn)
			if !tc.beforeMigrate {
				s, err := Open(ctx, dsn, Options{})
				require.NoError(t, err)
				_, err = s.Migrate(ctx)
				s.Close()
				require.NoError(t, err)
			}
			for range 2 { // idempotent
				_, err := admin.Exec(ctx, script)
				require.NoError(t, err)
			}
			enableLogin(t, admin)

			writer, err := Open(ctx, loginAs(t, dsn, "crawler_writer", "writer-test-only"), Options{})
			require.NoError(t, err)
			t.Cleanup(writer.Close)
			_, err = writer.Migrate(ctx)
			require.NoError(t, err, "the writer runs migrations")
			snap := makeSnapshot(testScope, 3, 2)
			_, err = writer.Apply(ctx, snap, &CrawlRecord{Status: "succeeded"})
			require.NoError(t, err, "the writer applies snapshots")

			var foreign int
			require.NoError(t, admin.QueryRow(ctx, `
				SELECT count(*) FROM pg_catalog.pg_class c
				JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname IN ('crawler', 'catalog') AND c.relowner <> 'crawler_writer'::regrole::oid`).Scan(&foreign))
			require.Zero(t, foreign, "every object in schemas crawler and catalog is owned by crawler_writer")

			reader := connect(t, loginAs(t, dsn, "catalog_reader", "reader-test-only"))
			views := names(t, admin, "catalog", "v")
			tables := names(t, admin, "crawler", "r")

			t.Run("the reader selects from every catalog view", func(t *testing.T) {
				for _, v := range views {
					var n int
					require.NoError(t, reader.QueryRow(ctx, `SELECT count(*) FROM catalog.`+pgx.Identifier{v}.Sanitize()).Scan(&n), "catalog.%s", v)
				}
				var n int
				require.NoError(t, reader.QueryRow(ctx, `SELECT count(*) FROM catalog.assets WHERE archived_at IS NULL`).Scan(&n))
				require.Equal(t, len(snap.Assets), n)
			})
			t.Run("the reader cannot read crawler tables", func(t *testing.T) {
				for _, tbl := range tables {
					requireDenied(t, reader, `SELECT 1 FROM crawler.`+pgx.Identifier{tbl}.Sanitize()+` LIMIT 1`)
				}
				requireDenied(t, reader, `SELECT 1 FROM public.crawler_schema_migrations LIMIT 1`)
			})
			t.Run("the reader cannot write", func(t *testing.T) {
				for _, sql := range []string{
					`INSERT INTO catalog.environments (account_id, project_id, environment_id) VALUES (1, 2, 3)`,
					`UPDATE catalog.environments SET project_name = 'x'`,
					`DELETE FROM catalog.environments`,
					`UPDATE catalog.crawls SET status = 'x'`,
					`DELETE FROM catalog.crawls`,
					`INSERT INTO crawler.assets (env_id, unique_id, qualified_name, asset_type, content_hash) VALUES (1, 'a', 'b', 'model', '\x00')`,
					`UPDATE crawler.assets SET name = 'x'`,
					`DELETE FROM crawler.test_results`,
					`TRUNCATE crawler.assets CASCADE`,
					`TRUNCATE crawler.crawls`,
				} {
					requireDenied(t, reader, sql)
				}
			})
			t.Run("the reader cannot create objects", func(t *testing.T) {
				for _, sql := range []string{
					`CREATE TABLE catalog.mine (i int)`,
					`CREATE VIEW catalog.mine AS SELECT 1 AS one`,
					`CREATE TABLE crawler.mine (i int)`,
					`CREATE SCHEMA mine`,
					`ALTER VIEW catalog.assets RENAME TO mine`,
					`DROP VIEW catalog.crawls`,
				} {
					requireDenied(t, reader, sql)
				}
				var version int
				require.NoError(t, admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version))
				if version >= 150000 { // PUBLIC may create in schema public before PostgreSQL 15
					requireDenied(t, reader, `CREATE TABLE public.mine (i int)`)
				}
			})
			t.Run("views the writer adds later are readable through default privileges", func(t *testing.T) {
				w := connect(t, loginAs(t, dsn, "crawler_writer", "writer-test-only"))
				_, err := w.Exec(ctx, `CREATE VIEW catalog.asset_counts AS SELECT asset_type, count(*) AS n FROM crawler.assets GROUP BY asset_type`)
				require.NoError(t, err)
				var n int
				require.NoError(t, reader.QueryRow(ctx, `SELECT count(*) FROM catalog.asset_counts`).Scan(&n))
				require.Positive(t, n)
			})
		})
	}
}
