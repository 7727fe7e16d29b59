package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
)

// demoQueries are the example questions the demo answers with SQL.
var demoQueries = []struct{ title, sql string }{
	{"Failing tests, latest result per test, by owner of the tested model", `
SELECT coalesce(nullif(m.owner, ''), '(no owner)') AS owner, count(*) AS failing_tests
FROM (SELECT DISTINCT ON (test_qualified_name) * FROM catalog.test_results
      ORDER BY test_qualified_name, executed_at DESC) r
JOIN catalog.assets m ON m.qualified_name = r.tested_qualified_name
WHERE r.status IN ('fail', 'error')
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`},
	{"Models without a description, per environment", `
SELECT project_name || ' / ' || environment_name AS environment, count(*) AS undocumented_models
FROM catalog.assets
WHERE asset_type = 'model' AND description = '' AND archived_at IS NULL
GROUP BY 1 ORDER BY 1`},
	{"Sources and how fresh they were at the last check", `
SELECT DISTINCT ON (source_qualified_name) split_part(source_qualified_name, '/', 5) AS source,
       status, round((age_seconds / 3600)::numeric, 1) AS hours_old
FROM catalog.source_freshness
ORDER BY source_qualified_name, snapshotted_at DESC LIMIT 5`},
}

func cmdDemo(ctx context.Context, args []string, getenv config.Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return helpOK(err)
	}
	gen := dbtcloudtest.DemoGenConfig()
	gen.Projects = 2
	gen.FailingTestFraction = 0.05
	ds := dbtcloudtest.Generate(gen)
	srv := dbtcloudtest.NewServer(ds, dbtcloudtest.WithRateLimits(5000, 500))
	defer srv.Close()
	fmt.Fprintf(stdout, "Emulated dbt Cloud account %d at %s: %d projects, %d environments (development ones are skipped), %d jobs, %d runs\n",
		ds.Account.ID, srv.URL, len(ds.Projects), len(ds.Environments), len(ds.Jobs), len(ds.Runs))

	env := func(k string) string {
		switch k {
		case "DBT_CLOUD_ACCESS_URL":
			return srv.URL
		case "DBT_CLOUD_ACCOUNT_ID":
			return fmt.Sprint(ds.Account.ID)
		case "DBT_CLOUD_TOKEN":
			return dbtcloudtest.DefaultToken
		case "CRAWLER_DATA_DIR":
			if v := getenv(k); v != "" {
				return v
			}
			return filepath.Join(".demo")
		case "CRAWLER_LOG_LEVEL":
			return "warn"
		case "CRAWLER_LOG_FORMAT":
			return "console"
		}
		if strings.HasPrefix(k, "DBT_CLOUD_") || strings.HasPrefix(k, "CRAWLER_") {
			return ""
		}
		return getenv(k)
	}
	boot := newLogger("warn", "console", stderr)
	cfg, err := loadConfig(c, config.Flags{}, env, true, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if cfg.DatabaseURL == "" {
		dir := filepath.Join(cfg.DataDir, "postgres")
		// The demo's own data dir starts afresh each time, so the first crawl
		// shows a first crawl; a data dir the user chose is kept.
		if getenv("CRAWLER_DATA_DIR") == "" && c.dataDir == "" {
			if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
				if err := os.RemoveAll(dir); err != nil {
					return fmt.Errorf("reset the demo database in %s: %w", dir, err)
				}
			}
		}
		fmt.Fprintf(stdout, "Catalog: embedded PostgreSQL under %s\n", dir)
	}
	st, dsn, closeFn, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()

	fmt.Fprintln(stdout, "\n== First crawl")
	reports, err := crawlAll(ctx, cfg, st, log, progressFor(stderr))
	printSummary(stdout, reports)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range demoQueries {
		fmt.Fprintf(stdout, "\n-- %s%s;\n", q.title, q.sql)
		if err := printQuery(ctx, conn, stdout, q.sql); err != nil {
			return fmt.Errorf("demo query %q: %w", q.title, err)
		}
	}

	fmt.Fprintln(stdout, "\n== Second crawl (nothing changed in dbt Cloud)")
	reports, err = crawlAll(ctx, cfg, st, log, nil)
	printSummary(stdout, reports)
	if err != nil {
		return err
	}
	written := 0
	for _, r := range reports {
		for _, e := range r.Environments {
			written += e.Result.AssetRowsWritten()
		}
	}
	fmt.Fprintf(stdout, "\nAsset rows written by the second crawl: %d.\n", written)
	if cfg.DatabaseURL == "" {
		fmt.Fprintf(stdout, "The embedded PostgreSQL stops with the demo; run the demo with DATABASE_URL set to keep the catalog in your own server.\n")
	} else {
		fmt.Fprintf(stdout, "Query the catalog with: psql %q -c 'SELECT * FROM catalog.crawls'\n", redactDSN(dsn))
	}
	return nil
}

// printQuery runs sql and prints the rows as an aligned table.
func printQuery(ctx context.Context, conn *pgx.Conn, w io.Writer, sql string) error {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	var header []string
	for _, f := range rows.FieldDescriptions() {
		header = append(header, f.Name)
	}
	table := [][]string{header}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		line := make([]string, len(vals))
		for i, v := range vals {
			if dv, ok := v.(driver.Valuer); ok {
				v, _ = dv.Value()
			}
			line[i] = fmt.Sprint(v)
			if v == nil {
				line[i] = ""
			}
		}
		table = append(table, line)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	widths := make([]int, len(header))
	for _, r := range table {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for n, r := range table {
		for i, c := range r {
			fmt.Fprintf(w, "%-*s  ", widths[i], c)
		}
		fmt.Fprintln(w)
		if n == 0 {
			for i := range r {
				fmt.Fprint(w, strings.Repeat("-", widths[i]), "  ")
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "(%d rows)\n", len(table)-1)
	return nil
}

// redactDSN hides a password in a connection URL.
func redactDSN(dsn string) string {
	cfg := config.Config{DatabaseURL: dsn}
	return cfg.Redacted().DatabaseURL
}
